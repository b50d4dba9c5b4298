"""NUL characters in user input. PostgreSQL refuses them in text, so a NUL that reached a query or a row
would be a 500; no person means one, so they are dropped where input enters: the middleware below cleans
query strings, form posts, cookies and headers, and the API's parsers clean the bodies DRF parses."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework import parsers

NUL = "\x00"


def without_nul(value: Any) -> Any:
    """`value` with NUL removed from every string in it (nested lists and dicts, QueryDict keys and values)."""
    if isinstance(value, str):
        return value.replace(NUL, "") if NUL in value else value
    if isinstance(value, QueryDict):
        return _querydict_without_nul(value)
    if isinstance(value, dict):
        return {without_nul(key): without_nul(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value


def _querydict_without_nul(query: QueryDict) -> QueryDict:
    if not any(NUL in key or any(NUL in item for item in items if isinstance(item, str)) for key, items in query.lists()):
        return query
    clean = QueryDict(mutable=True, encoding=query.encoding)
    for key, items in query.lists():
        for item in items:
            clean.appendlist(without_nul(key), without_nul(item))
    clean._mutable = query._mutable  # as immutable as the request's own
    return clean


class NulCleaningMiddleware:
    """Drop NUL characters from everything a request carries as text before any view or session reads it."""

    FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.GET = without_nul(request.GET)
        if request.method == "POST" and request.content_type in self.FORM_TYPES:
            request.POST = without_nul(request.POST)
        if any(NUL in key or NUL in value for key, value in request.COOKIES.items()):
            # A cookie with a NUL in it is no cookie we ever set.
            request.COOKIES = {key: value for key, value in request.COOKIES.items() if NUL not in key + value}
        for key, value in request.META.items():
            if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
                request.META[key] = without_nul(value)
        return self.get_response(request)


class _NulCleaning:
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        if isinstance(parsed, parsers.DataAndFiles):
            return parsers.DataAndFiles(without_nul(parsed.data), parsed.files)
        return without_nul(parsed)


class JSONParser(_NulCleaning, parsers.JSONParser):
    pass


class FormParser(_NulCleaning, parsers.FormParser):
    pass


class MultiPartParser(_NulCleaning, parsers.MultiPartParser):
    pass
