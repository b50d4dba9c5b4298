"""Tag suggestions on the photo page (Accept / Dismiss, HTMX or plain forms) and the family's bulk page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST

from gallery.forms import AcceptAboveForm
from gallery.selectors import (
    family_get, family_is_admin, family_labelled, family_suggestion_summary, family_suggestions_on_full_photos,
    photo_get, suggestion_get,
)
from gallery.services import MAX_TAGS
from gallery.suggestions import suggestion_accept as suggestion_accept_service
from gallery.suggestions import suggestion_dismiss, suggestions_accept_above
from gallery.views import removed_meanwhile
from gallery.views.families import no_longer_admin


@require_POST
@login_required
def suggestion_accept(request: HttpRequest, photo_id: int, suggestion_id: int) -> HttpResponse:
    suggestion = suggestion_get(user=request.user, photo_id=photo_id, suggestion_id=suggestion_id)
    try:
        suggestion_accept_service(suggestion=suggestion, user=request.user)
    except PermissionDenied as exc:
        return removed_meanwhile(request, exc)
    except ValidationError as exc:
        return _after(request, photo_id, error=" ".join(exc.messages))
    return _after(request, photo_id, done=f"Added the tag “{suggestion.name}”.")


@require_POST
@login_required
def suggestion_dismiss_view(request: HttpRequest, photo_id: int, suggestion_id: int) -> HttpResponse:
    suggestion = suggestion_get(user=request.user, photo_id=photo_id, suggestion_id=suggestion_id)
    try:
        suggestion_dismiss(suggestion=suggestion, user=request.user)
    except PermissionDenied as exc:
        return removed_meanwhile(request, exc)
    except ValidationError as exc:
        return _after(request, photo_id, error=" ".join(exc.messages))
    return _after(request, photo_id, done=f"Dismissed “{suggestion.name}”: it won't be suggested again.")


def _after(request: HttpRequest, photo_id: int, *, done: str = "", error: str = "") -> HttpResponse:
    """HTMX: the suggestions card again, with the photo's tags for an out-of-band swap; else back to the page."""
    photo = photo_get(user=request.user, photo_id=photo_id)  # fresh tags and suggestions
    if request.htmx:
        photo.family = family_labelled(user=request.user, family=photo.family)  # "All suggestions in …"
        context = {"photo": photo, "suggestion_note": done, "suggestion_error": error, "with_meta": True,
                   "suggestions_enabled": settings.TAG_SUGGESTIONS_ENABLED}
        return render(request, "gallery/photo_suggestions.html", context, status=422 if error else 200)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect(photo)


def _say_kept_open(request: HttpRequest, kept_open: list[str]) -> None:
    """Photos whose suggestions stayed open (at the tag limit): named, never left out without a word."""
    for reason in kept_open[:5]:
        messages.warning(request, f"{reason} Its suggestions stay open.")
    if len(kept_open) > 5:
        messages.warning(request, f"{len(kept_open) - 5} more photos are at the tag limit: their suggestions stay "
                                  "open.")


@require_http_methods(["GET", "POST"])
@login_required
def family_suggestions(request: HttpRequest, family_id: int) -> HttpResponse:
    """The family's open suggestions by tag; its admins accept every one above a probability they type."""
    family = family_get(user=request.user, family_id=family_id)
    is_admin = family_is_admin(user=request.user, family=family)
    # (the address binds the form only with a threshold: a link carrying anything else is the default's page)
    form = AcceptAboveForm(request.POST or (request.GET if "min_probability" in request.GET else None))
    if request.method == "POST" and "count" in request.POST:
        # "Count them": posted, so the form's CSRF token stays out of the address (history, logs, Referer); the count
        # is the page of the threshold alone.
        if form.is_valid():
            query = urlencode({"min_probability": form.cleaned_data["min_probability"]})
            return redirect(f"{reverse('gallery:family_suggestions', args=[family.pk])}?{query}")
    elif request.method == "POST":
        if not is_admin:
            raise no_longer_admin(family)
        if form.is_valid():
            kept_open: list[str] = []
            try:
                count = suggestions_accept_above(family=family, min_probability=form.cleaned_data["min_probability"],
                                                 user=request.user, kept_open=kept_open)
            except PermissionDenied as exc:
                return removed_meanwhile(request, exc)
            messages.success(request, f"Accepted {count} suggestion{'s' if count != 1 else ''}: they are tags now.")
            _say_kept_open(request, kept_open)
            return redirect("gallery:family_suggestions", family_id=family.pk)
    threshold = form.cleaned_data["min_probability"] if form.is_bound and form.is_valid() else 0.9
    summary = family_suggestion_summary(family=family, min_probability=threshold)
    # (those on photos at the tag limit stay open when accepted in bulk: counted apart, not promised)
    full = family_suggestions_on_full_photos(family=family, min_probability=threshold, max_tags=MAX_TAGS)
    context = {"family": family, "is_admin": is_admin, "form": form if form.is_bound else AcceptAboveForm(),
               "threshold": threshold, "summary": summary, "above": sum(row["above"] for row in summary) - full,
               "on_full_photos": full, "max_tags": MAX_TAGS}
    return render(request, "gallery/family_suggestions.html", context, status=422 if form.errors else 200)
