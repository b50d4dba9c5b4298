from django.urls import path

from search import apis

urlpatterns = [
    path("search/", apis.SearchApi.as_view(), name="api_search"),
    path("search/quality/", apis.QualityApi.as_view(), name="api_search_quality"),
    path("photos/<int:photo_id>/similar/", apis.SimilarApi.as_view(), name="api_photo_similar"),
]
