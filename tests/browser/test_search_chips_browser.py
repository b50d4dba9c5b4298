"""The search box's chips in a real browser: type "red circle in Lisbon 2023", see a place chip and a date chip,
remove one and watch the results change, change the other, and the same on a 390 px phone. Photos are shape
images with GPS and dates in their EXIF, embedded by the toy SigLIP before the browser opens.
Screenshots: test-artifacts/chips-*.png."""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qs, urlsplit

import pytest

from gallery.models import Membership, Photo
from search.tests.conftest import toy_model  # noqa: F401 - toy_model is a fixture
from search.tests.test_query_understanding import LISBON, LONDON, shape_photo
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in, width_options
from tests.browser.test_mobile import OVERFLOW, PHONE, PHONE_WIDTH, SMALL_TARGETS
from tests.factories import FamilyFactory, MembershipFactory, UserFactory
from tests.queue import run_queued_tasks

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]

@contextlib.contextmanager
def _alice_page(browser, live_server, **options):
    """alice signed in, on a page of a browser context of its own (new_page's options), closed afterwards."""
    context, page = new_page(browser, **options)
    try:
        sign_in(page, live_server, "alice")
        yield page
    finally:
        context.close()


def _smiths_with(*circles: tuple) -> list:
    """alice, admin of the Smiths, and their red circles (place, EXIF date, seed each), indexed: the photos."""
    smiths, alice = FamilyFactory(name="Smiths"), UserFactory(username="alice")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    photos = [shape_photo(smiths, alice, "red", "circle", place, taken, seed=seed) for place, taken, seed in circles]
    run_queued_tasks()
    return photos


CHIP_KEYS = "() => Array.from(document.querySelectorAll('#results .chips .chip')).map((c) => c.dataset.chip)"
IDLE = "() => !document.querySelector('.htmx-request')"
RESULT_IDS = "() => Array.from(document.querySelectorAll('#results .result')).map((r) => Number(r.dataset.photo))"


# Data made in the test body, not through the db fixtures (see test_search_browser.py for why).
@pytest.mark.django_db(transaction=True)
def test_chips_show_remove_and_change(live_server, page, browser, artifacts, toy_model):
    lisbon_2023, lisbon_2022, london_2023 = _smiths_with(
        (LISBON, "2023:07:14 12:00:00", 1), (LISBON, "2022:07:14 12:00:00", 2), (LONDON, "2023:05:02 12:00:00", 3))
    assert set(Photo.objects.values_list("status", flat=True)) == {Photo.Status.READY}

    sign_in(page, live_server, "alice")
    page.goto(live_server.url + "/search/")
    page.locator("#search-form input[name=q]").press_sequentially("red circle in Lisbon 2023", delay=40)
    page.wait_for_function(f"() => ({CHIP_KEYS})().join() === 'lisbon,2023'")
    chips = page.locator("#results .chips .chip")
    assert chips.nth(0).locator(".chip-label").inner_text() == "Lisbon"
    assert "1 Jan – 31 Dec 2023" in chips.nth(1).inner_text()
    assert page.evaluate(RESULT_IDS) == [lisbon_2023.pk]
    assert "for “red circle”" in page.locator("#results .summary").inner_text()
    page.screenshot(path=artifacts / "chips-desktop.png", full_page=True)

    # Remove the date chip: "2023" is searched as a word, the Lisbon photo of 2022 comes in; the URL keeps it.
    page.locator('#results .chip[data-chip="2023"] .chip-remove').click()
    page.wait_for_function(f"() => ({CHIP_KEYS})().join() === 'lisbon'")
    page.wait_for_function(f"() => ({RESULT_IDS})().includes({lisbon_2022.pk})")
    assert set(page.evaluate(RESULT_IDS)) == {lisbon_2023.pk, lisbon_2022.pk}
    assert parse_qs(urlsplit(page.url).query)["plain"] == ["2023"]
    assert page.locator("#search-form input[name=q]").input_value() == "red circle in Lisbon 2023"
    page.screenshot(path=artifacts / "chips-removed.png", full_page=True)

    # Typing on keeps the removal (the un-chipped phrase travels with the form).
    page.locator("#search-form input[name=q]").press("End")
    page.locator("#search-form input[name=q]").press_sequentially(" red", delay=40)
    page.wait_for_function("() => new URL(location.href).searchParams.get('q').endsWith(' red')")
    page.wait_for_function(IDLE)
    assert parse_qs(urlsplit(page.url).query)["plain"] == ["2023"]
    assert page.evaluate(CHIP_KEYS) == ["lisbon"]

    # Change the place chip to London: the box is rewritten and London's photo is found.
    page.locator('#results .chip[data-chip="lisbon"] .chip-edit summary').click()
    page.locator('#results .chip[data-chip="lisbon"] input[name=chip_place]').fill("London")
    page.screenshot(path=artifacts / "chips-edit.png", full_page=True)
    page.locator('#results .chip[data-chip="lisbon"] button[type=submit]').click()
    page.wait_for_function(f"() => ({CHIP_KEYS})().join() === 'london'")
    assert page.locator("#search-form input[name=q]").input_value() == "red circle in London 2023 red"
    assert page.evaluate(RESULT_IDS)[0] == london_2023.pk
    assert page.js_errors == []

    # A phone: the chips wrap inside 390 px, their buttons are big enough for a finger, the editor fits.
    with _alice_page(browser, live_server, **PHONE) as mobile:
        mobile.goto(live_server.url + "/search/?q=red+circle+in+Lisbon+between+2022-06-01+and+2023-12-31")
        mobile.wait_for_function(f"() => ({CHIP_KEYS})().length === 2")
        mobile.screenshot(path=artifacts / "chips-mobile.png", full_page=True)
        assert mobile.evaluate(OVERFLOW, PHONE_WIDTH) == []
        assert mobile.evaluate(SMALL_TARGETS) == []
        mobile.locator("#results .chip-date .chip-edit summary").click()
        mobile.screenshot(path=artifacts / "chips-mobile-edit.png", full_page=False)
        assert mobile.evaluate(OVERFLOW, PHONE_WIDTH) == []


@pytest.mark.django_db(transaction=True)
def test_a_chips_words_stay_whole_on_a_narrow_phone(live_server, browser, artifacts, toy_model):
    """At 320 px (a small phone, or a larger one zoomed: the width pages must reflow to) the date chip squeezed its
    label to fit the range beside it, breaking the year inside the word: "201" over "9". The chip's parts wrap to a
    second line instead; only a word wider than the whole chip (a long place name) still breaks."""
    _smiths_with((LISBON, "2019:07:14 12:00:00", 1))
    with _alice_page(browser, live_server, **{**PHONE, "viewport": {"width": 320, "height": 700}}) as page:
        page.goto(live_server.url + "/search/?q=red+circle+in+Lisbon+in+2019")
        page.wait_for_function(f"() => ({CHIP_KEYS})().length === 2")
        page.screenshot(path=artifacts / "chips-320.png", full_page=True)
        broken = page.evaluate("""() => Array.from(document.querySelectorAll('#results .chip-label, #results .chip-kind'))
            .filter((el) => el.getBoundingClientRect().height > parseFloat(getComputedStyle(el).fontSize) * 1.8)
            .map((el) => `${el.textContent.trim()}: ${el.getBoundingClientRect().height} px tall`)""")
        assert broken == []
        assert page.evaluate(OVERFLOW, 320) == []
        assert page.evaluate(SMALL_TARGETS) == []


@pytest.mark.django_db(transaction=True)
def test_a_long_chips_change_and_remove_buttons_wrap_together_on_a_phone(live_server, browser, artifacts, toy_model):
    """At 390 px "since june 2019" with its range filled its line up to the ✎, and the × wrapped to a line of its own
    at the chip's left, reading as a chip of nothing. The two buttons are one group: they wrap together, at the right."""
    _smiths_with((LISBON, "2019:07:14 12:00:00", 1))
    with _alice_page(browser, live_server, **PHONE) as page:
        page.goto(live_server.url + "/search/?q=circle+2019+or+2024+since+june+2019")
        page.wait_for_function(f"() => ({CHIP_KEYS})().length === 3")
        page.screenshot(path=artifacts / "chips-long-390.png", full_page=True)
        apart = page.evaluate("""() => Array.from(document.querySelectorAll('#results .chip')).filter((chip) => {
            const edit = chip.querySelector('.chip-edit summary'), remove = chip.querySelector('.chip-remove');
            if (!edit) return false;
            const e = edit.getBoundingClientRect(), r = remove.getBoundingClientRect();
            return Math.abs((e.top + e.bottom) / 2 - (r.top + r.bottom) / 2) > 2 || r.left < e.right;
        }).map((chip) => chip.dataset.chip)""")
        assert apart == []
        assert page.evaluate(OVERFLOW, PHONE_WIDTH) == []
        assert page.evaluate(SMALL_TARGETS) == []


@pytest.mark.django_db(transaction=True)
def test_a_day_of_every_years_chip_is_changed_with_its_own_form(live_server, page, browser, artifacts, toy_model):
    """"14 july" (a day of every year) had × alone: its ✎ opens a day, a month and a year, given a year it is that
    one day; it fits a 390 px phone, whose buttons are big enough for a finger."""
    lisbon_2023, lisbon_2022 = _smiths_with((LISBON, "2023:07:14 12:00:00", 1), (LISBON, "2022:07:14 12:00:00", 2))

    sign_in(page, live_server, "alice")
    page.goto(live_server.url + "/search/?q=red+circle+on+the+14th+of+july")
    page.wait_for_function(f"() => ({CHIP_KEYS})().join() === '14th of july'")
    assert set(page.evaluate(RESULT_IDS)) == {lisbon_2023.pk, lisbon_2022.pk}
    chip = page.locator('#results .chip[data-chip="14th of july"]')
    page.wait_for_function(IDLE)
    chip.locator(".chip-edit summary").click()
    # (the box puts the caret in its first field as it opens: typed into before, a field can lose what was typed)
    page.wait_for_function("() => document.activeElement && document.activeElement.name === 'chip_day'")
    assert chip.locator("select[name=chip_month]").input_value() == "7"
    chip.locator("input[name=chip_year]").fill("2022")
    page.screenshot(path=artifacts / "chips-day-edit.png", full_page=False)
    chip.locator("button[type=submit]").click()
    page.wait_for_function(f"() => ({CHIP_KEYS})().join() === '14 july 2022'")
    assert page.locator("#search-form input[name=q]").input_value() == "red circle 14 july 2022"
    assert page.evaluate(RESULT_IDS) == [lisbon_2022.pk]
    assert page.js_errors == []

    with _alice_page(browser, live_server, **PHONE) as mobile:
        mobile.goto(live_server.url + "/search/?q=red+circle+14+july")
        mobile.wait_for_function(f"() => ({CHIP_KEYS})().length === 1")
        mobile.locator("#results .chip-day_of_year .chip-edit summary").click()
        mobile.screenshot(path=artifacts / "chips-day-edit-mobile.png", full_page=False)
        assert mobile.evaluate(OVERFLOW, PHONE_WIDTH) == []
        assert mobile.evaluate(SMALL_TARGETS) == []
        form = mobile.locator("#results .chip-day_of_year .chip-form").bounding_box()
        assert form["x"] >= 0 and form["x"] + form["width"] <= PHONE_WIDTH


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390])
def test_a_message_about_a_chip_goes_with_the_results_it_spoke_of(live_server, browser, artifacts, toy_model, width):
    """"14 july" changed to 31 June is refused: "There is no 31 June …" heads the page. × on the chip then redrew the
    results for "red circle 14 july" as words, and the message stayed over them, though what it spoke of was gone. A
    message goes with the results it came with (as on a page loaded whole), at 1280 px and on a 390 px phone."""
    _smiths_with((LISBON, "2023:07:14 12:00:00", 1), (LISBON, "2022:07:14 12:00:00", 2))
    with _alice_page(browser, live_server, **width_options(width)) as page:
        page.goto(live_server.url + "/search/?q=red+circle+14+july")
        page.wait_for_function(f"() => ({CHIP_KEYS})().join() === '14 july'")
        chip = page.locator('#results .chip[data-chip="14 july"]')
        chip.locator(".chip-edit summary").click()
        chip.locator("input[name=chip_day]").fill("31")
        chip.locator("select[name=chip_month]").select_option("6")
        chip.locator("button[type=submit]").click()
        page.wait_for_selector(".messages")
        assert "There is no 31 June: June has 30 days." in page.locator(".messages").inner_text()
        page.screenshot(path=artifacts / f"chips-message-{width}.png", full_page=True)

        page.locator('#results .chip[data-chip="14 july"] .chip-remove').click()
        page.wait_for_function(f"() => ({CHIP_KEYS})().length === 0")
        page.wait_for_function(IDLE)
        assert "31 June" not in page.locator("main").inner_text()
        assert page.locator(".messages").count() == 0
        page.screenshot(path=artifacts / f"chips-message-gone-{width}.png", full_page=True)
        assert page.evaluate(OVERFLOW, width) == []
        assert page.js_errors == []


@pytest.mark.django_db(transaction=True)
def test_a_place_chips_change_box_keeps_its_name_on_a_page_back_from_history(live_server, page, artifacts, toy_model):
    """Back to a search from before a chip's × (htmx restores the page from its history cache) put every text box of
    a GET form back to its value in the address: the place chip's ✎ box too, which no address names, so it was
    emptied, and "Change" then took "in Lisbon" out of the query. The chip's box keeps the chip's name."""
    [lisbon_2023] = _smiths_with((LISBON, "2023:07:14 12:00:00", 1))
    sign_in(page, live_server, "alice")
    page.goto(live_server.url + "/search/?q=red+circle+in+Lisbon+2023")
    page.wait_for_function(f"() => ({CHIP_KEYS})().join() === 'lisbon,2023'")
    page.locator('#results .chip[data-chip="2023"] .chip-remove').click()
    page.wait_for_function(f"() => ({CHIP_KEYS})().join() === 'lisbon'")
    page.go_back()
    page.wait_for_function(f"() => ({CHIP_KEYS})().join() === 'lisbon,2023'")
    assert page.locator("#search-form input[name=q]").input_value() == "red circle in Lisbon 2023"
    chip = page.locator('#results .chip[data-chip="lisbon"]')
    chip.locator(".chip-edit summary").click()
    assert chip.locator("input[name=chip_place]").input_value() == "Lisbon"
    page.screenshot(path=artifacts / "chips-back-edit.png", full_page=False)
    chip.locator("button[type=submit]").click()
    page.wait_for_function(f"() => ({CHIP_KEYS})().join() === 'lisbon,2023'")
    assert page.locator("#search-form input[name=q]").input_value() == "red circle in Lisbon 2023"
    assert page.evaluate(RESULT_IDS) == [lisbon_2023.pk]
    assert page.js_errors == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280])
def test_a_place_chips_box_emptied_takes_the_place_off_and_keeps_its_words(live_server, browser, artifacts,
                                                                            toy_model, width):
    """The place chip's ✎ box emptied, "Change" took "in Lisbon" out of the query without a word: the search box
    read "red circle 2023". The chip goes as its × takes it, its words stay in the box as plain words, and the page
    says so and how to search without them, at 1280 px and on a 390 px phone."""
    _smiths_with((LISBON, "2023:07:14 12:00:00", 1), (LONDON, "2023:05:02 12:00:00", 3))
    with _alice_page(browser, live_server, **width_options(width)) as page:
        page.goto(live_server.url + "/search/?q=red+circle+in+Lisbon+2023")
        page.wait_for_function(f"() => ({CHIP_KEYS})().join() === 'lisbon,2023'")
        chip = page.locator('#results .chip[data-chip="lisbon"]')
        chip.locator(".chip-edit summary").click()
        chip.locator("input[name=chip_place]").fill("")
        page.screenshot(path=artifacts / f"chips-place-emptied-{width}.png", full_page=False)
        chip.locator("button[type=submit]").click()
        page.wait_for_function(f"() => ({CHIP_KEYS})().join() === '2023'")
        assert page.locator("#search-form input[name=q]").input_value() == "red circle in Lisbon 2023"
        assert "“Lisbon” is no longer a filter: its words are searched as plain words" in page.locator(
            ".messages").inner_text()
        assert parse_qs(urlsplit(page.url).query)["plain"] == ["lisbon"]
        page.screenshot(path=artifacts / f"chips-place-emptied-after-{width}.png", full_page=True)
        assert page.evaluate(OVERFLOW, width) == []
        assert page.js_errors == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_a_chips_change_box_puts_the_caret_in_its_field(live_server, browser, artifacts, toy_model, width):
    """A chip's ✎ opened its "change" box with the focus left on the ✎: a grandparent on a phone who then typed a
    place typed into nothing (and Enter closed the box again); on a phone the box opens at the foot of the screen, far
    from the finger. The box's first field has the focus (and the text in it is selected, to be typed over), at
    1280 px and on a 390 px phone."""
    _smiths_with((LISBON, "2023:07:14 12:00:00", 1), (LONDON, "2023:05:02 12:00:00", 3))
    with _alice_page(browser, live_server, **width_options(width)) as page:
        page.goto(live_server.url + "/search/?q=red+circle+in+Lisbon+2023")
        page.wait_for_function(f"() => ({CHIP_KEYS})().join() === 'lisbon,2023'")
        chip = page.locator('#results .chip[data-chip="lisbon"]')
        pen = chip.locator(".chip-edit summary")
        pen.tap() if width < 500 else pen.click()
        page.wait_for_function("() => document.activeElement && document.activeElement.name === 'chip_place'")
        page.keyboard.type("London")
        page.keyboard.press("Enter")
        page.wait_for_function(f"() => ({CHIP_KEYS})().join() === 'london,2023'")
        assert page.js_errors == []
