from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from gallery.selectors import family_get, favourite_ids, photo_get, tag_list
from gallery.trash_services import admin_family_ids, photo_may_manage, photos_trash
from search.duplicates import duplicate_groups
from search.engine import SearchParams, preferences_for, search_photos, similar_photos
from search.forms import ChipEditForm, PreferencesForm, SearchForm, search_form
from search.ocr import photos_text_request
from search.query_dates import phrase_for_range
from search.query_parser import Chip, replace_chip
from search.selectors import active_model_state, failed_photo_ids, failed_photos, index_status
from search.services import photos_retry, preferences_reset, preferences_update
from search.understanding import Understanding, understand_search
from search.viewer import SearchList


@require_GET
@login_required
@vary_on_headers("HX-Request")  # same URL, partial or page: without it Back can show a cached bare partial
def search(request: HttpRequest) -> HttpResponse:
    form = search_form(user=request.user, data=request.GET)
    params = form.params() if request.GET else SearchParams()
    understood = understand_search(user=request.user, params=params, removed=form.removed())
    if "chip" in request.GET:
        return _chip_edited(request, understood)
    response = search_photos(user=request.user, params=understood.params)
    context = {"form": form, "response": response, "tags": tag_list(user=request.user),
               "show_hidden_url": _with(request, show_hidden="1"), "understood": understood,
               "chips": [_chip_view(request, chip) for chip in understood.parsed.chips],
               "kept_params": [(k, v) for k, values in request.GET.lists() for v in values if k not in _CHIP_PARAMS],
               "photo_query": SearchList.context(request.GET).query,  # photos open in the viewer on these results
               "favourite_ids": favourite_ids(user=request.user, photo_ids=[r.photo.pk for r in response.results])}
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "search/search.html#results", context)
    return render(request, "search/search.html", context)


_CHIP_PARAMS = {"q", "chip", "chip_place", "chip_after", "chip_before"}


def _with(request: HttpRequest, **changes) -> str:
    query = request.GET.copy()
    for key, value in changes.items():
        query[key] = value
    return "?" + query.urlencode()


def _chip_view(request: HttpRequest, chip: Chip) -> dict:
    """A chip and the URL that removes it: the same search with its words listed as plain text."""
    query = request.GET.copy()
    if chip.key not in query.getlist("plain"):
        query.appendlist("plain", chip.key)
    return {"chip": chip, "remove_url": "?" + query.urlencode()}


def _chip_edited(request: HttpRequest, understood: Understanding) -> HttpResponse:
    """A chip's new place or dates: rewrite its words in the query and show that search (the box stays the
    one source of truth, so the edit survives further typing)."""
    edit = ChipEditForm(request.GET)
    query = request.GET.copy()
    for name in _CHIP_PARAMS - {"q"}:
        query.pop(name, None)
    if edit.is_valid():
        data = edit.cleaned_data
        chip = next((c for c in understood.parsed.chips if c.key == data["chip"]), None)
        if chip is not None:
            words = (data["chip_place"] if chip.kind == "place"
                     else phrase_for_range(data["chip_after"], data["chip_before"]) if chip.kind == "date"
                     else chip.label)
            query["q"] = replace_chip(understood.parsed, chip.key, words)
    else:
        messages.error(request, "That change could not be read (a date is written like 2023-06-14); "
                                "the search is unchanged.")
    return redirect(f"{request.path}?{query.urlencode()}")


@require_http_methods(["GET", "POST"])
@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    prefs = preferences_for(request.user)
    form = PreferencesForm(request.POST or None, initial={
        "semantic_weight": prefs.semantic_weight, "metadata_weight": prefs.metadata_weight,
        "min_score": prefs.min_score, "expansion_enabled": prefs.expansion_enabled,
        "default_sort": prefs.default_sort,
    })
    if request.method == "POST" and form.is_valid():
        preferences_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Search preferences saved.")
        return redirect("search:preferences")
    preview_query = request.GET.get("preview_q", "")
    return render(request, "search/preferences.html", {
        "form": form, "preview_q": preview_query,
        "preview": _preview(request, preview_query, prefs.semantic_weight, prefs.metadata_weight, prefs.min_score,
                            prefs.expansion_enabled),
    })


@require_POST
@login_required
def preferences_reset_view(request: HttpRequest) -> HttpResponse:
    preferences_reset(user=request.user)
    messages.success(request, "Search preferences are back to the defaults.")
    return redirect("search:preferences")


@require_GET
@login_required
def preferences_preview(request: HttpRequest) -> HttpResponse:
    """Results for the preview query with the weights on the sliders, before they are saved."""
    form = PreferencesForm(request.GET)
    form.is_valid()
    data = form.cleaned_data
    prefs = preferences_for(request.user)
    preview = _preview(
        request, request.GET.get("preview_q", ""),
        data.get("semantic_weight", prefs.semantic_weight), data.get("metadata_weight", prefs.metadata_weight),
        data.get("min_score", prefs.min_score), data.get("expansion_enabled", False),
    )
    return render(request, "search/preferences.html#preview", {"preview": preview, "form": form})


def _preview(request, query: str, semantic: float, metadata: float, min_score: float, expansion: bool):
    params = SearchParams(query=query, semantic_weight=semantic, metadata_weight=metadata, min_score=min_score,
                          expansion_enabled=expansion, sort="relevance", limit=12)
    return search_photos(user=request.user, params=understand_search(user=request.user, params=params).params)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def similar(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = photo_get(user=request.user, photo_id=photo_id)
    results, message = similar_photos(user=request.user, photo=photo)
    context = {"photo": photo, "results": results, "message": message}
    template = "search/similar.html#similar-results" if request.htmx else "search/similar.html"
    return render(request, template, context)


@require_GET
@login_required
@vary_on_headers("HX-Request")
def indexing_status(request: HttpRequest) -> HttpResponse:
    statuses = index_status(user=request.user)
    context = {
        "statuses": statuses,
        "working": any(s.remaining or (s.metadata and s.metadata.working) for s in statuses),
        "failed": failed_photos(user=request.user),
        "model_state": active_model_state(),
    }
    template = "search/indexing.html#status-panel" if request.htmx else "search/indexing.html"
    return render(request, template, context)


@require_POST
@login_required
def indexing_retry(request: HttpRequest) -> HttpResponse:
    """Retry one failed photo (photo=<id>) or all failed photos of the user's families."""
    photo_id = request.POST.get("photo", "")
    ids = failed_photo_ids(user=request.user, photo_ids=[int(photo_id)] if photo_id.isdigit() else None)
    count = photos_retry(photo_ids=ids) if ids else 0
    messages.success(request, f"Queued {count} photo{'s' if count != 1 else ''} for another try.")
    return redirect("search:indexing")


@require_POST
@login_required
def photo_read_text(request: HttpRequest, photo_id: int) -> HttpResponse:
    """Read a photo's text whatever the gate said (any member of its family may ask)."""
    photo = photo_get(user=request.user, photo_id=photo_id)
    photos_text_request(photo_ids=[photo.pk])
    messages.success(request, "Reading the text in this photo: it appears here in a few seconds.")
    return redirect(photo)


@require_GET
@login_required
def duplicates(request: HttpRequest, family_id: int) -> HttpResponse:
    """A family's near-duplicate groups, side by side, the suggested keeper first and the rest ticked for the trash
    (only the photos the member may trash: their own uploads, or all for a family admin)."""
    family = family_get(user=request.user, family_id=family_id)
    admin_of = admin_family_ids(request.user) & {family.pk}
    groups = duplicate_groups(user=request.user, family=family)
    may_trash = {member.photo.pk for group in groups for member in group.members
                 if photo_may_manage(photo=member.photo, user=request.user, admin_of=admin_of)}
    groups = [(group, any(member.photo.pk in may_trash for member in group.members[1:])) for group in groups]
    return render(request, "search/duplicates.html", {"family": family, "groups": groups, "may_trash": may_trash,
                                                      "hash_distance": settings.DUPLICATE_HASH_DISTANCE,
                                                      "cosine": settings.DUPLICATE_COSINE})


@require_POST
@login_required
def duplicates_trash(request: HttpRequest, family_id: int) -> HttpResponse:
    """Move the ticked photos of a group to the trash (the trash service checks each against the user's rights)."""
    family = family_get(user=request.user, family_id=family_id)
    results = photos_trash(user=request.user, photo_ids=request.POST.getlist("photo")[:500])
    moved = sum(result.ok for result in results)
    if moved:
        messages.success(request, f"Moved {moved} photo{'s' if moved != 1 else ''} to the trash.")
    for reason in dict.fromkeys(result.reason for result in results if not result.ok):
        messages.error(request, reason)
    if not results:
        messages.error(request, "No photo was ticked: nothing moved to the trash.")
    return redirect("search:duplicates", family.pk)
