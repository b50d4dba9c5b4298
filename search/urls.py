from django.urls import path

from search import views

app_name = "search"

urlpatterns = [
    path("indexing/", views.indexing_status, name="indexing"),
    path("indexing/retry/", views.indexing_retry, name="indexing_retry"),
]
