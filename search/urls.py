from django.urls import path

from search import views

app_name = "search"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("search/judge/", views.judge, name="judge"),
    path("search/smart-album/", views.smart_album_save, name="smart_album_save"),
    path("search/preferences/", views.preferences, name="preferences"),
    path("search/preferences/preview/", views.preferences_preview, name="preferences_preview"),
    path("search/preferences/reset/", views.preferences_reset_view, name="preferences_reset"),
    path("search/report/", views.search_report_view, name="search_report"),
    path("photos/<int:photo_id>/profile/", views.photo_report_view, name="photo_report"),
    path("photos/<int:photo_id>/similar/", views.similar, name="similar"),
    path("photos/<int:photo_id>/read-text/", views.photo_read_text, name="photo_read_text"),
    path("search/quality/", views.quality_index, name="quality_index"),
    path("search/quality/<int:family_id>/", views.quality, name="quality"),
    path("search/quality/<int:family_id>/fit/", views.quality_fit, name="quality_fit"),
    path("search/quality/<int:family_id>/rollback/", views.quality_rollback, name="quality_rollback"),
    path("search/quality/<int:family_id>/apply-weights/", views.quality_apply_weights, name="quality_apply_weights"),
    path("families/<int:family_id>/duplicates/", views.duplicates, name="duplicates"),
    path("families/<int:family_id>/duplicates/trash/", views.duplicates_trash, name="duplicates_trash"),
    path("families/<int:family_id>/duplicates/dismiss/", views.duplicates_dismiss_view, name="duplicates_dismiss"),
    path("indexing/", views.indexing_status, name="indexing"),
    path("indexing/retry/", views.indexing_retry, name="indexing_retry"),
    path("indexing/read-text/", views.indexing_read_text, name="indexing_read_text"),
    path("indexing/read-skipped/", views.indexing_read_skipped, name="indexing_read_skipped"),
    path("indexing/confirm-switch/", views.model_switch_confirm_view, name="model_switch_confirm"),
    path("indexing/compare/<int:family_id>/", views.model_comparison_view, name="model_comparison"),
]
