"""search_report / photo_report: the commands print what the report selectors return, computed with the toy model
over real stored photos; the pages show the same to members only."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command
from django.http import Http404

from gallery.models import Photo
from search.judgment_services import judgment_record
from search.models import Synonym, TagConcept
from search.reports import photo_report, search_report
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def shapes(toy_model, add_shape, django_capture_on_commit_callbacks):
    for name in ("red", "blue", "green", "circle", "square"):
        TagConcept.objects.get_or_create(family=None, name=name)
    with django_capture_on_commit_callbacks(execute=True):
        photos = {name: add_shape(*name.split()) for name in
                  ("red square", "red circle", "blue circle", "green triangle", "yellow square")}
    run_queued_tasks()
    assert not Photo.objects.exclude(status=Photo.Status.READY).exists()
    return photos


def _report_link(client, search: dict) -> str:
    """The search page's "How this search scored" link for these parameters."""
    page = client.get("/search/", search).content.decode()
    link = page[page.index('class="report-link" href="') + len('class="report-link" href="'):]
    return link[:link.index('"')].replace("&amp;", "&")


def command(name: str, *args) -> str:
    out = io.StringIO()
    call_command(name, *map(str, args), stdout=out)
    return out.getvalue()


def test_search_report_shows_terms_distributions_and_every_component(shapes, alice, family):
    Synonym.objects.update_or_create(family=None, term="red", defaults={"related": ["crimson"]})
    report = search_report(user=alice, query="red square", family_id=family.pk)
    assert report.indexed == 5 and report.model_calibration.source == "model" and report.fitted_calibration is None
    terms = [t.term for t in report.terms]
    assert terms[0] == "red square" and "crimson square" in terms
    first = report.terms[0]
    assert first.cosines.total == first.probabilities.total == 5
    assert sum(bar.count for bar in first.probabilities.bars) == 5
    assert first.above_half >= 1 and first.cosine_max > first.cosine_median
    assert report.response.results[0].photo == shapes["red square"]

    output = command("search_report", "red square", "--user", "alice")
    assert "expanded terms" in output and "crimson square" in output
    assert "no fit from the family's judgments is in force" in output
    assert "█" in output  # the histograms
    assert f"photo {shapes['red square'].pk}" in output.split("top ")[1].splitlines()[1]
    for component in ("cosine", "probability", "meta score", "semantic weight", "score"):
        assert f"       {component}: " in output


def test_search_report_needs_a_family_of_the_user(shapes, alice, family, other_family, mallory):
    with pytest.raises(Http404):
        search_report(user=mallory, query="red", family_id=family.pk)
    with pytest.raises(CommandError, match="not in a family called"):
        command("search_report", "red", "--user", "mallory", "--family", "Smiths")
    with pytest.raises(CommandError, match="No user"):
        command("search_report", "red", "--user", "nobody")
    from tests.factories import MembershipFactory
    MembershipFactory(family=other_family, user=alice)
    with pytest.raises(CommandError, match="pick one with --family"):
        command("search_report", "red", "--user", "alice")
    assert "in Joneses" in command("search_report", "red", "--user", "alice", "--family", "joneses")


def test_photo_report_ranks_what_the_photo_shows_first(shapes, alice, bob, family, mallory):
    photo = shapes["red square"]
    judgment_record(user=alice, photo=photo, query="red square", relevant=True)
    judgment_record(user=bob, photo=photo, query="red square", relevant=True)
    judgment_record(user=alice, photo=photo, query="blue circle", relevant=False)
    report = photo_report(user=alice, photo_id=photo.pk)
    names = [c.name for c in report.concepts]
    assert set(names[:2]) == {"red", "square"}, names[:5]
    assert report.concepts[0].probability > 0.5 > report.concepts[-1].probability
    assert {c.source for c in report.concepts} >= {"tag vocabulary"}
    assert [j.query for j in report.best_queries] == ["red square"] and report.best_queries[0].judges == 2
    assert [j.query for j in report.worst_queries] == ["blue circle"]
    assert {"suggested tags", "file name"} <= {f.label for f in report.fields}
    with pytest.raises(Http404):
        photo_report(user=mallory, photo_id=photo.pk)

    output = command("photo_report", photo.pk)
    profile = output.split("most probable first):")[1].splitlines()
    assert {profile[1].split()[2], profile[2].split()[2]} == {"red", "square"}, output
    assert "judged right for:\n  “red square”" in output and "(2 members)" in output
    assert "judged wrong for:\n  “blue circle”" in output
    with pytest.raises(CommandError, match="No photo"):
        command("photo_report", 10**9)


def test_photo_report_of_a_photo_not_indexed_yet(toy_model, add_shape, alice):
    photo = add_shape("red", "circle")  # no worker ran
    report = photo_report(user=alice, photo_id=photo.pk)
    assert report.concepts == [] and "not indexed yet" in report.message
    assert "not indexed yet" in command("photo_report", photo.pk)


def test_report_pages_for_members_only(shapes, client_for, alice, mallory, family, other_family):
    photo = shapes["red square"]
    judgment_record(user=alice, photo=photo, query="red square", relevant=True)
    client = client_for(alice)
    page = client.get("/search/report/", {"q": "red square"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "“red square” in Smiths" in html and 'class="histogram"' in html and "Top results" in html
    assert f'/photos/{photo.pk}/profile/' in html and "semantic weight" in html
    assert client.get("/search/report/").status_code == 200  # just the form
    profile = client.get(f"/photos/{photo.pk}/profile/")
    assert profile.status_code == 200
    html = profile.content.decode()
    assert "Semantic profile" in html and "“red square”" in html and "suggested tags" in html
    assert f'/photos/{photo.pk}/profile/' in client.get(photo.get_absolute_url()).content.decode()

    intruder = client_for(mallory)
    assert intruder.get(f"/photos/{photo.pk}/profile/").status_code == 404
    assert intruder.get(f"/photos/{10**9}/profile/").status_code == 404
    assert intruder.get("/search/report/", {"q": "red", "family": family.pk}).status_code == 404
    # (a family that is no id is none missing: the report of her own, as the search page ignores it)
    assert "in Joneses" in intruder.get("/search/report/", {"q": "red", "family": "x"}).content.decode()
    own = intruder.get("/search/report/", {"q": "red square"})
    assert own.status_code == 200 and "in Joneses" in own.content.decode()
    assert "IMG" not in own.content.decode()  # none of the Smiths' photos


def test_the_profile_page_leaves_uncached_concepts_to_the_worker(shapes, client_for, alice, settings,
                                                                   django_capture_on_commit_callbacks):
    """After a model switch or a change to the vocabulary, the model has encoded none of the concepts: the page
    doesn't run it over the whole vocabulary and synonym table inside the request, it says the profile is coming."""
    from search import text_embeddings
    from search.models import TextEmbedding

    TextEmbedding.objects.all().delete()
    text_embeddings.clear_process_cache()
    settings.SEARCH_PAGE_ENCODE_TERMS = 2
    url = f"/photos/{shapes['red square'].pk}/profile/"
    with django_capture_on_commit_callbacks(execute=True):
        html = client_for(alice).get(url).content.decode()
    assert TextEmbedding.objects.count() == 0 and "still reading the words" in html and "most probable" not in html
    assert run_queued_tasks() >= 1
    html = client_for(alice).get(url).content.decode()
    assert "still reading" not in html and 'class="histogram concepts"' in html


def test_report_pages_need_sign_in(shapes, client):
    assert client.get("/search/report/", {"q": "red"}).status_code == 302
    assert client.get(f"/photos/{shapes['red square'].pk}/profile/").status_code == 302


def test_reports_show_what_the_fitted_calibration_changed(shapes, alice, family, toy_model):
    from search.models import SearchCalibration

    model = search_report(user=alice, query="red square", family_id=family.pk).terms[0]
    SearchCalibration.objects.create(family=family, model_name=toy_model, semantic_scale=27.0, semantic_bias=-30.0,
                                     applied=True)  # a fit that believes far fewer matches
    report = search_report(user=alice, query="red square", family_id=family.pk)
    assert report.fitted_calibration.source == "fitted" and report.calibration.bias == -30.0
    term = report.terms[0]
    assert term.model_above_half == model.above_half >= 1 and term.above_half == 0
    output = command("search_report", "red square", "--user", "alice")
    assert "fitted from the family's judgments a' = 27.00, b' = -30.00 (in force)" in output
    assert f"0 photo(s) with p ≥ 0.5 ({model.above_half} under the model's own)" in output
    profile = photo_report(user=alice, photo_id=shapes["red square"].pk)
    assert profile.concepts[0].model_probability > 0.5 > profile.concepts[0].probability
    assert "model's own" in command("photo_report", shapes["red square"].pk)


def test_the_photo_profile_gives_a_name_two_concepts_suggest_the_likelier_of_them(shapes, alice, family):
    """The shared "crimson" asks "red"; the family's "scarlet", merged into "crimson" and ticked on, asks "red
    square": both suggest crimson. The profile kept the first concept of the name, not the likelier one (the one the
    photo's suggestion carries)."""
    shared = TagConcept.objects.create(family=None, name="crimson", prompt="red")
    entry = TagConcept.objects.create(family=family, name="scarlet", prompt="red square", merged_into="Crimson")
    photo_id = shapes["red square"].pk

    def crimson() -> list[float]:
        concepts = photo_report(user=alice, photo_id=photo_id).concepts
        return [concept.probability for concept in concepts if concept.name.lower() == "crimson"]

    both = crimson()
    TagConcept.objects.filter(pk=entry.pk).update(enabled=False)
    [asked_red] = crimson()
    TagConcept.objects.filter(pk=entry.pk).update(enabled=True)
    TagConcept.objects.filter(pk=shared.pk).update(enabled=False)
    [asked_red_square] = crimson()
    assert asked_red != asked_red_square
    assert both == [max(asked_red, asked_red_square)], (both, asked_red, asked_red_square)


def test_the_search_page_links_to_its_report(shapes, client_for, alice, family):
    html = client_for(alice).get("/search/", {"q": "red square", "family": family.pk}).content.decode()
    assert f'/search/report/?q=red+square&amp;family={family.pk}' in html


def test_the_report_of_a_very_long_search_scores_its_first_300_characters_as_the_search_page_did(
        shapes, client_for, alice, family):
    """The search page searches the first 300 characters of a longer query (a pasted text, a link) and says so; its
    "How this search scored" led to a report that refused the query ("at most 300 characters (it has 505)") and
    scored nothing (QA). It scores what the page searched and says the same."""
    client = client_for(alice)
    query = "red square " * 46
    html = client.get(_report_link(client, {"q": query, "family": family.pk})).content.decode()
    assert "at most 300 characters" not in html
    assert "only its first 300 characters were used" in html
    assert 'class="card report-summary"' in html and "red square" in html
    assert "its first 300 characters are scored" in command("search_report", query, "--user", "alice")


def test_photo_report_lists_every_word_of_each_field(toy_model, add_shape, alice, client_for,
                                                     django_capture_on_commit_callbacks):
    """Each field shows all the words search matches in it, not just the first lexeme of its tsvector."""
    from gallery.services import photo_update
    with django_capture_on_commit_callbacks(execute=True):
        photo = add_shape("red", "square", filename="garden party.png")
        photo_update(photo=photo, title="Grandma birthday picnic", tags=["beach", "holiday"], user=alice)
    run_queued_tasks()
    fields = {f.label: f.words for f in photo_report(user=alice, photo_id=photo.pk).fields}
    assert sorted(fields["title"]) == ["birthday", "grandma", "picnic"], fields
    assert {"garden", "parti", "png"} <= set(fields["file name"]), fields
    assert "birthday grandma picnic" in command("photo_report", photo.pk)
    html = client_for(alice).get(f"/photos/{photo.pk}/profile/").content.decode()
    assert "birthday grandma picnic" in html


def test_report_of_a_family_with_nothing_indexed_says_so_instead_of_zero_figures(toy_model, alice, family, client_for):
    html = client_for(alice).get("/search/report/", {"q": "red -circle"}).content.decode()
    assert "Cosine from 0.0000 to 0.0000" not in html and "No photo of Smiths is indexed yet" in html
    assert "looking for “red”" in html
    assert "Understood: without circle." in client_for(alice).get("/search/report/", {"q": "-circle"}).content.decode()
    assert "Understood: taken 2019-01-01 to 2021-12-31." in client_for(alice).get(
        "/search/report/", {"q": "between 2019 and 2021"}).content.decode()
    output = command("search_report", "red", "--user", "alice")
    assert "min +0.0000" not in output and "no photo of Smiths is indexed yet" in output
    # A date no photo can have is said there too, as on the search page.
    assert "Understood: looking for “summer 9999”; No photo is from 9999 yet: “summer 9999” is searched as words." \
        in client_for(alice).get("/search/report/", {"q": "summer 9999"}).content.decode()
    assert "date: No photo is from 9999 yet: “summer 9999” is searched as words." in command(
        "search_report", "summer 9999", "--user", "alice")


def test_the_report_page_of_someone_in_no_family_says_so(db, client_for):
    """It said "This field is required." under the query typed (the family's error, with no family to choose), and
    its Report button sent family=None, a 404."""
    from tests.factories import UserFactory

    body = client_for(UserFactory(username="eve")).get("/search/report/", {"q": "red"}).content.decode()
    assert "You are not in any family yet." in body
    assert "This field is required." not in body and 'value="None"' not in body


def test_report_components_name_metadata_kinds_as_explain_does():
    """The report listed meta ranks under internal keys ("filename", "suggested") beside explain's labels."""
    from search.calibration import KIND_LABELS
    from search.engine import Explanation
    from search.reports import explanation_items

    e = Explanation(model_name=None, cosine=None, probability=None, term=None, calibration_scale=None,
                    calibration_bias=None, meta_score=0.2, meta_fts=0.2, meta_typo=0.0, meta_fields=["file name"],
                    semantic_weight=0.6, metadata_weight=0.4, score=0.3,
                    meta_ranks={"filename": 0.1, "suggested": 0.25}, meta_probabilities={"filename": 0.12})
    items = dict(explanation_items(e))
    assert items["meta ranks"] == f"{KIND_LABELS['filename']} 0.1000, {KIND_LABELS['suggested']} 0.2500"
    assert items["meta probabilities"] == f"{KIND_LABELS['filename']} 0.1200"
    assert "filename" not in items["meta ranks"]


def test_a_query_of_only_exclusions_still_counts_the_indexed_photos(shapes, alice, family, client_for):
    report = search_report(user=alice, query="-circle", family_id=family.pk)
    assert report.terms == [] and report.indexed == 5
    output = command("search_report", "--user", "alice", "--", "-circle")
    assert "no photo of Smiths is indexed yet" not in output and "5 indexed photo(s)" in output
    html = client_for(alice).get("/search/report/", {"q": "-circle"}).content.decode()
    assert "No photo of Smiths is indexed yet" not in html


@pytest.mark.parametrize("family_option", ["²", "99999999999999999999999"])
def test_search_report_with_a_family_that_is_no_id_says_so(shapes, alice, family_option):
    with pytest.raises(CommandError, match="not in a family called"):
        command("search_report", "red", "--user", "alice", "--family", family_option)


def test_reports_do_not_call_a_family_unfitted_when_its_fit_is_not_in_force(shapes, alice, family, toy_model,
                                                                            client_for):
    """After a fit that was not applied, or one an admin rolled back, the reports said "no fitted calibration for
    this family yet", as if no fit had ever run (QA): they say none is in force."""
    from search.models import SearchCalibration

    SearchCalibration.objects.create(family=family, model_name=toy_model, semantic_scale=27.0, semantic_bias=-30.0,
                                     applied=False)
    output = command("search_report", "red square", "--user", "alice")
    assert "yet" not in output.split("expanded terms")[0]
    assert "no fit from the family's judgments is in force (the model's own calibration is)" in output
    html = client_for(alice).get("/search/report/", {"q": "red square", "family": family.pk}).content.decode()
    assert "no fitted calibration yet" not in html and "no fit from this family's judgments is in force" in html


@pytest.mark.parametrize("query, said", [("red square not in Portugal", "not in Portugal"),
                                         ("red square without 2023", "not taken 2023-01-01 to 2023-12-31"),
                                         ("red square summer 2023", "taken 2023-06-01 to 2023-08-31; across the "
                                                                    "equator taken 2022-12-01 to 2023-02-28")])
def test_the_report_page_says_what_a_negated_place_or_date_leaves_out(shapes, alice, client_for, query, said):
    """The page's "Understood" line showed places, dates and exclusions, not a negated place or date: the report of
    "red square not in Portugal" read as one for “red square”, with no word of the photos it left out (the command
    printed it)."""
    html = client_for(alice).get("/search/report/", {"q": query}).content.decode()
    assert f"Understood: {said}; looking for “red square”." in html
    assert "Understood" not in client_for(alice).get("/search/report/", {"q": "red square"}).content.decode()


@pytest.mark.parametrize("query, said, line", [
    ("red square 3 june", "taken on 3 June of any year", "taken on, any year: 3 June"),
    ("red square not on christmas eve or 3 june", "not taken on 24 December or 3 June of any year",
     "not taken on, any year: 24 December or 3 June")])
def test_the_report_says_which_day_of_every_year_it_searches_or_leaves_out(shapes, alice, client_for, query, said,
                                                                           line):
    """"3 june" is a day of every year (search.scope.Scope.days_of_year): the report page and the command name it."""
    html = client_for(alice).get("/search/report/", {"q": query}).content.decode()
    assert f"Understood: {said}; looking for “red square”." in html
    assert line in command("search_report", query, "--user", "alice").splitlines()


def test_the_report_says_why_a_holiday_or_season_searched_as_a_word_finds_no_photo_by_its_date(
        shapes, alice, client_for, family):
    """The search page says under the query why "halloween" or "summer" finds no photo by its date
    (search.query_notes); its report, "How this search scored", said nothing of it, and its scores read as the whole
    story. The page shows the same notes with their links (the day instead: its report, the family's filter kept), the
    command prints them; none for a query without such a word."""
    from html import unescape
    from urllib.parse import parse_qs, urlsplit

    html = unescape(client_for(alice).get("/search/report/", {"q": "red square halloween",
                                                              "family": family.pk}).content.decode())
    note = ("Holidays are found by each photo's country, and no country's calendar of public holidays has "
            "“halloween”, so “halloween” finds no photo by its date.")
    assert note in html
    link = re.search(r'Search <a href="([^"]+)">“31 october”</a> instead\.', html.split(note)[1])[1]
    assert urlsplit(link).path == "/search/report/"
    assert parse_qs(urlsplit(link).query) == {"q": ["red square 31 october"], "family": [str(family.pk)]}
    # the family's photos are dated by their upload alone: no season in their words
    html = unescape(client_for(alice).get("/search/report/", {"q": "summer"}).content.decode())
    assert ("and no photo of the family “Smiths” tells it (their dates are guesses, or a folder's month or year), so "
            "“summer” finds none by its date. A photo's page sets the day it was taken.") in html
    assert f"date word: {note} Search “31 october” instead." in command(
        "search_report", "red square halloween", "--user", "alice").splitlines()
    assert "finds no photo by its date" not in client_for(alice).get("/search/report/", {"q": "red square"}).content.decode()
    assert "date word" not in command("search_report", "red square", "--user", "alice")


def test_the_report_tells_of_each_holiday_or_season_searched_as_a_word_not_the_first_alone(shapes, alice,
                                                                                           client_for):
    """The report page and the command told of the query's first holiday of no calendar alone: "red square valentine's
    day halloween summer" said why Valentine's Day finds nothing, then that Halloween does because the family's photos
    don't tell their day (no calendar has it, whatever their dates). Each has its own note, in the query's order."""
    from html import unescape

    query = "red square valentine's day halloween summer"

    def no_calendar(said: str, day: str) -> str:
        return (f"Holidays are found by each photo's country, and no country's calendar of public holidays has "
                f"“{said}”, so “{said}” finds no photo by its date. Search “{day}” instead.")

    notes = [no_calendar("valentine's day", "14 february"), no_calendar("halloween", "31 october"),
             "Seasons and holidays are found by the day each photo was taken, and no photo of the family “Smiths” "
             "tells it (their dates are guesses, or a folder's month or year), so “summer” finds none by its date. "
             "A photo's page sets the day it was taken."]
    html = re.sub(r"<[^>]+>", "", unescape(client_for(alice).get("/search/report/", {"q": query}).content.decode()))
    assert [html.index(note) for note in notes] == sorted(html.index(note) for note in notes)
    lines = [line for line in command("search_report", query, "--user", "alice").splitlines()
             if line.startswith("date word: ")]
    assert lines == [f"date word: {note}" for note in notes]


def test_the_report_names_each_of_the_dates_joined_by_or_not_the_span_between(shapes, alice, client_for):
    """"2019 or 2024" is either year (search.query_parser.ParsedQuery.periods): the report said "taken 2019-01-01 to
    2024-12-31", the span the search no longer takes."""
    html = client_for(alice).get("/search/report/", {"q": "red square 2019 or 2024"}).content.decode()
    assert ("Understood: taken 2019-01-01 to 2019-12-31 or 2024-01-01 to 2024-12-31; looking for “red square”."
            in html)
    assert "taken: 2019-01-01 to 2019-12-31 or 2024-01-01 to 2024-12-31" in command(
        "search_report", "red square 2019 or 2024", "--user", "alice").splitlines()


def test_the_report_of_a_search_whose_chip_was_removed_keeps_its_words_as_words(shapes, alice, client_for):
    """× on a chip searches its words as plain text (`plain=` in the URL), but "How this search scored" linked the
    query alone, so the report understood the place again and scored another search than the page showed."""
    client = client_for(alice)
    link = _report_link(client, {"q": "red square in Portugal", "plain": "portugal"})
    assert "plain=portugal" in link
    html = client.get(link).content.decode()
    assert "Understood" not in html and "“red square in Portugal” in Smiths" in html
    assert 'name="plain" value="portugal"' in html  # kept when the report's own form is sent again
    assert "Understood: in Portugal" in client.get("/search/report/", {"q": "red square in Portugal"}).content.decode()
    report = search_report(user=alice, query="red square in Portugal", removed=frozenset({"portugal"}))
    assert report.interpreted["places"] == []


@pytest.mark.parametrize("query", ["-circle", "not in 2023"])
def test_a_report_of_a_query_with_no_words_to_search_names_the_query_as_typed(shapes, alice, client_for, query):
    """A query of only exclusions or dates was reported as “” ("Search report for “” in Smiths", "Terms searched
    (0): ."): the report named the words left to search, not what was asked. It names the query as typed, and says
    there are no words to search."""
    output = command("search_report", "--user", "alice", "--", query)
    assert f"Search report for “{query}” in Smiths" in output and "“”" not in output
    assert "expanded terms (0): none, the query has no words to look for" in output
    html = client_for(alice).get("/search/report/", {"q": query}).content.decode()
    assert f"“{query}” in Smiths" in html and "“” in Smiths" not in html and "Terms searched (0)" not in html
    assert "No words to search for" in html
    # A query with words left keeps its heading as typed too; "Understood" says what the words are.
    html = client_for(alice).get("/search/report/", {"q": "red square not in Portugal"}).content.decode()
    assert "“red square not in Portugal” in Smiths" in html and "looking for “red square”" in html


def test_how_a_refined_search_scored_is_the_refined_search(shapes, alice, client_for):
    """"How this search scored" on refined results linked the query alone: the report listed the unrefined search's
    top results and scores, another search than the page showed. The link keeps like/unlike, the report's top
    results are the refined search's (what refined it said), and another family's ids refine nothing, as on the
    search page."""
    client = client_for(alice)
    like, unlike = shapes["yellow square"].pk, shapes["red square"].pk
    link = _report_link(client, {"q": "red", "like": str(like), "unlike": str(unlike)})
    assert f"like={like}" in link and f"unlike={unlike}" in link
    html = client.get(link).content.decode()
    assert "Refined: more like 1 photo, fewer like 1 photo" in html
    refined = search_report(user=alice, query="red", like=(like,), unlike=(unlike,)).response.results
    plain = search_report(user=alice, query="red").response.results
    refined, plain = ([r.photo.pk for r in results] for results in (refined, plain))
    assert refined != plain and refined.index(like) < plain.index(like)
    assert f'name="like" value="{like}"' in html  # kept when the report's own form is sent again
    assert "Refined" not in client.get("/search/report/", {"q": "red", "like": "999999"}).content.decode()


def test_a_refined_search_s_report_says_which_of_its_photos_it_left_out_and_why(
        shapes, alice, family, mallory, other_family, client_for, add_shape, django_capture_on_commit_callbacks):
    """A report scores one family: "How this search scored" on results refined from all of Alice's families (the
    Smiths and the Greens) reported the Smiths, refined by the Smiths' photos alone, and left the Greens' photo out
    without a word; so was a photo not indexed yet. It says so as the search page does, and tells another family's
    photo (the Joneses', not hers) by nothing but a count."""
    from gallery.models import Membership
    from tests.factories import FamilyFactory

    greens = FamilyFactory(name="Greens")
    Membership.objects.create(family=greens, user=alice, role=Membership.Role.MEMBER)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = add_shape("red", "square", target_family=greens)
        foreign = add_shape("red", "square", target_family=other_family, user=mallory)
    run_queued_tasks()
    waiting = add_shape("red", "circle")  # not indexed: its embedding is never queued
    like = f"{theirs.pk},{shapes['red square'].pk},{waiting.pk},{foreign.pk}"
    html = client_for(alice).get("/search/report/", {"q": "red", "family": family.pk, "like": like}).content.decode()
    assert "Refined: more like 1 photo" in html
    assert "1 photo in the link is in Greens, and this search looks only in Smiths: left out." in html
    assert "1 photo in the link is not indexed yet: left out until it is." in html
    assert "1 photo in the link is not yours to see, in the trash or deleted: left out." in html
    assert "Joneses" not in html


def test_photo_report_of_a_photo_in_the_trash_says_so(toy_model, add_shape, alice, family):
    """"No photo 36." for a photo that sits in the family's trash sent the operator looking for a photo deleted for
    good (QA). The command names the trash, and how to get its profile back: "Smiths' trash", as the pages write
    it since 97e6ea6 (it said "Smiths's trash")."""
    from gallery.trash_services import photos_trash

    photo = add_shape("red", "circle")
    photos_trash(user=alice, photo_ids=[photo.pk])
    assert family.name == "Smiths"
    with pytest.raises(CommandError, match=f"Photo {photo.pk} is in Smiths' trash: restore it"):
        command("photo_report", photo.pk)


def test_search_report_leaves_out_photos_in_the_trash_as_the_search_does(shapes, alice, family):
    """The report counted and measured every embedded photo of the family, the trash's too ("5 indexed photos", one
    "red square" at probability 1), while the search it explains, the Index page and the timeline left them out."""
    from gallery.trash_services import photos_trash

    photos_trash(user=alice, photo_ids=[shapes["red square"].pk])
    report = search_report(user=alice, query="red square", family_id=family.pk)
    assert report.indexed == 4
    first = report.terms[0]
    assert first.cosines.total == first.probabilities.total == 4
    assert shapes["red square"] not in [result.photo for result in report.response.results]
    assert "4 indexed photo(s)" in command("search_report", "red square", "--user", "alice")


def test_how_a_filtered_search_scored_is_the_filtered_search(shapes, alice, client_for):
    """"How this search scored" on a search filtered by tag (or uploader, place, dates, favourites) linked the query
    alone: the report's top results were photos the page had filtered out. The link keeps the page's filters, the
    report applies them and says which, and its own form keeps them when sent again."""
    from gallery.models import PhotoTag
    from gallery.services import photo_tags_add

    photo_tags_add(photo=shapes["blue circle"], names=["garden"], source=PhotoTag.Source.MEMBER, user=alice)
    client = client_for(alice)
    link = _report_link(client, {"q": "circle", "tag": "garden"})
    assert "tag=garden" in link
    html = client.get(link).content.decode()
    assert "Filtered as on the search page: tagged “garden”." in html
    assert 'name="tag" value="garden"' in html
    top = html[html.index("Top results"):]
    assert f"/photos/{shapes['blue circle'].pk}/" in top
    assert f"/photos/{shapes['red circle'].pk}/" not in top
    assert "Filtered" not in client.get("/search/report/", {"q": "circle"}).content.decode()


def test_a_report_of_text_the_search_cannot_take_says_so_and_reports_nothing(shapes, alice, client_for):
    """A NUL in a filter of the search page's link (tag, place) made the form's search parameters empty, and the
    report went on with them: an empty query over the user's first family, whatever family was asked for. It says
    what it can't take now, as the search page does, and reports nothing."""
    html = client_for(alice).get("/search/report/", {"q": "red", "tag": "a\x00b"}).content.decode()
    assert "Top results" not in html and "“” in" not in html
    assert 'role="alert"' in html and "Tag:" in html


def test_judged_queries_are_scored_now_with_the_familys_model_whichever_model_judged_them(
        shapes, alice, bob, family, toy_model, client_for):
    """The profile ranked the photo's judged queries by each judgment's stored score, which for rows judged with
    another model (imported after a model switch, or given before it) is that model's score, while the quality figures
    and the fit score every judgment afresh with the family's search model. A row of another model that once scored
    0.99 for "blue circle" headed "judged right for" over "red square", of the model search uses now. The profile
    scores them now as the quality figures do (the same numbers), and says so."""
    from search.models import Judgment
    from search.quality import family_quality

    photo = shapes["red square"]
    judgment_record(user=alice, photo=photo, query="red square", relevant=True)
    judgment_record(user=bob, photo=photo, query="red square", relevant=True)
    other = "google/siglip-so400m-patch14-384"
    for query, relevant, then in (("blue circle", True, 0.99), ("red", True, 0.02),
                                  ("green triangle", False, 0.97), ("square", False, 0.01)):
        Judgment.objects.create(user=alice, family=family, photo=photo, query=query, relevant=relevant,
                                model_name=other, components={"model_name": other, "score": then, "cosine": 0.2})
    quality = {q.query: (q.right + q.wrong)[0] for q in family_quality(user=alice, family_id=family.pk).per_query}

    report = photo_report(user=alice, photo_id=photo.pk)
    best, worst = ([(j.query, j.score) for j in judged] for judged in (report.best_queries, report.worst_queries))
    assert [query for query, _ in best] == sorted(["red square", "blue circle", "red"], key=lambda q: -quality[q])
    assert [query for query, _ in worst] == sorted(["green triangle", "square"], key=lambda q: -quality[q])
    for query, score in best + worst:
        assert score == pytest.approx(quality[query], rel=1e-9), query
    assert best[-1][0] == "blue circle" and worst[0][0] == "square"  # (the other model's scores said the opposite)
    assert {j.query: j.judges for j in report.best_queries}["red square"] == 2

    # Scored in a few statements for them all (one read of the photo's vector, one metadata pass), not one per verdict.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        photo_report(user=alice, photo_id=photo.pk)
    for query, relevant in (("blue circle", True), ("red", True), ("green triangle", False), ("square", False)):
        Judgment.objects.create(user=bob, family=family, photo=photo, query=query, relevant=relevant,
                                model_name=other, components={"model_name": other, "score": 0.5})
    with CaptureQueriesContext(connection) as after:
        again = photo_report(user=alice, photo_id=photo.pk)
    assert len(after.captured_queries) == len(before.captured_queries)
    assert [(j.query, j.score, j.judges) for j in again.best_queries] == [(q, s, 2) for q, s in best]

    output = command("photo_report", photo.pk)
    assert (f"judged queries, scored now as the family's search scores this photo for them (with {toy_model}, the "
            "calibration in force and alice's weights, semantic 0.60, metadata 0.40), as the search quality figures "
            "score them, whichever model each was judged with:") in output, output
    right = output.split("judged right for:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split("”")[0].strip(" “") for line in right] == [query for query, _ in best], output
    assert f"“blue circle”  score now {quality['blue circle']:.4f}" in output
    assert "0.9900" not in output and "then" not in output

    html = client_for(alice).get(f"/photos/{photo.pk}/profile/").content.decode()
    assert ("scored now as your search scores this photo for them (with the family's search model "
            f"{toy_model}, the calibration in force and your weights), as the search quality figures score them, "
            "whichever model each was judged with.") in " ".join(re.sub("<[^>]+>", "", html).split()), html
    assert f'href="/search/quality/{family.pk}/"' in html
    assert html.index("“red square”") < html.index("“blue circle”")
    assert f"{quality['blue circle']:.3f}" in html and "0.990" not in html


def test_judged_queries_whose_words_the_model_has_not_read_wait_for_the_worker_on_the_profile_page(
        shapes, client_for, alice, settings, django_capture_on_commit_callbacks):
    """Scoring a judged query now needs its words encoded: the page encodes no more than its budget (as the quality
    page does), leaves the rest to the worker, shows those queries unscored and says how many; once the worker has
    read them they are scored."""
    from search import text_embeddings
    from search.models import TextEmbedding

    photo = shapes["red square"]
    judgment_record(user=alice, photo=photo, query="red square", relevant=True)
    judgment_record(user=alice, photo=photo, query="blue circle", relevant=False)
    TextEmbedding.objects.all().delete()
    text_embeddings.clear_process_cache()
    settings.SEARCH_PAGE_ENCODE_TERMS = 0
    url = f"/photos/{photo.pk}/profile/"
    with django_capture_on_commit_callbacks(execute=True):
        html = " ".join(client_for(alice).get(url).content.decode().split())
    assert "2 not scored yet: the model is still reading their words; reload the page later." in html, html
    assert '“red square” <span class="muted">—</span>' in html and '“blue circle” <span class="muted">—</span>' in html
    assert run_queued_tasks() >= 1
    html = " ".join(client_for(alice).get(url).content.decode().split())
    assert "not scored yet" not in html and '“red square” <span class="muted">1.000</span>' in html, html


def test_how_an_all_families_search_scored_is_that_search_with_the_leading_family_s_figures_first(
        shapes, alice, family, mallory, other_family, client_for, add_shape, django_capture_on_commit_callbacks):
    """"How this search scored" on a search of all Alice's families opened the report of the first family by name,
    the Greens: a refined search's report left the Smiths' photo of the link out ("in Smiths, and this search looks
    only in Greens") and its top results were the Greens' alone, another search than the page showed. The link
    scores the search the page ran, in all her families (its top results from each, refined by both photos), with
    the figures of the family whose photos lead its results first, says so, and links the other family's figures."""
    from gallery.models import Membership
    from tests.factories import FamilyFactory

    greens = FamilyFactory(name="Greens")
    Membership.objects.create(family=greens, user=alice, role=Membership.Role.MEMBER)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = add_shape("blue", "circle", target_family=greens)
    run_queued_tasks()
    client = client_for(alice)
    like = f"{theirs.pk},{shapes['red square'].pk}"
    search = {"q": "red", "like": like}
    page = client.get("/search/", search).content.decode()
    first = int(page[page.index('data-photo="') + len('data-photo="'):].split('"')[0])
    lead, other = (greens, family) if first == theirs.pk else (family, greens)
    link = _report_link(client, search)
    assert "all_families=1" in link and f"family={lead.pk}" in link
    html = client.get(link).content.decode()
    assert "Refined: more like 2 photos" in html and "left out" not in html
    assert "“red” in all your families" in html
    assert "The top results below are the search's own, from Greens and Smiths" in html
    assert (f"The model, calibration and terms' distributions are those of {lead.name}, whose photos lead the "
            "results") in html
    top = html[html.index("Top results"):]
    assert f"/photos/{theirs.pk}/" in top and f"/photos/{shapes['red square'].pk}/" in top
    others = html[html.index("report-families"):]
    others = others[:others.index("</p>")]
    assert f"family={other.pk}" in others and other.name in others and f"family={lead.pk}" not in others
    assert 'name="all_families"' in html  # kept when the report's own form is sent again
    # The other family's figures of the same search: the same top results, its own distributions.
    html = client.get(link.replace(f"family={lead.pk}", f"family={other.pk}")).content.decode()
    assert f"those of {other.name}." in html
    assert f'family={lead.pk}">{lead.name}</a> (whose photos lead the results)' in html
    assert html[html.index("Top results"):] == top
    # A search filtered to one family links that family's report, as before.
    link = _report_link(client, {"q": "circle", "family": greens.pk})
    assert f"family={greens.pk}" in link and "all_families" not in link
    assert "all your families" not in client.get(link).content.decode()
    # Another family than hers is no family of the report, all families or not.
    assert client.get("/search/report/", {"q": "red", "all_families": "1",
                                          "family": other_family.pk}).status_code == 404
    assert str(other_family) not in html


def test_a_photo_s_profile_reads_its_judgments_once(shapes, alice, bob, family):
    """The profile read the photo's judgments twice: once to score its judged queries (search.quality.judged_data)
    and again, the same rows, to count each verdict's judges. One read serves both; the queries it lists, their
    scores and their judges are the same, those still waiting for the model to read their words too."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from search.models import Judgment

    photo = shapes["red square"]
    judgment_record(user=alice, photo=photo, query="red square", relevant=True)
    judgment_record(user=bob, photo=photo, query="red square", relevant=True)
    judgment_record(user=alice, photo=photo, query="blue circle", relevant=False)
    judgment_record(user=alice, photo=shapes["red circle"], query="red square", relevant=True)  # another photo's
    with CaptureQueriesContext(connection) as captured:
        report = photo_report(user=alice, photo_id=photo.pk)
    table = f'FROM "{Judgment._meta.db_table}"'
    reads = [q["sql"] for q in captured.captured_queries if table in q["sql"]]
    assert len(reads) == 1, reads
    assert [(j.query, j.judges, j.relevant) for j in report.best_queries] == [("red square", 2, True)]
    assert [(j.query, j.judges, j.relevant) for j in report.worst_queries] == [("blue circle", 1, False)]
    assert all(j.score is not None for j in report.best_queries + report.worst_queries)


def test_search_report_command_scores_a_search_of_all_the_user_s_families(
        shapes, alice, family, add_shape, django_capture_on_commit_callbacks):
    """The report page scores a search of all Alice's families as it ran (4bb35d5), but `manage.py search_report` had
    no such option: with two families it asked for one with --family, and scored another search than the page's.
    `--all-families` scores the search of all her families: its top results from each, each naming its family, with
    the figures (model, calibration, distributions) of the family whose photos lead the results, or of --family's."""
    from gallery.models import Membership
    from tests.factories import FamilyFactory

    greens = FamilyFactory(name="Greens")
    Membership.objects.create(family=greens, user=alice, role=Membership.Role.MEMBER)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = add_shape("red", "square", target_family=greens)
    run_queued_tasks()
    with pytest.raises(CommandError, match="pick one with --family, or search them all with --all-families"):
        command("search_report", "red square", "--user", "alice")
    output = command("search_report", "red square", "--user", "alice", "--all-families")
    lines = output.splitlines()
    assert lines[0] == "Search report for “red square” in all alice's families: Greens and Smiths"
    top = output.split("top ")[1]
    assert f"photo {theirs.pk} “{theirs}” (Greens)" in top and f"photo {shapes['red square'].pk} “" in top
    first = int(top.splitlines()[1].split("photo ")[1].split()[0])
    lead = greens if first == theirs.pk else family
    assert (f"model, calibration and term distributions: those of {lead.name}, whose photos lead the results"
            in output), output
    assert f"{'1' if lead == greens else '5'} indexed photo(s)" in output
    # The other family's figures of the same search: the same top results.
    other = family if lead == greens else greens
    again = command("search_report", "red square", "--user", "alice", "--all-families", "--family", other.name)
    assert f"model, calibration and term distributions: those of {other.name}\n" in again, again
    assert again.split("top ")[1] == top
    # One family's report, as before: no family named on its results.
    single = command("search_report", "red square", "--user", "alice", "--family", "greens")
    assert single.splitlines()[0] == "Search report for “red square” in Greens"
    assert "(Greens)" not in single.split("top ")[1] and f"photo {shapes['red square'].pk} " not in single


def test_a_report_of_all_families_isolates_the_family_names_it_says(
        shapes, alice, family, client_for, add_shape, django_capture_on_commit_callbacks):
    """The report of a search of all one's families named them ("from … and …", the links to each other family's
    figures, the family beside each top result) from names the view looked up again, and unisolated: a Hebrew family
    name turned the sentence around it. The names are the report's own (SearchReport.searched_families, and the
    family whose photos lead), each through the isolated filter, as everywhere else on the page."""
    from gallery.models import Membership
    from tests.factories import FamilyFactory

    hebrew = FamilyFactory(name="משפחת כהן")
    Membership.objects.create(family=hebrew, user=alice, role=Membership.Role.MEMBER)
    with django_capture_on_commit_callbacks(execute=True):
        theirs = add_shape("red", "circle", target_family=hebrew)
    run_queued_tasks()
    client = client_for(alice)
    isolated = f"\u2068{hebrew.name}\u2069"
    for shown in (family, hebrew):  # the other family's link, then her own figures with the Hebrew one's link
        html = client.get("/search/report/", {"q": "red", "all_families": "1", "family": shown.pk}).content.decode()
        said = html[html.index("report-families"):]
        said = said[:said.index("</p>")]
        assert f"from {isolated} and Smiths." in said or f"from Smiths and {isolated}." in said
        assert hebrew.name not in said.replace(isolated, "")
        top = html[html.index("Top results"):]
        assert f"/photos/{theirs.pk}/" in top and f"({isolated})" in top and f"({hebrew.name})" not in top


@pytest.mark.parametrize("value", ["abc", "0", "-5", "99999999999999999999", "1" * 10_000, "a\x00b"])
def test_a_report_whose_family_is_no_id_reports_the_first_family_and_says_so(
        alice, bob, family, other_family, client_for, value):
    """`/search/report/?family=abc` was a 404, where the search page ignores a family filter it can't read: a
    malformed value names no missing family. The report is of the first of the user's families, as with no family
    given, and says why. A family that is an id but not one of the user's stays a 404 (missing and not yours alike)."""
    from tests.factories import MembershipFactory

    MembershipFactory(family=other_family, user=alice)  # two families: the form has a select
    client = client_for(alice)
    page = client.get("/search/report/", {"q": "beach", "family": value})
    html = page.content.decode()
    assert page.status_code == 200
    first = min((family, other_family), key=lambda f: (f.name, f.pk))
    assert f"“beach” in {first.name}" in html
    assert f"The family in the address could not be read (a family is given by its number): this is the report of " \
           f"{first.name}." in html
    assert client.get("/search/report/", {"q": "beach", "family": 10**9}).status_code == 404
    assert client_for(bob).get("/search/report/", {"q": "beach", "family": other_family.pk}).status_code == 404


def test_a_report_of_someone_in_no_family_with_a_malformed_family_is_the_page_not_a_404(db, client_for):
    from tests.factories import UserFactory

    page = client_for(UserFactory(username="loner")).get("/search/report/", {"q": "beach", "family": "abc"})
    assert page.status_code == 200 and "You are not in any family yet" in page.content.decode()
