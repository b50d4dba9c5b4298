"""Every GET parameter of the search-side pages, one at a time, with a malformed value: letters for an id, a number
past bigint, a negative one, a NUL byte, the parameter repeated, 10,000 characters. A page that exists answers with
itself (a note, a form error, or a 400 for a parameter of one value given twice), never a 500, and never a 404: a
malformed value names no missing thing. (tests/test_hostile_query_strings.py walks every URL with every parameter
hostile at once; this walks the search side's own parameters apart, so a value another one's refusal would hide
reaches its reader.)"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client

from search.judgment_services import judgment_record
from tests.factories import api_token_key, photo_factory

pytestmark = pytest.mark.django_db

SEARCH_PARAMS = ("q family uploader tag country place after before sort show_hidden favourite like unlike limit plain "
                 "chip chip_place chip_after chip_before chip_day chip_month chip_year").split()
PAGES = {
    "search": ("/search/?q=beach&", SEARCH_PARAMS),
    "search-partial": ("/search/?q=beach&", SEARCH_PARAMS),
    "report": ("/search/report/?q=beach&", [*SEARCH_PARAMS, "all_families"]),
    "profile": ("/photos/{photo}/profile/?", ["family", "q", "like"]),
    "quality-index": ("/search/quality/?", ["family"]),
    "quality": ("/search/quality/{family}/?", ["family", "q"]),
    "preferences-preview": ("/search/preferences/preview/?preview_q=beach&",
                            "preview_q semantic_weight metadata_weight min_score expansion_enabled".split()),
    "similar": ("/photos/{photo}/similar/?", ["limit", "family"]),
    "preferences": ("/search/preferences/?", ["preview_q"]),
    "duplicates": ("/families/{family}/duplicates/?", ["page"]),
    "indexing-partial": ("/indexing/?", ["family", "page"]),
    "family-suggestions": ("/families/{family}/suggestions/?", ["min_probability", "page"]),
    # The API refuses a malformed value (400, naming it). (An id that is a number, "-5" or past bigint, is looked up
    # and answered 404 on every list of the API: search/tests/test_odd_queries.py.)
    "api-search": ("/api/v1/search/?q=beach&", ("q family uploader tag country place taken_after taken_before sort "
                                                "limit min_score favourite plain like unlike").split()),
    "api-quality": ("/api/v1/search/quality/?", ["family"]),
}
MALFORMED = {
    "letters": "abc",
    "past-bigint": "99999999999999999999",
    "negative": "-5",
    "nul": "a%00b",
    "repeated": None,  # the parameter twice: {name}=1&{name}=2
    "long": "7" * 5000 + "x" * 5000,
    "zero": "0",
    "not-a-number": "nan",
    "past-float": "1e309",
    "impossible-date": "2023-02-30",
}


@pytest.mark.parametrize("page", PAGES)
def test_a_malformed_parameter_is_never_a_500_nor_a_404(page, family, alice, settings):
    """Each parameter of the page with each kind of malformed value (MALFORMED), one request each. (One test per
    page, not per page and kind: the photo, the judgment and the sign-in are the same for every kind.)"""
    settings.DEBUG = False
    photo = photo_factory(family=family, user=alice, tags=["beach"])
    judgment_record(user=alice, photo=photo, query="beach", relevant=True)
    if page.startswith("api"):
        client = Client(raise_request_exception=True, headers={"Authorization": f"Token {api_token_key(alice)}"})
    else:
        client = Client(raise_request_exception=True)
        client.force_login(alice)
    base, names = PAGES[page]
    base = base.format(photo=photo.pk, family=family.pk)
    headers = {"HX-Request": "true"} if page.endswith("partial") else {}
    problems = []
    for kind, value in MALFORMED.items():
        for name in names:
            query = f"{name}=1&{name}=2" if value is None else f"{name}={quote(value, safe='%')}"
            try:
                status = client.get(base + query, headers=headers).status_code
            except Exception as exc:  # noqa: BLE001 - collected: one run names every parameter that fails
                problems.append((kind, name, f"{type(exc).__name__}: {exc}"[:300]))
                continue
            if status >= 500 or (status == 404 and not (page.startswith("api") and name == "family")):
                problems.append((kind, name, status))
    assert problems == []


CHIP_PARAMS = "chip_place chip_after chip_before chip_day chip_month chip_year".split()


def test_a_malformed_chip_change_or_refine_with_the_model_loaded_is_never_a_500_nor_a_404(
        toy_model, add_shape, alice, family, settings, django_capture_on_commit_callbacks):
    """The same values where they reach their readers: a chip's change of a search that has the chip (a date, a
    place), and a refine of a search the model runs (its photos read, its vector moved). (One test for every kind of
    value: the photo is embedded, and the model loaded, once.)"""
    from tests.queue import run_queued_tasks

    settings.DEBUG = False
    with django_capture_on_commit_callbacks(execute=True):
        photo = add_shape("red", "square", tags=["beach"])
    run_queued_tasks()
    client = Client(raise_request_exception=True)
    client.force_login(alice)
    requests = [(f"/search/?q=red+square+2023&chip=2023&", name) for name in CHIP_PARAMS]
    requests += [(f"/search/?q=red+square+christmas&chip=christmas&", name) for name in CHIP_PARAMS]
    requests += [(f"{base}?q=red+square&like={photo.pk}&unlike={photo.pk}&", name)
                 for base in ("/search/", "/search/report/") for name in ("like", "unlike", "limit", "family")]
    problems = []
    for kind, value in MALFORMED.items():
        for base, name in requests:
            query = f"{name}=1&{name}=2" if value is None else f"{name}={quote(value, safe='%')}"
            for headers in ({}, {"HX-Request": "true"}):
                try:
                    status = client.get(base + query, headers=headers).status_code
                except Exception as exc:  # noqa: BLE001 - collected: one run names every parameter that fails
                    problems.append((kind, base, name, f"{type(exc).__name__}: {exc}"[:300]))
                    continue
                if status >= 500 or status == 404:
                    problems.append((kind, base, name, headers, status))
    assert problems == []
