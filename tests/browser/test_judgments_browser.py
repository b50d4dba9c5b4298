"""Judgments and refine in a real browser: mark results right and wrong with one click (and take it back), by
mouse and keyboard, then "more like these / fewer like those"; the same on a 390 px phone. Screenshots saved."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from gallery.models import Membership, Photo
from search.models import Judgment
from search.tests.conftest import toy_model  # noqa: F401 - toy_model is a fixture
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in, width_options
from tests.browser.test_search_browser import _add_shape
from tests.factories import FamilyFactory, MembershipFactory, UserFactory
from tests.queue import run_queued_tasks

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]


def _result_ids(page) -> list[int]:
    return [int(pk) for pk in page.locator("#results .result").evaluate_all("els => els.map((e) => e.dataset.photo)")]


def _button(page, photo_id: int, which: str):
    return page.locator(f"#judge-{photo_id} .judge-{which}")


def _assert_undo_says_undo(page, photo_id: int) -> None:
    """A judged result's Undo shows the word (not only an arrow), is named Undo, and fits inside its tile."""
    undo = page.locator(f"#judge-{photo_id}").get_by_role("button", name=re.compile(r"^Undo"))
    assert undo.is_visible()
    assert "Undo" in undo.inner_text()
    assert undo.evaluate("(b) => b.scrollWidth <= b.clientWidth"), "the word is cut off"
    box, tile = undo.bounding_box(), page.locator(f'#results .result[data-photo="{photo_id}"]').bounding_box()
    assert tile["x"] - 0.5 <= box["x"] and box["x"] + box["width"] <= tile["x"] + tile["width"] + 0.5, (box, tile)


@pytest.mark.django_db(transaction=True)
def test_mark_right_and_wrong_undo_and_refine_on_desktop_and_phone(live_server, browser, artifacts, toy_model):
    smiths, alice = FamilyFactory(name="Smiths"), UserFactory(username="alice")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    photos: dict[str, list[Photo]] = {}
    seed = 0
    for colour in ("red", "yellow", "blue"):
        for shape in ("square", "circle", "triangle"):
            for _ in range(2):
                photos.setdefault(f"{colour} {shape}", []).append(_add_shape(smiths, alice, colour, shape, seed=seed))
                seed += 1
    run_queued_tasks()
    assert set(Photo.objects.values_list("status", flat=True)) == {Photo.Status.READY}
    red_squares = {p.pk for p in photos["red square"]}

    context, page = new_page(browser, viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, "alice")
    page.goto(live_server.url + "/search/?q=square")
    page.wait_for_selector("#results .result")
    before = _result_ids(page)
    assert not set(before[:2]) <= red_squares, before  # the word alone ranks other squares first

    # One click marks a result right; the button shows it pressed.
    first, second = photos["red square"]
    _button(page, first.pk, "right").click()
    page.wait_for_selector(f"#judge-{first.pk} .judge-right[aria-pressed=true]")
    # Clicking the pressed one again takes it back; then mark it again.
    _button(page, first.pk, "right").click()
    page.wait_for_selector(f"#judge-{first.pk} .judge-right[aria-pressed=false]")
    assert not Judgment.objects.exists()
    _button(page, first.pk, "right").click()
    page.wait_for_selector(f"#judge-{first.pk} .judge-right[aria-pressed=true]")
    # By keyboard: focus the second red square's Right button and press Enter.
    _button(page, second.pk, "right").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#judge-{second.pk} .judge-right[aria-pressed=true]")
    # Mark the top result wrong (when it is not a red square), then undo with the Undo button and mark it again.
    wrong = next(pk for pk in before if pk not in red_squares)
    _button(page, wrong, "wrong").click()
    page.wait_for_selector(f"#judge-{wrong} .judge-wrong[aria-pressed=true]")
    _assert_undo_says_undo(page, wrong)
    page.locator(f"#judge-{wrong} .judge-undo").click()
    page.wait_for_selector(f"#judge-{wrong} .judge-wrong[aria-pressed=false]")
    _button(page, wrong, "wrong").click()
    page.wait_for_selector(f"#judge-{wrong} .judge-wrong[aria-pressed=true]")
    assert sorted(Judgment.objects.values_list("photo_id", "relevant")) == sorted(
        [(first.pk, True), (second.pk, True), (wrong, False)])
    refine = page.locator("#refine a", has_text="More like these")
    assert "2 right and 1 wrong" in page.locator("#refine").inner_text()
    page.screenshot(path=str(artifacts / "judgments-desktop-marked.png"), full_page=True)

    # More like these, fewer like those: the search again, refined, the refine kept in the URL.
    refine.click()
    page.wait_for_selector("#refine .refined")
    query = parse_qs(urlsplit(page.url).query)
    assert set(query["like"][0].split(",")) == {str(first.pk), str(second.pk)} and query["unlike"] == [str(wrong)]
    after = _result_ids(page)
    assert set(after[:2]) <= red_squares, after[:4]
    assert wrong not in after[:3]
    # The marks stay shown on the refined results.
    assert _button(page, first.pk, "right").get_attribute("aria-pressed") == "true"
    page.screenshot(path=str(artifacts / "judgments-desktop-refined.png"), full_page=True)
    refined_url = page.url
    assert page.js_errors == []
    context.close()

    # On a phone: the shared refined URL gives the same results; the buttons fit and work with a tap.
    context, phone = new_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    sign_in(phone, live_server, "alice")
    phone.goto(refined_url)
    phone.wait_for_selector("#refine .refined")
    assert _result_ids(phone)[:2] == after[:2]
    third = Photo.objects.get(pk=next(pk for pk in after if pk not in {first.pk, second.pk, wrong}))
    wrong_button = _button(phone, third.pk, "wrong")
    wrong_button.scroll_into_view_if_needed()
    box = wrong_button.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["height"] >= 40, box
    wrong_button.tap()
    phone.wait_for_selector(f"#judge-{third.pk} .judge-wrong[aria-pressed=true]")
    _assert_undo_says_undo(phone, third.pk)
    # Marked on refined results, the bar still says they are refined and offers the newer refine.
    assert "Refined: more like" in phone.locator("#refine").inner_text()
    assert phone.locator("#refine a", has_text="fewer like those").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.screenshot(path=str(artifacts / "judgments-phone.png"), full_page=False)
    phone.locator("#refine").scroll_into_view_if_needed()
    phone.screenshot(path=str(artifacts / "judgments-phone-refine.png"), full_page=False)
    assert Judgment.objects.filter(photo=third, relevant=False).exists()
    assert phone.js_errors == []
    context.close()


# Where a result's explanation sits: the top of its box and of its summary ("Explain"), the bottom of its own judge
# buttons, its position; and the bottom of the screen (the phone's sheet lies along it).
EXPLAIN_PLACE = """(photoId) => {
  const result = document.querySelector(`#results .result[data-photo="${photoId}"]`);
  const details = result.querySelector('details.explain');
  const box = (el) => el.getBoundingClientRect();
  return {top: box(details).top, summary: box(details.querySelector('summary')).top, bottom: box(details).bottom,
          left: box(details).left, right: box(details).right, judged: box(result.querySelector('.judge')).bottom,
          position: getComputedStyle(details).position, screen: innerHeight};
}"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_an_explanation_opens_under_its_own_button_whatever_its_neighbour_shows(live_server, browser, artifacts,
                                                                                toy_model, width):
    """A result marked right shows Undo under its buttons, one row more: the grid stretched its row's other results
    to that height, and an open explanation, placed from the bottom of its result, sat about 44 px below its own
    "Explain" (over nothing, under the neighbour's Undo). It opens where its button is, right under the result's own
    Right/Wrong, whatever the neighbours show; on a phone it is the sheet along the bottom of the screen either way."""
    from tests.browser.conftest import width_options

    smiths, alice = FamilyFactory(name="Smiths"), UserFactory(username="alice")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    for seed, (colour, shape) in enumerate([("red", "circle"), ("red", "circle"), ("red", "square"),
                                            ("blue", "circle")]):
        _add_shape(smiths, alice, colour, shape, seed=seed)
    run_queued_tasks()

    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + "/search/?q=red+circle")
        page.wait_for_selector("#results .result")
        first, neighbour = _result_ids(page)[:2]
        top = (lambda pk: page.locator(f'#results .result[data-photo="{pk}"]').bounding_box()["y"])
        assert abs(top(first) - top(neighbour)) < 1, "the two first results share a row"

        def opened() -> dict:
            """Where the neighbour's explanation sits open, with where its button was just before."""
            summary = page.locator(f'#results .result[data-photo="{neighbour}"] details.explain summary')
            summary.scroll_into_view_if_needed()
            closed = page.evaluate(EXPLAIN_PLACE, neighbour)
            summary.click()
            page.wait_for_selector(f'#results .result[data-photo="{neighbour}"] details.explain[open]')
            place = page.evaluate(EXPLAIN_PLACE, neighbour)
            page.keyboard.press("Escape")
            page.wait_for_function("() => !document.querySelector('details.explain[open]')")
            return {**place, "button was at": closed["summary"]}

        alone = opened()
        _button(page, first, "right").click()
        page.wait_for_selector(f"#judge-{first} .judge-undo")
        beside_undo = opened()
        page.locator(f'#results .result[data-photo="{neighbour}"] details.explain summary').click()
        page.screenshot(path=artifacts / f"explain-beside-undo-{width}.png")
    finally:
        context.close()

    if width >= 800:  # it opens where its button was, right under its own judge buttons
        for place in (alone, beside_undo):
            assert place["position"] == "absolute", place
            assert abs(place["summary"] - place["button was at"]) <= 1, place
            assert 0 <= place["top"] - place["judged"] <= 8, f"{place['top'] - place['judged']:.0f} px under: {place}"
    else:  # the sheet along the bottom of the screen, the same wherever its neighbours' buttons are
        sheet = (lambda place: {key: round(place[key]) for key in ("top", "bottom", "left", "right")})
        assert beside_undo["position"] == "fixed" and sheet(beside_undo) == sheet(alone), (alone, beside_undo)
        assert 0 <= beside_undo["left"] and beside_undo["right"] <= width and beside_undo["bottom"] <= beside_undo["screen"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390])
def test_a_link_marking_a_photo_both_right_and_wrong_says_so_in_the_refine_bar(live_server, browser, artifacts,
                                                                               toy_model, width):
    """`like=A,B&unlike=A`: the bar says the search is refined by B and that A, named both ways, was left out, and
    the sentence fits the screen on a phone too."""
    smiths, alice = FamilyFactory(name="Smiths"), UserFactory(username="alice")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    both, right = (_add_shape(smiths, alice, "red", shape, seed=n) for n, shape in enumerate(("square", "circle")))
    _add_shape(smiths, alice, "blue", "triangle", seed=2)
    run_queued_tasks()
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + f"/search/?q=red+shape&like={both.pk},{right.pk}&unlike={both.pk}",
                  timeout=60_000)  # (loads the model)
        note = page.locator("#refine .refine-left-out")
        assert note.inner_text() == ("1 photo in the link is marked both right and wrong: left out (a photo is right or "
                                     "wrong, not both).")
        assert "Refined: more like 1 photo" in page.locator("#refine").inner_text()
        assert note.bounding_box()["x"] + note.bounding_box()["width"] <= width
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        page.locator("#refine").screenshot(path=artifacts / f"refine-both-ways-{width}.png")
        page.screenshot(path=artifacts / f"refine-both-ways-page-{width}.png")
        assert not page.js_errors, page.js_errors
    finally:
        context.close()
