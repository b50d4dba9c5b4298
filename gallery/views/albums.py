"""Album pages: the list of albums, an album (the timeline's tiles, the viewer in its order), adding and arranging
photos, renaming and deleting, and the share links made for it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from gallery import smart_albums
from gallery.album_selectors import (
    AlbumList, album_cover_id, album_get, album_list, album_tiles, album_page, album_page_of, album_page_url, album_photo_ids,
    albums_with_family_labels, share_get, share_list,
)
from gallery.album_services import (
    IN_TRASH, album_add_photos, album_can_manage, album_create_unless_repeated, album_create_with_photos, album_delete,
    album_move_photo, album_remove_photos, album_edit_version, album_reorder, album_set_cover, album_update,
    share_create, share_revoke,
)
from gallery.bulk import BULK_MAX_PHOTOS
from gallery.downloads import album_archive, album_parts
from gallery.forms import AlbumArrangeForm, AlbumCreateForm, AlbumEditForm, AlbumPhotosForm, ShareForm, given_twice
from gallery.photo_lists import list_context_from
from gallery.selectors import family_get, family_labelled, family_list, photo_get, photo_list, tag_key, trash_photo_get
from gallery.text import id_from_text, text_isolated
from gallery.views import removed_meanwhile, wants_partial
from gallery.views.bulk import (
    ALBUM_ACTIONS, LIST_ACTIONS, BarRefused, album_added_summary, bar_refused_take, new_album_summary,
    new_album_unchosen, selection_context,
)
from gallery.views.media import login_or_token_required
from gallery.views.photos import new_album_refused_keep

PICKER_SIZE = 200


def _problem(exc: ValidationError | PermissionDenied) -> str:
    return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)


@require_http_methods(["GET", "POST"])
@login_required
def album_index(request: HttpRequest) -> HttpResponse:
    """Every album of the user's families, and a form to start one."""
    families = list(family_list(user=request.user))
    form = AlbumCreateForm(request.POST or None, families=families)
    if request.method == "POST" and form.is_valid():
        family = family_get(user=request.user, family_id=form.cleaned_data["family"])
        try:
            album, made = album_create_unless_repeated(user=request.user, family=family,
                                                       name=form.cleaned_data["name"],
                                                       description=form.cleaned_data["description"])
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _problem(exc))
        else:
            if made:
                messages.success(request, f"Created the album “{text_isolated(album)}”. Add photos to it below.")
            else:
                messages.info(request, f"You made the album “{text_isolated(album)}” a moment ago: here it is.")
            return redirect(album)
    albums = albums_with_family_labels(user=request.user, albums=list(album_list(user=request.user)),
                                       families=families)
    tiles = album_tiles(albums=albums, smart_counts=False)  # the plain albums' in one query
    return render(request, "gallery/albums.html", {
        "albums": [(album, tiles[album.pk]) for album in albums], "form": form, "families": families,
        "several_families": len(families) > 1,
    })


@require_GET
@login_required
@vary_on_headers("HX-Request")  # same URL, page or partial: caches must keep them apart
def album_detail(request: HttpRequest, album_id: int) -> HttpResponse:
    """The album's photos a page at a time, as the timeline: the first page in full, the following ones as bare
    partials appended under it by HTMX (infinite scroll), or as whole pages through the plain link."""
    album = album_get(user=request.user, album_id=album_id)
    twice = given_twice(request.GET, POSITION_PARAMS)  # said, and the album shown from its start (_page_context)
    if wants_partial(request):
        # The next page as it is scrolled: a smart album's list as its page searched it.
        return render(request, "gallery/album_detail.html#grid-page", _page_context(request, album, reuse=True),
                      status=400 if twice else 200)
    for message in twice.values():
        messages.error(request, f"{message} Here is the album from its start.")
    context = _album_context(request, album, refused=bar_refused_take(request))
    return render(request, "gallery/album_detail.html", context, status=400 if twice else 200)


@require_GET
@login_or_token_required  # the API gives these URLs (an album's download_urls)
def album_download(request: HttpRequest, album_id: int) -> HttpResponse:
    """The album's originals as a ZIP (`?part=N` of an album bigger than one download: album_parts), for any
    member of its family, in the album's order."""
    album = album_get(user=request.user, album_id=album_id)
    if twice := given_twice(request.GET, ("part",)):  # not the last alone: a script asking for two would get one
        return _download_refused(request, album, 400, {"part": [twice["part"]]}, twice["part"])
    response = album_archive(album=album, ids=album_photo_ids(album=album, reuse=True),
                             part=request.GET.get("part"))
    if response is None:
        return _download_refused(request, album, 404, {"detail": "That part of the album holds no photos (any more)."},
                                 "There is nothing to download there: the album has fewer photos now.")
    return response


def _download_refused(request: HttpRequest, album, status: int, body: dict, message: str) -> HttpResponse:
    """An album download refused: an API client (a token) gets `body` as the API answers, not a page; a browser the
    album's page with `message`."""
    if "HTTP_AUTHORIZATION" in request.META:
        return JsonResponse(body, status=status)
    messages.error(request, message)
    return redirect(album)


POSITION_PARAMS = ("page", "after")  # where an album's page starts


def _page_context(request: HttpRequest, album, *, reuse: bool = False) -> dict:
    position = {} if given_twice(request.GET, POSITION_PARAMS) else request.GET
    page = album_page(album=album, number=position.get("page"), size=settings.GALLERY_PAGE_SIZE, reuse=reuse,
                      after=position.get("after"))
    return {
        "album": album,
        "page": page,
        "cover_id": album_cover_id(album=album, photo_ids=page.ids),
        "photo_query": AlbumList.context(album).query,
        "can_arrange": not album.is_smart,
    }


def _album_context(request: HttpRequest, album, *, edit_form=None, refused: BarRefused | None = None) -> dict:
    """The album's page; `refused`: its selection bar as a refusal of its plain form left it (bar_refused_take)."""
    album.family = family_labelled(user=request.user, family=album.family)
    page_context = _page_context(request, album)
    return {
        **page_context,
        "can_manage": album_can_manage(user=request.user, album=album),
        "edit_form": edit_form or AlbumEditForm(initial={"name": album.name, "description": album.description,
                                                         "seen": album_edit_version(album)}),
        "smart_description": smart_albums.engine().describe(album=album) if album.is_smart else "",
        "tag_key": tag_key(album.search.get("tag")) if album.is_smart else "",  # (as the search page's)
        "limit": settings.ALBUM_MAX_PHOTOS,
        "download_parts": album_parts(page_context["page"].total),
        **selection_context(user=request.user, actions=LIST_ACTIONS if album.is_smart else ALBUM_ACTIONS, album=album,
                            refused=refused),
    }


@require_POST
@login_required
def album_edit(request: HttpRequest, album_id: int) -> HttpResponse:
    album = album_get(user=request.user, album_id=album_id)
    form = AlbumEditForm(request.POST)
    if form.is_valid():
        try:
            album_update(user=request.user, album=album, name=form.cleaned_data["name"],
                         description=form.cleaned_data["description"], seen=form.cleaned_data["seen"])
        except PermissionDenied as exc:
            # Their form is drawn for managers only (they may have been one when they opened it): say it above.
            messages.error(request, str(exc))
            return redirect(album)
        except ValidationError as exc:
            if getattr(exc, "code", None) == "edit_conflict":  # seen now: the next save is theirs to make
                album = album_get(user=request.user, album_id=album_id)
                form = AlbumEditForm({**request.POST.dict(), "seen": album_edit_version(album)})
                form.is_valid()
            form.add_error(None, _problem(exc))
        else:
            messages.success(request, "Saved.")
            return redirect(album)
    return render(request, "gallery/album_detail.html", _album_context(request, album, edit_form=form), status=422)


@require_POST
@login_required
def album_remove(request: HttpRequest, album_id: int) -> HttpResponse:
    album = album_get(user=request.user, album_id=album_id)
    try:
        album_delete(user=request.user, album=album)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect(album)
    messages.success(request, f"Deleted the album “{text_isolated(album)}”. Its photos are still in the family.")
    return redirect("gallery:albums")


@require_POST
@login_required
def album_arrange(request: HttpRequest, album_id: int) -> HttpResponse:
    """Move up/down/to, make cover, remove: the buttons under each tile (they work without JavaScript)."""
    album = album_get(user=request.user, album_id=album_id)
    form = AlbumArrangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "That change could not be read; the album is unchanged.")
        return redirect(album)
    action, photo_id = form.cleaned_data["action"], form.cleaned_data["photo"]
    refused = False
    try:
        _arrange(request, album, action, photo_id, form.cleaned_data["position"], form.cleaned_data["at"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _problem(exc))
        refused = True
    # Back to the page the photo is on now (a move can take it to the next or previous page), at the photo; when
    # refused, at the top, where the reason is (on a phone the photo's tile is screens below it).
    number = album_page_of(album=album, photo_id=photo_id, size=settings.GALLERY_PAGE_SIZE)
    return redirect(album_page_url(album=album, number=number, photo_id=None if refused else photo_id))


def _arrange(request: HttpRequest, album, action: str, photo_id: int, position: int | None, at: int | None) -> None:
    if action == "cover":
        album_set_cover(user=request.user, album=album, photo_id=photo_id)
        messages.success(request, "The album's cover is changed.")
    elif action == "remove":
        album_remove_photos(user=request.user, album=album, photo_ids=[photo_id])
        messages.success(request, "Taken out of the album (the photo is still in the family).")
    elif at is not None and action in ("up", "down"):  # a step from where the page showed it (checked there)
        step = 1 if action == "down" else -1
        album_move_photo(user=request.user, album=album, photo_id=photo_id, to=max(1, at + step), seen=at)
    else:
        order = album_photo_ids(album=album)
        if photo_id not in order:
            raise ValidationError("That photo is not in the album.")
        current = order.index(photo_id) + 1
        target = {"up": current - 1, "down": current + 1}.get(action, position or current)
        album_move_photo(user=request.user, album=album, photo_id=photo_id, to=max(1, target))


@require_POST
@login_required
def album_order(request: HttpRequest, album_id: int) -> HttpResponse:
    """The album's new order after a drag and drop (static/js/albums.js): `photos`, every id in order."""
    album = album_get(user=request.user, album_id=album_id)
    form = AlbumPhotosForm(request.POST)
    if not form.is_valid():
        return JsonResponse({"error": "Send the photos in their new order."}, status=400)
    try:
        album_reorder(user=request.user, album=album, photo_ids=form.cleaned_data["photos"])
    except (ValidationError, PermissionDenied) as exc:
        return JsonResponse({"error": _problem(exc)}, status=400)
    ids = album_photo_ids(album=album)
    # The cover too: without a chosen one it is the first photo, which the drag may have changed (the page moves its
    # badge, static/js/albums.js).
    return JsonResponse({"photos": ids, "cover": album_cover_id(album=album, photo_ids=ids)})


@require_http_methods(["GET", "POST"])
@login_required
def album_add(request: HttpRequest, album_id: int) -> HttpResponse:
    """Pick photos of the album's family to add (checkboxes; newest first). The selection of the timeline and
    search pages adds through the same service."""
    try:
        album = album_get(user=request.user, album_id=album_id)
    except Http404:
        # Deleted while the picker was open, the member's own photos ticked: the ticks are not lost without a word.
        # (Anything else, another family's album among them, is simply not there.)
        ids = [i for i in map(id_from_text, request.POST.getlist("photos")) if i is not None][:BULK_MAX_PHOTOS]
        ticked = photo_list(user=request.user).filter(pk__in=ids).count() if request.method == "POST" else 0
        if not ticked:
            raise
        messages.error(request, f"That album no longer exists (someone deleted it): the {ticked} "
                                f"photo{'s' if ticked != 1 else ''} you ticked {'were' if ticked != 1 else 'was'} "
                                "not added.")
        return redirect("gallery:albums")
    if album.is_smart:
        messages.error(request, "A smart album's photos come from its search.")
        return redirect(album)
    if request.method == "POST" and request.POST.get("go") in ("older", "newer"):
        return _picker_turn(request, album)
    if request.method == "POST":
        return _add_posted(request, album, back=album.get_absolute_url())
    # PICKER_SIZE at a time from `start`, newest first: the family's photos not in the album yet.
    candidates = (photo_list(user=request.user, family_id=album.family_id).exclude(album_entries__album=album)
                  .select_related(None).prefetch_related(None))
    total = candidates.count()
    album.family = family_labelled(user=request.user, family=album.family)  # "Every photo of Smiths · admin: …"
    start = min(_picker_start(request.GET.get("start")), max(total - 1, 0))
    shown = list(candidates[start:start + PICKER_SIZE])
    return render(request, "gallery/album_add.html", {
        "album": album, "candidates": shown, "total": total, "start": start, "first": start + 1,
        "last": start + len(shown), "newer": start > 0, "older": start + len(shown) < total})


def _picker_start(value) -> int:
    number = id_from_text(value or "")  # (a whole number, else the first photos)
    return number if number is not None and number < 2**31 else 0


def _picker_turn(request: HttpRequest, album) -> HttpResponse:
    """"Older photos" / "Newer photos" of the picker: the photos ticked on the page are added first (not lost), then
    the picker goes on from the photos after (or before) those it showed. The ones added are no candidates any more,
    so the older photos begin that many places sooner."""
    start = _picker_start(request.POST.get("start"))
    added = 0
    if request.POST.getlist("photos"):
        added = _add_ticked(request, album)
    if request.POST["go"] == "older":
        start = max(start + PICKER_SIZE - added, 0)
    else:
        start = max(start - PICKER_SIZE, 0)
    return redirect(f"{reverse('gallery:album_add', args=[album.pk])}?start={start}")


@require_POST
@login_required
def album_add_photo(request: HttpRequest) -> HttpResponse:
    """From a photo's page: add it to one of its family's albums (`album`, `photos`). Back to the photo; to the album
    when the photo is gone meanwhile (in the trash: the album's page says so), and to the photo, saying so, when
    the album is."""
    if request.POST.get("album") == "new":
        return _new_album_for_photo(request)
    album_id = id_from_text(request.POST.get("album", ""))
    if album_id is None:
        messages.error(request, "Choose an album.")
        return redirect("gallery:albums")
    photo_id = id_from_text(request.POST.get("photos", ""))
    try:
        photo = photo_get(user=request.user, photo_id=photo_id) if photo_id else None
    except Http404:  # (moved to the trash or deleted meanwhile: the album's page says which)
        photo = None
    try:
        album = album_get(user=request.user, album_id=album_id)
    except Http404:
        if photo is None:
            raise
        messages.error(request, "That album no longer exists (someone deleted it): the photo was not added.")
        return redirect(photo)
    name = request.POST.get("name", "")
    try:
        new_album_unchosen(name)
    except ValidationError as exc:
        if photo is not None:  # (the page again, "New album…" chosen and the name kept: Add makes it)
            return new_album_refused_keep(request, photo=photo, name=name, error=_problem(exc))
    back = list_context_from(request.GET).photo_url(photo.pk) if photo else album.get_absolute_url()
    return _add_posted(request, album, back=back, one_photo=True)


def _new_album_for_photo(request: HttpRequest) -> HttpResponse:
    """"New album…" of a photo's page: the album made in the photo's family (or the family's album of that name),
    holding the photo; back to the photo, with a link to the album. A name no album may have is said at its field,
    what was typed kept (back to the photo's page too); another family's photo is a 404, nothing made."""
    photo_id = id_from_text(request.POST.get("photos", "")) or 0
    try:
        photo = photo_get(user=request.user, photo_id=photo_id)
    except Http404:  # moved to the trash since the page was drawn (its page says so), else not theirs: a 404
        trashed = trash_photo_get(user=request.user, photo_id=photo_id)
        messages.error(request, f"{IN_TRASH} No album was made.")
        return redirect(trashed)
    name = request.POST.get("name", "")
    try:
        made = album_create_with_photos(user=request.user, family=photo.family, name=name, photo_ids=[photo.pk])
    except PermissionDenied as exc:  # removed from the family meanwhile
        return removed_meanwhile(request, exc)
    except ValidationError as exc:
        return new_album_refused_keep(request, photo=photo, name=name, error=_problem(exc))
    messages.success(request, new_album_summary(made, user=request.user, one_photo=True))
    return redirect(list_context_from(request.GET).photo_url(photo.pk))  # (in the list it was opened from)


def _add_posted(request: HttpRequest, album, *, back: str, one_photo: bool = False) -> HttpResponse:
    _add_ticked(request, album, one_photo=one_photo)
    return redirect(back)


def _add_ticked(request: HttpRequest, album, *, one_photo: bool = False) -> int:
    """Add the photos posted, saying what happened in a message (album_added_summary; `one_photo`: from a photo's
    page); how many were added."""
    form = AlbumPhotosForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose at least one photo.")
        return 0
    try:
        outcomes = album_add_photos(user=request.user, album=album, photo_ids=form.cleaned_data["photos"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _problem(exc))
        return 0
    text = album_added_summary(outcomes, album=f"“{text_isolated(album)}”", one_photo=one_photo)
    (messages.success if any(outcome.ok for outcome in outcomes) else messages.error)(request, text)
    added = sum(1 for outcome in outcomes if outcome.ok and not outcome.reason)
    return added


# --- share links ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@login_required
def album_shares(request: HttpRequest, album_id: int) -> HttpResponse:
    """The album's share links (the creator or a family admin): make one (the link is shown once), see them,
    revoke them."""
    album = album_get(user=request.user, album_id=album_id)
    if not album_can_manage(user=request.user, album=album):
        raise PermissionDenied("Only the album's creator or a family admin can share it.")
    form = ShareForm(request.POST or None, initial={"days": settings.SHARE_DAYS})
    new_link = None
    if request.method == "POST" and form.is_valid():
        try:
            made = share_create(user=request.user, album=album, **form.cleaned_data)
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, _problem(exc))
        else:
            new_link = request.build_absolute_uri(reverse("shared_album", args=[made.token]))
            form = ShareForm(initial={"days": settings.SHARE_DAYS})
    return render(request, "gallery/album_shares.html", {
        "album": album, "form": form, "shares": share_list(album=album), "new_link": new_link,
    })


@require_POST
@login_required
def album_share_revoke(request: HttpRequest, album_id: int, share_id: int) -> HttpResponse:
    album = album_get(user=request.user, album_id=album_id)
    share = share_get(user=request.user, album=album, share_id=share_id)
    try:
        share_revoke(user=request.user, share=share)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
        return redirect(album)  # the share page is not theirs (any more): it would be a "Not allowed" page
    except ValidationError as exc:  # gone with its album, deleted meanwhile: the album's pages are gone too
        messages.error(request, " ".join(exc.messages))
        return redirect("gallery:albums")
    else:
        messages.success(request, "The link no longer works.")
    return redirect("gallery:album_shares", album.pk)
