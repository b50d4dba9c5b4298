"""The timeline by date and the photo viewer in a real browser: scroll the grouped timeline (infinite scroll) and
jump to a month; open a photo, walk with the arrow keys, full screen, Esc back to the list at the photo; the same
on search results; a swipe on a touch screen. Screenshots at desktop width and 390 px go to test-artifacts/
(viewer-*.png)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest

from gallery.correction_services import taken_days_refresh
from gallery.models import Membership, Photo
from gallery.services import UploadResult, photo_create_from_bytes
from search.tests.conftest import shape_png, toy_model  # noqa: F401 - toy_model is a fixture
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, photo_edit_open, sign_in
from tests.factories import FamilyFactory, MembershipFactory, UserFactory
from tests.queue import run_queued_tasks

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
SHAPES = [("red", "circle"), ("blue", "square"), ("green", "triangle"), ("yellow", "circle"), ("red", "square"),
          ("blue", "circle"), ("green", "square"), ("yellow", "triangle")]
HEADINGS = "() => Array.from(document.querySelectorAll('#grid h2, #grid h3')).map((h) => h.textContent.trim())"
TILES = "() => Array.from(document.querySelectorAll('#grid .tile')).map((a) => a.id)"


def _gallery(count: int = 22, size: int = 96):
    """grandma's family with `count` photos, two or three a day going back from 20 May 2024 across three months,
    and a stranger's family with a photo on one of those days."""
    family = FamilyFactory(name="Hendersons")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role=Membership.Role.ADMIN)
    strangers = FamilyFactory(name="Strangers")
    stranger = UserFactory(username="stranger")
    MembershipFactory(family=strangers, user=stranger)
    photos = []
    when = datetime(2024, 5, 20, 18, tzinfo=dt_timezone.utc)
    for n in range(count):
        colour, shape = SHAPES[n % len(SHAPES)]
        photos.append(_store(family, grandma, colour, shape, n, when, size))
        when -= timedelta(hours=5 if n % 3 else 200)
    foreign = _store(strangers, stranger, "red", "circle", 999, datetime(2024, 5, 20, 15, tzinfo=dt_timezone.utc), size)
    return family, photos, foreign


def _store(family, user, colour, shape, seed, when, size) -> Photo:
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=shape_png(colour, shape, seed=seed, size=size),
                                     filename=f"{colour}-{shape}-{seed}.png")
    assert result.outcome == UploadResult.SAVED, result.reason
    Photo.objects.filter(pk=result.photo.pk).update(taken_at=when)
    taken_days_refresh([result.photo.pk])
    return result.photo


def _page(browser, live_server, options):
    context, page = new_page(browser, **options)
    sign_in(page, live_server, "grandma")
    return context, page


def _scroll_to_the_end(page) -> None:
    for _ in range(30):
        if page.locator("#grid .more").count() == 0:
            return
        count = page.locator("#grid .tile").count()
        # Scroll the window, not an element: infinite scroll may swap the "more" link out at any moment.
        page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
        page.wait_for_function(f"() => document.querySelectorAll('#grid .tile').length > {count}"
                               " || !document.querySelector('#grid .more')")
    raise AssertionError("the timeline never finished loading")


def _photo_id(url: str) -> int:
    return int(re.search(r"/photos/(\d+)/", url).group(1))


@pytest.mark.django_db(transaction=True)
def test_scroll_the_grouped_timeline_and_jump_to_a_month(live_server, browser, artifacts, settings):
    settings.GALLERY_PAGE_SIZE = 5
    family, photos, foreign = _gallery()
    context, page = _page(browser, live_server, DESKTOP)

    _scroll_to_the_end(page)  # infinite scroll, five photos at a time
    headings = page.evaluate(HEADINGS)
    assert len(headings) == len(set(headings)), f"a heading repeats across pages: {headings}"
    assert headings[0] == "May 2024" and headings[1].startswith("Monday 20 May")
    assert [h for h in headings if re.fullmatch(r"\w+ \d{4}", h)] == ["May 2024", "April 2024", "March 2024"]
    assert page.evaluate(TILES) == [f"photo-{photo.pk}" for photo in photos]  # every photo once, newest first
    assert f"photo-{foreign.pk}" not in page.evaluate(TILES)
    page.screenshot(path=artifacts / "viewer-timeline-desktop.png", full_page=True)

    page.select_option("#jump-month", "2024-03")  # the jump list: choosing a month goes there
    page.wait_for_url(re.compile(r"month=2024-03"))
    assert page.evaluate(HEADINGS)[0] == "March 2024"
    assert page.get_by_role("link", name="Newer photos").is_visible()
    page.screenshot(path=artifacts / "viewer-timeline-jumped-desktop.png")
    page.get_by_role("navigation", name="Jump to a year").get_by_role("link", name="2024").click()
    page.wait_for_url(re.compile(r"month=2024-05"))
    assert page.evaluate(HEADINGS)[0] == "May 2024"
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_open_a_photo_walk_with_the_arrow_keys_full_screen_and_esc_back(live_server, browser, artifacts, settings):
    settings.GALLERY_PAGE_SIZE = 5
    family, photos, foreign = _gallery(size=480)
    context, page = _page(browser, live_server, DESKTOP)
    _scroll_to_the_end(page)
    page.locator(f"#photo-{photos[6].pk}").click()  # on the second page loaded by infinite scroll
    page.wait_for_url(re.compile(rf"/photos/{photos[6].pk}/"))
    image = page.locator(".photo-view img")
    assert image.get_attribute("src") == photos[6].display_url
    page.screenshot(path=artifacts / "viewer-photo-desktop.png")

    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(rf"/photos/{photos[7].pk}/"))
    assert image.get_attribute("src") == photos[7].display_url
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(re.compile(rf"/photos/{photos[5].pk}/"))
    # The buttons do the same, and keep the keyboard focus where it was.
    page.get_by_role("link", name="Next photo").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/photos/{photos[6].pk}/"))
    page.wait_for_function("() => document.activeElement && document.activeElement.getAttribute('aria-label') === 'Next photo'")

    # Full screen lasts while stepping; Esc leaves it first, then goes back.
    page.get_by_role("button", name="Full screen", exact=True).click()
    page.wait_for_function("() => document.documentElement.classList.contains('viewer-full')")
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(rf"/photos/{photos[7].pk}/"))
    assert page.evaluate("() => document.documentElement.classList.contains('viewer-full')")
    box = image.bounding_box()
    assert box["height"] > 700 or box["width"] > 1200  # fills the screen
    page.screenshot(path=artifacts / "viewer-fullscreen-desktop.png")
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.documentElement.classList.contains('viewer-full')")
    assert _photo_id(page.url) == photos[7].pk

    # Mid-edit, Esc does not leave the page (nor do the arrow keys step, in a text box).
    photo_edit_open(page)
    page.locator("#photo-meta form").wait_for()
    page.keyboard.press("Escape")
    page.locator("#photo-meta input[name=title]").press("ArrowRight")
    page.wait_for_timeout(300)
    assert _photo_id(page.url) == photos[7].pk
    page.locator("#photo-meta").get_by_role("link", name="Cancel").click()
    page.locator("#photo-meta form").wait_for(state="detached")

    page.keyboard.press("Escape")  # back to the timeline, at the photo: drawn down to its page, in view, focused
    page.wait_for_url(re.compile(rf"/\?near={photos[7].pk}#photo-{photos[7].pk}$"))
    page.wait_for_function(f"() => document.activeElement && document.activeElement.id === 'photo-{photos[7].pk}'")
    tile = page.locator(f"#photo-{photos[7].pk}").bounding_box()
    assert 0 <= tile["y"] and tile["y"] + tile["height"] <= 800
    headings = page.evaluate(HEADINGS)
    assert len(headings) == len(set(headings))
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_search_results_are_walked_in_their_order_and_esc_returns_to_them(live_server, browser, toy_model,
                                                                          artifacts):
    family, photos, foreign = _gallery(count=10)
    run_queued_tasks()
    context, page = _page(browser, live_server, DESKTOP)
    page.goto(live_server.url + "/search/?q=red+circle")
    order = [int(pk) for pk in page.evaluate(
        "() => Array.from(document.querySelectorAll('#results .result')).map((r) => r.dataset.photo)")]
    assert len(order) >= 3 and foreign.pk not in order
    page.locator(f"#photo-{order[1]} a.tile").click()
    page.wait_for_url(re.compile(rf"/photos/{order[1]}/\?from=search&q=red\+circle"))
    assert page.get_by_text(f"2 of {len(order)}").is_visible()
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(rf"/photos/{order[2]}/\?from=search"))
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(re.compile(rf"/photos/{order[0]}/\?from=search"))
    assert page.locator("[data-viewer-step=prev]").count() == 0  # the first result: nothing before it
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(rf"/search/\?q=red\+circle#photo-{order[0]}$"))
    page.wait_for_function(f"() => document.activeElement && document.activeElement.closest('#photo-{order[0]}')")
    assert page.js_errors == []
    context.close()


def _swipe(page, cdp, selector: str, dx: int) -> None:
    box = page.locator(selector).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 6):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x + dx * step / 5, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


@pytest.mark.django_db(transaction=True)
def test_on_a_phone_the_timeline_jumps_and_a_swipe_steps(live_server, browser, artifacts, settings):
    settings.GALLERY_PAGE_SIZE = 12
    family, photos, foreign = _gallery(size=480)
    context, page = _page(browser, live_server, PHONE)
    page.wait_for_function("() => Array.from(document.querySelectorAll('.tile img')).every((i) => i.complete)")
    page.screenshot(path=artifacts / "viewer-timeline-mobile.png", full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    jump = page.locator("#jump-month")
    assert jump.is_visible() and jump.bounding_box()["height"] >= 40
    page.evaluate("() => window.scrollBy(0, 1500)")
    page.wait_for_timeout(300)
    assert 0 <= jump.bounding_box()["y"] < 60  # the jump stays at hand while scrolling
    jump.select_option("2024-04")
    page.wait_for_url(re.compile(r"month=2024-04"))
    page.screenshot(path=artifacts / "viewer-timeline-jumped-mobile.png")

    first = page.locator("#grid .tile").first
    opened = _photo_id(first.get_attribute("href"))
    first.tap()
    page.wait_for_url(re.compile(rf"/photos/{opened}/"))
    page.wait_for_function("() => document.querySelector('.photo-view img').complete")
    page.screenshot(path=artifacts / "viewer-photo-mobile.png")
    page.get_by_role("button", name="Full screen").tap()
    page.wait_for_function("() => document.documentElement.classList.contains('viewer-full')")
    page.wait_for_timeout(300)
    page.screenshot(path=artifacts / "viewer-fullscreen-mobile.png")
    page.get_by_role("button", name="Leave full screen").tap()
    page.wait_for_function("() => !document.documentElement.classList.contains('viewer-full')")

    index = [photo.pk for photo in photos].index(opened)
    cdp = context.new_cdp_session(page)
    _swipe(page, cdp, ".photo-view", -200)  # finger right to left: the next photo
    page.wait_for_url(re.compile(rf"/photos/{photos[index + 1].pk}/"))
    _swipe(page, cdp, ".photo-view", 200)
    page.wait_for_url(re.compile(rf"/photos/{opened}/"))
    _swipe(page, cdp, ".photo-view", -30)  # too short: stays
    page.wait_for_timeout(300)
    assert _photo_id(page.url) == opened
    page.get_by_role("link", name=re.compile("Back to photos")).click()
    page.wait_for_url(re.compile(rf"near={opened}#photo-{opened}$"))
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_a_slideshow_walks_the_list_full_screen_and_stops_at_its_end(live_server, browser, artifacts, settings):
    settings.SLIDESHOW_SECONDS = 1
    family, photos, foreign = _gallery(count=4, size=320)
    context, page = _page(browser, live_server, DESKTOP)
    page.goto(live_server.url + photos[1].get_absolute_url() + "?from=timeline")
    page.get_by_role("button", name="Slideshow", exact=True).click()
    page.wait_for_function("() => document.documentElement.classList.contains('viewer-full')")
    page.wait_for_url(re.compile(rf"/photos/{photos[2].pk}/"))  # by itself, a second later
    assert page.evaluate("() => document.documentElement.classList.contains('viewer-full')")
    page.screenshot(path=artifacts / "viewer-slideshow-desktop.png")
    page.wait_for_url(re.compile(rf"/photos/{photos[3].pk}/"))
    # The list's last photo: the slideshow stops there, still full screen, and says it can start again.
    page.wait_for_function("() => document.querySelector('.viewer-play').getAttribute('aria-pressed') === 'false'",
                           timeout=5000)
    assert _photo_id(page.url) == photos[3].pk
    # Paused by Space, it stays on its photo; Esc leaves full screen.
    page.keyboard.press("ArrowLeft")
    page.wait_for_url(re.compile(rf"/photos/{photos[2].pk}/"))
    page.keyboard.press(" ")
    page.wait_for_function("() => document.querySelector('.viewer-play').getAttribute('aria-pressed') === 'true'")
    page.keyboard.press(" ")
    page.wait_for_function("() => document.querySelector('.viewer-play').getAttribute('aria-pressed') === 'false'")
    page.wait_for_timeout(1800)
    assert _photo_id(page.url) == photos[2].pk
    page.keyboard.press("Escape")
    page.wait_for_function("() => !document.documentElement.classList.contains('viewer-full')")
    # The next photo moved to the trash meanwhile: the step goes to the page that says so, not nowhere.
    from gallery.trash_services import photos_trash

    photos_trash(user=photos[0].uploaded_by, photo_ids=[photos[3].pk])
    page.keyboard.press("ArrowRight")
    page.wait_for_url(re.compile(rf"/photos/{photos[3].pk}/"))
    page.get_by_text("in the trash", exact=False).first.wait_for()
    assert [e for e in page.js_errors if "404" not in e] == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_a_share_links_visitor_has_the_slideshow_on_a_phone(live_server, browser, artifacts, settings):
    from gallery.album_services import album_add_photos, album_create, share_create

    settings.SLIDESHOW_SECONDS = 1
    family, photos, foreign = _gallery(count=3, size=320)
    grandma = photos[0].uploaded_by
    album = album_create(user=grandma, family=family, name="Garden")
    album_add_photos(user=grandma, album=album, photo_ids=[p.pk for p in photos])
    token = share_create(user=grandma, album=album, days=7).token
    context, page = new_page(browser, **PHONE)
    page.goto(f"{live_server.url}/shared/{token}/photos/{photos[0].pk}/")
    page.get_by_role("button", name="Slideshow", exact=True).click()
    page.wait_for_url(re.compile(rf"/shared/[^/]+/photos/{photos[1].pk}/"))
    assert page.evaluate("() => document.documentElement.classList.contains('viewer-full')")
    page.wait_for_function("() => document.querySelector('.photo-view img').naturalWidth > 0")
    page.screenshot(path=artifacts / "viewer-slideshow-shared-phone.png")
    page.get_by_role("button", name="Pause slideshow").click()
    page.wait_for_timeout(1800)
    assert re.search(rf"/photos/{photos[1].pk}/", page.url)
    assert page.js_errors == []
    # The link withdrawn while the visitor looks: the next step says it ended.
    from gallery.album_services import share_revoke
    from gallery.models import AlbumShare

    share_revoke(user=grandma, share=AlbumShare.objects.get(album=album))
    page.keyboard.press("Escape")  # out of full screen
    page.get_by_role("link", name="Next photo").click()
    page.get_by_text("This link doesn’t work any more").wait_for()
    context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("size", [(6000, 10), (10, 6000)], ids=["panorama", "strip"])
def test_a_panorama_keeps_the_viewers_steps_reachable(live_server, browser, artifacts, size):
    """A 60,000 × 10 px panorama (a stitched strip, or a hostile upload) was drawn 0.2 px tall, and the viewer's
    previous and next areas, as tall as the photo, with it: no tap or click could reach them. The stage keeps a
    height of its own now, the photo centred in it."""
    import io

    from PIL import Image

    family = FamilyFactory(name="Hendersons")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role=Membership.Role.ADMIN)
    when = datetime(2024, 5, 20, 18, tzinfo=dt_timezone.utc)
    first = _store(family, grandma, "red", "circle", 1, when, 96)
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, "PNG")
    result = photo_create_from_bytes(family=family, uploaded_by=grandma, data=buffer.getvalue(), filename="pano.png")
    assert result.outcome == UploadResult.SAVED, result.reason
    Photo.objects.filter(pk=result.photo.pk).update(taken_at=when - timedelta(hours=1))
    last = _store(family, grandma, "blue", "square", 2, when - timedelta(hours=2), 96)
    taken_days_refresh([first.pk, result.photo.pk, last.pk])

    for name, options in [("phone", PHONE), ("desktop", DESKTOP)]:
        context, page = new_page(browser, **options)
        sign_in(page, live_server, "grandma")
        page.goto(f"{live_server.url}/photos/{result.photo.pk}/")
        page.screenshot(path=artifacts / f"viewer-panorama-{'x'.join(map(str, size))}-{name}.png")
        for step in ("prev", "next"):
            box = page.locator(f"[data-viewer-step={step}]").bounding_box()
            assert box["height"] >= 44, f"{step} is {box['height']} px tall on the {name}"
        page.locator("[data-viewer-step=next]").click()
        page.wait_for_url(f"**/photos/{last.pk}/**")
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("options", [PHONE], ids=["phone"])
def test_a_stale_download_original_shows_why_instead_of_saving_an_error_page(live_server, browser, artifacts, options):
    """"Download original" on a photo page shown before the photo was deleted for good (by another member, the trash's
    purge) carried the download attribute: Chromium saved the 404 page silently as the photo. It navigates now (the
    original is an attachment by its own header): a live one still downloads, a stale one shows the error page."""
    from gallery.services import photos_delete

    family, photos, _ = _gallery(count=2)
    context, page = _page(browser, live_server, options)
    page.goto(live_server.url + f"/photos/{photos[1].pk}/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download original").click()
    assert download.value.suggested_filename.endswith(".png")
    page.goto(live_server.url + f"/photos/{photos[0].pk}/")
    photos_delete(photos=Photo.all_objects.filter(pk=photos[0].pk))
    page.get_by_role("link", name="Download original").click()
    page.get_by_role("heading", name="Not found").wait_for()
    assert "/original/" in page.url
    page.screenshot(path=artifacts / f"viewer-stale-download-{options['viewport']['width']}.png", full_page=True)
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_the_viewers_script_only_buttons_are_not_offered_where_they_do_nothing(live_server, browser, settings):
    """Slideshow and Full screen carry `hidden` until viewer.js shows them, and Slideshow stays hidden on the list's
    last photo; the selection bar's Clear is hidden until something is ticked. app.css gave every button
    `display: inline-flex`, which beat the `hidden` attribute: without JavaScript the photo page offered Slideshow and
    Full screen and the timeline's bar a Clear that did nothing, and the last photo offered a Slideshow with nothing
    to show. Hidden now means not shown."""
    family, photos, foreign = _gallery(count=3)
    context, page = new_page(browser, java_script_enabled=False, **PHONE)
    sign_in(page, live_server, "grandma")
    assert page.locator("#bulk-form").is_visible()  # the plain form at the foot of the timeline
    assert not page.get_by_role("button", name="Clear").is_visible()
    page.goto(live_server.url + photos[1].get_absolute_url() + "?from=timeline")
    assert page.locator(".viewer-next").count() == 1
    for name in ("Slideshow", "Full screen"):
        assert not page.get_by_role("button", name=name).is_visible()
    context.close()

    context, page = _page(browser, live_server, DESKTOP)
    page.goto(live_server.url + photos[1].get_absolute_url() + "?from=timeline")
    assert page.get_by_role("button", name="Slideshow", exact=True).is_visible()
    assert page.get_by_role("button", name="Full screen").is_visible()
    page.goto(live_server.url + photos[-1].get_absolute_url() + "?from=timeline")  # the oldest: nothing after it
    page.get_by_role("button", name="Full screen").wait_for()
    assert not page.get_by_role("button", name="Slideshow", exact=True).is_visible()
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_on_a_phone_shift_tab_up_the_timeline_keeps_the_focus_clear_of_the_jump(live_server, browser):
    """On a phone "Jump to" sticks to the top of the screen. Going back up the timeline with Shift+Tab (a keyboard
    on a tablet or phone, a switch control), the browser scrolled each tile's heart and box just into view: under the
    jump, where the focus could not be seen (WCAG 2.4.11). It stops below it now."""
    family, photos, foreign = _gallery(count=22)
    context, page = _page(browser, live_server, PHONE)
    _scroll_to_the_end(page)
    page.locator("#grid .tile").last.focus()
    hidden = []
    for _ in range(60):
        page.keyboard.press("Shift+Tab")
        hidden += page.evaluate("""() => {
          const focused = document.activeElement, jump = document.querySelector('.jump').getBoundingClientRect();
          if (!focused.closest('#grid')) return [];
          const box = focused.getBoundingClientRect();
          return box.top < jump.bottom - 1 ? [`${focused.outerHTML.slice(0, 60)} at ${box.top}, the jump ends at ${jump.bottom}`] : [];
        }""")
    assert hidden == []
    assert page.js_errors == []
    context.close()
