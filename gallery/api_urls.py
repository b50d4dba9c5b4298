from django.urls import path

from gallery import album_apis, apis, token_apis

urlpatterns = [
    path("auth/token/", token_apis.TokenObtainApi.as_view(), name="api_token"),
    path("auth/tokens/", token_apis.TokenListApi.as_view(), name="api_tokens"),
    path("auth/tokens/<int:token_id>/", token_apis.TokenDetailApi.as_view(), name="api_token_detail"),
    path("families/", apis.FamilyListApi.as_view(), name="api_families"),
    path("families/<int:family_id>/places/", apis.FamilyPlacesApi.as_view(), name="api_family_places"),
    path("families/<int:family_id>/suggestions/", apis.FamilySuggestionsApi.as_view(), name="api_family_suggestions"),
    path("families/<int:family_id>/suggestions/accept/", apis.FamilySuggestionsAcceptApi.as_view(),
         name="api_family_suggestions_accept"),
    path("photos/", apis.PhotoListApi.as_view(), name="api_photos"),
    path("photos/bulk/", apis.PhotoBulkApi.as_view(), name="api_photos_bulk"),
    path("photos/shift-dates/", apis.ShiftDatesApi.as_view(), name="api_photos_shift_dates"),
    path("photos/<int:photo_id>/", apis.PhotoDetailApi.as_view(), name="api_photo_detail"),
    path("photos/<int:photo_id>/restore/", apis.PhotoRestoreApi.as_view(), name="api_photo_restore"),
    path("photos/<int:photo_id>/read-metadata/", apis.PhotoReadMetadataApi.as_view(), name="api_photo_read_metadata"),
    path("photos/<int:photo_id>/favourite/", apis.PhotoFavouriteApi.as_view(), name="api_photo_favourite"),
    path("trash/", apis.TrashListApi.as_view(), name="api_trash"),
    path("trash/empty/", apis.TrashEmptyApi.as_view(), name="api_trash_empty"),
    path("trash/<int:photo_id>/", apis.TrashDetailApi.as_view(), name="api_trash_detail"),
    path("photos/<int:photo_id>/suggestions/<int:suggestion_id>/accept/", apis.SuggestionAcceptApi.as_view(),
         name="api_suggestion_accept"),
    path("photos/<int:photo_id>/suggestions/<int:suggestion_id>/dismiss/", apis.SuggestionDismissApi.as_view(),
         name="api_suggestion_dismiss"),
    path("albums/", album_apis.AlbumListApi.as_view(), name="api_albums"),
    path("albums/<int:album_id>/", album_apis.AlbumDetailApi.as_view(), name="api_album_detail"),
    path("albums/<int:album_id>/photos/", album_apis.AlbumPhotosApi.as_view(), name="api_album_photos"),
    path("albums/<int:album_id>/shares/", album_apis.AlbumSharesApi.as_view(), name="api_album_shares"),
    path("albums/<int:album_id>/shares/<int:share_id>/", album_apis.AlbumShareDetailApi.as_view(),
         name="api_album_share_detail"),
]
