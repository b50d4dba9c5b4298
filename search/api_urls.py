from django.urls import path

from search import apis

urlpatterns = [
    path("search/", apis.SearchApi.as_view(), name="api_search"),
    path("search/judgments/", apis.JudgmentListApi.as_view(), name="api_judgments"),
    path("search/judgments/<int:judgment_id>/", apis.JudgmentDetailApi.as_view(), name="api_judgment_detail"),
    path("search/preferences/", apis.PreferencesApi.as_view(), name="api_search_preferences"),
    path("search/quality/", apis.QualityApi.as_view(), name="api_search_quality"),
    path("duplicates/", apis.DuplicatesApi.as_view(), name="api_duplicates"),
    path("duplicates/dismiss/", apis.DuplicatesDismissApi.as_view(), name="api_duplicates_dismiss"),
    path("duplicates/trash/", apis.DuplicatesTrashApi.as_view(), name="api_duplicates_trash"),
    path("photos/retry/", apis.PhotosRetryApi.as_view(), name="api_photos_retry"),
    path("photos/<int:photo_id>/retry/", apis.PhotoRetryApi.as_view(), name="api_photo_retry"),
    path("photos/read-text/", apis.PhotosReadTextApi.as_view(), name="api_photos_read_text"),
    path("photos/<int:photo_id>/read-text/", apis.PhotoReadTextApi.as_view(), name="api_photo_read_text"),
    path("photos/<int:photo_id>/similar/", apis.SimilarApi.as_view(), name="api_photo_similar"),
]
