from django.urls import path

from gallery.views import accounts, corrections, families, media, photos, suggestions, trash

app_name = "gallery"

urlpatterns = [
    path("", photos.timeline, name="timeline"),
    path("upload/", photos.upload, name="upload"),
    path("photos/<int:photo_id>/", photos.photo_detail, name="photo_detail"),
    path("photos/<int:photo_id>/edit/", photos.photo_edit, name="photo_edit"),
    path("photos/<int:photo_id>/date/", corrections.photo_date, name="photo_date"),
    path("photos/<int:photo_id>/shift/", corrections.photo_shift, name="photo_shift"),
    path("photos/<int:photo_id>/place/", corrections.photo_place, name="photo_place"),
    path("photos/<int:photo_id>/turn/", corrections.photo_turn, name="photo_turn"),
    path("photos/<int:photo_id>/delete/", photos.photo_remove, name="photo_delete"),
    path("photos/<int:photo_id>/favourite/", trash.photo_favourite, name="photo_favourite"),
    path("photos/<int:photo_id>/suggestions/<int:suggestion_id>/accept/", suggestions.suggestion_accept,
         name="suggestion_accept"),
    path("photos/<int:photo_id>/suggestions/<int:suggestion_id>/dismiss/", suggestions.suggestion_dismiss_view,
         name="suggestion_dismiss"),
    path("photos/<int:photo_id>/thumbnail/", media.photo_thumbnail, name="photo_thumbnail"),
    path("photos/<int:photo_id>/display/", media.photo_display, name="photo_display"),
    path("photos/<int:photo_id>/original/", media.photo_original, name="photo_original"),
    path("families/", families.family_index, name="families"),
    path("families/<int:family_id>/", families.family_detail, name="family_detail"),
    path("families/<int:family_id>/members/<int:user_id>/role/", families.member_role, name="member_role"),
    path("families/<int:family_id>/members/<int:user_id>/password/", accounts.member_password,
         name="member_password"),
    path("families/<int:family_id>/invites/", accounts.invite_new, name="invite_new"),
    path("families/<int:family_id>/invites/<int:invite_id>/revoke/", accounts.invite_withdraw,
         name="invite_revoke"),
    path("families/<int:family_id>/suggestions/", suggestions.family_suggestions, name="family_suggestions"),
    path("families/<int:family_id>/trash/", trash.family_trash, name="family_trash"),
    path("families/<int:family_id>/trash/restore/", trash.trash_restore, name="trash_restore"),
    path("families/<int:family_id>/trash/delete/", trash.trash_delete, name="trash_delete"),
    path("families/<int:family_id>/trash/empty/", trash.trash_empty_view, name="trash_empty"),
    path("families/<int:family_id>/country/", families.default_country_set, name="default_country"),
    path("families/<int:family_id>/members/<int:user_id>/remove/", families.member_remove, name="member_remove"),
]
