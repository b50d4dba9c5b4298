"""Search in a real browser: results follow the typing, the explain panel opens, the preferences preview
follows the sliders. Photos are real shape images embedded by the toy SigLIP before the browser opens."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from gallery.models import Membership, Photo
from gallery.services import UploadResult, photo_create_from_bytes
from search.models import SearchPreferences, Synonym
from search.tests.conftest import shape_png, toy_model  # noqa: F401 - toy_model is a fixture
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, sign_in
from tests.factories import FamilyFactory, MembershipFactory, UserFactory
from tests.queue import run_queued_tasks

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]

RESULTS_FOR_RED_CIRCLE = """() => {
  const summary = document.querySelector('#results .summary');
  return summary && summary.textContent.includes('for “red circle”')
    && document.querySelectorAll('#results .results-grid .result').length > 0;
}"""

ALL_IMAGES_LOADED = """(selector) => {
  const imgs = Array.from(document.querySelectorAll(selector));
  return imgs.length > 0 && imgs.every((img) => img.complete && img.naturalWidth > 0);
}"""


def _preview_rows(page) -> list[tuple[str, str]]:
    return [(li.get_attribute("data-photo"), li.locator(".badge-inline").inner_text())
            for li in page.locator("#preview li[data-photo]").all()]


def _add_shape(family, user, colour: str, shape: str, seed: int, **kwargs) -> Photo:
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=shape_png(colour, shape, seed=seed),
                                     filename=f"{colour}-{shape}.png", **kwargs)
    assert result.outcome == UploadResult.SAVED, result.reason
    return result.photo


# The data is made in the test body, not through the db-based fixtures (family, alice, add_shape): requesting
# `db` next to the running Playwright loop hands the test a database connection without the serialized
# contents, so the flush after it would re-create content types and break the next serialized_rollback test.
@pytest.mark.django_db(transaction=True)
def test_search_as_you_type_explain_and_preferences_preview(live_server, page, artifacts, toy_model):
    smiths, alice = FamilyFactory(name="Smiths"), UserFactory(username="alice")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    shapes = {"red circle 1": ("red", "circle"), "red circle 2": ("red", "circle"), "blue square": ("blue", "square"),
              "yellow square": ("yellow", "square"), "green circle": ("green", "circle")}
    photos = {name: _add_shape(smiths, alice, *shape, seed=n) for n, (name, shape) in enumerate(shapes.items())}
    photos["party"] = _add_shape(smiths, alice, "red", "triangle", seed=99, tags=["birthday"])
    # Someone else's red circle: must never show up.
    joneses, mallory = FamilyFactory(name="Joneses"), UserFactory(username="mallory")
    MembershipFactory(family=joneses, user=mallory)
    jones = _add_shape(joneses, mallory, "red", "circle", seed=100)
    run_queued_tasks()
    assert set(Photo.objects.values_list("status", flat=True)) == {Photo.Status.READY}

    sign_in(page, live_server, "alice")

    # --- search as you type -------------------------------------------------------------------
    page.goto(live_server.url + "/search/")
    assert page.get_by_text("Type what you remember about a photo").is_visible()
    box = page.locator("#search-form input[name=q]")
    box.press_sequentially("red circle", delay=60)  # no Enter: the page searches by itself
    page.wait_for_function(RESULTS_FOR_RED_CIRCLE)
    page.wait_for_function(ALL_IMAGES_LOADED, arg="#results .tile img")
    # htmx pushes the form's GET URL (it writes the space as %20 where a plain form submit writes "+").
    assert parse_qs(urlsplit(page.url).query)["q"] == ["red circle"], page.url
    assert re.search(r"[?&]q=red(\+|%20)circle(&|$)", page.url), page.url
    ids = [int(pk) for pk in page.locator("#results .result").evaluate_all("els => els.map((e) => e.dataset.photo)")]
    assert jones.pk not in ids
    assert set(ids[:2]) == {photos["red circle 1"].pk, photos["red circle 2"].pk}
    badges = page.locator("#results .result .badge").all_inner_texts()
    assert len(badges) == len(ids) and all(re.fullmatch(r"[01]\.\d\d", b) for b in badges)
    page.screenshot(path=artifacts / "search.png", full_page=True)

    # --- explain -------------------------------------------------------------------------------
    first = page.locator("#results .result").first
    first.locator("details.explain summary").click()
    panel = first.locator("details.explain")
    assert panel.get_attribute("open") is not None
    # Clicking away from the search box must not search again (a "change" on blur would re-render the
    # results and snap the panel shut under the reader's eyes).
    page.wait_for_timeout(800)
    assert first.locator("details.explain").get_attribute("open") is not None
    text = panel.inner_text()
    assert re.search(r"cos = -?\d\.\d{4}", text), text
    assert re.search(r"p ?image = sigmoid\(\d+\.\d\d · cos [+−] \d+\.\d\d\) = \d\.\d{3}", text), text
    assert re.search(r"Best term\s+“[^”]+”", text), text
    assert re.search(r"p ?metadata = (1 − Π\(1 − p\) = )?\d\.\d{3}|p ?metadata = 0", text), text
    # The fusion written out with the result's numbers (search.calibration.fuse), exponents 2·0.60 and 2·0.40.
    assert re.search(r"= 1 − \(1 − \d\.\d{3}\) ?1\.20 · \(1 − \d\.\d{3}\) ?0\.80 = \d\.\d{3}", text), text
    assert panel.locator("dl").is_visible()
    box_of_panel = panel.bounding_box()
    assert box_of_panel["width"] > 250  # opens at a readable width, not squeezed into its tile
    page.screenshot(path=artifacts / "explain.png", full_page=True)
    # It closes as the menu does: on Esc, and on a click anywhere else.
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.querySelector('details.explain[open]')")
    first.locator("details.explain summary").click()
    assert panel.get_attribute("open") is not None
    page.locator("#results p.summary").click(position={"x": 2, "y": 2})  # plain text beside the results
    page.wait_for_function("() => !document.querySelector('details.explain[open]')")

    # Leave and come back with the Back button: the pushed URL gives the whole page again, not the cached
    # bare partial htmx fetched at that same URL (the view varies on HX-Request).
    page.goto(live_server.url + "/")
    page.go_back()
    page.wait_for_function(RESULTS_FOR_RED_CIRCLE)
    assert page.locator("header.topbar").is_visible() and page.locator("#search-form input[name=q]").input_value() == "red circle"

    # A typo still finds the tagged photo through the family's vocabulary, and the explanation says how.
    page.goto(live_server.url + "/search/?q=birthdya")
    party = page.locator(f'#results .result[data-photo="{photos["party"].pk}"]')
    party.locator("details.explain summary").click()
    assert "similar spelling (birthdya → birthday)" in party.locator("details.explain").inner_text()
    page.screenshot(path=artifacts / "explain-typo.png", full_page=True)
    page.goto(live_server.url + "/search/?q=red+circle")

    # Filters search by themselves too (a select fires "input" as well as "change").
    page.select_option("#search-form select[name=sort]", "date")
    page.wait_for_function("() => document.querySelector('#results .summary').textContent.includes('Sorted by date taken')")
    assert parse_qs(urlsplit(page.url).query)["sort"] == ["date"]

    # --- preferences and the live preview ------------------------------------------------------
    page.goto(live_server.url + "/search/")
    page.get_by_role("link", name="Search preferences").click()
    page.wait_for_url(live_server.url + "/search/preferences/")
    assert page.locator("input[name=semantic_weight]").input_value() == "0.6"
    page.locator("input[name=preview_q]").press_sequentially("birthday", delay=40)
    page.wait_for_function("() => document.querySelectorAll('#preview li[data-photo]').length > 0")
    page.wait_for_function(ALL_IMAGES_LOADED, arg="#preview img.mini")
    before = _preview_rows(page)
    assert str(jones.pk) not in [pk for pk, _ in before]

    # Slide all the weight to metadata: the tagged photo must rise to the top.
    page.evaluate("""() => {
      for (const [name, value] of [['semantic_weight', '0'], ['metadata_weight', '1']]) {
        const input = document.querySelector(`input[name=${name}]`);
        input.value = value;
        input.dispatchEvent(new Event('input', {bubbles: true}));
      }
    }""")
    page.wait_for_function("() => document.querySelector('#preview').textContent.includes('metadata 1.00')")
    page.wait_for_function(ALL_IMAGES_LOADED, arg="#preview img.mini")
    after = _preview_rows(page)
    assert after != before
    assert after[0][0] == str(photos["party"].pk), after
    assert page.locator("input[name=metadata_weight] + output").inner_text() == "1.00"  # the value shown beside the slider
    page.screenshot(path=artifacts / "preferences.png", full_page=True)
    assert not SearchPreferences.objects.filter(user__username="alice").exists()  # previewing saves nothing

    page.get_by_role("button", name="Save").click()
    page.wait_for_url(live_server.url + "/search/preferences/?preview_q=birthday")  # the preview's search stays
    assert page.get_by_text("Search preferences saved.").is_visible()
    assert page.locator("#preview li[data-photo]").first.get_attribute("data-photo") == str(photos["party"].pk)
    prefs = SearchPreferences.objects.get(user__username="alice")
    assert (prefs.semantic_weight, prefs.metadata_weight) == (0.0, 1.0)
    assert page.js_errors == []


@pytest.mark.django_db(transaction=True)
def test_an_admin_adds_a_family_synonym_and_the_next_search_uses_it(live_server, page, artifacts, toy_model):
    from django.contrib.auth import get_user_model

    smiths = FamilyFactory(name="Smiths")
    root = get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123")
    MembershipFactory(family=smiths, user=root, role=Membership.Role.ADMIN)
    circle = _add_shape(smiths, root, "red", "circle", seed=1)
    run_queued_tasks()

    page.goto(live_server.url + "/admin/login/?next=/admin/search/synonym/add/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "admin-password-123")
    page.click("input[type=submit]")
    page.wait_for_url(live_server.url + "/admin/search/synonym/add/")
    page.select_option("#id_family", label="Smiths")
    page.fill("#id_term", "zorbly")
    page.fill("#id_related", "red circle, crimson ball")
    page.click("input[name=_save]")
    page.wait_for_url(live_server.url + "/admin/search/synonym/")
    page.fill("#searchbar", "zorbly")
    page.press("#searchbar", "Enter")
    page.wait_for_url(re.compile(r"\?q=zorbly"))  # the list's search page, not the one it leaves
    row = page.locator("#result_list tbody tr").first
    assert "red circle, crimson ball" in row.inner_text() and "Smiths" in row.inner_text()
    page.screenshot(path=artifacts / "admin-synonyms.png", full_page=True)

    # The web process picks the new entry up at once: a made-up word now finds the red circle.
    page.goto(live_server.url + "/search/?q=zorbly")
    first = page.locator("#results .result").first
    assert first.get_attribute("data-photo") == str(circle.pk)
    first.locator("details.explain summary").click()
    assert "“red circle”" in first.locator("details.explain").inner_text()
    assert page.js_errors == []


@pytest.mark.django_db(transaction=True)
def test_back_and_forward_put_the_query_of_the_address_back_in_the_search_box(live_server, page, alice):
    sign_in(page, live_server, "alice")
    page.goto(live_server.url + "/search/")
    box = page.locator("#search-form input[name=q]")
    for query in ("red circle", "blue square"):
        box.fill(query)
        page.wait_for_url(lambda url, query=query: _query_of(url) == query)
    page.go_back()
    page.wait_for_url(lambda url: _query_of(url) == "red circle")
    page.wait_for_function("() => document.querySelector('#search-form input[name=q]').value === 'red circle'")
    page.go_forward()
    page.wait_for_url(lambda url: _query_of(url) == "blue square")
    page.wait_for_function("() => document.querySelector('#search-form input[name=q]').value === 'blue square'")
    assert page.js_errors == []


@pytest.mark.django_db(transaction=True)
def test_show_more_from_the_keyboard_moves_the_focus_to_the_first_photo_it_added(live_server, page, toy_model):
    """"Show more" replaces the results with a longer list, the link with them: the focus fell back to the page's
    start, and a keyboard user had to Tab through every result again to reach the new ones."""
    smiths, alice = FamilyFactory(name="Smiths"), UserFactory(username="alice")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    for n, colour in enumerate(("red", "red", "red", "blue")):
        _add_shape(smiths, alice, colour, "circle", seed=n)
    run_queued_tasks()
    sign_in(page, live_server, "alice")
    page.goto(live_server.url + "/search/?" + urlencode({"q": "red circle", "limit": 2}))
    assert page.locator("#results .result").count() == 2
    page.locator(".more-note a").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#results .result').length > 2")
    page.wait_for_function("() => document.activeElement && document.activeElement.matches('#results a.tile')")
    third = page.locator("#results .result").nth(2).get_attribute("data-photo")
    assert page.evaluate("document.activeElement.closest('.result').dataset.photo") == third
    assert "limit=62" in page.url
    assert page.js_errors == []


@pytest.mark.django_db(transaction=True)
def test_links_that_redraw_the_results_from_the_keyboard_leave_the_focus_on_what_they_found(live_server, page,
                                                                                           toy_model):
    """A chip's ×, "More like these" and "Show the search without refining" redraw the results they sit in, and go
    with them: the focus fell back to the page's start, and a keyboard user had to Tab from the menu down through the
    search form again. It goes to the line saying what was found now, which a screen reader reads."""
    from search.judgment_services import judgment_record

    smiths, alice = FamilyFactory(name="Smiths"), UserFactory(username="alice")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    photos = [_add_shape(smiths, alice, colour, "circle", seed=n) for n, colour in enumerate(("red", "red", "blue"))]
    run_queued_tasks()
    judgment_record(user=alice, photo=photos[0], query="red circle", relevant=True)
    sign_in(page, live_server, "alice")
    summary = "() => document.activeElement && document.activeElement.matches('#results .summary')"

    page.goto(live_server.url + "/search/?" + urlencode({"q": "red circle in 2024"}))
    page.locator("#results .chip-remove").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"plain="))
    page.wait_for_function(summary)
    assert "for “red circle in 2024”" in page.evaluate("document.activeElement.textContent")

    page.goto(live_server.url + "/search/?" + urlencode({"q": "red circle"}))
    page.locator("#refine a", has_text="More like these").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"like="))
    page.wait_for_function(summary)
    page.locator("#refine a", has_text="without refining").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?q=red\+circle$"))
    page.wait_for_function(summary)
    page.keyboard.press("Tab")  # on from there: the summary's own link
    assert page.evaluate("document.activeElement.textContent") == "How this search scored"
    assert page.js_errors == []


def _query_of(url: str) -> str:
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(url).query).get("q", [""])[0]


@pytest.mark.django_db(transaction=True)
def test_refused_text_long_expansions_and_look_alike_badges_fit_phone_and_desktop(live_server, browser, artifacts,
                                                                                  toy_model):
    """The search page with a NUL in the tag (said under the field, nothing searched), with a long query's "also
    searched as", the preferences preview refusing a NUL, and the photo page's "More like this" badges (a percent, never a raw cosine), at 390 and 1280 px.
    Screenshots: test-artifacts/search-{nul,preferences-nul,long,similar}-{phone,desktop}.png."""
    from tests.browser.conftest import new_page
    from tests.browser.test_mobile import DESKTOP, OVERFLOW, PHONE

    smiths, alice = FamilyFactory(name="Smiths"), UserFactory(username="alice")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    photos = [_add_shape(smiths, alice, colour, shape, seed=n, tags=["beach", "dog"])
              for n, (colour, shape) in enumerate([("red", "circle"), ("red", "circle"), ("blue", "square"),
                                                   ("yellow", "triangle"), ("green", "square")])]
    run_queued_tasks()
    # The family's own synonyms: a transaction test before this one may have flushed the seeded ones.
    for term, related in {"dog": ["puppy", "canine"], "beach": ["seaside", "shore"], "sunset": ["dusk"],
                          "grandma": ["grandmother"], "grandpa": ["grandfather"], "kids": ["children"]}.items():
        Synonym.objects.create(family=smiths, term=term, related=related)
    long_query = "kids playing with the dog on the beach at sunset with grandma and grandpa"
    for name, options in (("phone", PHONE), ("desktop", DESKTOP)):
        width = options["viewport"]["width"]
        context, page = new_page(browser, **options)
        try:
            sign_in(page, live_server, "alice")
            page.goto(live_server.url + "/search/?q=beach&tag=be%00ach")
            error = page.locator("#tag-error")
            assert error.is_visible() and error.inner_text() == "Null characters are not allowed."
            assert page.locator("#results .notice").inner_text().startswith("Tag: Null characters are not allowed.")
            assert page.locator("#results .result").count() == 0
            assert page.evaluate(OVERFLOW, width) == []
            page.screenshot(path=str(artifacts / f"search-nul-{name}.png"), full_page=True)

            page.goto(live_server.url + "/search/preferences/?preview_q=birth%00day")
            assert page.locator("#preview .notice").inner_text().startswith(
                "Preview search: Null characters are not allowed.")
            assert page.evaluate(OVERFLOW, width) == []
            page.screenshot(path=str(artifacts / f"search-preferences-nul-{name}.png"), full_page=True)

            page.goto(live_server.url + "/search/?" + urlencode({"q": long_query, "min_score": "0"}))
            summary = page.locator("#results .summary").inner_text()
            said = summary.split("also searched as", 1)[1]
            assert long_query not in said and " more." in said, summary
            assert page.evaluate(OVERFLOW, width) == []
            page.screenshot(path=str(artifacts / f"search-long-{name}.png"), full_page=True)

            page.goto(live_server.url + photos[0].get_absolute_url())
            badges = page.locator(".similar .badge.similarity")
            badges.first.wait_for()
            texts = badges.all_inner_texts()
            assert len(texts) == len(photos) - 1 and all(re.fullmatch(r"\d{1,3}% alike", t) for t in texts), texts
            for badge in badges.all():  # inside its tile
                tile = badge.locator("xpath=..").bounding_box()
                box = badge.bounding_box()
                assert box["x"] >= tile["x"] and box["x"] + box["width"] <= tile["x"] + tile["width"] + 0.5
            assert page.evaluate(OVERFLOW, width) == []
            page.locator(".more-like-this").scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / f"search-similar-{name}.png"), full_page=True)
        finally:
            context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_each_holiday_note_and_a_refused_bar_without_javascript_on_the_search_page(live_server, browser, artifacts,
                                                                                   toy_model, size):
    """Each holiday or season searched as a word that finds none by its date has its note under the query, in the
    query's order; without JavaScript a refusal of the bar on the results (tags not typed) comes back to the same
    search with the photos still ticked and why; several seasons and holidays in a family of undated photos are one
    note. Screenshots: test-artifacts/search-notes-{desktop,phone}.png, search-report-notes-{desktop,phone}.png,
    search-notes-merged-{desktop,phone}.png and search-refused-nojs-{desktop,phone}.png."""
    from tests.browser.conftest import new_page
    from tests.browser.test_mobile import DESKTOP, OVERFLOW, PHONE

    smiths, alice = FamilyFactory(name="Smiths"), UserFactory(username="alice")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    photos = [_add_shape(smiths, alice, "red", "circle", seed=n) for n in range(3)]  # (dated by their upload)
    run_queued_tasks()
    options = DESKTOP if size == "desktop" else PHONE
    width = options["viewport"]["width"]
    context, page = new_page(browser, **options)
    sign_in(page, live_server, "alice")
    page.goto(live_server.url + "/search/?" + urlencode({"q": "red circle valentine's day christmas"}))
    notes = page.locator(".date-word-note").all_inner_texts()
    assert len(notes) == 2 and "“valentine's day”" in notes[0] and "“christmas”" in notes[1], notes
    assert page.evaluate(OVERFLOW, width) == [] and page.js_errors == []
    page.locator(".date-word-note").last.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"search-notes-{size}.png"))
    page.goto(live_server.url + "/search/report/?" + urlencode({"q": "red circle valentine's day christmas"}))
    assert len(page.locator(".date-word-note").all_inner_texts()) == 2
    assert page.evaluate(OVERFLOW, width) == []
    page.screenshot(path=str(artifacts / f"search-report-notes-{size}.png"))
    # Several seasons and holidays in this family of undated photos: one note naming each, not the reason a word.
    page.goto(live_server.url + "/search/?" + urlencode({"q": "red circle summer winter christmas"}))
    notes = page.locator(".date-word-note").all_inner_texts()
    assert len(notes) == 1 and "so “summer”, “winter” and “christmas” find none by their date." in notes[0], notes
    assert page.evaluate(OVERFLOW, width) == []
    page.locator(".date-word-note").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"search-notes-merged-{size}.png"))
    context.close()

    context, page = new_page(browser, java_script_enabled=False, **options)
    sign_in(page, live_server, "alice")
    search = "/search/?" + urlencode({"q": "red circle", "min_score": "0"})
    page.goto(live_server.url + search)
    page.check(f"input[data-select-box][value='{photos[1].pk}']")
    page.get_by_role("button", name="Add tags").click()
    page.wait_for_url(live_server.url + search + "#bulk-form")
    ticked = page.eval_on_selector_all("input[data-select-box]:checked", "(boxes) => boxes.map((b) => Number(b.value))")
    assert ticked == [photos[1].pk]
    assert page.locator("#bulk-status").inner_text().strip() == "Type at least one tag."
    assert page.evaluate(OVERFLOW, width) == []
    page.screenshot(path=str(artifacts / f"search-refused-nojs-{size}.png"))
    context.close()
