from django.urls import path

from search import apis

urlpatterns = [
    path("search/", apis.SearchApi.as_view(), name="api_search"),
    path("duplicates/", apis.DuplicatesApi.as_view(), name="api_duplicates"),
    path("photos/<int:photo_id>/similar/", apis.SimilarApi.as_view(), name="api_photo_similar"),
]
