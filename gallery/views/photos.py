from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from gallery.forms import PhotoDateForm, PhotoEditForm, PhotoPlaceForm, PhotoShiftForm, TimelineForm, UploadForm
from gallery.album_selectors import album_list, albums_with_family_labels
from gallery.album_services import album_add_uploaded, upload_album
from gallery.correction_services import photo_date_version
from gallery.models import Album, Family
from gallery.photo_lists import list_context_from, photo_viewer
from gallery.selectors import (
    family_get, family_is_admin, family_known_places, family_labelled, family_list, last_upload_family_id, photo_get,
    TagKeys, tag_key, trash_photo_get,
)
from gallery.services import (
    UploadResult,
    parse_tags,
    photo_can_delete,
    photo_edit_version,
    photo_update,
    photo_upload,
    tags_clean,
)
from gallery.text import id_from_text, refusal, text_isolated
from gallery.trash_services import photo_may_manage, photos_trash, purge_at
from gallery.upload_limits import upload_report
from gallery.images import human_size, too_large
from gallery.views.corrections import shift_undo_offer
from gallery.memories import memories
from gallery.timeline import Start, TimelineFilters, TimelineList, timeline_families, timeline_months, timeline_page
from gallery.views import redirect_back, removed_meanwhile, wants_partial
from gallery.views.bulk import bar_refused_take, selection_context
from gallery.views.refusals import refusal_keep, refusal_take


@require_GET
@login_required
@vary_on_headers("HX-Request")  # same URL, page or partial: caches must keep them apart
def timeline(request: HttpRequest) -> HttpResponse:
    """Photos under month and day headings, in keyset pages: the first page in full, the following ones as bare
    partials appended under it by HTMX (infinite scroll), or as whole pages through the plain link."""
    form = TimelineForm(request.GET)
    cleaned = form.filters()
    filters = TimelineFilters.from_cleaned(cleaned)
    start = form.start()
    partial = wants_partial(request)
    problem = form.problem()
    families = None if partial else timeline_families(user=request.user, filters=filters)
    if families is not None and filters.family_id and filters.family_id not in {f.pk for f in families}:
        # A family the user left (a bookmark), or no family at all: alike, dropped as a broken filter is. (Later
        # pages come from this page's links, which no longer carry it.)
        filters = replace(filters, family_id=None)
        problem = problem or "None of your families has that number: here are the photos of all your families."
    page = timeline_page(user=request.user, filters=filters, start=start, size=settings.GALLERY_PAGE_SIZE,
                         continuing=partial)
    list_context = TimelineList.context(filters)
    context = {
        "page": page,
        "photo_query": list_context.query,
        "base_query": urlencode(list_context.params),
    }
    status = 400 if form.given_twice() else 200  # said (problem), and the page shows what it can
    if partial:
        return render(request, "gallery/timeline.html#grid-page", context, status=status)
    context.update({
        "families": families,
        "years": timeline_months(user=request.user, filters=filters),
        "selected_family": filters.family_id,
        "tag": filters.tag,
        "tag_key": tag_key(filters.tag),  # (the selection bar's removal of it lets go of its photos)
        "city": filters.city,
        "country": filters.country,
        "place": filters.place,
        "everywhere_query": urlencode(TimelineList.context(replace(filters, city=None, country=None)).params),
        "favourite": filters.favourite,
        "all_photos_query": urlencode(TimelineList.context(replace(filters, favourite=False)).params),
        "start": start,
        "problem": problem,
        # At the top of the timeline only (a page further down: a month, "load more", back from a photo, is not
        # today), and not over a tag's or a place's photos, which were asked for (a family's and favourites are
        # the timeline still).
        "memories": memories(user=request.user, filters=filters, today=timezone.localdate())
        if start == Start() and families and not (filters.tag or filters.city or filters.country) else [],
        **selection_context(user=request.user, families=families, refused=bar_refused_take(request)),
    })
    return render(request, "gallery/timeline.html", context, status=status)


@require_GET
@login_required
def photo_detail(request: HttpRequest, photo_id: int) -> HttpResponse:
    try:
        photo = photo_get(user=request.user, photo_id=photo_id)
    except Http404:
        # A link to a photo someone moved to the trash: its family is told where it is (anyone else gets the 404 of
        # a photo that does not exist: trash_photo_get only finds the trash of the user's own families).
        trashed = trash_photo_get(user=request.user, photo_id=photo_id)
        admin_of = {trashed.family_id} if family_is_admin(user=request.user, family=trashed.family) else set()
        return render(request, "gallery/photo_trashed.html", {
            "photo": trashed, "purge_at": purge_at(trashed),
            "can_manage": photo_may_manage(photo=trashed, user=request.user, admin_of=admin_of)}, status=404)
    return photo_page(request, photo)


def photo_page(request: HttpRequest, photo) -> HttpResponse:
    """The photo's page; its add-to-album picker's "New album…" as a refusal left it (new_album_refused_keep)."""
    context = _detail_context(request, photo, full_page=True)
    context["new_album"] = refusal_take(request, NEW_ALBUM_REFUSED_KEY)  # ({"name", "error"})
    for message in context["viewer"].given_twice.values():  # (the list is walked without it)
        messages.error(request, f"{message} Previous and next go through the list without it.")
    return render(request, "gallery/photo_detail.html", context, status=400 if context["viewer"].given_twice else 200)


# A refusal of the photo page's "New album…" (a name no album may have), kept for the page it goes back to: a
# Post/Redirect/Get, so a reload asks for the page and sends nothing again.
NEW_ALBUM_REFUSED_KEY = "new_album_refused"


def new_album_refused_keep(request: HttpRequest, *, photo, name: str, error: str) -> HttpResponse:
    """Back to the photo's page (in the list it was opened from), at its album picker, which says `error` at the name
    field with `name` as typed and "New album…" chosen: once, on that photo's page (refusal_take)."""
    page = list_context_from(request.GET).photo_url(photo.pk)
    refusal_keep(request, NEW_ALBUM_REFUSED_KEY, page=page, data={"name": name[:1000], "error": error})
    return redirect(f"{page}#add-to-album")


def _detail_context(request: HttpRequest, photo, form: PhotoEditForm | None = None, *, full_page: bool = False) -> dict:
    context = {
        "photo": photo,
        "can_delete": photo_can_delete(photo=photo, user=request.user),
        "trash_days": settings.TRASH_DAYS,
        "form": form,
        "ocr_enabled": settings.OCR_ENABLED,  # whether a photo's text not read yet will be
        "suggestions_enabled": settings.TAG_SUGGESTIONS_ENABLED,  # whether a photo not scored yet will be
    }
    if full_page:  # the corrections card: date taken, shift, place, rotation
        known = photo.taken_at_source != photo.DateSource.UPLOAD  # a scan's upload time is no start for its date
        taken = photo.taken_at_local
        initial = {"date": taken.date()} | ({} if photo.taken_at_source in photo.FOLDER_DATES  # (its noon: no time)
                                           else {"time": taken.strftime("%H:%M")})
        context.update({"date_form": PhotoDateForm(initial=initial if known else None),
                        "shift_form": PhotoShiftForm(camera=photo.has_camera,
                                                     initial={"seen": photo_date_version(photo)}),
                        "shift_undo": shift_undo_offer(request, photo),
                        "place_form": PhotoPlaceForm(places=family_known_places(family_id=photo.family_id),
                                                     current=photo.place_label)})
    if full_page:  # the viewer chrome: previous/next in the list the photo was opened from, and back to it
        photo.family = family_labelled(user=request.user, family=photo.family)  # its Family row
        context["viewer"] = photo_viewer(user=request.user, photo=photo, data=request.GET)
        context["albums"] = album_list(user=request.user, family_id=photo.family_id).filter(kind=Album.Kind.MANUAL)
    return context


@require_http_methods(["GET", "POST"])
@login_required
def photo_edit(request: HttpRequest, photo_id: int) -> HttpResponse:
    """In-place editing of title, tags and description. GET gives the form, POST saves it."""
    photo = photo_get(user=request.user, photo_id=photo_id)
    if request.method == "GET":
        if request.GET.get("cancel"):
            return _render_meta(request, photo)
        return _render_meta(request, photo, PhotoEditForm(initial=_edit_initial(photo)))
    form = PhotoEditForm(request.POST)
    if form.is_valid():
        try:
            photo_update(photo=photo, title=form.cleaned_data["title"], description=form.cleaned_data["description"],
                         tags=parse_tags(form.cleaned_data["tags"]), user=request.user, seen=form.cleaned_data["seen"])
        except PermissionDenied as exc:  # removed from the family since the form was drawn: the photo is not theirs
            return removed_meanwhile(request, exc)
        except ValidationError as exc:
            conflict = getattr(exc, "code", None) == "edit_conflict"  # a list of errors has no code
            if conflict:  # the member has seen it now: the next save is theirs to make
                photo = photo_get(user=request.user, photo_id=photo_id)
                form = PhotoEditForm(_edit_after_conflict(form, photo))
                form.is_valid()
            form.add_error(None if conflict or hasattr(exc, "error_dict") else "tags", exc)
        else:
            photo = photo_get(user=request.user, photo_id=photo_id)  # fresh tags
            if not request.htmx:
                messages.success(request, "Saved.")
                return redirect(photo)
            return _render_meta(request, photo)
    return _render_meta(request, photo, form, status=422 if request.htmx else 200)


def _edit_initial(photo) -> dict:
    """The edit form's values for `photo` as it reads now, and what it shows (`seen`, `shown_*`) to compare with."""
    values = {"title": photo.title, "description": photo.description,
              "tags": ", ".join(tag.name for tag in photo.tags.all())}
    return {**values, **{f"shown_{name}": value for name, value in values.items()}, "seen": photo_edit_version(photo)}


def _edit_after_conflict(form: PhotoEditForm, photo) -> dict:
    """The form sent back after someone else saved `photo` while it was open: the fields the member changed as they
    typed them; a field they left as the form showed it reads as the photo does now (their second save would put
    back what the other member replaced: a tag added wiped a title written meanwhile), and the form shows the photo
    as it is now, the next save being theirs. (A form drawn before `shown_*` existed keeps all it sent.)"""
    now = _edit_initial(photo)
    data = {**form.data.dict(), **{key: value for key, value in now.items() if key not in PhotoEditForm.EDITED}}
    for name in PhotoEditForm.EDITED:
        shown = form.data.get(f"shown_{name}")
        if shown is not None and _edit_value(name, form.cleaned_data[name]) == _edit_value(name, shown):
            data[name] = now[name]
    return data


def _edit_value(name: str, text: str):
    """A field's value as a save reads it: tags as their set (order and spacing aside), text without its outer
    spaces, whatever line breaks the browser sent."""
    text = (text or "").replace("\r\n", "\n").strip()
    return sorted({tag.casefold() for tag in parse_tags(text)}) if name == "tags" else text


def _render_meta(request, photo, form=None, status=200):
    context = _detail_context(request, photo, form, full_page=not request.htmx)
    context["meta_swapped"] = bool(request.htmx)  # back from the in-place form: the Edit link takes the focus
    template = "gallery/photo_detail.html#photo-meta" if request.htmx else "gallery/photo_detail.html"
    return render(request, template, context, status=status)


@require_POST
@login_required
def photo_remove(request: HttpRequest, photo_id: int) -> HttpResponse:
    """Delete from the photo page: the photo moves to its family's trash (restorable for TRASH_DAYS), and the page goes
    on to `next` (the following photo of the viewer's list)."""
    photo = photo_get(user=request.user, photo_id=photo_id)
    try:
        [result] = photos_trash(user=request.user, photo_ids=[photo.pk])
    except PermissionDenied as exc:
        return removed_meanwhile(request, exc)
    if not result.ok:
        messages.error(request, result.reason)
        return redirect(photo)
    messages.success(request, f"Moved “{text_isolated(photo)}” to the trash of {text_isolated(photo.family)}: it can be restored from there for "
                              f"{settings.TRASH_DAYS} days.")
    # On to the next photo of the list the viewer walked (the form's `next`), else the timeline.
    return redirect_back(request, request.POST.get("next", ""), "gallery:timeline")


UPLOAD_FAMILY_SESSION_KEY = "upload_family"


@require_http_methods(["GET", "POST"])
@login_required
def upload(request: HttpRequest) -> HttpResponse:
    """The upload page. The page's script posts one file per request (for a progress bar each);
    without JavaScript the form posts all files at once. Both get one result row per file."""
    families = list(family_list(user=request.user))
    context = {"families": families, "results": None, "max_bytes": settings.UPLOAD_MAX_BYTES,
               "too_large": too_large(settings.UPLOAD_MAX_BYTES), "max_size": human_size(settings.UPLOAD_MAX_BYTES)}
    if request.method == "POST":
        scripted = request.htmx or request.headers.get("X-Upload-Script")
        report = upload_report(request)
        if problem := report.problem():
            status, message = problem
            if scripted:
                return refusal(request, status, message)  # upload.js shows a plain refusal as the row's reason
            context["results"] = [UploadResult("This upload", UploadResult.REJECTED, reason=message)]
            context["chosen_family"] = _upload_family_default(request, families)
            return render(request, "gallery/upload.html", context, status=status)
        files = request.FILES.getlist("files")
        results = _upload_files(request, UploadForm(request.POST), families, files)
        # Files skipped while streaming for their size: their own rows, beside the files that were kept.
        results += [UploadResult(name, UploadResult.REJECTED, reason=too_large(settings.UPLOAD_MAX_BYTES))
                    for name in report.too_large]
        results += [UploadResult(name, UploadResult.REJECTED, reason=reason) for name, reason in report.not_received]
        if not results:
            results = [UploadResult("", UploadResult.REJECTED, reason="No file was received.")]
        context["results"] = results
        if scripted:
            return render(request, "gallery/upload.html#upload-results", context)
    context["chosen_family"] = _upload_family_default(request, families)
    # The albums the photos may go into (plain ones), by family; `?album=` (an album page's "Upload photos") picks
    # one, and its family.
    albums = albums_with_family_labels(user=request.user, families=families, albums=list(
        album_list(user=request.user).filter(kind=Album.Kind.MANUAL).order_by("family__name", "family_id", "name", "pk")))
    wanted = id_from_text(request.POST.get("album") or request.GET.get("album") or "")
    chosen = next((album for album in albums if album.pk == wanted), None)
    if chosen is not None:
        context["chosen_family"] = chosen.family
    context.update(albums=albums, chosen_album=chosen)
    return render(request, "gallery/upload.html", context)


def _upload_files(request: HttpRequest, form: UploadForm, families: list[Family], files) -> list[UploadResult]:
    """One result per file. What is wrong with the request as a whole (a bad tag list) is said on every row,
    before any file is written."""
    if problem := form.problem():
        return _all_rejected(files, f"{problem} Nothing was uploaded.")
    family_id = form.cleaned_data["family"]
    if family_id is None and len(families) == 1:
        family_id = families[0].pk
    if family_id is None:
        return _all_rejected(files, "Choose a family first.")
    family = family_get(user=request.user, family_id=family_id)
    request.session[UPLOAD_FAMILY_SESSION_KEY] = family.pk  # the next visit starts from this family
    tag_keys = TagKeys()  # (the keys of the upload's tag names, read once for all its files)
    try:
        tags = tags_clean(parse_tags(form.cleaned_data["tags"]), tag_keys=tag_keys)
    except ValidationError as exc:
        return _all_rejected(files, " ".join(exc.messages) + " Nothing was uploaded; fix the tags and try again.")
    try:
        album = upload_album(user=request.user, family=family, album_id=form.cleaned_data["album"])
    except ValidationError as exc:
        return _all_rejected(files, " ".join(exc.messages) + " Nothing was uploaded.")
    results = [photo_upload(family=family, uploaded_by=request.user, stream=f, filename=f.name, tags=tags,
                            tag_keys=tag_keys) for f in files]
    return results if album is None else album_add_uploaded(user=request.user, album=album, results=results)


def _all_rejected(files, reason: str) -> list[UploadResult]:
    """Every file refused for what the request said, not for itself: the page's script keeps them to send again."""
    return [UploadResult(f.name, UploadResult.REJECTED, reason=reason, resend=True) for f in files]


def _upload_family_default(request: HttpRequest, families: list[Family]) -> Family | None:
    """The family the upload page starts on: the one chosen last (this session), else the family of the user's
    latest upload. With several families and no history, none: the person picks (never "first by name")."""
    if len(families) == 1:
        return families[0]
    by_id = {family.pk: family for family in families}
    for family_id in (request.session.get(UPLOAD_FAMILY_SESSION_KEY), last_upload_family_id(user=request.user)):
        if family_id in by_id:
            return by_id[family_id]
    return None
