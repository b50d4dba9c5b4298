from django.urls import path

from search import views

app_name = "search"

urlpatterns = [
    path("search/", views.search, name="search"),
    path("search/preferences/", views.preferences, name="preferences"),
    path("search/preferences/preview/", views.preferences_preview, name="preferences_preview"),
    path("search/preferences/reset/", views.preferences_reset_view, name="preferences_reset"),
    path("photos/<int:photo_id>/similar/", views.similar, name="similar"),
    path("photos/<int:photo_id>/read-text/", views.photo_read_text, name="photo_read_text"),
    path("families/<int:family_id>/duplicates/", views.duplicates, name="duplicates"),
    path("families/<int:family_id>/duplicates/trash/", views.duplicates_trash, name="duplicates_trash"),
    path("indexing/", views.indexing_status, name="indexing"),
    path("indexing/retry/", views.indexing_retry, name="indexing_retry"),
]
