"""Site-wide error views."""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views.defaults import server_error as django_server_error

DATABASE_RETRY_SECONDS = 5
DATABASE_GONE = "The database is not reachable right now (it may be restarting); try again in a few seconds."


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an unhandled exception. When it is the database being out of reach (restarting, failing over, a
    network cut), answer 503 with Retry-After, as load balancers, clients and people can act on that; anything else
    stays Django's plain 500."""
    exc = sys.exc_info()[1]  # Django calls this inside its `except` block
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return django_server_error(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": DATABASE_GONE}, status=503)
    else:
        # No request context: its processors would ask the database for the user and the navigation.
        response = HttpResponse(render_to_string("503.html", {"message": DATABASE_GONE}), status=503)
    response["Retry-After"] = str(DATABASE_RETRY_SECONDS)
    return response
