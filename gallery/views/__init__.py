"""The gallery's views, one module per area; what several of them share is here."""

from __future__ import annotations

from django.http import HttpRequest


def wants_partial(request: HttpRequest) -> bool:
    """Whether to answer with the page's partial (an HTMX request for the next page of a list, or the results of a
    search) rather than the whole page. HTMX restoring a page from history when its cache misses asks for the whole
    page, with the same HX-Request header: it gets the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request
