"""Select many in a real browser: tick a tile, shift-click a range (across a page added by infinite scroll), select a
whole day, the keyboard (Space, Shift+Space, Esc), long-press and tap on a phone, then apply actions (add to an album,
add tags) and download the ZIP. Screenshots at desktop width and 390 px go to test-artifacts/ (select-*.png)."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest

from gallery.album_services import album_create
from gallery.correction_services import taken_days_refresh
from gallery.models import Membership, Photo
from gallery.services import UploadResult, photo_create_from_bytes
from search.tests.conftest import shape_png, toy_model  # noqa: F401 - toy_model is a fixture
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in
from tests.factories import FamilyFactory, MembershipFactory, UserFactory
from tests.queue import run_queued_tasks

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
COUNT = "() => Number(document.querySelector('[data-select-count]').textContent)"
TICKED = "() => Array.from(document.querySelectorAll('input[data-select-box]:checked')).map((b) => Number(b.value))"
BOXES = "() => Array.from(document.querySelectorAll('input[data-select-box]')).map((b) => Number(b.value))"


def _gallery(count: int = 9):
    """grandma's family with `count` photos, three a day on consecutive days from 20 May 2024 back, newest first;
    a stranger's family with one photo; an album "Summer" of grandma's family."""
    family = FamilyFactory(name="Hendersons")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role=Membership.Role.ADMIN)
    strangers = FamilyFactory(name="Strangers")
    stranger = UserFactory(username="stranger")
    MembershipFactory(family=strangers, user=stranger)
    photos = []
    for n in range(count):
        when = datetime(2024, 5, 20, 18, tzinfo=dt_timezone.utc) - timedelta(days=n // 3, hours=n % 3)
        photos.append(_store(family, grandma, n, when))
    foreign = _store(strangers, stranger, 999, datetime(2024, 5, 20, 12, tzinfo=dt_timezone.utc))
    album = album_create(user=grandma, family=family, name="Summer")
    return photos, foreign, album


def _store(family, user, seed, when) -> Photo:
    colours = ["red", "blue", "green", "yellow"]
    result = photo_create_from_bytes(family=family, uploaded_by=user, filename=f"shape-{seed}.png",
                                     data=shape_png(colours[seed % 4], ["circle", "square", "triangle"][seed % 3], seed=seed))
    assert result.outcome == UploadResult.SAVED, result.reason
    Photo.objects.filter(pk=result.photo.pk).update(taken_at=when)
    taken_days_refresh([result.photo.pk])
    result.photo.taken_at = when
    return result.photo


def _box(photo) -> str:
    return f"input[data-select-box][value='{photo.pk}']"


def _wait_count(page, n: int) -> None:
    page.wait_for_function(f"() => ({COUNT})() === {n}")


@pytest.mark.django_db(transaction=True)
def test_shift_click_a_range_across_infinite_scroll_and_add_it_to_an_album(live_server, browser, artifacts, settings):
    settings.GALLERY_PAGE_SIZE = 5
    photos, foreign, album = _gallery()
    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    assert not page.locator("#bulk-form").is_visible()  # nothing ticked: no bar

    page.locator(f"#photo-{photos[1].pk}").hover()
    page.click(_box(photos[1]))
    _wait_count(page, 1)
    assert page.locator("#bulk-form").is_visible()
    # The next page comes by infinite scroll; the selection stays and a shift-click reaches into it.
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_selector(_box(photos[7]), state="attached")
    page.click(_box(photos[7]), modifiers=["Shift"])
    _wait_count(page, 7)
    assert page.evaluate(TICKED) == [p.pk for p in photos[1:8]]
    assert foreign.pk not in page.evaluate(BOXES)

    # While selecting, a click on a tile ticks it instead of opening the photo.
    page.locator(f"#photo-{photos[8].pk}").click()
    _wait_count(page, 8)
    assert "/photos/" not in page.url
    page.locator(f"#photo-{photos[8].pk}").click()
    _wait_count(page, 7)

    page.select_option("select[name=album]", str(album.pk))
    page.get_by_role("button", name="Add to album").click()
    page.wait_for_function("() => /7 photos added to the album/.test(document.querySelector('#bulk-status').textContent)")
    assert list(album.entries.order_by("position").values_list("photo_id", flat=True)) == [p.pk for p in photos[1:8]]
    _wait_count(page, 0)  # what was done is unticked

    # Select the whole of a day from its heading, then tag it.
    page.evaluate("() => window.scrollTo(0, 0)")
    day = photos[3].taken_at.strftime("%Y-%m-%d")
    page.click(f"button[data-select-group='{day}']")
    _wait_count(page, 3)
    assert sorted(page.evaluate(TICKED)) == sorted(p.pk for p in photos[3:6])
    page.fill("#bulk-form input[name=tags]", "picnic, family")
    page.screenshot(path=artifacts / "select-timeline-desktop.png")
    page.get_by_role("button", name="Add tags").click()
    page.wait_for_function("() => /Tags added to 3 photos/.test(document.querySelector('#bulk-status').textContent)")
    for photo in photos[3:6]:
        assert sorted(photo.tags.values_list("name", flat=True)) == ["family", "picnic"]
    assert not photos[2].tags.exists()
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_keyboard_selects_ranges_and_esc_clears(live_server, browser):
    photos, foreign, album = _gallery(count=6)
    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")

    page.focus(_box(photos[0]))
    page.keyboard.press("Space")
    _wait_count(page, 1)
    page.focus(_box(photos[3]))
    page.keyboard.press("Shift+Space")
    _wait_count(page, 4)
    assert page.evaluate(TICKED) == [p.pk for p in photos[:4]]
    # The bar's actions are reachable with Tab and the count is said.
    page.keyboard.press("Escape")
    _wait_count(page, 0)
    assert not page.locator("#bulk-form").is_visible()
    assert page.js_errors == []
    context.close()


def _long_press(context, page, selector: str) -> None:
    """A real touch held for 700 ms on the middle of the element."""
    box = page.locator(selector).bounding_box()
    cdp = context.new_cdp_session(page)
    point = {"x": box["x"] + box["width"] / 2, "y": box["y"] + box["height"] / 2}
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [point]})
    page.wait_for_timeout(700)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


@pytest.mark.django_db(transaction=True)
def test_phone_long_press_tap_and_download_the_zip(live_server, browser, artifacts):
    photos, foreign, album = _gallery(count=6)
    context, page = new_page(browser, **PHONE)
    sign_in(page, live_server, "grandma")
    page.wait_for_function("() => Array.from(document.querySelectorAll('.tile img')).every((i) => i.complete)")

    # Long-press the first tile (a real touch held for 700 ms), then tap two more: each tap ticks, none opens.
    _long_press(context, page, f"#photo-{photos[0].pk}")
    _wait_count(page, 1)
    for photo in photos[1:3]:
        page.locator(f"#photo-{photo.pk}").tap()
    _wait_count(page, 3)
    assert "/photos/" not in page.url
    bar = page.locator("#bulk-form").bounding_box()
    assert bar["width"] <= 390 and bar["y"] + bar["height"] <= 844 + 1  # the whole bar on screen
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing sideways
    # Scrolled to the end, the last tile clears the bar: every photo stays tappable while selecting.
    page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    page.wait_for_timeout(200)
    last, bar = page.locator("[data-select-item]").last.bounding_box(), page.locator("#bulk-form").bounding_box()
    assert last["y"] + last["height"] <= bar["y"], (last, bar)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(200)  # the boxes fade in
    page.screenshot(path=artifacts / "select-timeline-phone.png")
    # Each box is a target of at least 24 × 24 px (it sits on the tile's own link, so no spacing makes up for less):
    # they were 21.6 px.
    sizes = page.evaluate("() => Array.from(document.querySelectorAll('.pick-box'))"
                          ".map((box) => [box.getBoundingClientRect().width, box.getBoundingClientRect().height])")
    assert min(min(size) for size in sizes) >= 24, sizes

    with page.expect_download() as download:
        page.get_by_role("button", name="Download").tap()
    archive = zipfile.ZipFile(io.BytesIO(open(download.value.path(), "rb").read()))
    assert archive.namelist() == [f"shape-{n}.png" for n in range(3)]
    with photos[0].original.open("rb") as original:
        assert archive.read("shape-0.png") == original.read()
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_select_on_search_results(live_server, browser, artifacts, toy_model):
    photos, foreign, album = _gallery(count=4)
    run_queued_tasks()
    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + "/search/?q=circle")
    page.wait_for_selector("#results .result")
    boxes = page.evaluate(BOXES)
    assert foreign.pk not in boxes and sorted(boxes) == sorted([photos[0].pk, photos[3].pk])  # the two circles

    page.locator(".result").first.hover()
    page.locator("input[data-select-box]").first.click()
    page.locator("input[data-select-box]").nth(1).click(modifiers=["Shift"])
    _wait_count(page, 2)
    page.select_option("select[name=album]", str(album.pk))
    page.get_by_role("button", name="Add to album").click()
    page.wait_for_function("() => /2 photos added to the album/.test(document.querySelector('#bulk-status').textContent)")
    assert sorted(album.photos.values_list("pk", flat=True)) == sorted(boxes)
    page.screenshot(path=artifacts / "select-search-desktop.png")
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_favourite_and_trash_a_selection(live_server, browser, artifacts):
    from gallery.models import Favourite

    photos, foreign, album = _gallery(count=6)
    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.on("dialog", lambda dialog: dialog.accept())  # "Move the selected photos to the trash?"

    page.locator(f"#photo-{photos[0].pk}").hover()
    page.click(_box(photos[0]))
    page.click(_box(photos[2]), modifiers=["Shift"])
    _wait_count(page, 3)
    page.get_by_role("button", name="Favourite", exact=True).click()
    page.wait_for_function("() => /3 photos added to your favourites/.test(document.querySelector('#bulk-status').textContent)")
    assert set(Favourite.objects.values_list("photo_id", flat=True)) == {p.pk for p in photos[:3]}
    # Their hearts show it at once (swapped by the same answer).
    for photo in photos[:3]:
        assert page.locator(f"#heart-{photo.pk} .heart").get_attribute("aria-pressed") == "true"
    assert page.locator(f"#heart-{photos[3].pk} .heart").get_attribute("aria-pressed") == "false"

    page.locator(f"#photo-{photos[1].pk}").hover()
    page.click(_box(photos[1]))
    page.click(_box(photos[5]), modifiers=["Shift"])
    _wait_count(page, 5)
    page.get_by_role("button", name="Move to trash").click()
    page.wait_for_function("() => /5 photos moved to the trash/.test(document.querySelector('#bulk-status').textContent)")
    assert page.evaluate(BOXES) == [photos[0].pk]  # off the grid at once, and so is the day left empty
    assert page.evaluate("() => Array.from(document.querySelectorAll('#grid h2, #grid h3')).length") == 2
    assert page.locator("#bulk-status").is_visible()  # the bar stays to say what happened
    assert sorted(Photo.objects.values_list("pk", flat=True)) == sorted([photos[0].pk, foreign.pk])
    page.screenshot(path=artifacts / "select-trashed-desktop.png")
    page.get_by_role("button", name="Close").click()
    assert not page.locator("#bulk-form").is_visible()
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_without_javascript_the_boxes_and_the_bar_are_a_plain_form(live_server, browser):
    photos, foreign, album = _gallery(count=3)
    context, page = new_page(browser, java_script_enabled=False, **DESKTOP)
    sign_in(page, live_server, "grandma")

    assert page.locator("#bulk-form").is_visible()
    page.check(_box(photos[0]))
    page.check(_box(photos[2]))
    page.fill("#bulk-form input[name=tags]", "garden")
    page.get_by_role("button", name="Add tags").click()
    page.wait_for_url(live_server.url + "/")
    assert "Tags added to 2 photos." in page.locator(".messages").inner_text()
    assert [list(p.tags.values_list("name", flat=True)) for p in photos] == [["garden"], [], ["garden"]]
    context.close()


@pytest.mark.django_db(transaction=True)
def test_select_a_range_in_an_album_and_tag_it(live_server, browser, artifacts):
    from gallery.album_services import album_add_photos

    photos, foreign, album = _gallery(count=5)
    album_add_photos(user=album.created_by, album=album, photo_ids=[p.pk for p in reversed(photos)])
    context, page = new_page(browser, **PHONE)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + f"/albums/{album.pk}/")
    assert page.evaluate(BOXES) == [p.pk for p in reversed(photos)]  # the album's own order

    page.check(_box(photos[4]))
    page.locator(_box(photos[1])).click(modifiers=["Shift"])
    _wait_count(page, 4)
    page.fill("#bulk-form input[name=tags]", "holiday")
    page.get_by_role("button", name="Add tags").tap()
    page.wait_for_function("() => /Tags added to 4 photos/.test(document.querySelector('#bulk-status').textContent)")
    assert [p.tags.exists() for p in photos] == [False, True, True, True, True]
    page.screenshot(path=artifacts / "select-album-phone.png")
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_phone_shift_the_dates_of_two_photos_by_a_day(live_server, browser, artifacts):
    photos, foreign, album = _gallery(count=6)
    before = {photo.pk: photo.taken_at for photo in photos}
    context, page = new_page(browser, **PHONE)
    sign_in(page, live_server, "grandma")
    page.wait_for_function("() => Array.from(document.querySelectorAll('.tile img')).every((i) => i.complete)")

    # Long-press the first tile (a real touch held for 700 ms), then tap the one beside it.
    _long_press(context, page, f"#photo-{photos[0].pk}")
    _wait_count(page, 1)
    page.locator(f"#photo-{photos[1].pk}").tap()
    _wait_count(page, 2)
    page.fill("input[name=shift_amount]", "1")
    page.select_option("select[name=shift_unit]", "days")
    page.get_by_role("button", name="Shift dates").tap()
    page.wait_for_function("() => /Dates of 2 photos shifted/.test(document.querySelector('#bulk-status').textContent)")

    for photo in photos:
        expected = before[photo.pk] + (timedelta(days=1) if photo in photos[:2] else timedelta(0))
        assert Photo.objects.get(pk=photo.pk).taken_at == expected
    assert Photo.objects.get(pk=photos[0].pk).taken_at_source == Photo.DateSource.MEMBER
    bar = page.locator("#bulk-form").bounding_box()
    assert bar["width"] <= 390 and bar["y"] + bar["height"] <= 844 + 1  # the whole bar, shift row too, on screen
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390  # nothing sideways
    shift = page.locator(".select-shift").bounding_box()
    assert shift["x"] >= 0 and shift["x"] + shift["width"] <= 390
    page.screenshot(path=artifacts / "select-shift-phone.png")

    # Reloaded, the two shifted photos sit a day later, under a day of their own.
    page.reload()
    page.wait_for_selector(f"#photo-{photos[0].pk}")
    assert "Tuesday 21 May" in page.locator("#grid").inner_text()
    order = page.evaluate(BOXES)
    assert set(order[:2]) == {photos[0].pk, photos[1].pk}
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_an_album_says_its_new_count_and_favourites_let_go_of_unfavourited_photos(live_server, browser, artifacts):
    """Taking photos out of an album, or trashing them there, took them off the grid while the page still read
    "5 photos" until reloaded, and the "Cover" badge went with the first photo, no other taking it; unfavouriting
    photos on the favourites-only timeline left them on it, and its family picker kept counting them."""
    from gallery.album_services import album_add_photos
    from gallery.models import Favourite

    photos, foreign, album = _gallery(count=5)
    album_add_photos(user=album.created_by, album=album, photo_ids=[p.pk for p in photos])
    Favourite.objects.bulk_create([Favourite(user=album.created_by, photo=p) for p in photos])
    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(live_server.url + f"/albums/{album.pk}/")
    count = "() => document.querySelector('[data-list-total]').textContent.trim()"
    assert page.evaluate(count) == "5 photos"

    page.check(_box(photos[0]))
    page.check(_box(photos[1]))
    page.get_by_role("button", name="Take out of this album").click()
    page.wait_for_function(f"() => ({count})() === '3 photos'")
    cover = "() => document.querySelector('.album-cover-badge')?.closest('.album-item').dataset.photo"
    # The album has no chosen cover: its first photo is the cover, and can't move earlier.
    page.wait_for_function(f"() => ({cover})() === '{photos[2].pk}'")
    assert page.locator(".album-cover-badge").count() == 1
    assert page.locator(f'.album-item[data-photo="{photos[2].pk}"] button[value=up]').is_disabled()
    assert not page.locator(f'.album-item[data-photo="{photos[2].pk}"] button[value=cover]').is_visible()
    page.check(_box(photos[2]))
    page.get_by_role("button", name="Move to trash").click()
    page.wait_for_function(f"() => ({count})() === '2 photos'")
    assert page.evaluate(BOXES) == [photos[3].pk, photos[4].pk]
    page.wait_for_function(f"() => ({cover})() === '{photos[3].pk}'")
    # A chosen cover further on stays the cover when photos before it go; the new first photo can't move earlier.
    page.locator(f'.album-item[data-photo="{photos[4].pk}"] button[value=cover]').click()
    page.wait_for_load_state()
    page.check(_box(photos[3]))
    page.get_by_role("button", name="Take out of this album").click()
    page.wait_for_function(f"() => ({count})() === '1 photo'")
    assert page.evaluate(cover) == str(photos[4].pk)
    assert page.locator(".album-cover-badge").count() == 1
    first_up = f'.album-item[data-photo="{photos[4].pk}"] button[value=up]'
    page.wait_for_function(f"() => document.querySelector('{first_up}').disabled")

    page.goto(live_server.url + "/?favourite=1")
    page.wait_for_selector(_box(photos[3]))
    favourites = page.evaluate(BOXES)
    option = "() => document.querySelector('select[name=family] option[data-list-family]').textContent.trim()"
    assert page.evaluate(option) == "Hendersons (4 favourites)"  # one of the five is in the trash
    page.locator(f"#photo-{photos[3].pk}").hover()
    page.check(_box(photos[3]))
    page.get_by_role("button", name="Unfavourite").click()
    page.wait_for_function("() => /taken out of your favourites/.test(document.querySelector('#bulk-status').textContent)")
    assert page.evaluate(BOXES) == [pk for pk in favourites if pk != photos[3].pk]
    assert page.evaluate(option) == "Hendersons (3 favourites)"
    page.screenshot(path=artifacts / "select-favourites-let-go-desktop.png")
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_search_results_of_favourites_only_let_go_of_unfavourited_photos(live_server, browser, artifacts, toy_model):
    """The favourites-only timeline let go of the photos unfavourited from the bar, but search results with "Favourites
    only" kept them on the page, hearts empty, as if they still matched. They leave now, whether the box was ticked
    when the page loaded or afterwards (the results swapped in by htmx); without it, unfavourited photos stay."""
    from gallery.models import Favourite

    photos, foreign, album = _gallery(count=4)
    run_queued_tasks()
    Favourite.objects.bulk_create([Favourite(user=album.created_by, photo=p) for p in photos])
    circles = [photos[0].pk, photos[3].pk]
    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + "/search/?q=circle&favourite=1")
    page.wait_for_selector("#results .result")
    assert sorted(page.evaluate(BOXES)) == sorted(circles)
    page.locator(f"#photo-{photos[0].pk}").hover()
    page.check(_box(photos[0]))
    page.get_by_role("button", name="Unfavourite").click()
    page.wait_for_function("() => /taken out of your favourites/.test(document.querySelector('#bulk-status').textContent)")
    assert page.evaluate(BOXES) == [photos[3].pk]
    page.screenshot(path=artifacts / "select-search-favourites-let-go-desktop.png")

    # "Favourites only" unticked: every circle again, and one unfavourited there stays (it still matches). One search:
    # the form's "input changed" trigger searched a second time 300 ms later the first time the box was used (htmx
    # knew no earlier value of it), swapping the results again under what was ticked meanwhile.
    searches = []
    page.on("request", lambda request: searches.append(request.url) if "/search/" in request.url else None)
    page.locator("input[name=favourite][type=checkbox]").uncheck()
    page.wait_for_function(f"() => document.querySelectorAll('#results input[data-select-box]').length === 2")
    page.wait_for_timeout(700)
    assert len(searches) == 1, searches
    page.check(_box(photos[3]))
    page.get_by_role("button", name="Unfavourite").click()
    page.wait_for_selector(f"#heart-{photos[3].pk}-button[aria-pressed=false]")  # its heart swapped: done
    assert sorted(page.evaluate(BOXES)) == sorted(circles)

    # Ticked again after the page loaded: the results swapped in are favourites only, and let go as well.
    Favourite.objects.bulk_create([Favourite(user=album.created_by, photo_id=pk) for pk in circles], ignore_conflicts=True)
    page.locator("input[name=favourite][type=checkbox]").check()
    page.wait_for_function("() => /favourite=1/.test(location.search)")
    page.wait_for_timeout(300)
    page.check(_box(photos[3]))
    page.get_by_role("button", name="Unfavourite").click()
    page.wait_for_function(f"() => !document.querySelector(\"{_box(photos[3])}\")")
    assert page.evaluate(BOXES) == [photos[0].pk]
    assert page.js_errors == []
    context.close()


def _remove_tags(page, photos, tags: str, *, force: bool = False) -> None:
    """Tick these photos and take these tags off them with the selection bar (`force`: ticks under a phone's bar)."""
    for photo in photos:
        page.check(_box(photo), force=force)
    page.fill("#bulk-form input[name=tags]", tags)
    page.get_by_role("button", name="Remove tags").click()


@pytest.mark.django_db(transaction=True)
def test_a_tags_photos_let_go_of_those_the_bar_took_the_tag_off(live_server, browser, artifacts, toy_model):
    """"Photos tagged “beach”" kept the photos whose beach tag the bar had just removed, as if they still matched, and
    "Hendersons (3)" went on counting them; so did search results filtered by that tag, and a smart album whose saved
    search names it. They leave now, and the count follows; removing another tag leaves them where they are."""
    from gallery.models import PhotoTag
    from gallery.services import photo_tags_add

    photos, foreign, album = _gallery(count=4)
    run_queued_tasks()
    beach = [photos[0], photos[1], photos[3]]
    for photo in beach:
        photo_tags_add(photo=photo, names=["Beach", "sea"], source=PhotoTag.Source.MEMBER)
    option = "() => document.querySelector('select[name=family] option[data-list-family]').textContent.trim()"

    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + "/?tag=beach")
    assert page.evaluate(BOXES) == [p.pk for p in beach]
    assert page.evaluate(option) == "Hendersons (3)"
    page.locator(f"#photo-{photos[0].pk}").hover()
    _remove_tags(page, [photos[0]], "sea")
    page.wait_for_function("() => /Tags removed from 1 photo/.test(document.querySelector('#bulk-status').textContent)")
    assert page.evaluate(BOXES) == [p.pk for p in beach]  # another tag: it still matches
    _remove_tags(page, [photos[0], photos[1]], "BEACH")
    page.wait_for_function(f"() => ({BOXES})().length === 1")
    assert page.evaluate(BOXES) == [photos[3].pk]
    assert page.evaluate(option) == "Hendersons (1)"
    page.screenshot(path=artifacts / "select-tag-let-go-desktop.png")
    assert page.js_errors == []
    context.close()

    photo_tags_add(photo=photos[0], names=["beach"], source=PhotoTag.Source.MEMBER)
    context, page = new_page(browser, **PHONE)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + "/search/?q=circle&tag=beach")
    page.wait_for_selector("#results .result")
    assert sorted(page.evaluate(BOXES)) == sorted([photos[0].pk, photos[3].pk])  # the two beach circles
    _remove_tags(page, [photos[3]], "beach", force=True)
    page.wait_for_function(f"() => ({BOXES})().length === 1")
    assert page.evaluate(BOXES) == [photos[0].pk]
    page.screenshot(path=artifacts / "select-search-tag-let-go-phone.png")

    # A smart album whose saved search names the tag: the same.
    photo_tags_add(photo=photos[3], names=["beach"], source=PhotoTag.Source.MEMBER)
    smart = album_create(user=album.created_by, family=album.family, name="Beach circles",
                         search={"q": "circle", "tag": "Beach", "min_score": 0.05})
    page.goto(live_server.url + smart.get_absolute_url())
    page.wait_for_selector(_box(photos[3]), state="attached")
    assert sorted(page.evaluate(BOXES)) == sorted([photos[0].pk, photos[3].pk])
    _remove_tags(page, [photos[0]], "beach", force=True)
    page.wait_for_function(f"() => ({BOXES})().length === 1")
    assert page.evaluate(BOXES) == [photos[3].pk]
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_a_tags_photos_let_go_of_those_the_bar_took_it_off_as_the_database_names_it(live_server, browser, artifacts):
    """The page compared the tags taken off with its tag by JavaScript's toLowerCase() (the server's list, by Python's
    lower()), where the tag is found by the database's key: "İSTANBUL" taken off on the "istanbul" tag's timeline
    (the very tag to the database) left the tiles. The server names them by the database's key now, the fold of tag
    names: "STRASSE" taken off on the "Straße" timeline is that tag too (toLowerCase says "strasse" and "straße")."""
    from gallery.models import PhotoTag
    from gallery.services import photo_tags_add

    photos, foreign, album = _gallery(count=4)
    for photo in photos[:2]:
        photo_tags_add(photo=photo, names=["istanbul"], source=PhotoTag.Source.MEMBER)
    for photo in photos[2:]:
        photo_tags_add(photo=photo, names=["Straße"], source=PhotoTag.Source.MEMBER)

    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + "/?tag=istanbul")
    assert page.evaluate(BOXES) == [p.pk for p in photos[:2]]
    page.locator(f"#photo-{photos[0].pk}").hover()
    _remove_tags(page, [photos[0]], "İSTANBUL")
    page.wait_for_function(f"() => ({BOXES})().length === 1")
    assert page.evaluate(BOXES) == [photos[1].pk]

    page.goto(live_server.url + "/?tag=Straße")
    assert page.evaluate(BOXES) == [p.pk for p in photos[2:]]
    page.locator(f"#photo-{photos[2].pk}").hover()
    _remove_tags(page, [photos[2]], "STRASSE")
    page.wait_for_function(f"() => ({BOXES})().length === 1")
    assert page.evaluate(BOXES) == [photos[3].pk]
    assert not PhotoTag.objects.filter(photo=photos[2]).exists()
    page.screenshot(path=artifacts / "select-tag-key-let-go-desktop.png")
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_search_results_count_off_the_photos_the_bar_took_off(live_server, browser, artifacts, toy_model):
    """Search results let go of the photos the bar moved to the trash, but "2 photos for “circle”" above them stayed
    at 2, where an album's "N photos" and the timeline's family counts followed. It counts them off now."""
    photos, foreign, album = _gallery(count=4)
    run_queued_tasks()
    summary = "() => document.querySelector('#results .summary').textContent"
    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(live_server.url + "/search/?q=circle")
    page.wait_for_selector("#results .result")
    assert sorted(page.evaluate(BOXES)) == sorted([photos[0].pk, photos[3].pk])
    assert page.evaluate(summary).startswith("2 photos for “circle”")
    page.locator(f"#photo-{photos[3].pk}").hover()
    page.check(_box(photos[3]))
    page.get_by_role("button", name="Move to trash").click()
    page.wait_for_function(f"() => ({BOXES})().length === 1")
    page.wait_for_function(f"() => ({summary})().startsWith('1 photo for “circle”')")
    page.screenshot(path=artifacts / "select-search-count-off-desktop.png")
    assert page.js_errors == []
    context.close()


_LAST_TILE_ABOVE_THE_BAR = """() => {
    window.scrollTo(0, document.documentElement.scrollHeight);
    const items = document.querySelectorAll('main [data-select-item]');
    const last = items[items.length - 1].getBoundingClientRect();
    const bar = document.querySelector('#bulk-form').getBoundingClientRect();
    return {last: Math.round(last.bottom), bar: Math.round(bar.top)};
}"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("options", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_the_bar_never_covers_the_end_of_the_page(live_server, browser, artifacts, options):
    """Scrolled to the end, the last row of an album (whose bar has one row more: "Take out of this album") sits above
    the bar, with its arranging buttons; so it does while the bar reports what an action did (nothing ticked then)."""
    from gallery.album_services import album_add_photos

    photos, foreign, album = _gallery(count=5)
    album_add_photos(user=album.created_by, album=album, photo_ids=[p.pk for p in photos])
    context, page = new_page(browser, **options)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + f"/albums/{album.pk}/")
    page.check(_box(photos[4]))
    _wait_count(page, 1)
    page.wait_for_timeout(100)
    seen = page.evaluate(_LAST_TILE_ABOVE_THE_BAR)
    name = "phone" if options is PHONE else "desktop"
    page.screenshot(path=artifacts / f"select-album-end-{name}.png")
    assert seen["last"] <= seen["bar"], f"while ticking: {seen}"

    page.fill("#bulk-form input[name=tags]", "holiday")
    page.get_by_role("button", name="Add tags").click()
    page.wait_for_function("() => /Tags added to 1 photo/.test(document.querySelector('#bulk-status').textContent)")
    _wait_count(page, 0)
    page.wait_for_timeout(100)
    seen = page.evaluate(_LAST_TILE_ABOVE_THE_BAR)
    page.screenshot(path=artifacts / f"select-album-end-reporting-{name}.png")
    assert seen["last"] <= seen["bar"], f"while reporting: {seen}"
    assert page.js_errors == []
    context.close()


@pytest.mark.parametrize("size", ["phone"])
def test_the_bars_shift_sends_the_ticked_dates_keeps_them_and_refuses_a_shift_over_someone_elses(live_server, browser,
                                                                                                 artifacts, size):
    """The bar's "Shift dates" sends the dates the page showed for the ticked photos only (a timeline scrolled far
    sent none for the others), takes their new dates from the answer (shifting them once more is the member's own),
    and refuses, moving none, a shift over a date someone else set meanwhile."""
    from gallery.correction_services import photo_date_set

    photos, foreign, album = _gallery(count=6)
    context, page = new_page(browser, **(DESKTOP if size == "desktop" else PHONE))
    sign_in(page, live_server, "grandma")
    before = {p.pk: p.taken_at for p in photos}
    page.locator(f"#photo-{photos[0].pk}").scroll_into_view_if_needed()
    page.check(_box(photos[0]), force=True)
    page.check(_box(photos[1]), force=True)
    _wait_count(page, 2)
    sent = page.evaluate("() => Array.from(new FormData(document.getElementById('bulk-form')).getAll('taken_at_seen'))")
    assert sorted(int(value.split(":")[0]) for value in sent) == sorted([photos[0].pk, photos[1].pk])

    def shift(expect: str) -> None:
        page.fill("input[name=shift_amount]", "1")
        with page.expect_response(lambda response: response.request.method == "POST"):
            page.get_by_role("button", name="Shift dates").click()
        page.wait_for_function(f"() => document.querySelector('#bulk-status').textContent.includes({expect!r})")

    shift("Dates of 2 photos shifted.")
    page.check(_box(photos[0]), force=True)
    page.check(_box(photos[1]), force=True)
    shift("Dates of 2 photos shifted.")
    assert [Photo.objects.get(pk=p.pk).taken_at for p in photos[:2]] == [before[p.pk] + timedelta(hours=2)
                                                                         for p in photos[:2]]
    photo_date_set(photo=Photo.objects.get(pk=photos[1].pk), taken_at=datetime(2024, 5, 20, 9, tzinfo=dt_timezone.utc))
    page.check(_box(photos[0]), force=True)
    page.check(_box(photos[1]), force=True)
    shift("Nothing was shifted")
    status = page.locator("#bulk-status").text_content()
    assert "The date taken of 1 of the 2 photos selected was changed since you saw them: “shape 1” now reads" in status
    assert Photo.objects.get(pk=photos[0].pk).taken_at == before[photos[0].pk] + timedelta(hours=2)
    page.screenshot(path=artifacts / f"select-shift-refused-{size}.png")
    # Told what they read now, the member may shift them all the same: the bar carries what it told.
    shift("Dates of 2 photos shifted.")
    assert Photo.objects.get(pk=photos[1].pk).taken_at == datetime(2024, 5, 20, 10, tzinfo=dt_timezone.utc)
    assert page.js_errors == []
    context.close()


def test_back_after_a_shift_without_javascript_leaves_no_tick_on_a_photo_the_member_did_not_tick(live_server, browser):
    """Without JavaScript, Back after "Shift dates" draws the timeline again (no-store) in its new order, and the
    browser put the ticks back where they were on the page, now other photos' tiles: sending the bar again shifted
    photos nobody ticked. The boxes (and the dates carried, which some browsers restore too) are the page's own."""
    photos, foreign, album = _gallery(count=6)
    context, page = new_page(browser, java_script_enabled=False, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.check(_box(photos[0]))
    page.fill("input[name=shift_amount]", "-30")
    page.select_option("select[name=shift_unit]", "days")
    page.get_by_role("button", name="Shift dates").click()
    page.wait_for_load_state()
    assert "Dates of 1 photo shifted." in page.content()
    page.go_back()
    page.wait_for_load_state()
    assert page.locator("input[data-select-box]:checked").count() == 0
    fresh = {p.pk: Photo.objects.get(pk=p.pk).taken_at.isoformat() for p in photos}
    carried = [page.locator("input[name=taken_at_seen]").nth(n).input_value()
               for n in range(page.locator("input[name=taken_at_seen]").count())]
    assert sorted(carried) == sorted(f"{pk}:{at}" for pk, at in fresh.items())
    context.close()


@pytest.mark.django_db(transaction=True)
def test_the_bars_new_album_fields_are_sent_only_while_it_is_chosen(live_server, browser, artifacts):
    """A browser without CSS :has() shows the bar's "New album…" name field beside every album: a name typed there
    with "Summer" still chosen put the photos into Summer and made no album. With script the field is sent (enabled)
    only while "New album…" is chosen, also after the list comes back with the new album chosen; without script (a
    browser with :has()) choosing it and typing a name still makes the album."""
    from gallery.models import Album

    photos, foreign, album = _gallery(count=3)
    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.locator(f"#photo-{photos[0].pk}").hover()
    page.click(_box(photos[0]))
    _wait_count(page, 1)
    name = page.locator("#bulk-form input[name=new_album_name]")
    assert page.locator("#bulk-album").input_value() == str(album.pk) and name.is_disabled()
    page.select_option("#bulk-album", "new")
    assert name.is_enabled() and name.is_visible()
    name.fill("Garden")
    page.select_option("#bulk-album", str(album.pk))  # changed their mind: the name is not sent
    assert name.is_disabled()
    page.select_option("#bulk-album", "new")
    page.get_by_role("button", name="Add to album").click()
    page.wait_for_function("() => /new album/.test(document.querySelector('#bulk-status').textContent)")
    garden = Album.objects.get(name="Garden")
    assert page.locator("#bulk-album").input_value() == str(garden.pk)
    assert page.locator("#bulk-form input[name=new_album_name]").is_disabled()
    page.select_option("#bulk-album", "new")  # (the name made is not offered again)
    assert page.locator("#bulk-form input[name=new_album_name]").input_value() == ""
    assert page.js_errors == []
    context.close()

    context, page = new_page(browser, java_script_enabled=False, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.check(_box(photos[1]))
    page.select_option("#bulk-album", "new")
    page.fill("#bulk-form input[name=new_album_name]", "Patio")
    page.get_by_role("button", name="Add to album").click()
    page.wait_for_url(live_server.url + "/")
    assert "Added 1 photo to the new album" in page.locator(".messages").inner_text()
    assert list(Album.objects.get(name="Patio").photos.all()) == [photos[1]]
    context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_refusal_without_javascript_comes_back_with_what_was_ticked_and_typed(live_server, browser, artifacts,
                                                                               size):
    """Without JavaScript a refusal of the bar ("New album…" without a name) went back to the page with every box
    unticked and every field empty, and one of a photo's page's "New album…" was the page drawn at /albums/add-photo/,
    which a reload posted again. Both come back as a page asked for again (a reload sends nothing), at the form, with
    what was ticked, typed and chosen, and why."""
    from gallery.models import Album

    photos, foreign, album = _gallery(count=3)
    context, page = new_page(browser, java_script_enabled=False, **(DESKTOP if size == "desktop" else PHONE))
    sign_in(page, live_server, "grandma")
    page.check(_box(photos[0]))
    page.check(_box(photos[2]))
    page.fill("#bulk-form input[name=tags]", "garden")
    page.select_option("#bulk-album", "new")
    page.fill("#bulk-form input[name=new_album_name]", "  ")
    page.get_by_role("button", name="Add to album").click()
    page.wait_for_url(live_server.url + "/#bulk-form")
    assert sorted(page.evaluate(TICKED)) == sorted([photos[0].pk, photos[2].pk])
    assert page.locator("#bulk-album").input_value() == "new"
    assert page.locator("#bulk-form input[name=tags]").input_value() == "garden"
    assert page.locator("#bulk-status").inner_text().strip() == "An album needs a name."
    assert page.locator("#bulk-status").is_visible() and page.locator(".messages").count() == 0
    # The field it is about is marked so, and described by why (a screen reader says both on reaching it).
    name_field = page.get_by_role("textbox", name="Name of the new album")
    assert name_field.get_attribute("aria-invalid") == "true"
    assert page.locator("[aria-invalid]").count() == 1
    assert page.evaluate("() => document.getElementById("
                         "document.querySelector('[aria-invalid]').getAttribute('aria-describedby')).innerText.trim()"
                         ) == "An album needs a name."
    page.screenshot(path=artifacts / f"select-refused-nojs-{size}.png")
    page.fill("#bulk-form input[name=new_album_name]", "Garden")
    page.get_by_role("button", name="Add to album").click()
    page.wait_for_url(live_server.url + "/")
    assert "Added 2 photos to the new album" in page.locator(".messages").inner_text()
    assert page.locator("[aria-invalid]").count() == 0
    assert sorted(Album.objects.get(name="Garden").photos.values_list("pk", flat=True)) == sorted(
        [photos[0].pk, photos[2].pk])
    assert page.evaluate(TICKED) == []

    page.goto(live_server.url + photos[1].get_absolute_url())
    page.select_option("#add-to-album select[name=album]", "new")
    page.fill("#add-to-album input[name=name]", " \u200b ")
    page.click("#add-to-album button[type=submit]")
    page.wait_for_url(live_server.url + photos[1].get_absolute_url() + "#add-to-album")
    assert page.locator("#new-album-error").inner_text() == "An album needs a name."
    assert page.locator("#add-to-album select[name=album]").input_value() == "new"
    page.screenshot(path=artifacts / f"photo-new-album-refused-nojs-{size}.png")
    sent = []
    page.on("request", lambda request: sent.append(request.method))
    page.reload()
    page.wait_for_load_state()
    assert "POST" not in sent and page.locator("#new-album-error").count() == 0
    assert Album.objects.count() == 2
    context.close()


@pytest.mark.django_db(transaction=True)
def test_a_field_drawn_invalid_by_a_refusal_is_no_longer_so_once_changed_or_the_bar_used(live_server, browser):
    """A page drawn after a plain post's refusal (another tab without the script, or the bar's Enter before the
    script ran) marks the field the refusal was about; with the script, changing that field, or the bar's Close,
    says it no more (static/js/select.js)."""
    photos, foreign, album = _gallery(count=2)
    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
    refused = {"action": "shift_dates", "shift_amount": "soon", "shift_unit": "hours", "photos": str(photos[0].pk),
               "next": "/"}
    for change in ("type", "close"):
        page.request.post(live_server.url + "/photos/bulk/", form=refused, headers={"X-CSRFToken": token},
                          max_redirects=0)
        page.goto(live_server.url + "/")
        amount = page.locator("#bulk-form input[name=shift_amount]")
        assert amount.get_attribute("aria-invalid") == "true", change
        if change == "type":
            amount.fill("2")
            assert amount.get_attribute("aria-invalid") is None
            assert amount.get_attribute("aria-describedby") is None
        else:
            page.locator("#bulk-form [data-select-clear]").click()
            assert page.locator("[aria-invalid]").count() == 0
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", ["desktop"])
def test_a_refused_download_with_javascript_is_said_in_the_bar_shown_reporting(live_server, browser, artifacts,
                                                                              size):
    """"Download" is a plain form post with JavaScript too: its refusal comes back as the page asked for again, said
    in the bar. With the script the bar hides while nothing is ticked, and "The photos selected are no longer there"
    leaves nothing ticked: the refusal was in the page, never seen. The bar is drawn reporting it (shown, with
    Close); Close hides it, and ticking again brings it back as a selection."""
    from gallery.trash_services import photos_trash

    photos, foreign, album = _gallery(count=3)
    context, page = new_page(browser, **(DESKTOP if size == "desktop" else PHONE))
    sign_in(page, live_server, "grandma")
    page.locator(f"#photo-{photos[1].pk}").hover()
    page.click(_box(photos[1]))
    _wait_count(page, 1)
    photos_trash(user=photos[1].uploaded_by, photo_ids=[photos[1].pk])  # another member's doing, meanwhile
    page.get_by_role("button", name="Download").click()
    page.wait_for_url(live_server.url + "/#bulk-form")
    page.wait_for_load_state()
    said = page.locator("#bulk-status")
    assert "The photos selected are no longer there" in said.inner_text()
    assert said.is_visible() and page.locator("#bulk-form").is_visible()
    close = page.locator("#bulk-form [data-select-clear]")
    assert close.is_visible() and close.inner_text() == "Close"
    bar = page.locator("#bulk-form").bounding_box()
    width, height = (1280, 800) if size == "desktop" else (390, 844)
    assert bar["width"] <= width and bar["y"] + bar["height"] <= height + 1  # the whole bar on screen
    page.screenshot(path=artifacts / f"select-download-refused-js-{size}.png")

    close.click()
    page.wait_for_function("() => !document.querySelector('#bulk-form').classList.contains('reporting')")
    assert not page.locator("#bulk-form").is_visible() and said.inner_text() == ""
    page.locator(f"#photo-{photos[0].pk}").hover()
    page.click(_box(photos[0]))
    _wait_count(page, 1)
    assert page.locator("#bulk-form").is_visible() and close.inner_text() == "Clear"
    assert page.get_by_role("button", name="Download").is_enabled()
    assert page.js_errors == []
    context.close()
