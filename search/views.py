from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import get_text_list
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from gallery.album_services import smart_album_find_or_create
from gallery.date_words import MONTHS
from gallery.forms import given_twice
from gallery.middleware import many_fields
from gallery.places import country_name
from gallery.selectors import (
    family_get, family_is_admin, family_labelled, family_list, favourite_ids, photo_get, tag_key, tag_list,
)
from gallery.text import NUL, id_from_text, text_isolated
from gallery.views import removed_meanwhile, wants_partial
from gallery.views.bulk import bar_refused_take, selection_context
from gallery.views.trash import results_message
from search.duplicate_selectors import duplicates_page
from search.duplicate_services import DUPLICATES_TRASH_MAX, duplicate_group_trash
from search.duplicates import GroupChanged, duplicates_dismiss_group
from search.engine import (
    MAX_LIMIT, MAX_QUERY_CHARS, MAX_REFINE, PAGE_SIZE, LeftOut, SearchParams, SearchResponse, preferences_for,
    refine_read, search_photos, similar_photos,
)
from search.expansion import also_searched_as
from search.forms import (
    NUL_MESSAGE, ChipEditForm, JudgeForm, PreferencesForm, SearchForm, SearchReportForm, photo_ids, plain_key,
    refine_text, search_form,
)
from search.judgment_selectors import judgment_refine_ids, judgment_verdicts
from search.judgment_services import judgment_record, judgment_withdraw
from search.ocr import OCR_OFF, photos_text_request
from search.ocr_requests import family_skipped_read_ask
from search.read_estimates import ReadEstimate
from search.model_comparison import PRECISION_KS, family_model_comparison, previous_model
from search.query_dates import note_reason, phrase_for_day, phrase_for_range
from search.query_notes import DateWordNote, notes_merged
from search.query_parser import Chip, has_words, normalise, replace_chip
from search.reports import photo_report, search_report
from search.text_embeddings import EncodeBudget
from search.selectors import (
    INDEXING_SHOWN, active_model_state, failed_photo_ids, failed_photos, family_most_judged, family_search_model,
    families_have_photos, index_status, kept_models, photos_indexing_count,
)
from search.plots import quality_plots
from search.quality import (
    calibration_fit_request, calibration_rollback, family_quality, fit_judgments_needed, suggested_weights,
)
from search.services import (
    model_switch_confirm, photos_retry, preferences_reset, preferences_update, preferences_weights_update,
)
from search.understanding import Understanding, understand_search
from search.viewer import SearchList
from search.worker_heartbeats import workers_alive


@require_GET
@login_required
@vary_on_headers("HX-Request")  # same URL, partial or page: without it Back can show a cached bare partial
def search(request: HttpRequest) -> HttpResponse:
    families = list(family_list(user=request.user))  # the form's family filter and the bar's "New album…" alike
    form = search_form(user=request.user, data=request.GET, families=families)
    params = form.params() if request.GET else SearchParams()
    if "chip" in request.GET:
        return _chip_edited(request, form, params=params)
    understood = understand_search(user=request.user, params=params, removed=form.removed(), notes=True)
    response = search_photos(user=request.user, params=understood.params)
    query = form.cleaned_data.get("q", "") if form.is_valid() else request.GET.get("q", "")
    listed = SearchList.context(request.GET)  # the search's own parameters, for its photos' links and its report
    context = {"form": form, "response": response, "tags": tag_list(user=request.user),
               "tag_key": tag_key(params.tag),  # (the selection bar's removal of it lets go of its photos)
               "max_query_chars": MAX_QUERY_CHARS,
               "refused": form.refused(), "refused_notice": form.refused_labels(),
               "also_searched": also_searched_as(response.terms),
               "judge": _judge_context(request, query, request.GET, form, response=response),
               "verdicts": judgment_verdicts(user=request.user, query=query,
                                             photo_ids=[r.photo.pk for r in response.results]),
               "show_hidden_url": _with(request, show_hidden="1"), "understood": understood,
               "more_url": _with(request, limit=min(MAX_LIMIT, len(response.results) + PAGE_SIZE))
               if response.more and len(response.results) < MAX_LIMIT else "",
               # A query of only places and dates is searched by its filter's words ("2021 2022 2023"): name it as typed.
               "query_shown": understood.shown(response.query),
               "chips": [_chip_view(request, chip, understood) for chip in understood.parsed.chips],
               "date_word_notes": [note.parts(_instead_url(request, note))
                                   for note in notes_merged(understood.date_word_notes)],
               "months": CHIP_MONTHS,  # (a day of every year's chip is changed to a day and a month)
               "kept_params": [(k, v) for k, values in request.GET.lists() for v in values if k not in _CHIP_PARAMS],
               "photo_query": listed.query,  # photos open in the viewer on these results
               "report_url": _report_url(listed.params, response),
               "favourite_ids": favourite_ids(user=request.user, photo_ids=[r.photo.pk for r in response.results]),
               "filters_only": _filters_only(params), "indexing": _indexing(response),
               "dates_reversed": bool(understood.params.taken_after and understood.params.taken_before
                                      and understood.params.taken_after > understood.params.taken_before),
               "indexing_shown": INDEXING_SHOWN, "no_photos": _no_photos(response)}
    status = 400 if form.given_twice() else 200  # (said in the refused notice; nothing is searched)
    if wants_partial(request):
        return render(request, "search/search.html#results", {**context, "partial": True}, status=status)
    bar = selection_context(user=request.user, families=families, refused=bar_refused_take(request))
    return render(request, "search/search.html", {**context, **bar}, status=status)


def _instead_url(request: HttpRequest, note: DateWordNote) -> str:
    """The search with the day that finds a holiday's photos now for its words ("25 december" for "christmas"), under
    the same filters; not refined by the marks of the other words, nor shown as far as they were ("" for no day)."""
    if not note.query_instead:
        return ""
    query = request.GET.copy()
    for name in (*_REFINE_PARAMS, "limit"):
        query.pop(name, None)
    query["q"] = note.query_instead
    return f"{request.path}?{query.urlencode()}"


def _report_url(params: tuple[tuple[str, str], ...], response: SearchResponse) -> str:
    """"How this search scored": its report scores this search, the page's parameters, filters and refine included.
    A search of several families (no family filter) is scored as it ran, in all of them, with the figures of the
    family whose photos lead its results first (the report page links the others')."""
    params = list(params)
    if len(response.family_ids) > 1 and not any(name == "family" for name, _ in params):
        params.append(("all_families", "1"))
        if response.results:
            params.append(("family", str(response.results[0].photo.family_id)))
    return f"{reverse('search:search_report')}?{urlencode(params)}"


def _indexing(response: SearchResponse) -> int:
    """How many of the searched photos image search does not see yet, for a search it ran (with each family's own
    search model: mid-switch, photos waiting for the new model are still searched with the previous one)."""
    if not response.query or not response.semantic_available:
        return 0
    return photos_indexing_count(family_ids=list(response.family_ids), search_models=response.search_models)


def _no_photos(response: SearchResponse) -> bool:
    """A search that found nothing, not even a weaker match, in families with no photo yet (a new family's first
    search): the page says there is nothing to search, not that other words might find something."""
    return bool(response.query and response.family_ids and not response.results and not response.hidden_count
                and not families_have_photos(family_ids=response.family_ids))


def _filters_only(params: SearchParams) -> dict | None:
    """For filters chosen with no words to search (they only narrow a search): None when there are none, else
    the timeline's address for the photos a tag, country or favourites filter picks (the timeline lists those without
    words), or "" when no timeline filter matches what was chosen."""
    if params.query or not (params.tag or params.country or params.place or params.taken_after
                            or params.taken_before or params.uploader_id or params.favourite):
        return None
    timeline = {k: v for k, v in (("family", params.family_id), ("tag", params.tag), ("country", params.country),
                                  ("favourite", "1" if params.favourite else None)) if v}
    url = (f"{reverse('gallery:timeline')}?{urlencode(timeline)}" if params.tag or params.favourite or params.country
           else "")
    return {"tag": params.tag, "favourite": params.favourite, "timeline_url": url,
            "country": country_name(params.country or "") or params.country}


CHIP_MONTHS = tuple((number, name.title()) for number, name in enumerate(MONTHS, start=1))
_CHIP_PARAMS = {"q", "chip", "chip_place", "chip_after", "chip_before", "chip_day", "chip_month", "chip_year"}
_REFINE_PARAMS = {"like", "unlike"}


def _refined_text(used: tuple[list[int], list[int]]) -> str:
    """"Refined: more like 2 photos, fewer like 1 photo" (empty when nothing refined the search)."""
    parts = [f"{word} like {len(ids)} photo{pluralize(len(ids))}"
             for word, ids in (("more", used[0]), ("fewer", used[1])) if ids]
    return f"Refined: {', '.join(parts)}" if parts else ""


def _left_out_text(left_out: LeftOut, form: SearchForm, *, marked: LeftOut | None = None) -> list[str]:
    """What the refine bar (and a refined search's report) says of the photos a link names that the search left out,
    by why: not indexed yet, could not be indexed (with the way to Retry it), smart search off, in another of the
    user's families than the one searched (named: they are the user's), or not theirs to see, in the trash or
    deleted (how many, never which: another family's ids are not theirs to learn about), or named both right and
    wrong (refine_both_ways: the link's alone, a mark is one or the other). `marked`: the user's marks the link does
    not name (all of them, with no link), left out by the refine the bar offers before its link is
    followed: said with the link's of the same why, so that each photo is said once ("1 photo in the link and 1 you
    marked could not be indexed")."""
    marked = marked or LeftOut()
    said = []

    def photos(count: int, mine: int) -> str:
        if count and mine:
            return f"{count} photo{pluralize(count)} in the link and {mine} you marked"
        return f"{count} photo{pluralize(count)} in the link" if count else f"{mine} photo{pluralize(mine)} you marked"

    if count := len(left_out.both_ways):  # (a hand-made link's: a mark is right or wrong, never both)
        said.append(f"{count} photo{pluralize(count)} in the link {pluralize(count, 'is,are')} marked both right and "
                    f"wrong: left out (a photo is right or wrong, not both).")

    if count := len(left_out.not_indexed) + len(marked.not_indexed):
        said.append(f"{photos(len(left_out.not_indexed), len(marked.not_indexed))} {pluralize(count, 'is,are')} not "
                    f"indexed yet: left out until {pluralize(count, 'it is,they are')}.")
    if count := len(left_out.failed) + len(marked.failed):
        said.append(format_html('{} could not be indexed: left out. <a href="{}">Retry {} on the Index page</a>.',
                                photos(len(left_out.failed), len(marked.failed)), reverse("search:indexing"),
                                pluralize(count, "it,them")))
    if count := len(left_out.model_off) + len(marked.model_off):
        said.append(f"{photos(len(left_out.model_off), len(marked.model_off))} {pluralize(count, 'refines,refine')} "
                    "nothing while smart search is off: the results come from tags, titles, descriptions and file "
                    "names only.")
    if count := len(left_out.other_families) + len(marked.other_families):
        names = dict(form.fields["family"].choices)
        # (people's names, isolated: a right-to-left one must not turn the words after it around)
        families = [*left_out.other_families.values(), *marked.other_families.values()]
        theirs = [text_isolated(names.get(f, "")) for f in dict.fromkeys(families)]
        searched = text_isolated(names.get(form.params().family_id, ""))
        said.append(f"{photos(len(left_out.other_families), len(marked.other_families))} "
                    f"{pluralize(count, 'is,are')} in {get_text_list(theirs, 'and')}, and this search looks only in {searched}: "
                    "left out.")
    if count := left_out.unseen + marked.unseen:
        said.append(f"{photos(left_out.unseen, marked.unseen)} {pluralize(count, 'is,are')} not yours to see, in "
                    "the trash or deleted: left out.")
    return said


def _judge_context(request: HttpRequest, query: str, search: QueryDict, form: SearchForm,
                   response: SearchResponse | None = None) -> dict:
    """What the page's right/wrong buttons and refine bar need: the query judged, the search's own parameters
    (`search`, refine included: a verdict given on refined results keeps them refined; `form`, its search form), the
    URLs that refine the search with this query's verdicts, or clear the refine, and what refined it (the photos of
    its like/unlike that moved the query and those left out: the search's `response`'s, else read as the search reads
    them; a shared link's need not be the user's own marks, and another family's are ignored). Before the refine
    link is followed, what it will use of the marks under the search's filters and what it will leave out, read as
    the search will (search.engine.refine_read: the response's plan, else one plan and one read for the link's
    photos and the marks'), so the bar never offers what the click then takes back. Each photo is said once: a mark
    the link names too does to the offered refine what it does to the link's."""
    base = search.copy()
    for name in _REFINE_PARAMS:
        base.pop(name, None)
    like, unlike = judgment_refine_ids(user=request.user, query=query)
    refine = base.copy()
    if like:
        refine["like"] = ",".join(map(str, like))
    if unlike:
        refine["unlike"] = ",".join(map(str, unlike))
    # (the same photos in another order refine alike: the mean of each side)
    link = {name: photo_ids(refine_text(search, name)) for name in ("like", "unlike")}
    up_to_date = all(set(link[name]) == set(ids) for name, ids in (("like", like), ("unlike", unlike)))
    # The marks the link does not name (of those it refines with: MAX_REFINE a side) are read apart; those it names
    # do to the offered refine what they do to the link's (a photo's part in a refine is the search's, not its list's).
    named = {*link["like"][:MAX_REFINE], *link["unlike"][:MAX_REFINE]}
    others = ((), ()) if up_to_date else tuple(tuple(i for i in ids if i not in named) for ids in (like, unlike))
    if response is not None:
        liked, unliked, left_out = response.liked, response.unliked, response.left_out
        read = refine_read(user=request.user, params=replace(form.params(), like=others[0], unlike=others[1]),
                           response=response) if any(others) else None
    else:
        read = refine_read(user=request.user, params=form.params(), also=others)
        liked, unliked, left_out = read.of(link["like"], link["unlike"])
    others_liked, others_unliked, others_left_out = read.of(*others) if read else ([], [], LeftOut())
    used = {*liked, *unliked, *others_liked, *others_unliked}
    will_like, will_unlike = (([i for i in like if i in used], [i for i in unlike if i in used])
                              if not up_to_date else (like, unlike))
    return {"query": query, "search": search.urlencode(), "right": len(like), "wrong": len(unlike),
            "will_right": len(will_like), "will_wrong": len(will_unlike),
            "will_use": _will_use_text(len(like) + len(unlike), len(will_like) + len(will_unlike)),
            "refine_url": f"{reverse('search:search')}?{refine.urlencode()}" if will_like or will_unlike else "",
            "refined": _refined_text((liked, unliked)),
            "left_out": _left_out_text(left_out, form, marked=others_left_out),
            "clear_url": f"{reverse('search:search')}?{base.urlencode()}", "up_to_date": up_to_date,
            # (not when the search left some of them out: fewer than all the marks refined it)
            "all_marks": up_to_date and not left_out}


def _will_use_text(marks: int, used: int) -> str:
    """How many of the user's marks the refine link will use, when it leaves some out (else "")."""
    if used == marks:
        return ""
    if not used:
        return "none of them can refine this search" if marks > 1 else "it cannot refine this search"
    return f"the refine will use {used} of them"


@require_POST
@login_required
def judge(request: HttpRequest) -> HttpResponse:
    """Mark a search result right or wrong for its query, or take the verdict back (one click each way). HTMX
    swaps the buttons and, out of band, the refine bar; without JavaScript the search page is shown again."""
    form = JudgeForm(request.POST)
    if not form.is_valid():
        return HttpResponse("That verdict could not be read; reload the search and try again.", status=400)
    data = form.cleaned_data
    photo = photo_get(user=request.user, photo_id=data["photo"])
    if data["verdict"] == "undo":
        judgment_withdraw(user=request.user, photo=photo, query=data["q"])
    else:
        try:
            judgment_record(user=request.user, photo=photo, query=data["q"], relevant=data["verdict"] == "right")
        except ValidationError as exc:  # a query with nothing to look for ("-dog"): refused as the API refuses it
            return HttpResponse(" ".join(exc.messages), status=400, content_type="text/plain; charset=utf-8")
    search = QueryDict(data["search"])
    if not request.htmx:
        target = f"{reverse('search:search')}?{data['search']}#photo-{photo.pk}"
        return redirect(target if url_has_allowed_host_and_scheme(target, allowed_hosts=None) else "search:search")
    verdict = judgment_verdicts(user=request.user, query=data["q"], photo_ids=[photo.pk]).get(photo.pk)
    return render(request, "search/search.html#judged", {
        "photo_id": photo.pk, "photo_name": photo, "verdict": verdict,
        "judge": _judge_context(request, data["q"], search, search_form(user=request.user, data=search))})


def _with(request: HttpRequest, **changes) -> str:
    query = request.GET.copy()
    for key, value in changes.items():
        query[key] = value
    return "?" + query.urlencode()


def _chip_view(request: HttpRequest, chip: Chip, understood: Understanding) -> dict:
    """A chip, the URL that removes it (the same search with its words listed as plain text), and the form's
    filters that replace it, if any (an explicit place, or dates, win over the query's)."""
    return {"chip": chip, "remove_url": "?" + _with_plain(request.GET.copy(), chip.key).urlencode(),
            "replaced_by": understood.replaced_by(chip)}


def _with_plain(query: QueryDict, key: str) -> QueryDict:
    """`query` with the chip `key`'s words listed as plain text (`plain`), as its × lists them; once."""
    if key not in query.getlist("plain"):
        query.appendlist("plain", key)
    return query


def _chip_edit_refused(request: HttpRequest, form: SearchForm) -> str:
    """Why a chip's change can't be made at all: the search refused (a NUL character in its query, a filter or a
    `plain` phrase, a parameter given twice: the page says which, as for its box), or a NUL character in the change
    itself (the page's forms send none: a hand-made request), said as the page says it; else "". (Read on, the
    query refused was no chip's: "no longer in this search", and a change's NUL "could not be read (a date is
    written like 2023-06-14)".)"""
    if form.refused():  # (the page it goes back to says what, above its results: said once)
        return "Nothing was changed: the search itself can't be run as it is (said below)."
    said = next((said for name in _CHIP_PARAMS - {"q"} for value in request.GET.getlist(name)
                 if (said := _refused_text(value))), "")
    return f"The change: {said} Remove them and try again; nothing was changed." if said else ""


def _chip_edited(request: HttpRequest, form: SearchForm, *, params: SearchParams) -> HttpResponse:
    """A chip's new place, dates, or day of every year: rewrite its words in the query and show that search (the box
    stays the one source of truth, so the edit survives further typing). A new place the box does not know (no
    country, no photo of theirs taken there) is searched as words: said, as the chip goes. The change is what the user
    asks now: words an earlier × turned back into words (`plain`, kept in the address and every chip's form since),
    the chip's own (its page drawn before the ×: a second tab, the back button) or those it is changed to, are its
    chip again, no longer listed as plain. A box emptied asks for no place (no dates): the chip goes as its × takes it,
    its words kept, searched as plain words, and said (they were taken out of the query without a word). A change
    refused (_chip_edit_refused) or unreadable is said before the search is understood (its database reads)."""
    query = request.GET.copy()
    for name in _CHIP_PARAMS - {"q"}:
        query.pop(name, None)
    if refused := _chip_edit_refused(request, form):
        messages.error(request, refused)
        return redirect(f"{request.path}?{query.urlencode()}")
    edit = ChipEditForm(request.GET)
    if not edit.is_valid():
        said = ("a day of the month is 1 to 31, a month 1 to 12, a year a number"
                if {"chip_day", "chip_month", "chip_year"} & set(edit.errors) else "a date is written like 2023-06-14")
        messages.error(request, f"That change could not be read ({said}); the search is unchanged.")
        return redirect(f"{request.path}?{query.urlencode()}")
    removed = form.removed()
    understood = understand_search(user=request.user, params=params, removed=removed)
    data = edit.cleaned_data
    key = normalise(data["chip"])
    if key in removed and all(c.key != key for c in understood.parsed.chips):
        understood = understand_search(user=request.user, params=params, removed=removed - {key})
    chip = next((c for c in understood.parsed.chips if c.key == key), None)
    if chip is None:  # (a page drawn for other words: what it changes is not in the search any more)
        messages.error(request, f"“{text_isolated(data['chip'])}” is no longer in this search: nothing was changed.")
        return redirect(f"{request.path}?{query.urlencode()}")
    words = _chip_words(request, chip, data)
    if words == "":  # its box emptied (a place's name, a range's two days): the chip goes as its × takes it
        _with_plain(query, chip.key)
        messages.info(request, f"“{text_isolated(chip.label)}” is no longer a filter: its words are searched as plain "
                               "words, as its × does. To search without them, take them out of the search box.")
        return redirect(f"{request.path}?{query.urlencode()}")
    wanted = {key, normalise(words or "")}  # (the words now the chip's, as the parser keys them)
    changed = None if words is None else _chip_changed(request, understood, chip, words, params=params,
                                                        removed=removed - wanted)
    if changed is not None:
        query["q"] = changed
        query.setlist("plain", [value for value in query.getlist("plain") if plain_key(value) not in wanted])
    return redirect(f"{request.path}?{query.urlencode()}")


def _chip_words(request: HttpRequest, chip: Chip, data: dict) -> str | None:
    """The words a chip is changed to (a place's name, a range's, a day's), or None when a day of every year's day
    or month is missing (said)."""
    if chip.kind == "place":
        return data["chip_place"]
    if chip.kind == "date":
        return phrase_for_range(data["chip_after"], data["chip_before"])
    if chip.kind != "day_of_year":
        return chip.label
    day, month, year = data["chip_day"], data["chip_month"], data["chip_year"]
    if day is None or month is None:
        messages.error(request, "That change could not be read (a day of the month and a month); the search is "
                                "unchanged.")
        return None
    if (month, day, year) == (chip.month, chip.day, None):
        return chip.key  # (as typed: "christmas eve" stays so)
    return phrase_for_day(month, day, year)


def _chip_changed(request: HttpRequest, understood: Understanding, chip: Chip, words: str, *, params: SearchParams,
                  removed: frozenset[str]) -> str | None:
    """The query with the chip's words replaced by `words`, or None when the search stays as it was: a day of every
    year changed to a day the box can't read as one (31 June, 29 February 2023, a year no photo can be from), said.
    A place the box does not know is said to be searched as words."""
    if chip.kind == "day_of_year" and words == chip.key:
        return request.GET.get("q", "")
    changed = replace_chip(understood.parsed, chip.key, words)
    if chip.kind not in ("day_of_year", "place"):
        return changed
    again = understand_search(user=request.user, params=replace(params, query=changed), removed=removed)
    if chip.kind == "place":
        if _place_chips(understood) > _place_chips(again):
            messages.info(request, f"“{text_isolated(words)}” is not a country nor a place where your photos were "
                                   "taken: it is searched as words.")
        return changed
    if any(c.key == normalise(words) and c.kind in ("date", "day_of_year") for c in again.parsed.chips):
        return changed
    why = [note_reason(note) for note in again.parsed.date_notes if note not in understood.parsed.date_notes]
    messages.error(request, " ".join(why or [f"“{words}” can't be read as a day."]) + " The search is unchanged.")
    return None


def _place_chips(understood: Understanding) -> int:
    return sum(chip.kind == "place" for chip in understood.parsed.chips)


@require_http_methods(["GET", "POST"])
@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    prefs = preferences_for(request.user)
    form = PreferencesForm(request.POST or None, initial={
        "semantic_weight": prefs.semantic_weight, "metadata_weight": prefs.metadata_weight,
        "min_score": prefs.min_score, "expansion_enabled": prefs.expansion_enabled,
        "default_sort": prefs.default_sort,
    })
    # The preview's search goes with the form (Enter in its box submits it): kept, and previewed with what was saved;
    # as much of it as a search reads (a long text pasted would make the address past what a redirect may be).
    twice = given_twice(request.POST or request.GET, ("preview_q",))  # said, and nothing previewed (as search does)
    preview_query = "" if twice else (request.POST or request.GET).get("preview_q", "")[:MAX_QUERY_CHARS]
    if request.method == "POST" and form.is_valid():
        preferences_update(user=request.user, **form.cleaned_data)
        messages.success(request, "Search preferences saved.")
        return redirect(reverse("search:preferences") + (f"?{urlencode({'preview_q': preview_query})}"
                                                         if preview_query else ""))
    return render(request, "search/preferences.html", {
        "form": form, "preview_q": preview_query,
        "preview_refused": twice.get("preview_q") or _refused_text(preview_query), "preview_twice": bool(twice),
        "preview_nothing": _nothing_to_search(preview_query),
        "preview": _preview(request, preview_query, prefs.semantic_weight, prefs.metadata_weight, prefs.min_score,
                            prefs.expansion_enabled),
    }, status=400 if twice else 200)


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
    twice = given_twice(request.GET, ("preview_q",))  # said, and nothing previewed (as search does)
    preview_query = "" if twice else request.GET.get("preview_q", "")
    preview = _preview(
        request, preview_query,
        data.get("semantic_weight", prefs.semantic_weight), data.get("metadata_weight", prefs.metadata_weight),
        data.get("min_score", prefs.min_score), data.get("expansion_enabled", False),
    )
    return render(request, "search/preferences.html#preview", {
        "preview": preview, "form": form, "preview_q": preview_query,
        "preview_refused": twice.get("preview_q") or _refused_text(preview_query), "preview_twice": bool(twice),
        "preview_nothing": _nothing_to_search(preview_query)}, status=400 if twice else 200)


def _nothing_to_search(text: str) -> bool:
    """Something typed, but no word to search for: punctuation alone ("?!")."""
    return bool(text.strip()) and not has_words(text)


def _refused_text(text: str) -> str:
    """Why `text` can't be searched for (a NUL character, as the search form says), or ""."""
    return NUL_MESSAGE if NUL in text else ""


def _preview(request, query: str, semantic: float, metadata: float, min_score: float, expansion: bool):
    if _refused_text(query):
        return None  # said instead (preview_refused): never a preview of other words than were typed
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
    waiting = any(s.remaining for s in statuses)
    model_state = active_model_state()
    # (Asked only when something waits for a worker: photos, or the model set, which a worker loads first.)
    no_worker = (waiting or model_state is None) and not workers_alive(settings.Q_CLUSTER["name"])
    context = {
        "statuses": statuses,
        "working": any(s.remaining or (s.metadata and s.metadata.working) for s in statuses),
        # Photos wait and no worker beats: say why they don't move (serve restarts a dead worker by itself).
        "worker_down": waiting and no_worker,
        "no_worker": no_worker,
        "failed": failed_photos(user=request.user),
        # (Looked for only when some family counts such photos: nothing but the count's aggregate reads them; not
        # with OCR off, where nothing could read them again.)
        "text_failed": failed_photos(user=request.user, text=True)
        if settings.OCR_ENABLED and any(s.metadata and s.metadata.text_failed for s in statuses) else [],
        "model_state": model_state,
        "search_model": settings.SEARCH_MODEL,  # named before any process has loaded it (model_state is None)
    }
    template = "search/indexing.html#status-panel" if request.htmx else "search/indexing.html"
    return render(request, template, context)


@require_POST
@login_required
def indexing_retry(request: HttpRequest) -> HttpResponse:
    """Retry one failed photo (photo=<id>) or all failed photos of the user's families."""
    photo_id = request.POST.get("photo", "")
    # No photo named: all of them; a photo named by something that is no id: none.
    ids = failed_photo_ids(user=request.user, photo_ids=[id_from_text(photo_id)] if photo_id else None)
    count = photos_retry(photo_ids=ids) if ids else 0
    messages.success(request, f"Queued {count} photo{'s' if count != 1 else ''} for another try.")
    return redirect("search:indexing")


@require_POST
@login_required
def indexing_read_text(request: HttpRequest) -> HttpResponse:
    """Read again the text of one photo whose reading failed (photo=<id>), or of all such photos of the user's
    families."""
    if not settings.OCR_ENABLED:
        messages.error(request, OCR_OFF)
        return redirect("search:indexing")
    photo_id = request.POST.get("photo", "")
    ids = failed_photo_ids(user=request.user, photo_ids=[id_from_text(photo_id)] if photo_id else None, text=True)
    count = photos_text_request(photo_ids=ids) if ids else 0
    messages.success(request, f"Reading the text in {count} photo{'s' if count != 1 else ''} again.")
    return redirect("search:indexing")


@require_POST
@login_required
def indexing_read_skipped(request: HttpRequest) -> HttpResponse:
    """Read the text in every photo of one of the user's families the OCR gate skipped (family=<id>; any member, as
    a photo's "Read text"). Past CONFIRM_SECONDS (search.read_estimates) of the worker's time it first answers a page
    saying so, whose button sends `confirm` (the number of photos confirmed: more skipped since asks again)."""
    try:
        outcome = family_skipped_read_ask(user=request.user, family_id=id_from_text(request.POST.get("family") or ""),
                                          confirmed=id_from_text(request.POST.get("confirm") or "") or 0)
    except ValidationError as error:  # reading switched off
        messages.error(request, " ".join(error.messages))
        return redirect("search:indexing")
    family = family_labelled(user=request.user, family=outcome.family)
    if outcome.to_confirm:
        return render(request, "search/read_skipped_confirm.html", {
            "family": family, "estimate": outcome.estimate})
    count = outcome.asked
    if not count:
        messages.info(request, f"No skipped photo of {text_isolated(family.label)} is left to read: they are "
                               "read, or waiting to be.")
        return redirect("search:indexing")
    messages.success(request, f"Reading the text in {count} photo{pluralize(count)} of "
                              f"{text_isolated(family.label)}: {ReadEstimate(count).words} of the worker’s time. "
                              "Each photo's text is searchable as soon as it is read.")
    return redirect("search:indexing")


@require_POST
@login_required
def photo_read_text(request: HttpRequest, photo_id: int) -> HttpResponse:
    """Read a photo's text whatever the gate said (any member of its family may ask)."""
    photo = photo_get(user=request.user, photo_id=photo_id)
    if not settings.OCR_ENABLED:
        messages.error(request, OCR_OFF)
        return redirect(photo)
    photos_text_request(photo_ids=[photo.pk])
    messages.success(request, "Reading the text in this photo: reload this page in a few seconds to see it.")
    return redirect(photo)


SMART_SEARCH_FIELDS = ("q", "tag", "uploader", "country", "place", "after", "before", "min_score", "weights")


# --- search quality (search.quality) ---------------------------------------------------------------------------

@require_GET
@login_required
def quality_index(request: HttpRequest) -> HttpResponse:
    """The quality page of the family the search was filtered to (`family`, from the search page's link: not the
    user's, that page's 404), else of the user's family with the most judgments, else the first by name (each
    family's page links to the others): a family just made, with nothing judged, would say "0 judged queries"."""
    family_id = id_from_text(request.GET.get("family") or "")
    if family_id is not None:
        return redirect("search:quality", family_id=family_id)
    family = family_most_judged(user=request.user)
    if family is None:
        raise Http404("You belong to no family yet.")
    return redirect("search:quality", family_id=family.pk)


@require_GET
@login_required
def quality(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_get(user=request.user, family_id=family_id)
    with EncodeBudget() as budget:  # words the model has not read yet: a few now, the rest by the worker
        figures = family_quality(user=request.user, family_id=family.pk, budget=budget)
    return render(request, "search/quality.html", {
        "family": family, "families": family_list(user=request.user).order_by("name", "pk"), "q": figures,
        "is_admin": family_is_admin(user=request.user, family=family), **quality_plots(figures),
        **_quality_models(family.pk)})


def _quality_models(family_id: int) -> dict:
    """During a model switch (another model's embeddings are kept, or still serve): the model the quality figures
    and search use for the family, and the other one, to compare the two on its judgments."""
    previous = previous_model(family_id=family_id)
    if previous is None:
        return {}
    searching = family_search_model(family_id=family_id)
    return {"search_model": searching, "other_model": previous if searching == settings.SEARCH_MODEL
            else settings.SEARCH_MODEL}


@require_GET
@login_required
@vary_on_headers("HX-Request")  # same URL, page or partial: caches must keep them apart
def duplicates(request: HttpRequest, family_id: int) -> HttpResponse:
    """A family's near-duplicate groups, side by side, the suggested keeper first and the rest ticked for the trash
    (only the photos the member may trash: their own uploads, or all for a family admin). DUPLICATE_GROUPS_PAGE_SIZE
    groups a page, the following pages loaded as the timeline's are (HTMX partials, or whole pages by the link)."""
    family = family_get(user=request.user, family_id=family_id)
    twice = given_twice(request.GET, ("page",))  # `page=1&page=2`: said, and the first page shown (not the last's)
    review = duplicates_page(user=request.user, family=family, page=None if twice else request.GET.get("page"))
    context = {"family": family, "groups": review.page.object_list, "page": review.page, "total": review.total,
               "member_ids": review.member_ids}
    status = 400 if twice else 200
    if wants_partial(request):
        return render(request, "search/duplicates.html#groups-page", context, status=status)
    for message in twice.values():
        messages.error(request, f"{message} Here are the groups from the first page.")
    return render(request, "search/duplicates.html", {**context, "hash_distance": settings.DUPLICATE_HASH_DISTANCE,
                                                      "colour_distance": settings.DUPLICATE_COLOUR_DISTANCE,
                                                      "cosine": settings.DUPLICATE_COSINE}, status=status)


@require_POST
@login_required
def smart_album_save(request: HttpRequest) -> HttpResponse:
    """"Save as smart album" on the search page: the search's words and filters, in one of the user's families."""
    data = request.POST
    search = {name: data.get(name, "") for name in SMART_SEARCH_FIELDS}
    search["plain"] = data.getlist("plain")
    back = reverse("search:search") + "?" + urlencode([(k, v) for k in ("q", "tag", "place", "after", "before")
                                                       for v in data.getlist(k) if v])
    family_id = id_from_text(data.get("family", ""))
    if family_id is None:
        messages.error(request, "Choose the family whose photos the smart album shows.")
        return redirect(back)
    family = family_get(user=request.user, family_id=family_id)
    try:
        album, made = smart_album_find_or_create(user=request.user, family=family, name=data.get("name", ""),
                                                 search=search)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])) + " The smart album was not saved.")
        return redirect(back)
    if not made:
        messages.info(request, f"The smart album “{text_isolated(album)}” of this search is saved already: here it is.")
        return redirect(album)
    messages.success(request, f"Saved the smart album “{text_isolated(album)}”: new photos that match appear in it by themselves.")
    return redirect(album)


@require_POST
@login_required
def quality_fit(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_get(user=request.user, family_id=family_id)
    if not family_is_admin(user=request.user, family=family):
        raise PermissionDenied("Only the family's admins can fit its calibration.")
    # (a page drawn before judgments were taken back, or their judge left: the worker would refuse it without a word)
    if missing := fit_judgments_needed(family_id=family.pk):
        messages.error(request, f"{missing} more judgment{pluralize(missing)} {pluralize(missing, 'is,are')} needed "
                                "before a fit: the family's judgments changed since this page was shown.")
        return redirect("search:quality", family_id=family.pk)
    calibration_fit_request(family_id=family.pk)
    messages.success(request, "Fitting from your family's judgments: the figures below update in a minute or so.")
    return redirect("search:quality", family_id=family.pk)


@require_POST
@login_required
def quality_rollback(request: HttpRequest, family_id: int) -> HttpResponse:
    family = family_get(user=request.user, family_id=family_id)
    if not family_is_admin(user=request.user, family=family):
        raise PermissionDenied("Only the family's admins can roll its calibration back.")
    try:  # (the fit the page showed in force: a click sent twice withdraws one fit, not the one before it too)
        withdrawn = calibration_rollback(family_id=family.pk, seen=id_from_text(request.POST.get("fit", "")))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("search:quality", family_id=family.pk)
    messages.success(request, "The calibration in force was withdrawn: the one before it applies again."
                     if withdrawn else "Nothing to roll back: the defaults are in force.")
    return redirect("search:quality", family_id=family.pk)


@require_POST
@login_required
def quality_apply_weights(request: HttpRequest, family_id: int) -> HttpResponse:
    """Set my own search weights to the ones the family's fit in force suggests."""
    family = family_get(user=request.user, family_id=family_id)
    weights = suggested_weights(family_id=family.pk)
    if weights is None:
        messages.error(request, "There are no suggested weights for this family (yet).")
    else:
        preferences_weights_update(user=request.user, semantic_weight=weights[0], metadata_weight=weights[1])
        messages.success(request, f"Your searches now weigh the image match {weights[0]:.2f} and the metadata "
                                  f"{weights[1]:.2f}. The preferences page can change them back.")
    return redirect("search:quality", family_id=family.pk)



# --- reports and model comparison (search.reports, search.model_comparison) -------------------------------------

@require_GET
@login_required
def search_report_view(request: HttpRequest) -> HttpResponse:
    """What the search does with a query in one of the user's families (the page of `manage.py search_report`)."""
    families = list(family_list(user=request.user))
    data, family_note = _report_family(request.GET, families)
    form = search_form(user=request.user, data=data, form_class=SearchReportForm, families=families)
    form.is_valid()
    report, filters = None, []
    # As the search page does, a filter it can't read is dropped: only the query and the family must be right.
    if not {"q", "family"} & set(form.errors) and form.cleaned_data.get("q") and not form.refused():
        params = form.params()
        filters = _filters_described(form, params)
        report = search_report(user=request.user, query=params.query, family_id=params.family_id,
                               removed=form.removed(), like=params.like, unlike=params.unlike, filters=params,
                               all_families=bool(form.cleaned_data.get("all_families")) and len(families) > 1)
    elif "family" in form.errors and data.get("family") and "family" not in form.given_twice():
        raise Http404("No such family.")  # not one of theirs: the same answer as a missing one
    refined = _refined_text((report.response.liked, report.response.unliked)) if report and report.response else ""
    left_out = _left_out_text(report.response.left_out, form) if report and report.response else []
    kept = [(name, value) for name in _REPORT_KEEPS for value in request.GET.getlist(name) if value]
    # (as the search page says them; the day instead links its report)
    notes = [note.parts(_instead_url(request, note)) for note in report.date_word_notes] if report else []
    return render(request, "search/search_report.html", {"form": form, "report": report, "families": families,
                                                         "plain": sorted(form.removed()), "refined": refined,
                                                         "left_out": left_out, "date_word_notes": notes,
                                                         "filters": filters, "kept": kept,
                                                         "searched": _report_searched(request, report),
                                                         "truncated": bool(report and report.truncated),
                                                         "max_query_chars": MAX_QUERY_CHARS,
                                                         "family_note": family_note,
                                                         "refused_notice": form.refused_labels()},
                  status=400 if form.given_twice() else 200)


def _report_family(query: QueryDict, families: list) -> tuple[QueryDict, str]:
    """The report's parameters with the family it reports: the one asked for, else the first of the user's. One that
    is no id ("abc", "-5", past bigint) names no family, missing or not: it is dropped as the search page drops a
    filter it can't read, and said (returned), never a 404. One given twice is left for the form to refuse."""
    data, note = query.copy(), ""
    given = query.getlist("family")
    if len(given) == 1 and given[0] and id_from_text(given[0]) is None:
        data.pop("family")
        if families:
            note = ("The family in the address could not be read (a family is given by its number): this is the "
                    f"report of {text_isolated(families[0].label)}.")
    if families and not data.get("family"):
        data["family"] = str(families[0].pk)
    return data, note


def _report_searched(request: HttpRequest, report) -> dict | None:
    """For the report of a search of all the user's families: the families it looked in (the report's own, by name,
    each isolated as a page shows people's text), whether the reported one's photos lead its results, and the links
    to the same report with each other family's figures."""
    if report is None or len(report.searched_families) < 2:
        return None
    names = {family_id: text_isolated(name) for family_id, name in report.searched_families.items()}
    others = []
    for family_id in sorted(names, key=lambda f: (f != report.lead, report.searched_families[f])):
        if family_id != report.family.pk:
            query = request.GET.copy()
            query["family"] = str(family_id)
            others.append((names[family_id], f"{reverse('search:search_report')}?{query.urlencode()}",
                           family_id == report.lead))
    by_name = sorted(names, key=report.searched_families.get)
    return {"names": get_text_list([names[f] for f in by_name], "and"), "leads": report.leads, "others": others,
            "family_names": names}


# What the report page's own form sends again besides the query and the family: the search page's filters, refine.
_REPORT_KEEPS = ("uploader", "tag", "country", "place", "after", "before", "favourite", "like", "unlike")


def _filters_described(form: SearchForm, params: SearchParams) -> list[str]:
    """The search page's filters a report applies, in words ("tagged “garden”", "taken from 2023-06-01")."""
    said = []
    if params.tag:
        said.append(f"tagged “{params.tag}”")
    if params.uploader_id:
        said.append(f"uploaded by {dict(form.fields['uploader'].choices).get(params.uploader_id, params.uploader_id)}")
    if params.country:
        said.append(f"in {dict(form.fields['country'].choices).get(params.country, params.country)}")
    if params.place:
        said.append(f"in “{params.place}”")
    if params.taken_after or params.taken_before:
        said.append(" ".join(part for part in ("taken", params.taken_after and f"from {params.taken_after}",
                                               params.taken_before and f"until {params.taken_before}") if part))
    if params.favourite:
        said.append("your favourites only")
    return said


@require_GET
@login_required
def photo_report_view(request: HttpRequest, photo_id: int) -> HttpResponse:
    """One photo's semantic profile (the page of `manage.py photo_report`)."""
    with EncodeBudget() as budget:
        report = photo_report(user=request.user, photo_id=photo_id, budget=budget)
    return render(request, "search/photo_report.html", {"report": report})


@require_POST
@login_required
def model_switch_confirm_view(request: HttpRequest) -> HttpResponse:
    """A family admin confirms the family's switch to the active model (family=<id>): the previous model's kept
    embeddings go with the next sweep. Another family is a 404; a member who is no admin, a 403."""
    family_id = id_from_text(request.POST.get("family", ""))
    if family_id is None:
        raise Http404("No such family.")
    family = family_get(user=request.user, family_id=family_id)
    count = model_switch_confirm(user=request.user, family=family)
    messages.success(request, "Switch confirmed: the previous model's embeddings go with the next sweep."
                     if count else "There was no switch left to confirm.")
    return redirect("search:indexing")


@require_GET
@login_required
def model_comparison_view(request: HttpRequest, family_id: int) -> HttpResponse:
    """The active and the previous model on the family's own judgments (what `manage.py evaluate --compare` prints),
    with the admin's button to confirm the switch."""
    with EncodeBudget() as budget:
        comparison = family_model_comparison(user=request.user, family_id=family_id, budget=budget)
    return render(request, "search/model_comparison.html", {
        "comparison": comparison, "kept": kept_models(family_id=family_id), "ks": PRECISION_KS,
        "is_admin": family_is_admin(user=request.user, family=comparison.family)})


@require_POST
@login_required
def duplicates_dismiss_view(request: HttpRequest, family_id: int) -> HttpResponse:
    """"Not duplicates: keep all" on a group: its photos' pairs are no longer grouped (any member of the family). The
    form posts the group's key, not its members' ids (a burst's hundreds passed DATA_UPLOAD_MAX_NUMBER_FIELDS)."""
    family = family_get(user=request.user, family_id=family_id)
    try:
        count, _ = duplicates_dismiss_group(user=request.user, family=family, key=request.POST.get("group", ""))
    except GroupChanged as changed:
        messages.error(request, changed.message)
    else:
        messages.success(request, f"Kept all {count}: they are no longer shown as near-duplicates of each other.")
    return _back_to_duplicates(request, family)


# Fields its form may post. A group is as large as the burst or time-lapse that chained into it, all but the keeper
# ticked: past Django's 1000 the whole form was refused with a bare 400 (the CSRF check could not read its token).
# 10,000 short fields (about 120 kB) read in milliseconds; past that the page says so (gallery.middleware).
DUPLICATES_TRASH_FIELDS = 10_000


@require_POST
@login_required
@many_fields(DUPLICATES_TRASH_FIELDS)
def duplicates_trash(request: HttpRequest, family_id: int) -> HttpResponse:
    """Move the ticked photos of a group to the trash and, with the "and N more" box, the rest that match the keeper
    (the group as it was shown, or nothing), at most DUPLICATES_TRASH_MAX a click."""
    family = family_get(user=request.user, family_id=family_id)
    try:
        moved = duplicate_group_trash(user=request.user, family=family, photo_ids=request.POST.getlist("photo"),
                                       key=request.POST.get("group", ""), more=bool(request.POST.get("more")))
    except GroupChanged as changed:
        messages.error(request, changed.message)
        return _back_to_duplicates(request, family)
    except PermissionDenied as exc:
        return removed_meanwhile(request, exc)
    results_message(request, moved.results, "Moved", where=" to the trash",
                    empty="No photo was ticked: nothing moved to the trash.")
    if moved.left:
        messages.warning(request, f"{moved.left} more ticked photos were not moved: at most {DUPLICATES_TRASH_MAX} go "
                                  "to the trash at once. Move them with another click.")
    return _back_to_duplicates(request, family)


def _back_to_duplicates(request: HttpRequest, family) -> HttpResponse:
    """Back to the page of groups the member was working through."""
    page = id_from_text(request.POST.get("page", ""))
    url = reverse("search:duplicates", args=[family.pk])
    return redirect(f"{url}?page={page}" if page and page > 1 else url)
