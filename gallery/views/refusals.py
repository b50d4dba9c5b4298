"""A refusal of a plain form post kept for the page it goes back to (a Post/Redirect/Get: a reload asks for the page
again and sends nothing), and taken by that page once: the selection bar's (gallery.views.bulk) and a photo page's
"New album…" (gallery.views.photos)."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.http import HttpRequest


def refusal_keep(request: HttpRequest, key: str, *, page: str, data: dict) -> None:
    """Keep `data` (what the form was sent with and why it was refused: JSON only, the session's serializer) under
    `key` for the page at `page` (an address, its query and fragment aside: the redirect's Location), replacing any
    refusal kept there before."""
    request.session[key] = {"page": unquote(urlsplit(page).path), "data": data}


def refusal_take(request: HttpRequest, key: str) -> dict | None:
    """The refusal kept under `key` for this page, taken from the session: the page drawn next (a reload, another
    page) is the page as it is. None when none is kept, or it was kept for another page (then it is dropped too).
    Called by a page's view on a full-page draw only: a partial (HTMX) does not draw what the refusal is said in."""
    kept = request.session.pop(key, None)
    if not isinstance(kept, dict) or kept.get("page") != request.path or not isinstance(kept.get("data"), dict):
        return None
    return kept["data"]
