"""The gallery's views, one module per area; what several of them share is here."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme

from gallery.text import refusal


def wants_partial(request: HttpRequest) -> bool:
    """Whether to answer with the page's partial (an HTMX request for the next page of a list, or the results of a
    search) rather than the whole page. HTMX restoring a page from history when its cache misses asks for the whole
    page, with the same HX-Request header: it gets the whole page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def redirect_back(request: HttpRequest, target: str, fallback) -> HttpResponseRedirect:
    """To `target` (a form's `next`: the page it was posted from) when it is a path on this site, else to `fallback`
    (what `redirect()` takes). The path is used as it is: `redirect()` would read a `next` like "0" or "home" as the
    name of a URL, and failing to find one is a 500; a relative one ("photos") would land on no page."""
    if target.startswith("/") and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                                  require_https=request.is_secure()):
        return HttpResponseRedirect(target)
    return redirect(fallback)


def removed_meanwhile(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    """A write refused because the member was removed from the family since their page was drawn (member_hold,
    member_family_ids_hold, services.no_longer_member): nothing saved, and that family's pages are no longer theirs to
    come back to. HTMX gets the words in the problem bar (403, plain text: site.js), a page them on the timeline."""
    if request.htmx:
        return refusal(request, 403, str(exc))
    messages.error(request, str(exc))
    return redirect("gallery:timeline")
