"""Albums in a real browser: create an album, add photos, arrange it, open it in the viewer and walk it with the
arrow keys; save a search as a smart album and see a new matching upload appear in it; share an album and open the
link signed out. Screenshots at desktop width and 390 px go to test-artifacts/ (albums-*.png)."""

from __future__ import annotations

import re

import pytest

from gallery.models import Album, Membership, Photo
from gallery.services import UploadResult, photo_create_from_bytes
from search.tests.conftest import shape_png, toy_model  # noqa: F401 - toy_model is a fixture
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in
from tests.factories import FamilyFactory, MembershipFactory, UserFactory
from tests.queue import run_queued_tasks

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
    pytest.mark.django_db(transaction=True),
]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
TILES = "() => Array.from(document.querySelectorAll('#grid .tile')).map((a) => Number(a.dataset.photo))"


def _family():
    family = FamilyFactory(name="Hendersons")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role=Membership.Role.ADMIN)
    return family, grandma


def _store(family, user, colour, shape, seed) -> Photo:
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=shape_png(colour, shape, seed=seed),
                                     filename=f"IMG_{seed:04d}.png")
    assert result.outcome == UploadResult.SAVED, result.reason
    return result.photo


def _photo_id(url: str) -> int:
    return int(re.search(r"/photos/(\d+)/", url).group(1))


def test_create_an_album_add_photos_arrange_and_walk_it_in_the_viewer(live_server, browser, artifacts):
    family, grandma = _family()
    photos = [_store(family, grandma, colour, "square", n) for n, colour in enumerate(("red", "blue", "green", "yellow"))]
    for options, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        context, page = new_page(browser, **options)
        sign_in(page, live_server, "grandma")
        page.goto(live_server.url + "/albums/")
        page.fill("#id_name", f"Squares {name}")
        page.get_by_role("button", name="Create album").click()
        page.wait_for_url(re.compile(r"/albums/\d+/$"))
        page.get_by_role("link", name="Add photos").click()
        for photo in (photos[2], photos[0], photos[3]):
            page.check(f'input[name=photos][value="{photo.pk}"]')
        page.screenshot(path=artifacts / f"albums-picker-{name}.png", full_page=True)
        page.get_by_role("button", name="Add to album").click()
        page.wait_for_url(re.compile(r"/albums/\d+/$"))
        # Newest first on the picker, so the order ticked is the page's order: green, red... as checked in DOM.
        order = page.evaluate(TILES)
        assert sorted(order) == sorted([photos[2].pk, photos[0].pk, photos[3].pk])
        # Move the last photo one step earlier with its button (a plain form post).
        last = order[-1]
        page.locator(f'.album-item[data-photo="{last}"] button[value=up]').click()
        page.wait_for_load_state()
        expected = order[:-2] + [last, order[-2]]
        assert page.evaluate(TILES) == expected
        page.screenshot(path=artifacts / f"albums-album-{name}.png", full_page=True)
        # Open the first photo: the viewer walks the album in its order.
        page.locator(f'#grid .tile[data-photo="{expected[0]}"]').click()
        page.wait_for_url(re.compile(r"/photos/\d+/\?from=album"))
        assert page.locator(".viewer-position").text_content().strip() == "1 of 3"
        page.locator(".viewer-back").wait_for()
        seen = [_photo_id(page.url)]
        for _ in range(2):
            page.keyboard.press("ArrowRight")
            page.wait_for_function(f"() => !location.pathname.includes('/photos/{seen[-1]}/')")
            seen.append(_photo_id(page.url))
        assert seen == expected
        page.screenshot(path=artifacts / f"albums-viewer-{name}.png", full_page=False)
        page.keyboard.press("Escape")
        page.wait_for_url(re.compile(r"/albums/\d+/#photo-\d+$"))
        page.goto(live_server.url + "/albums/")
        assert page.locator(".album-card").count() >= 1
        page.screenshot(path=artifacts / f"albums-list-{name}.png", full_page=True)
        assert page.js_errors == []
        context.close()


def test_a_family_without_albums_starts_one_from_a_photos_page(live_server, browser, artifacts):
    """A family with photos and no album saw no "Add to album" on a photo's page. Its picker offers "New album…"
    (the name field shows only while it is chosen, no script): the album is made in the photo's family, the page
    comes back with a link to it, and the picker keeps to a phone's width. Screenshots: albums-new-from-photo-*.png."""
    family, grandma = _family()
    photos = [_store(family, grandma, colour, "circle", n) for n, colour in enumerate(("red", "blue"))]
    for options, name, photo in ((DESKTOP, "desktop", photos[0]), (PHONE, "phone", photos[1])):
        context, page = new_page(browser, **options)
        sign_in(page, live_server, "grandma")
        page.goto(live_server.url + photo.get_absolute_url())
        picker = page.locator("form.add-to-album")
        album_choice, field = picker.get_by_label("Add to album"), picker.get_by_label("Name of the new album")
        if name == "desktop":  # (no album yet: "New album…" is the only choice, its field shown)
            assert album_choice.locator("option").all_inner_texts() == ["New album…"] and field.is_visible()
        else:  # (the desktop's album is there now: its field shows once "New album…" is chosen)
            assert not field.is_visible() and field.is_disabled()  # (nor sent: a browser without :has() shows it)
            album_choice.select_option("new")
            assert field.is_visible() and field.is_enabled()
        field.fill(f"  Circles   {name} ")
        picker.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / f"albums-new-from-photo-{name}.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= options["viewport"]["width"]
        right = page.evaluate("document.querySelector('form.add-to-album').getBoundingClientRect().right")
        assert right <= options["viewport"]["width"]
        picker.get_by_role("button", name="Add").click()
        page.wait_for_url(live_server.url + photo.get_absolute_url())
        album = Album.objects.get(name=f"Circles {name}")
        assert album.family == family and list(album.photos.all()) == [photo]
        link = page.locator(".messages").get_by_role("link", name=f"“Circles {name}”")
        assert "Added to the new album" in page.locator(".messages").first.inner_text()
        page.screenshot(path=artifacts / f"albums-new-from-photo-{name}-made.png", full_page=True)
        link.click()
        page.wait_for_url(live_server.url + album.get_absolute_url())
        assert page.evaluate(TILES) == [photo.pk]
        assert page.js_errors == []
        context.close()

def _album_of_three(live_server, browser):
    """grandma's album "Drag" of three photos, open in a desktop page she is signed in to."""
    from gallery.album_services import album_add_photos, album_create

    family, grandma = _family()
    photos = [_store(family, grandma, "red", "circle", n) for n in range(3)]
    album = album_create(user=grandma, family=family, name="Drag")
    album_add_photos(user=grandma, album=album, photo_ids=[p.pk for p in photos])
    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + album.get_absolute_url())
    return album, photos, context, page


def _drag_last_before_first(page, photos) -> None:
    source = page.locator(f'.album-item[data-photo="{photos[2].pk}"]')
    target = page.locator(f'.album-item[data-photo="{photos[0].pk}"]')
    box = target.bounding_box()
    source.drag_to(target, target_position={"x": 5, "y": box["height"] / 2})


def test_drag_a_photo_to_reorder_the_album(live_server, browser):
    from gallery.album_selectors import album_photo_ids

    album, photos, context, page = _album_of_three(live_server, browser)
    _drag_last_before_first(page, photos)
    page.wait_for_function(f"() => document.querySelector('#grid .album-item').dataset.photo === '{photos[2].pk}'")
    for _ in range(50):
        if album_photo_ids(album=album)[0] == photos[2].pk:
            break
        page.wait_for_timeout(100)
    assert album_photo_ids(album=album) == [photos[2].pk, photos[0].pk, photos[1].pk]
    assert page.js_errors == []
    context.close()


def test_after_a_drag_the_cover_badge_and_arrows_follow_the_new_order(live_server, browser, artifacts):
    """After a drag and drop the page kept saying "Cover" on the photo dragged away from the front (an album without a
    chosen cover shows its first photo), with its "Cover" button missing and its "←" disabled, while the new first
    photo offered "Cover" and "←". The badge, the Cover buttons and the arrows now follow the order saved."""
    album, photos, context, page = _album_of_three(live_server, browser)
    item = lambda photo: f'.album-item[data-photo="{photo.pk}"]'  # noqa: E731
    assert page.locator(f"{item(photos[0])} .album-cover-badge").count() == 1
    source, target = page.locator(item(photos[0])), page.locator(item(photos[2]))
    box = target.bounding_box()
    source.drag_to(target, target_position={"x": box["width"] - 5, "y": box["height"] / 2})
    page.wait_for_function(f"() => document.querySelector('{item(photos[1])} .album-cover-badge')")
    assert page.locator(".album-cover-badge").count() == 1
    assert page.locator(f"{item(photos[1])} button[value=up]").is_disabled()
    assert not page.locator(f"{item(photos[1])} button[value=cover]").is_visible()
    assert page.locator(f"{item(photos[0])} button[value=cover]").is_visible()
    assert page.locator(f"{item(photos[0])} button[value=down]").is_disabled()
    assert not page.locator(f"{item(photos[2])} button[value=down]").is_disabled()
    page.screenshot(path=artifacts / "albums-dragged-cover-desktop.png", full_page=True)
    # A chosen cover stays where it is whatever the order.
    page.locator(f"{item(photos[2])} button[value=cover]").click()
    page.wait_for_load_state()
    source, target = page.locator(item(photos[0])), page.locator(item(photos[1]))
    source.drag_to(target, target_position={"x": 5, "y": target.bounding_box()["height"] / 2})
    page.wait_for_function(f"() => document.querySelector('{item(photos[0])} button[value=up]').disabled")
    assert page.locator(".album-cover-badge").count() == 1
    assert page.locator(f"{item(photos[2])} .album-cover-badge").count() == 1
    assert page.js_errors == []
    context.close()


def test_the_arranging_buttons_keep_the_keyboards_focus(live_server, browser):
    """From the keyboard, Enter on a photo's "→" moved it a step and the page came back with the focus on the photo's
    tile: a second Enter opened the photo instead of moving it further. The focus comes back to the button pressed
    (to the other arrow once the photo reached the album's end; after "Remove", to the photo now in its place)."""
    from gallery.album_selectors import album_photo_ids

    album, photos, context, page = _album_of_three(live_server, browser)
    focused = "() => { const e = document.activeElement; const item = e.closest('.album-item'); " \
              "return [item ? Number(item.dataset.photo) : null, e.value || e.tagName]; }"
    page.focus(f'.album-item[data-photo="{photos[0].pk}"] button[value=down]')
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => document.querySelector('#grid .album-item').dataset.photo === '{photos[1].pk}'")
    assert page.evaluate(focused) == [photos[0].pk, "down"]
    page.keyboard.press("Enter")  # once more: to the end
    page.wait_for_function(f"() => document.querySelectorAll('#grid .album-item')[2].dataset.photo === '{photos[0].pk}'")
    assert album_photo_ids(album=album) == [photos[1].pk, photos[2].pk, photos[0].pk]
    assert page.evaluate(focused) == [photos[0].pk, "up"]  # "→" is off at the end: the other arrow
    assert "/photos/" not in page.url

    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # ← → Cover Remove: "→" is disabled, so two Tabs reach Remove
    assert page.evaluate(focused) == [photos[0].pk, "remove"]
    page.focus(f'.album-item[data-photo="{photos[1].pk}"] button[value=remove]')
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#grid .album-item').length === 2")
    assert page.evaluate(focused) == [photos[2].pk, "remove"]  # the photo that took its place
    # A click with the mouse leaves the focus where the browser puts it (no ring on a button nobody tabbed to).
    page.locator(f'.album-item[data-photo="{photos[2].pk}"] button[value=down]').click()
    page.wait_for_function(f"() => document.querySelectorAll('#grid .album-item')[1].dataset.photo === '{photos[2].pk}'")
    assert page.evaluate(focused)[1] != "down"
    assert page.js_errors == []
    context.close()


def test_a_drag_after_the_session_ended_does_not_pass_for_saved(live_server, browser):
    """The order is saved by a fetch; after the session ended its redirect was followed to the sign-in page, a 200,
    so the page took the order as saved and kept showing it, though nothing was stored. It reloads now (to the
    sign-in page, which comes back to the album), as it does when the server refuses the order."""
    from gallery.album_selectors import album_photo_ids

    album, photos, context, page = _album_of_three(live_server, browser)
    context.clear_cookies(name="sessionid")  # the session ended (expired, or signed out in another tab)
    _drag_last_before_first(page, photos)
    page.wait_for_url(lambda url: "/accounts/login/" in url)
    assert album_photo_ids(album=album) == [p.pk for p in photos]
    context.close()


def test_save_a_search_as_a_smart_album_and_a_new_matching_upload_appears(live_server, browser, artifacts, toy_model):
    family, grandma = _family()
    for n in range(2):
        _store(family, grandma, "red", "circle", n)
    _store(family, grandma, "blue", "square", 10)
    run_queued_tasks()
    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + "/search/?q=a+red+circle")
    page.locator(".save-smart summary").click()
    page.fill(".save-smart input[name=name]", "Red circles")
    page.fill(".save-smart input[name=min_score]", "0.3")
    page.screenshot(path=artifacts / "albums-save-smart-desktop.png", full_page=True)
    page.locator(".save-smart button[type=submit]").click()
    page.wait_for_url(re.compile(r"/albums/\d+/$"))
    album = Album.objects.get(name="Red circles")
    assert album.is_smart
    before = set(page.evaluate(TILES))
    assert len(before) == 2
    # A new red circle arrives (through the upload page) and is indexed: it appears in the album by itself.
    page.goto(live_server.url + "/upload/")
    page.set_input_files("#file-input", files=[{"name": "IMG_0099.png", "mimeType": "image/png",
                                                "buffer": shape_png("red", "circle", seed=99)}])
    page.get_by_role("button", name=re.compile(r"Upload 1 photo")).click()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent.includes('1 of 1 done')")
    run_queued_tasks()
    newcomer = Photo.objects.get(original_filename="IMG_0099.png")
    page.goto(live_server.url + album.get_absolute_url())
    after = set(page.evaluate(TILES))
    assert after == before | {newcomer.pk}
    page.screenshot(path=artifacts / "albums-smart-desktop.png", full_page=True)
    context.close()
    context, page = new_page(browser, **PHONE)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + album.get_absolute_url())
    assert set(page.evaluate(TILES)) == after
    page.screenshot(path=artifacts / "albums-smart-phone.png", full_page=True)
    assert page.js_errors == []
    context.close()


def test_share_an_album_and_open_the_link_signed_out(live_server, browser, artifacts):
    from gallery.album_services import album_add_photos, album_create

    family, grandma = _family()
    photos = [_store(family, grandma, colour, "triangle", n) for n, colour in enumerate(("red", "green", "blue"))]
    album = album_create(user=grandma, family=family, name="Garden party", description="Sunday in the garden")
    album_add_photos(user=grandma, album=album, photo_ids=[photos[0].pk, photos[1].pk])
    context, page = new_page(browser, **DESKTOP)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + album.get_absolute_url())
    page.get_by_role("link", name="Share by link").click()
    page.fill("#id_days", "7")
    page.fill("#id_password", "lemonade")
    page.check("#id_allow_download")
    page.get_by_role("button", name="Make a link").click()
    link = page.locator("input.share-link").input_value()
    assert page.evaluate("() => document.activeElement.id") == "new-share-link"  # read out, as the invitation's is
    # Shown only once: a button copies it, as the family page's invitation link does (a long link in a narrow
    # read-only box is hard to select whole on a phone).
    page.get_by_role("button", name="Copy link").click()
    page.get_by_role("button", name="Copied").wait_for()
    page.screenshot(path=artifacts / "albums-share-desktop.png", full_page=True)
    context.close()
    for options, name in ((DESKTOP, "desktop"), (PHONE, "phone")):
        context, page = new_page(browser, **options)  # a stranger: no account, no session
        page.goto(link)
        assert "protected" in page.content()
        page.fill("#id_password", "lemonade")
        page.get_by_role("button", name="Open").click()
        page.wait_for_selector("#grid, .grid")
        body = page.content()
        assert "Garden party" in body and "Hendersons" not in body and "grandma" not in body
        assert page.locator(".grid .tile").count() == 2
        # Every picture is loaded through the link (and shown).
        page.wait_for_function("() => Array.from(document.images).every((img) => img.complete && img.naturalWidth > 0)")
        page.screenshot(path=artifacts / f"albums-shared-{name}.png", full_page=True)
        page.locator(".grid .tile").first.click()
        page.wait_for_selector(".photo-view img")
        assert page.locator(".viewer-position").text_content().strip() == "1 of 2"
        assert page.get_by_role("link", name="Download original").count() == 1
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => document.querySelector('.viewer-position').textContent.includes('2 of 2')")
        page.screenshot(path=artifacts / f"albums-shared-photo-{name}.png")
        assert page.js_errors == []
        context.close()


def test_album_pages_fit_a_390_px_phone(live_server, browser, artifacts, toy_model):
    """Nothing sticks out past 390 px and every control a finger must hit is at least 40 px tall (the rules of
    tests/browser/test_mobile.py), on every album page and the shared pages."""
    from gallery.album_services import album_add_photos, album_create, share_create
    from tests.browser.test_mobile import OVERFLOW, SMALL_TARGETS

    family, grandma = _family()
    photos = [_store(family, grandma, "blue", "circle", n) for n in range(3)]
    # A word wider than the phone (a compound name, a pasted link) breaks instead of widening the page (QA): a link
    # with slashes may break at them, a Google Photos share link's key has nowhere to break.
    album = album_create(user=grandma, family=family, name="Großmuttersneunzigstergeburtstagimgarten2023",
                         description="Words " * 40 + "https://example.com/albums/2024/garden-party/photos/full-size "
                         "https://photos.google.com/share/AF1QipMxQe4Z8u7B3Wl0bN5pXr2YkTqVhCzJ6sDfGhJkLmNoPqRsTuVw")
    album_add_photos(user=grandma, album=album, photo_ids=[p.pk for p in photos])
    token = share_create(user=grandma, album=album, days=3, note="for the neighbours").token
    run_queued_tasks()
    context, page = new_page(browser, **PHONE)
    sign_in(page, live_server, "grandma")
    for path, name in (("/albums/", "list"), (album.get_absolute_url(), "album"), (f"/albums/{album.pk}/add/", "add"),
                       (f"/albums/{album.pk}/shares/", "shares"), (f"/shared/{token}/", "shared"),
                       (f"/shared/{token}/photos/{photos[0].pk}/", "shared-photo")):
        page.goto(live_server.url + path)
        page.screenshot(path=artifacts / f"albums-mobile-{name}.png", full_page=True)
        assert page.evaluate(OVERFLOW, 390) == [], f"{name} overflows 390 px"
        assert page.evaluate(SMALL_TARGETS) == [], f"{name}: tap targets under 40 px"
        if name == "album":  # the arranging buttons (a phone has no drag and drop): a finger's width too, not 26 px
            narrow = page.evaluate("""() => Array.from(document.querySelectorAll('.album-tools button'))
                .filter((b) => b.checkVisibility() && b.getBoundingClientRect().width < 44)
                .map((b) => `${b.getAttribute('aria-label') || b.textContent.trim()}: ${b.getBoundingClientRect().width}`)""")
            assert narrow == [], narrow
    # "Save as smart album" on the search page, opened.
    page.goto(live_server.url + "/search/?q=blue+circle", wait_until="domcontentloaded", timeout=60_000)
    page.locator(".save-smart summary").click()
    page.screenshot(path=artifacts / "albums-mobile-save-smart.png", full_page=True)
    small = page.evaluate("""() => Array.from(document.querySelectorAll('.save-smart summary, .save-smart button, '
        + '.save-smart input:not([type=hidden]), .save-smart select'))
        .filter((el) => el.getBoundingClientRect().height < 40).map((el) => el.outerHTML.slice(0, 60))""")
    assert small == []
    assert page.evaluate(OVERFLOW, 390) == []
    assert page.js_errors == []
    context.close()


def test_upload_into_an_album_from_its_page_offering_only_its_familys_albums(live_server, browser, artifacts, tmp_path):
    from gallery.album_selectors import album_photo_ids
    from gallery.album_services import album_create

    family, grandma = _family()
    cousins = FamilyFactory(name="Cousins")
    MembershipFactory(family=cousins, user=grandma)
    garden = album_create(user=grandma, family=family, name="Garden")
    album_create(user=grandma, family=cousins, name="Cousins' picnic")
    files = []
    for n, colour in enumerate(("red", "blue")):
        path = tmp_path / f"flower-{n}.png"
        path.write_bytes(shape_png(colour, "circle", seed=40 + n))
        files.append(str(path))
    context, page = new_page(browser, **PHONE)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + garden.get_absolute_url())
    page.get_by_role("link", name="Upload into it").click()
    page.wait_for_url(re.compile(r"/upload/\?album=\d+$"))  # loaded: upload.js (deferred) hid the others' albums
    album = page.locator("#upload-album")
    assert album.input_value() == str(garden.pk)
    visible = "() => Array.from(document.querySelectorAll('#upload-album optgroup')).filter((g) => !g.hidden).map((g) => g.label)"
    assert page.evaluate(visible) == ["Hendersons"]
    page.get_by_role("radio", name="Cousins").check()  # another family: its albums only, and Garden is let go
    assert page.evaluate(visible) == ["Cousins"] and album.input_value() == ""
    page.get_by_role("radio", name="Hendersons").check()
    album.select_option(str(garden.pk))
    page.set_input_files("#file-input", files)
    page.get_by_role("button", name=re.compile("^Upload 2 photos")).click()
    page.wait_for_function("() => document.querySelectorAll('.upload-row[data-outcome=saved]').length === 2")
    assert page.get_by_text("Added to the album “Garden”.").count() == 2
    page.screenshot(path=artifacts / "albums-upload-into-phone.png", full_page=True)
    assert len(album_photo_ids(album=garden)) == 2
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_the_pickers_sticky_button_stays_above_the_tiles_scrolled_under_it(live_server, browser, artifacts):
    """On "Add photos" at 390 px, the boxes of the tiles scrolled under the sticky "Add to album" bar were drawn over
    it (they sit a layer up in their tile), so a tap on the button's left edge ticked a hidden photo instead of adding
    the ticked ones. The bar is on top now, wherever the page is scrolled."""
    from gallery.album_services import album_create

    family, grandma = _family()
    for n in range(12):
        _store(family, grandma, ["red", "blue", "green"][n % 3], "square", n)
    album = album_create(user=grandma, family=family, name="Garden")
    context, page = new_page(browser, **PHONE)
    sign_in(page, live_server, "grandma")
    page.goto(live_server.url + f"/albums/{album.pk}/add/")
    covered = """() => {
      const bar = document.querySelector('.sticky-actions').getBoundingClientRect();
      return Array.from(document.querySelectorAll('.album-pick input')).map((box) => box.getBoundingClientRect())
        .filter((r) => r.top >= bar.top && r.bottom <= bar.bottom)
        .map((r) => document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2).closest('.sticky-actions') !== null);
    }"""
    seen = []
    for _ in range(40):
        seen += page.evaluate(covered)
        page.mouse.wheel(0, 37)
        page.wait_for_timeout(30)
    page.screenshot(path=artifacts / "albums-mobile-add-scrolled.png")
    assert seen and all(seen), "a tile's box under the sticky bar is drawn over it"
    assert page.js_errors == []
    context.close()


def test_a_stale_download_button_shows_the_links_own_message_and_a_live_one_still_downloads(live_server, browser,
                                                                                            artifacts):
    """The album's ZIP links carried the `download` attribute: the browser took whatever came back for a file, so a
    button drawn before the album shrank gave a visitor a failed "download.html" (and the members' 404 page when
    opened as a page) instead of a word. The ZIP itself says it is an attachment; the link navigates, and a part no
    longer there shows the link's own page."""
    from gallery.album_services import album_add_photos, album_create, album_remove_photos, share_create

    family, grandma = _family()
    photos = [_store(family, grandma, colour, "circle", n) for n, colour in enumerate(("red", "green"))]
    album = album_create(user=grandma, family=family, name="Picnic")
    album_add_photos(user=grandma, album=album, photo_ids=[p.pk for p in photos])
    token = share_create(user=grandma, album=album, days=7, allow_download=True).token
    context, page = new_page(browser, accept_downloads=True, **PHONE)
    page.goto(f"{live_server.url}/shared/{token}/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download all").click()
    assert download.value.suggested_filename.endswith(".zip") and download.value.failure() is None
    album_remove_photos(user=grandma, album=album, photo_ids=[p.pk for p in photos])  # meanwhile
    page.get_by_role("link", name="Download all").click()
    page.get_by_role("heading", name="There is nothing to download there").wait_for()
    assert "fewer photos now" in page.content() and "grandma" not in page.content()
    page.screenshot(path=artifacts / "albums-shared-stale-download-phone.png")
    # A photo's "Download original" on a page shown before the photo was taken out: the same.
    album_add_photos(user=grandma, album=album, photo_ids=[photos[0].pk])
    page.goto(f"{live_server.url}/shared/{token}/photos/{photos[0].pk}/")
    album_remove_photos(user=grandma, album=album, photo_ids=[photos[0].pk])
    page.get_by_role("link", name="Download original").click()
    page.get_by_role("heading", name="This photo is not in this shared album").wait_for()
    assert page.js_errors == []
    context.close()


def test_the_arrows_carry_where_the_tile_is_after_a_drag_and_after_photos_leave_the_grid(live_server, browser,
                                                                                          artifacts):
    """Each tile's arrows carry the position the page showed (the server refuses a step of a photo moved since: an
    arrow clicked twice). After a drag, or photos taken out of the album with the selection bar, the page stays: the
    positions carried follow the tiles, so the next arrow is a plain step, not a refusal."""
    from gallery.album_selectors import album_photo_ids

    album, photos, context, page = _album_of_three(live_server, browser)
    item = lambda photo: f'.album-item[data-photo="{photo.pk}"]'  # noqa: E731
    carried = "() => Array.from(document.querySelectorAll('#grid .album-item')).map((i) => " \
              "[Number(i.dataset.photo), Number(i.querySelector('input[name=at]').value)])"
    _drag_last_before_first(page, photos)
    page.wait_for_function(f"() => document.querySelector('{item(photos[2])} button[value=up]').disabled")
    assert page.evaluate(carried) == [[photos[2].pk, 1], [photos[0].pk, 2], [photos[1].pk, 3]]
    page.click(f"{item(photos[0])} button[value=down]")  # 2nd → 3rd
    page.wait_for_load_state()
    assert "moved since" not in page.content()
    assert album_photo_ids(album=album) == [photos[2].pk, photos[1].pk, photos[0].pk]

    page.check(f"{item(photos[2])} input[data-select-box]", force=True)
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.get_by_role("button", name="Take out of this album").click()
    page.wait_for_function("() => document.querySelectorAll('#grid .album-item').length === 2")
    assert page.evaluate(carried) == [[photos[1].pk, 1], [photos[0].pk, 2]]
    page.click(f"{item(photos[0])} button[value=up]")  # 2nd → 1st
    page.wait_for_load_state()
    assert "moved since" not in page.content()
    assert album_photo_ids(album=album) == [photos[0].pk, photos[1].pk]
    page.screenshot(path=artifacts / "albums-arrows-in-step-desktop.png", full_page=True)
    assert page.js_errors == []
    context.close()


@pytest.mark.parametrize(("prefix", "options"), [("mobile", PHONE)], ids=["mobile"])
def test_a_share_link_whose_maker_can_no_longer_sign_in_reads_withdrawn(live_server, browser, artifacts, prefix,
                                                                       options):
    """Cousin Ann's link of her album, once her account is made inactive from a shell (no withdrawal ran): the album's
    share page lists it "Withdrawn (its maker is no longer in the family, or can't sign in)" by her, with "Withdraw for
    good" (it would work again with her account), beside grandma's working one, and the visitor gets the page of an
    ended link; once withdrawn for good, it reads withdrawn with no button. Screenshots: albums-share-maker-gone-{desktop,mobile}.png, albums-shared-maker-gone-
    {desktop,mobile}.png."""
    from django.contrib.auth import get_user_model

    from gallery.album_services import album_create, share_create

    family, grandma = _family()
    ann = UserFactory(username="cousin-ann")
    MembershipFactory(family=family, user=ann)
    album = album_create(user=ann, family=family, name="Picnic at the lake")
    token = share_create(user=ann, album=album, days=7, note="for the neighbours").token
    share_create(user=grandma, album=album, days=7, note="for great-aunt May")
    get_user_model().objects.filter(pk=ann.pk).update(is_active=False)

    context, page = new_page(browser, **options)
    sign_in(page, live_server, "grandma")
    page.goto(f"{live_server.url}/albums/{album.pk}/shares/")
    ann_row = page.locator("table.shares tbody tr", has_text="for the neighbours")
    assert "Withdrawn (its maker is no longer in the family, or can't sign in)" in ann_row.inner_text()
    assert ann_row.get_by_role("button", name=re.compile("Withdraw for good")).count() == 1
    may_row = page.locator("table.shares tbody tr", has_text="for great-aunt May")
    assert "Active" in may_row.inner_text() and may_row.get_by_role("button", name=re.compile("Withdraw")).count() == 1
    page.screenshot(path=artifacts / f"albums-share-maker-gone-{prefix}.png", full_page=True)
    ann_row.get_by_role("button", name=re.compile("Withdraw for good")).click()
    page.wait_for_load_state()
    ann_row = page.locator("table.shares tbody tr", has_text="for the neighbours")
    assert "its maker" not in ann_row.inner_text() and ann_row.get_by_role("button").count() == 0
    context.close()

    context, visitor = new_page(browser, **options)
    response = visitor.goto(f"{live_server.url}/shared/{token}/")
    assert response.status == 404
    visitor.screenshot(path=artifacts / f"albums-shared-maker-gone-{prefix}.png", full_page=True)
    context.close()


@pytest.mark.parametrize("options", [PHONE], ids=["390"])
def test_create_album_or_save_as_smart_album_sent_again_makes_no_second_album(live_server, browser, artifacts,
                                                                              options):
    """"Create album" and the search page's "Save as smart album" sent again (a double click that got through, Back
    and the same form again) each made a second album of one name (QA): the second lands on the first, saying so."""
    family, grandma = _family()
    _store(family, grandma, "red", "circle", 1)
    context, page = new_page(browser, **options)
    sign_in(page, live_server, "grandma")
    width = options["viewport"]["width"]
    for name in ("Garden party", "garden party"):
        page.goto(live_server.url + "/albums/")
        page.fill("input[name=name]", name)
        page.get_by_role("button", name="Create album").click()
        page.wait_for_url(re.compile(r"/albums/\d+/$"))
    assert "You made the album “Garden party” a moment ago: here it is." in page.inner_text("main")
    page.screenshot(path=artifacts / f"albums-created-again-{width}.png", full_page=True)
    for _ in range(2):
        page.goto(live_server.url + "/search/?q=red", wait_until="domcontentloaded", timeout=60_000)
        page.locator(".save-smart summary").click()
        page.fill(".save-smart input[name=name]", "Reds")
        page.locator(".save-smart button[type=submit]").click()
        page.wait_for_url(re.compile(r"/albums/\d+/$"))
    assert "of this search is saved already: here it is" in page.inner_text("main")
    page.screenshot(path=artifacts / f"albums-smart-saved-again-{width}.png", full_page=True)
    assert sorted(Album.objects.filter(family=family).values_list("name", flat=True)) == ["Garden party", "Reds"]
    assert page.js_errors == []
    context.close()
