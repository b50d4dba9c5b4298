"""In a real browser, as a family admin: from the family's photos to its near-duplicates, the groups side by side,
trash the rest of a group in one click; the same page on a 390 px phone."""

from __future__ import annotations

import re

import pytest

from gallery.models import Membership, Photo
from search.duplicate_finder import duplicates_find
from search.tests.conftest import shape_png
from search.tests.test_duplicates import _jpeg_copy
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in, width_options
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]


@pytest.fixture
def smiths(transactional_db):
    family = FamilyFactory(name="Smiths")
    alice = UserFactory(username="alice")
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)
    groups = []
    for n, shape in enumerate(["circle", "square"]):
        picture = shape_png("red", shape, seed=40 + n)
        groups.append([photo_factory(family=family, user=alice, data=picture, filename=f"IMG_{n}.png"),
                       photo_factory(family=family, user=alice, data=_jpeg_copy(picture, 240), filename=f"IMG_{n}.jpg"),
                       photo_factory(family=family, user=alice, data=_jpeg_copy(picture, 120, 60),
                                     filename=f"IMG_{n}-small.jpg")])
    photo_factory(family=family, user=alice, data=shape_png("green", "triangle", seed=50), filename="other.png")
    # What the worker does after embedding (no model needed for the hash signal).
    duplicates_find(photo_ids=Photo.objects.values_list("pk", flat=True))
    return family, groups


def test_review_duplicates(live_server, page, artifacts, smiths):
    family, groups = smiths
    sign_in(page, live_server, "alice")
    page.goto(live_server.url + f"/?family={family.pk}")
    page.get_by_role("link", name="Near-duplicates").click()
    page.wait_for_url(f"**/families/{family.pk}/duplicates/")
    assert page.locator(".duplicate-group").count() == 2
    page.wait_for_function("() => Array.from(document.querySelectorAll('.duplicate-thumb'))"
                           ".every((i) => i.complete && i.naturalWidth > 0)")
    page.screenshot(path=artifacts / "duplicates.png", full_page=True)
    first = groups[0]
    keeper = first[1]  # the 240 px copy: the largest
    group = page.locator(f"#duplicates-{keeper.pk}")
    assert group.locator(".duplicate-item.keep").get_attribute("data-photo") == str(keeper.pk)
    assert group.get_by_text("Suggested to keep").is_visible()
    assert group.get_by_text("240 × 240").is_visible()
    group.get_by_role("button", name="Move ticked to trash").click()
    assert page.get_by_text("Moved 2 photos to the trash.").is_visible()
    assert page.locator(".duplicate-group").count() == 1
    assert set(Photo.objects.filter(pk__in=[p.pk for p in first]).values_list("pk", flat=True)) == {keeper.pk}
    assert page.js_errors == []


def test_review_duplicates_on_a_phone(live_server, browser, artifacts, smiths):
    family, groups = smiths
    context, phone = new_page(browser, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                              device_scale_factor=2)
    try:
        sign_in(phone, live_server, "alice")
        phone.goto(live_server.url + f"/families/{family.pk}/duplicates/")
        assert phone.locator(".duplicate-item").count() == 6
        # The thumbnails load lazily: far below the fold, Chromium waits for a scroll (how far it looks ahead
        # depends on the connection it assumes), so each is brought into view first.
        phone.evaluate("() => document.querySelectorAll('.duplicate-thumb').forEach((i) => i.scrollIntoView())")
        phone.wait_for_function("() => Array.from(document.querySelectorAll('.duplicate-thumb'))"
                                ".every((i) => i.complete && i.naturalWidth > 0)")
        assert phone.evaluate("() => document.documentElement.scrollWidth") <= 390
        phone.screenshot(path=artifacts / "duplicates-390.png", full_page=True)
        assert phone.js_errors == []
    finally:
        context.close()


@pytest.fixture
def blank_scans(transactional_db):
    """40 copies of one blank scan (one perceptual hash), paired as the worker pairs them."""
    from search.duplicate_finder import duplicates_scan
    from search.tests.test_duplicates import _lookalikes

    family = FamilyFactory(name="Smiths")
    alice = UserFactory(username="alice")
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)
    scans = _lookalikes(family, alice, 40)
    duplicates_scan(family_id=family.pk)
    return family, scans


@pytest.mark.parametrize("width", [1280, 390])
def test_a_group_of_forty_look_alikes_shows_twelve_and_moves_all(live_server, browser, artifacts, blank_scans, width):
    from search.duplicate_selectors import DUPLICATES_SHOWN

    family, scans = blank_scans
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + f"/families/{family.pk}/duplicates/")
        assert page.locator(".duplicate-item").count() == DUPLICATES_SHOWN
        more = 40 - DUPLICATES_SHOWN
        assert page.get_by_text(f"…and {more} more like these, not shown (40 photos in this group).").is_visible()
        box = page.get_by_label(f"Move these {more} to the trash too")
        assert box.is_checked()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.evaluate("() => document.querySelectorAll('.duplicate-thumb').forEach((i) => i.scrollIntoView())")
        page.wait_for_function("() => Array.from(document.querySelectorAll('.duplicate-thumb'))"
                               ".every((i) => i.complete && i.naturalWidth > 0)")
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=artifacts / f"duplicates-forty-{width}.png", full_page=True)
        page.get_by_role("button", name="Move ticked to trash").click()
        assert page.get_by_text("Moved 39 photos to the trash.").is_visible()
        assert list(Photo.objects.filter(pk__in=[p.pk for p in scans])) == [scans[0]]
        assert page.js_errors == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [390])
def test_a_group_whose_shown_photos_went_to_the_trash_meanwhile(live_server, browser, artifacts, blank_scans,
                                                                monkeypatch, width):
    """Another member trashes the 12 photos the page was about to draw, between its read of the pairs and its read of
    the photos: the next 12 of the group are drawn (the page was a 500)."""
    import search.duplicate_selectors as selectors
    from django.utils import timezone

    from search.duplicate_selectors import DUPLICATES_SHOWN

    family, scans = blank_scans
    real = selectors.duplicate_groups

    def racing(**kwargs):
        groups = real(**kwargs)
        Photo.objects.filter(pk__in=groups.groups[0][:DUPLICATES_SHOWN]).update(trashed_at=timezone.now())
        return groups

    monkeypatch.setattr(selectors, "duplicate_groups", racing)
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        response = page.goto(live_server.url + f"/families/{family.pk}/duplicates/")
        assert response.status == 200
        assert page.locator(".duplicate-item").count() == DUPLICATES_SHOWN
        left = 40 - DUPLICATES_SHOWN
        assert page.get_by_text(f"…and {left - DUPLICATES_SHOWN} more like these, not shown ({left} photos in this "
                                "group).").is_visible()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.evaluate("() => document.querySelectorAll('.duplicate-thumb').forEach((i) => i.scrollIntoView())")
        page.wait_for_function("() => Array.from(document.querySelectorAll('.duplicate-thumb'))"
                               ".every((i) => i.complete && i.naturalWidth > 0)")
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=artifacts / f"duplicates-trashed-meanwhile-{width}.png", full_page=True)
        assert page.js_errors == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280])
def test_a_plain_member_moves_their_own_of_a_group_of_forty_and_the_api_says_the_same(live_server, browser, artifacts,
                                                                                    blank_scans, width):
    """bob, a plain member, uploaded 5 of the 28 photos of a group of 40 not drawn: the page (counts read by the
    selector the API shares) offers to move those 5 and says the other 23 are others'; the click moves his 5 only."""
    from django.test import Client

    from search.duplicate_selectors import DUPLICATES_SHOWN
    from tests.factories import api_token_key

    family, scans = blank_scans
    bob = UserFactory(username="bob")
    MembershipFactory(family=family, user=bob)
    his = [p.pk for p in scans[-5:]]
    Photo.objects.filter(pk__in=his).update(uploaded_by=bob)
    [group] = Client(headers={"Authorization": f"Token {api_token_key(bob)}"}).get(
        "/api/v1/duplicates/", {"family": family.pk}).json()["results"]
    assert group["more"] == {"photos": 40 - DUPLICATES_SHOWN, "to_trash": 5, "theirs": 23, "unlike": 0}
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "bob")
        page.goto(live_server.url + f"/families/{family.pk}/duplicates/")
        assert page.locator(".duplicate-item").count() == DUPLICATES_SHOWN
        assert page.get_by_label("Move the 5 of them that match the suggested keeper to the trash too").is_checked()
        assert page.get_by_text("23 of them only their uploader or a family admin can trash.").is_visible()
        assert page.locator(".duplicate-item input[type=checkbox]").count() == 0  # none drawn is his
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.evaluate("() => document.querySelectorAll('.duplicate-thumb').forEach((i) => i.scrollIntoView())")
        page.wait_for_function("() => Array.from(document.querySelectorAll('.duplicate-thumb'))"
                               ".every((i) => i.complete && i.naturalWidth > 0)")
        page.locator(".duplicate-more").scroll_into_view_if_needed()
        page.screenshot(path=artifacts / f"duplicates-plain-member-{width}.png", full_page=True)
        page.get_by_role("button", name="Move ticked to trash").click()
        assert page.get_by_text("Moved 5 photos to the trash.").is_visible()
        assert not Photo.objects.filter(pk__in=his).exists()
        assert Photo.objects.filter(pk__in=[p.pk for p in scans]).count() == 35
        assert page.js_errors == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [390])
def test_a_group_that_changed_after_the_page_was_drawn_moves_nothing(live_server, browser, artifacts, smiths, width):
    """A copy found after the page was drawn joins a group: its "Move ticked to trash" (no "and N more" box, a small
    group) moves nothing and the page says the group changed (the key was checked only with the box)."""
    from search.models import DuplicatePair

    family, groups = smiths
    first = groups[0]
    keeper = first[1]
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + f"/families/{family.pk}/duplicates/")
        late = photo_factory(family=family, user=first[0].uploaded_by, data=_jpeg_copy(
            shape_png("red", "circle", seed=40), 200), filename="IMG_0-late.jpg")
        DuplicatePair.objects.create(family=family, photo_a=keeper, photo_b=late, hash_distance=0)
        page.locator(f"#duplicates-{keeper.pk}").get_by_role("button", name="Move ticked to trash").click()
        assert page.get_by_text("This group changed since the page was shown (it now holds 4 photos): nothing was "
                                "changed.").is_visible()
        assert Photo.objects.filter(pk__in=[p.pk for p in first]).count() == 3
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.wait_for_function("() => Array.from(document.querySelectorAll('.duplicate-thumb'))"
                               ".every((i) => i.complete && i.naturalWidth > 0)")
        page.screenshot(path=artifacts / f"duplicates-group-changed-{width}.png", full_page=True)
        assert page.js_errors == []
    finally:
        context.close()


@pytest.mark.parametrize("width", [1280])
def test_the_dismissals_admin_undoes_a_whole_keep_all(live_server, browser, artifacts, smiths, width):
    """A family admin on staff: the Duplicate dismissals list shows each row's keep-all, and "Undo these keep-alls"
    on one row of a group kept deletes every row of it; the group is back on the review page."""
    from django.contrib.auth.models import Permission

    from search.duplicates import duplicates_dismiss_group, group_key
    from search.models import DuplicateDismissal

    family, groups = smiths
    alice = groups[0][0].uploaded_by
    alice.is_staff = True
    alice.save()
    alice.user_permissions.set(Permission.objects.filter(content_type__app_label="search",
                                                         codename__endswith="duplicatedismissal"))
    first = groups[0]
    duplicates_dismiss_group(user=alice, family=family, key=group_key(sorted(p.pk for p in first)))
    assert DuplicateDismissal.objects.count() == 3
    action = DuplicateDismissal.objects.values_list("action", flat=True).first()
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + "/admin/search/duplicatedismissal/")
        assert page.locator("#result_list tbody tr td.field-action", has_text=str(action)).count() == 3
        page.screenshot(path=artifacts / f"admin-dismissals-{width}.png", full_page=True)
        page.locator("#result_list tbody tr input.action-select").first.check()
        page.select_option("select[name=action]", "keep_alls_undo")
        page.get_by_role("button", name=re.compile("Go|Run")).click()
        page.get_by_text("3 dismissed pairs deleted: their photos may be grouped again.").wait_for(timeout=10_000)
        assert not DuplicateDismissal.objects.exists()
        page.screenshot(path=artifacts / f"admin-dismissals-undone-{width}.png", full_page=True)
        page.goto(live_server.url + f"/families/{family.pk}/duplicates/")
        assert page.locator(".duplicate-group").count() == 2
        assert page.js_errors == []
    finally:
        context.close()


@pytest.fixture
def flat_squares_and_a_copy(transactional_db):
    """A red, a green, a blue and a yellow square (one perceptual hash: the hash is of the grey picture) and a real
    copy pair (a picture and a smaller JPEG of it), found as the worker finds them."""
    from search.tests.test_duplicates_colours import SQUARES, flat_png

    family = FamilyFactory(name="Smiths")
    alice = UserFactory(username="alice")
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)
    for name, rgb in SQUARES.items():
        photo_factory(family=family, user=alice, data=flat_png(rgb), filename=f"{name}.png")
    picture = shape_png("blue", "circle", seed=7)
    copy = [photo_factory(family=family, user=alice, data=picture, filename="IMG_7.png"),
            photo_factory(family=family, user=alice, data=_jpeg_copy(picture, 240), filename="IMG_7.jpg")]
    duplicates_find(photo_ids=Photo.objects.values_list("pk", flat=True))
    return family, copy


@pytest.mark.parametrize("width", [390])
def test_flat_squares_of_four_colours_are_no_group_beside_a_real_copy(live_server, browser, artifacts,
                                                                      flat_squares_and_a_copy, width):
    family, (original, copy) = flat_squares_and_a_copy
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + f"/families/{family.pk}/duplicates/")
        assert page.locator(".duplicate-group").count() == 1
        assert {page.locator(".duplicate-item").nth(n).get_attribute("data-photo") for n in range(2)} == {
            str(copy.pk), str(original.pk)}
        assert page.get_by_text(re.compile(r"Same picture: perceptual hashes .*, mean colours")).first.is_visible()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        page.wait_for_function("() => Array.from(document.querySelectorAll('.duplicate-thumb'))"
                               ".every((i) => i.complete && i.naturalWidth > 0)")
        page.screenshot(path=artifacts / f"duplicates-flat-squares-{width}.png", full_page=True)
        assert page.js_errors == []
    finally:
        context.close()
