"""Site-wide error views, and the API schema's view (its refusals in JSON, as every endpoint answers)."""

from __future__ import annotations

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject, empty
from django.views.defaults import page_not_found as django_page_not_found
from drf_spectacular.views import SpectacularAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from gallery.text import is_api

logger = logging.getLogger(__name__)

DATABASE_RETRY_SECONDS = 5
DATABASE_GONE = "The database is not reachable right now (it may be restarting); try again in a few seconds."
SERVER_FAILED = "The server failed to answer; the problem is logged for the site's administrator."
# What is left to say when even the error page can't be drawn (a template or static file gone missing).
_BARE = ("<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>{title} · MediaSearch</title>"
         "<h1>{title}</h1><p><a href=\"/\">Back to the photos</a></p></html>")


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an unhandled exception. When it is the database being out of reach (restarting, failing over, a
    network cut), answer 503 with Retry-After, as load balancers, clients and people can act on that; anything else
    is the site's 500 page, in the layout but drawn without the database."""
    if not isinstance(sys.exc_info()[1], (OperationalError, InterfaceError)):  # (called in Django's `except` block)
        if is_api(request):  # the API's error shape, as for every other API error
            return JsonResponse({"detail": SERVER_FAILED}, status=500)
        return _error_page(request, "500.html", 500, "Something went wrong")
    if is_api(request):
        response = JsonResponse({"detail": DATABASE_GONE}, status=503)
    else:
        # No request context: its processors would ask the database for the user and the navigation.
        response = HttpResponse(render_to_string("503.html", {"message": DATABASE_GONE}), status=503)
    response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: under /api/ the API's own error shape, {"detail": "Not found."} (a URL no route matches: a word
    where an id goes, a typo in the path), as DRF answers for a missing object; elsewhere the site's page."""
    if is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return django_page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400 (a bad Host header, a malformed request): the site's page. It can come before the middleware that
    knows the user ran, so it is drawn as the 500 page is. Under /api/ the API's error shape."""
    if is_api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return _error_page(request, "400.html", 400, "Bad request")


def _error_page(request: HttpRequest, template: str, status: int, title: str) -> HttpResponse:
    """An error page drawn without the request's context processors (they ask the database, which may be what
    failed): the menu shows when the request had already looked up a signed-in user, else the sign-in link. Never
    raises: when even this fails, a bare page says the same."""
    try:
        body = render_to_string(template, {"user": _known_user(request)})
    except Exception:  # the error page must not become a second error
        logger.exception("the %s page could not be drawn", status)
        body = _BARE.format(title=title)
    return HttpResponse(body, status=status)


def _known_user(request: HttpRequest):
    """The request's user when it was already looked up (no query here), else None. Django offers no public way to
    ask whether the lazy `request.user` was evaluated: this reads SimpleLazyObject's `_wrapped` (stable since
    Django 1.4; tests/test_error_pages.py would catch a change)."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    return user if user is not None and user.is_authenticated else None


class SchemaView(SpectacularAPIView):
    """GET /api/v1/schema/: the schema in YAML (or JSON with ?format=json), and its refusals (401 to a visitor, 429)
    in JSON as every other endpoint answers them: the schema's renderers would draw `{"detail": …}` as YAML."""

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if response.status_code >= 400 and isinstance(response, Response):
            response.accepted_renderer, response.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return response
