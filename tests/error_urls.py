"""The site's URLs plus one view that fails, for the error page tests (tests/test_error_pages.py)."""

from django.contrib.auth.decorators import login_required
from django.urls import path

from mediasearch.urls import handler400, handler500, urlpatterns as site_urlpatterns  # noqa: F401


@login_required
def fail(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("fail/", fail), path("api/v1/fail/", fail), *site_urlpatterns]
