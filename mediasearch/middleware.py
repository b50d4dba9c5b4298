"""Project-wide middleware (settings.MIDDLEWARE)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils.log import log_response

from mediasearch.views import bad_request


class HostRefusedMiddleware:
    """A request for a host ALLOWED_HOSTS does not list (a LAN name, the server's address) is answered with the site's
    400 page and the one line Django logs for it (django.security.DisallowedHost, at ERROR: it names the host and
    what to add). Django answers it so too, but with DEBUG on as its debug page of the exception. After WhiteNoise:
    the page's stylesheet and scripts are served whatever the Host. After SecurityMiddleware too, whose redirect to
    https (HTTPS=on, plain HTTP) asks the Host first: a refusal there is Django's own answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            request.get_host()
        except DisallowedHost as refused:
            response = bad_request(request, refused)
            # (as Django logs it, and marked logged: no second line "Bad Request: /…" from django.request)
            log_response(str(refused), request=request, response=response, level="error",
                         logger=logging.getLogger("django.security.DisallowedHost"))
            return response
        return self.get_response(request)
