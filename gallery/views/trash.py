"""A family's trash (members see it; the uploader or a family admin restores or deletes for good; admins empty it),
and the favourite heart of tiles and the photo page."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from gallery.forms import given_twice
from gallery.selectors import family_get, family_is_admin, photo_get, trash_list
from gallery.trash_services import (
    PhotoResult, photo_may_manage, photos_favourite, photos_purge, photos_restore, purge_at, trash_empty,
)
from gallery.views import redirect_back, removed_meanwhile


@require_GET
@login_required
def family_trash(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_get(user=request.user, family_id=family_id)
    is_admin = family_is_admin(user=request.user, family=family)
    admin_of = {family.pk} if is_admin else set()
    # A page at a time: a family's trash may hold thousands of photos (rendering them all took seconds).
    paginator = Paginator(trash_list(user=request.user, family_id=family.pk), settings.GALLERY_PAGE_SIZE)
    twice = given_twice(request.GET, ("page",))  # `page=1&page=2`: said, and the first page shown (not the last's)
    for message in twice.values():
        messages.error(request, f"{message} Here is the trash from its first page.")
    page = paginator.get_page(None if twice else request.GET.get("page"))
    entries = [{"photo": photo, "purge_at": purge_at(photo),
                "can_manage": photo_may_manage(photo=photo, user=request.user, admin_of=admin_of)}
               for photo in page.object_list]
    return render(request, "gallery/trash.html", {"family": family, "entries": entries, "is_admin": is_admin,
                                                  "page": page, "total": paginator.count,
                                                  "trash_days": settings.TRASH_DAYS}, status=400 if twice else 200)


def _posted_ids(request: HttpRequest) -> list[str]:
    return request.POST.getlist("photo")[:500]


def results_message(request: HttpRequest, results: list[PhotoResult], done: str, *, where: str = "",
                    empty: str = "No photo was chosen.") -> None:
    """One message for what was done ("{done} 3 photos{where}."), one per distinct reason something was not."""
    ok = sum(result.ok for result in results)
    if ok:
        messages.success(request, f"{done} {ok} photo{'s' if ok != 1 else ''}{where}.")
    for reason in dict.fromkeys(result.reason for result in results if not result.ok):
        messages.error(request, reason)
    if not results:
        messages.error(request, empty)


@require_POST
@login_required
def trash_restore(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_get(user=request.user, family_id=family_id)
    try:
        results = photos_restore(user=request.user, photo_ids=_posted_ids(request))
    except PermissionDenied as exc:
        return removed_meanwhile(request, exc)
    results_message(request, results, "Restored")
    # Back to the photo's own page when restored from there (gallery/photo_trashed.html), else to the trash.
    return redirect_back(request, request.POST.get("next", ""), reverse("gallery:family_trash", args=[family.pk]))


@require_POST
@login_required
def trash_delete(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_get(user=request.user, family_id=family_id)
    try:
        results = photos_purge(user=request.user, photo_ids=_posted_ids(request))
    except PermissionDenied as exc:
        return removed_meanwhile(request, exc)
    results_message(request, results, "Deleted for good")
    return redirect("gallery:family_trash", family.pk)


@require_POST
@login_required
def trash_empty_view(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_get(user=request.user, family_id=family_id)
    try:
        count = trash_empty(user=request.user, family=family)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Emptied the trash: {count} photo{'s' if count != 1 else ''} deleted for good.")
    return redirect("gallery:family_trash", family.pk)


@require_POST
@login_required
def photo_favourite(request: HttpRequest, photo_id: int) -> HttpResponse:
    """The heart: `on=1` marks the photo as the user's favourite, `on=0` unmarks it. HTMX swaps the heart; without
    JavaScript the form posts and comes back to the page it was on (`next`)."""
    photo = photo_get(user=request.user, photo_id=photo_id)
    on = request.POST.get("on", "1") != "0"
    try:
        photos_favourite(user=request.user, photo_ids=[photo.pk], on=on)
    except PermissionDenied as exc:  # (the heart would show what was never saved)
        return removed_meanwhile(request, exc)
    target = request.POST.get("next", "")
    if request.htmx:
        return render(request, "gallery/_heart.html", {"photo": photo, "favourite": on, "next": target})
    return redirect_back(request, target, photo)
