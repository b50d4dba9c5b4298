"""The selection bar's endpoints: an action on the ticked photos (the same service as POST /api/v1/photos/bulk/), and
the ticked photos' originals as one streamed ZIP. Both work as plain form posts without JavaScript."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from gallery.album_services import NewAlbum, PhotoOutcome
from gallery.bulk import (
    BULK_ACTIONS, BULK_MAX_PHOTOS, BulkResult, bulk_albums, bulk_note, photos_add_to_new_album, photos_bulk_apply,
)
from gallery.correction_services import date_seen, photo_date_version
from gallery.downloads import GONE_SINCE, photos_for_download, zip_response
from gallery.models import Photo
from gallery.selectors import family_labelled, family_list, photo_list, tag_list
from gallery.services import parse_tags, tags_keyed
from gallery.text import id_from_text, text_isolated
from gallery.views import redirect_back, removed_meanwhile
from gallery.views.refusals import refusal_keep, refusal_take


# What the bar offers on a list of photos (timeline, search results, an album); the trash page offers "restore".
# ("read_text" is search's: offered where search registered it.)
LIST_ACTIONS = ("add_tags", "remove_tags", "add_to_album", "favourite", "unfavourite", "shift_dates", "read_text",
                "download", "trash")
# A plain album's page also takes the ticked photos out of that album (`from_album`: the page's album).
ALBUM_ACTIONS = (*LIST_ACTIONS[:3], "remove_from_album", *LIST_ACTIONS[3:])
TRASH_ACTIONS = ("restore",)


def selection_context(*, user, actions: tuple[str, ...] = LIST_ACTIONS, album=None, families=None,
                      refused: BarRefused | None = None) -> dict:
    """What the selection bar (templates/gallery/_select_bar.html) needs: a page that shows a selectable grid adds
    this to its context, naming the actions its bar offers (registered ones only, and "download"); an album's page
    names its album (what "remove_from_album" takes the photos out of). Actions after which the photos done leave
    one page's list only ("unfavourite" on the favourites) are named by that list: data-select-removes. `families`:
    the user's families when the page has read them (the timeline's picker), else they are read as the bar is drawn
    (a partial that draws no bar reads none). `refused`: the bar as a refusal of its plain form left it
    (bar_refused_take: the page's view takes it on a full-page draw), drawn once."""
    offered = [name for name in actions if name in BULK_ACTIONS or name == "download"]
    return {"bulk": {
        "refused": refused,
        "album": album,
        "actions": offered,
        "max": BULK_MAX_PHOTOS,
        "download_max": settings.DOWNLOAD_MAX_PHOTOS,
        "trash_days": settings.TRASH_DAYS,
        "tags": tag_list(user=user),
        "albums": bulk_albums(user=user) if "add_to_album" in offered else [],
        # "New album…" asks which family only of a member of several, and never on an album's page (its photos are
        # its family's): else it is made in the ticked photos' family.
        "families": [] if "add_to_album" not in offered or album is not None
        else family_list(user=user) if families is None else families,
    }}


def _back(request: HttpRequest) -> HttpResponse:
    """Back to the page the bar was on (a local address only), else the timeline."""
    return redirect_back(request, request.POST.get("next", ""), "gallery:timeline")


# A refusal of the bar's plain form (no JavaScript: a post, not HTMX), kept in the session for the page it goes back
# to: a Post/Redirect/Get, so a reload asks for the page again and sends nothing.
BAR_REFUSED_KEY = "select_bar_refused"
# What the bar's fields were sent with (each cut at 2,000 characters: the longest field's maxlength), and at most as
# many ticks as a page can draw and more (a refusal of too many keeps them, to untick some).
BAR_FIELDS = ("tags", "album", "new_album_name", "new_album_family", "shift_amount", "shift_unit", "read_again")
BAR_TICKS_KEPT = 5000


@dataclass(frozen=True)
class BarRefused:
    """The bar as a refused plain post left it, drawn so by the page it went back to: the photos ticked (those the
    page shows: gallery/_select_box.html), what was typed and chosen, and why."""

    ticked: frozenset[int]
    fields: dict[str, str]
    why: SafeString
    field: str  # the field of BAR_FIELDS the refusal is about (drawn aria-invalid), or ""


def _refused_field(exc: ValidationError) -> str:
    """The field of the bar a refusal is about: an album's name refused (album_text_clean's "name"), or the field
    its code names (gallery.bulk's refusals of the tags, the album, the shift, the new album's family); "" for one
    about no field (nothing ticked, the photos gone)."""
    if hasattr(exc, "error_dict"):
        return "new_album_name" if "name" in exc.error_dict else ""
    code = getattr(exc, "code", None)
    return code if code in BAR_FIELDS else ""


def _refused_back(request: HttpRequest, why: str, *, field: str = "") -> HttpResponse:
    """Back to the page the bar was on, at the bar, which shows the photos ticked, the fields as they were sent and
    `why` (escaped unless safe: a link to an album): once, on that page (bar_refused_take). Every refusal of every
    action of the bar's plain form comes back this way."""
    response = _back(request)
    ticked = [pk for value in request.POST.getlist("photos")[:BAR_TICKS_KEPT]
              if (pk := id_from_text(value)) is not None]
    refusal_keep(request, BAR_REFUSED_KEY, page=response["Location"], data={
        "ticked": ticked, "fields": {name: request.POST.get(name, "")[:2000] for name in BAR_FIELDS},
        "why": str(conditional_escape(why)), "field": field})
    response["Location"] += "#bulk-form"
    return response


def bar_refused_take(request: HttpRequest) -> BarRefused | None:
    """The refusal kept for this page's bar (_refused_back), taken: for a page's view to pass to selection_context
    on a full-page draw."""
    kept = refusal_take(request, BAR_REFUSED_KEY)
    if kept is None:
        return None
    # (kept escaped, in the session only the server writes)
    return BarRefused(ticked=frozenset(kept["ticked"]), fields=kept["fields"], why=mark_safe(kept["why"]),
                      field=kept.get("field", ""))


def _album_id(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


# The units the bar's "Shift dates" offers, in seconds.
SHIFT_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}


def _shift_seconds(amount: str | None, unit: str | None) -> int | None:
    """The bar's offset ("-1" and "hours") in seconds; None when it isn't a whole number of a known unit."""
    try:
        number = int((amount or "").strip().replace("\u2212", "-"))  # a typed minus sign too
    except ValueError:
        return None
    return number * SHIFT_UNITS[unit] if unit in SHIFT_UNITS else None


def _dates_seen(values: list[str]) -> dict[int, datetime]:
    """The dates taken the page showed (gallery/_select_box.html: "id:photo_date_version" each), by photo id; what is
    not one is left out (that photo's shift is then unchecked)."""
    seen = {}
    for value in values:
        pk, _, version = value.partition(":")
        if (photo_id := id_from_text(pk)) is not None and (at := date_seen(version)) is not None:
            seen[photo_id] = at
    return seen


@require_POST
@login_required
def photos_bulk(request: HttpRequest) -> HttpResponse:
    """Do one action to the ticked photos. HTMX gets the bar's status line and a `bulk-done` event naming the photos
    done (the page's script unticks them, and takes them off the grid after "Move to trash"); a plain post gets a
    message and goes back to the page."""
    action = request.POST.get("action", "")
    tags = parse_tags(request.POST.get("tags", ""))
    # "Add to album" takes the album picked in the bar, "Take out of this album" the album of the page.
    album = request.POST.get("from_album") if action == "remove_from_album" else request.POST.get("album")
    made = None
    try:
        if action == "add_to_album" and album != "new":
            new_album_unchosen(request.POST.get("new_album_name", ""))
        if action == "add_to_album" and album == "new":
            made = photos_add_to_new_album(user=request.user, photo_ids=request.POST.getlist("photos"),
                                           name=request.POST.get("new_album_name", ""),
                                           family_id=id_from_text(request.POST.get("new_album_family") or ""))
            results = [BulkResult(*outcome) for outcome in made.outcomes]
        else:
            results = photos_bulk_apply(user=request.user, action=action, photo_ids=request.POST.getlist("photos"),
                                        tags=tags,
                                        album_id=_album_id(album),
                                        seconds=_shift_seconds(request.POST.get("shift_amount"),
                                                               request.POST.get("shift_unit")),
                                        seen=_dates_seen(request.POST.getlist("taken_at_seen")),
                                        again=bool(request.POST.get("read_again")))
    except PermissionDenied as exc:  # removed from a family of the ticked photos since the page was drawn
        return removed_meanwhile(request, exc)
    except ValidationError as exc:
        results, summary, problem = [], " ".join(exc.messages), True
        conflict = getattr(exc, "code", None) == "shift_conflict"
        field = _refused_field(exc)
    else:
        conflict, field = False, ""
        summary = (new_album_summary(made, user=request.user) if made is not None
                   else bulk_summary(action, results))
        problem = not any(result.ok for result in results)
    if not request.htmx:
        if problem:
            return _refused_back(request, summary, field=field)
        messages.success(request, summary)
        return _back(request)
    done = [result.id for result in results if result.ok]
    context = {"summary": summary, "problem": problem, "back_to": request.POST.get("next", "")}
    if action in HEART_ACTIONS and done:  # the hearts of the photos done, swapped in out of band
        context.update(hearts=Photo.objects.filter(pk__in=done).only("pk", "title", "original_filename"),
                       hearts_on=HEART_ACTIONS[action])
    if made is not None:  # the bar's albums, the new one chosen for the next photos ticked (oob)
        context.update(bulk={"albums": bulk_albums(user=request.user)}, album_chosen=made.album.pk)
    detail = {"action": action, "ok": done, "remove": action in REMOVES_FROM_LIST}
    if action == "shift_dates" and (done or conflict):
        # The dates the tiles carry (gallery/_select_box.html), as they are now: the page stays, and shifting the same
        # photos again (after a shift, or a refusal that said what they read now) is the member's own
        # (static/js/select.js puts them on the tiles). Those the member sees only.
        ticked = [pk for value in request.POST.getlist("photos") if (pk := id_from_text(value)) is not None]
        shown = photo_list(user=request.user).filter(pk__in=done or ticked[:BULK_MAX_PHOTOS])
        detail["taken_at_seen"] = {photo.pk: f"{photo.pk}:{photo_date_version(photo)}"
                                   for photo in shown.select_related(None).only("pk", "taken_at")}
    if action == "remove_tags" and done:
        # The tags taken off, by the database's key (same_name's): a list of one of them (data-select-removes-tag,
        # its tag's key) lets go of the photos done, which match it no longer.
        detail["tags"] = list(tags_keyed(tags))
    response = render(request, "gallery/_select_bar.html#bulk-status", context)
    response["HX-Trigger"] = json.dumps({"bulk-done": detail})
    return response


def new_album_unchosen(name: str) -> None:
    """A name typed for "New album…" while an album of the list is chosen: refused rather than dropped (the photos
    going into that album, no album made). Only a browser with neither script nor CSS :has() sends one: it shows
    the name field beside every choice (static/js/site.js disables the field otherwise, and :has() hides it)."""
    if name.strip():
        raise ValidationError(f"Choose “New album…” to make “{text_isolated(name.strip())}”.", code="new_album_name")


# After these actions the photos done are no longer in the list they were picked from.
REMOVES_FROM_LIST = {"trash", "restore", "remove_from_album"}
# After these the hearts of the photos done show the new state (on or off).
HEART_ACTIONS = {"favourite": True, "unfavourite": False}


def bulk_summary(action: str, results: list[BulkResult]) -> str:
    """"Tags added to 3 photos. 2 were not: No such photo. (1) …" in one line. A photo that was ok but needed
    nothing (already in the album) is not counted as done: "1 photo added to the album. 2 unchanged: Already in the
    album." """
    done = sum(result.ok and not result.reason for result in results)
    photos = f"{done} photo{'' if done == 1 else 's'}"
    text = BULK_ACTIONS[action].label.format(photos=photos) if done else "Nothing was done."
    text = text[0].upper() + text[1:]
    if note := bulk_note(action, results):
        text += f" {note}"
    for reason, count in Counter(result.reason for result in results if result.ok and result.reason).items():
        text += f" {count} unchanged: {reason}"
    reasons = Counter(result.reason for result in results if not result.ok)
    if reasons:
        failed = sum(reasons.values())
        why = " ".join(f"{reason} ({count})" if len(reasons) > 1 else reason for reason, count in reasons.items())
        text += f" {failed} {'was' if failed == 1 else 'were'} not: {why}"
    return text


def new_album_summary(made: NewAlbum, *, user, one_photo: bool = False) -> SafeString:
    """What "New album…" of a picker did, linking to the album (album_added_summary's words): "Added 3 photos to the
    new album “Beach”." (a photo's page, `one_photo`: "Added to …"), the family's album of that name named as such
    (its family as the user's pickers name it: Family.label)."""
    link = format_html('<a href="{}">“{}”</a>', made.album.get_absolute_url(), text_isolated(made.album))
    which = format_html("the new album {}", link) if made.made else format_html(
        "the album {} ({} had one of that name: no second was made)", link,
        text_isolated(family_labelled(user=user, family=made.album.family).label))
    return album_added_summary(made.outcomes, album=which, one_photo=one_photo)


def album_added_summary(outcomes: list[PhotoOutcome], *, album: str, one_photo: bool = False) -> SafeString:
    """What album_add_photos did, in the same words wherever photos are added to an album (a photo's page, the
    album's picker, "New album…"): "Added 3 photos to “Beach”. 1 was already in it. 2 could not be added: …" (their
    reasons, counted when they differ); "1 photo is already in “Beach”." rather than "Added 0 photos". `album` names
    the album ("“Beach”", or a link to it: escaped unless safe); `one_photo` (a photo's page): "Added to …", "That
    photo is already in …", "That photo could not be added to …: why"."""
    added = sum(outcome.ok and not outcome.reason for outcome in outcomes)
    already = sum(outcome.ok and bool(outcome.reason) for outcome in outcomes)
    refused = Counter(outcome.reason for outcome in outcomes if not outcome.ok)
    if added:
        text = format_html("Added {}to {}.", "" if one_photo else f"{added} photo{'' if added == 1 else 's'} ", album)
        if already:
            text = format_html("{} {} {} already in it.", text, already, "was" if already == 1 else "were")
    elif already:
        text = format_html("{} already in {}.", "That photo is" if one_photo else
                           f"{already} photo{' is' if already == 1 else 's are'}", album)
    elif one_photo:
        return format_html("That photo could not be added to {}: {}", album, " ".join(refused))
    else:
        text = format_html("No photo was added to {}.", album)
    if refused:
        why = " ".join(f"{reason} ({count})" if len(refused) > 1 else reason for reason, count in refused.items())
        count = sum(refused.values())
        text = format_html("{} {} could not be added: {}", text, count, why)
    return text


@require_POST
@login_required
def photos_download(request: HttpRequest) -> HttpResponse:
    """The ticked photos' originals as one ZIP, streamed; only photos the user may see, at most DOWNLOAD_MAX_PHOTOS
    (more is refused with a message rather than cut short without a word)."""
    ids = [photo_id for value in request.POST.getlist("photos")
           if (photo_id := id_from_text(value.strip())) is not None]
    cap = settings.DOWNLOAD_MAX_PHOTOS
    if len(set(ids)) > cap:
        return _refused_back(request, f"A download holds at most {cap} photos; {len(set(ids))} were selected. "
                                      "Download them in smaller parts.")
    photos = photos_for_download(user=request.user, photo_ids=ids)
    if not photos:
        # A selection of a page shown before its photos went (another member, the trash's purge): told so.
        return _refused_back(request, f"The photos selected are no longer there ({GONE_SINCE}): nothing to download."
                             if ids else "Select the photos to download first.")
    # A form's junk (not an id a photo may have) is left out, and not counted as "gone".
    return zip_response(photos, f"photos-{timezone.localdate():%Y-%m-%d}.zip", gone=len(set(ids)) - len(photos))
