"""Correcting a photo from its page: date taken, a shift of dates (a wrong camera clock), place, rotation. Plain
posts that come back to the photo with a message; any member of the photo's family may correct it."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from gallery.correction_services import (
    date_seen, photo_date_set, photo_place_set, photo_rotate, photos_dates_version, photos_shift_dates,
)
from gallery.forms import PhotoDateForm, PhotoPlaceForm, PhotoShiftForm
from gallery.files import ORIGINAL_MISSING, StorageFailed, StorageUnavailable
from gallery.images import ImageBusy, ImageRejected
from gallery.selectors import family_known_places, photo_get, photos_same_camera_day
from gallery.views import removed_meanwhile


# Every correction comes back to #corrections, far down the page: its messages carry this tag and are shown in that
# box (templates/gallery/photo_detail.html), where the person who pressed the button is looking.
WHERE = "corrections"


def _form_errors(request: HttpRequest, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error, extra_tags=WHERE)


def _back(photo) -> HttpResponse:
    return redirect(photo.get_absolute_url() + "#corrections")


@require_POST
@login_required
def photo_date(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = photo_get(user=request.user, photo_id=photo_id)
    form = PhotoDateForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(photo)
    taken = datetime.combine(form.cleaned_data["date"], form.cleaned_data["time"] or time(12, 0))
    try:
        photo_date_set(photo=photo, taken_at=taken, user=request.user)
    except PermissionDenied as exc:
        return removed_meanwhile(request, exc)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages), extra_tags=WHERE)
    else:
        stored = photo.taken_at_local
        messages.success(request, f"Date taken set to {stored:%d %b %Y %H:%M}{_clock_change(taken, stored)}.",
                         extra_tags=WHERE)
    return _back(photo)


def _clock_change(typed: datetime, stored: datetime) -> str:
    """What a member is told when the time they typed is not one moment there that day: one the clocks skipped (set
    as the moment it names, an hour on), or one they showed twice (set as the first: the page can't tell which was
    meant; the API takes either, with its offset)."""
    if stored.replace(tzinfo=None, second=0, microsecond=0) != typed:
        return f" ({typed:%H:%M} does not exist there that day: the clocks went forward)"
    second = typed.replace(tzinfo=stored.tzinfo, fold=1)
    if second.utcoffset() != stored.utcoffset():
        return (f" ({typed:%H:%M} came twice there that day, as the clocks went back: this is the first, at "
                f"UTC{stored.isoformat()[-6:]})")  # (its offset, "+01:00")
    return ""


def _seen(photo, version: str) -> dict | None:
    """The photo's date as the form showed it, for photos_shift_dates(seen=...); None: the form carried none."""
    at = date_seen(version)
    return None if at is None else {photo.pk: at}


@require_POST
@login_required
def photo_shift(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = photo_get(user=request.user, photo_id=photo_id)
    form = PhotoShiftForm(request.POST, camera=photo.has_camera)
    if not form.is_valid():
        _form_errors(request, form)
        return _back(photo)
    ids = [photo.pk] if form.cleaned_data["scope"] == "photo" else photos_same_camera_day(user=request.user,
                                                                                          photo=photo)
    try:  # (the camera's day, however many: the server chose them)
        results = photos_shift_dates(user=request.user, photo_ids=ids, delta=form.delta(), most=None,
                                     seen=_seen(photo, form.cleaned_data["seen"]), family=photo.family)
    except PermissionDenied as exc:
        return removed_meanwhile(request, exc)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages), extra_tags=WHERE)
        return _back(photo)
    moved = [result.id for result in results if result.ok]
    if moved:
        messages.success(request, f"Shifted the date taken of {len(moved)} photo{'s' if len(moved) != 1 else ''}.",
                         extra_tags=WHERE)
        # Its undo moves back exactly these photos: shifting back "every photo from this camera that day" would
        # pick the photos on the day they now share, with others that never moved, and miss any moved off it.
        # With their dates as the shift left them: an undo after someone set one of them moves nothing.
        request.session[SHIFT_UNDO_KEY] = {"photo": photo.pk, "ids": moved,
                                           "seconds": int(form.delta().total_seconds()),
                                           "dates": photos_dates_version(photo_ids=moved)}
    for reason in dict.fromkeys(result.reason for result in results if not result.ok):
        messages.error(request, reason, extra_tags=WHERE)
    return _back(photo)


SHIFT_UNDO_KEY = "shift_undo"


def shift_undo_offer(request: HttpRequest, photo) -> dict | None:
    """The last shift made from this photo's page in this session, which its page offers to undo (else None)."""
    undo = request.session.get(SHIFT_UNDO_KEY)
    return undo if isinstance(undo, dict) and undo.get("photo") == photo.pk else None


@require_POST
@login_required
def photo_shift_undo(request: HttpRequest, photo_id: int) -> HttpResponse:
    """Move the photos of the last shift made from this page back by the same offset (each checked again)."""
    photo = photo_get(user=request.user, photo_id=photo_id)
    undo = shift_undo_offer(request, photo)
    if undo is None:
        messages.error(request, "There is no shift of this photo's dates to undo.", extra_tags=WHERE)
        return _back(photo)
    del request.session[SHIFT_UNDO_KEY]
    try:
        results = photos_shift_dates(user=request.user, photo_ids=undo["ids"],
                                     delta=-timedelta(seconds=undo["seconds"]), most=None, seen_all=undo.get("dates"),
                                     family=photo.family)
    except PermissionDenied as exc:
        return removed_meanwhile(request, exc)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages), extra_tags=WHERE)
        return _back(photo)
    back = sum(result.ok for result in results)
    messages.success(request, f"Undid the shift: {back} photo{'s' if back != 1 else ''} back to the date taken "
                              "they had.", extra_tags=WHERE)
    for reason in dict.fromkeys(result.reason for result in results if not result.ok):
        messages.error(request, reason, extra_tags=WHERE)
    return _back(photo)


@require_POST
@login_required
def photo_place(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = photo_get(user=request.user, photo_id=photo_id)
    if request.POST.get("clear"):
        try:
            photo_place_set(photo=photo, user=request.user)
        except PermissionDenied as exc:
            return removed_meanwhile(request, exc)
        messages.success(request, "Place cleared.", extra_tags=WHERE)
        return _back(photo)
    form = PhotoPlaceForm(request.POST, places=family_known_places(family_id=photo.family_id))
    if not form.is_valid():
        _form_errors(request, form)
        return _back(photo)
    zone = photo.taken_tz
    try:
        photo_place_set(photo=photo, place=form.place(), latitude=form.cleaned_data.get("latitude"),
                        longitude=form.cleaned_data.get("longitude"), user=request.user)
    except PermissionDenied as exc:
        return removed_meanwhile(request, exc)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages), extra_tags=WHERE)
    else:
        moved = (f" Its time is now read in that place's zone ({photo.taken_tz}): taken "
                 f"{photo.taken_at_local:%d %b %Y %H:%M}.") if photo.taken_tz != zone else ""
        messages.success(request, f"Place set to {photo.place_label or 'no named place (open country or sea)'}."
                                  f"{moved}", extra_tags=WHERE)
    return _back(photo)


@require_POST
@login_required
def photo_turn(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = photo_get(user=request.user, photo_id=photo_id)
    turns = {"left": -1, "right": 1}.get(request.POST.get("turn", ""))
    if turns is None:
        messages.error(request, "Turn the photo left or right.", extra_tags=WHERE)
        return _back(photo)
    # The rotation the page showed (no form before it carried one: none, no check).
    seen = {str(degrees): degrees for degrees in (0, 90, 180, 270)}.get(request.POST.get("seen", ""))
    try:
        photo_rotate(photo=photo, quarter_turns=turns, seen=seen, user=request.user)
    except PermissionDenied as exc:
        return removed_meanwhile(request, exc)
    except ImageBusy:
        messages.error(request, "The server is busy with other pictures: try again in a moment.", extra_tags=WHERE)
    except StorageUnavailable:
        messages.error(request, "The photo storage is not answering: try again in a moment.", extra_tags=WHERE)
    except FileNotFoundError:
        messages.error(request, ORIGINAL_MISSING, extra_tags=WHERE)
    except (ImageRejected, OSError) as exc:
        messages.error(request, f"The original could not be read: {exc}", extra_tags=WHERE)
    except StorageFailed as exc:
        messages.error(request, str(exc), extra_tags=WHERE)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages), extra_tags=WHERE)
    else:
        messages.success(request, "Turned. Search sees the new orientation once the photo is indexed again.",
                         extra_tags=WHERE)
    return _back(photo)
