"""NUL characters in user input. PostgreSQL refuses them in text, so a NUL that reached a query or a row
would be a 500.

Forms and serializers refuse them (Django's and DRF's CharField validators: "Null characters are not
allowed."), so every parameter and field is read through one. What no form reads, cookies and headers, is
cleaned by the middleware below, and text read from inside files is cleaned before it is stored. Should a
NUL still reach the database by a path written later, the middleware answers 400 with a plain message
instead of a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse

NUL = "\x00"
REFUSED = "Text can't contain NUL characters (\\0). Remove them and try again."


def id_from_text(value: Any) -> int | None:
    """A database id typed into a form or URL ("42"), or None: only ASCII digits, from 1 to bigint's largest.
    (str.isdigit() is also true for "²" and "፩", which int() refuses, and digits can run past bigint.)"""
    if isinstance(value, str) and value.isascii() and value.isdigit() and 0 < int(value) < 2**63:
        return int(value)
    return None


def json_strings(value: Any) -> Iterator[str]:
    """Every string in a parsed JSON value, keys included, walked without recursion (so however deep it nests)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def without_nul(value: Any) -> Any:
    """`value` without NUL characters when it is a string; anything else as it is."""
    if isinstance(value, str) and NUL in value:
        return value.replace(NUL, "")
    return value


def is_nul_refusal(exc: BaseException) -> bool:
    """Whether this is the database driver refusing a NUL in text (psycopg raises it before sending the query,
    so the transaction is still usable)."""
    return isinstance(exc, DataError) and "NUL (0x00)" in str(exc)


class NulGuardMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any(NUL in key or NUL in value for key, value in request.COOKIES.items()):
            # A cookie with a NUL in it is no cookie this site set: as if it had not been sent.
            request.COOKIES = {key: value for key, value in request.COOKIES.items() if NUL not in key + value}
        for key, value in request.META.items():
            if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
                request.META[key] = without_nul(value)  # e.g. "Authorization: Token ...": then simply no such token
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_nul_refusal(exception):
            return None
        return refusal(request, 400, REFUSED)


def refusal(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """A refused request: JSON `{"detail": ...}` for the API, plain text for a page (upload.js shows it as is).
    Here, in a module that imports nothing of the project's, so any middleware or view can use it."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
