"""Every page works on a phone: at 390 × 844 (mobile emulation, touch, 2× pixels) nothing overflows sideways,
the menu and the search filters fold, an open explain panel stays on the screen, and controls are at least
40 px tall. Widths are compared with 390, never with innerWidth: under mobile emulation the browser zooms out
to fit a wider page and innerWidth grows with it, so a check against innerWidth could not fail.
Screenshots of every page, at phone and desktop width, go to test-artifacts/ (mobile-*.png, desktop-*.png)."""

from __future__ import annotations

import pytest

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

PHONE_WIDTH = 390
PHONE = {"viewport": {"width": PHONE_WIDTH, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
DESKTOP_WIDTH = 1280
DESKTOP = {"viewport": {"width": DESKTOP_WIDTH, "height": 800}}

# What sticks out past `limit` CSS pixels: the document itself, or any visible control or panel.
OVERFLOW = """(limit) => {
  const problems = [];
  const doc = document.documentElement;
  if (doc.scrollWidth > limit) problems.push(`document scrollWidth ${doc.scrollWidth}`);
  const selector = 'a, button, input:not([type=hidden]), select, textarea, summary, label, img, .card, table, .explain[open], .menu-body';
  for (const el of document.querySelectorAll(selector)) {
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > limit + 0.5 || r.left < -0.5) {
      const name = el.tagName.toLowerCase() + (el.className ? '.' + String(el.className).trim().replace(/\\s+/g, '.') : '');
      problems.push(`${name} "${(el.innerText || el.value || el.name || '').trim().slice(0, 30)}" spans ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  return problems;
}"""

# Controls a finger must hit that are shorter than 40 CSS pixels.
SMALL_TARGETS = """() => {
  const selector = 'nav a, button, .button, summary, select, label.choice, '
    + 'input:not([type=hidden]):not([type=radio]):not([type=checkbox])';
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    if (r.height < 40) small.push(`${el.tagName.toLowerCase()} "${(el.innerText || el.name || '').trim().slice(0, 30)}" is ${r.height.toFixed(1)} px tall`);
  }
  return small;
}"""

# Radio buttons and checkboxes that a long label beside them squeezed out of shape (a flex row gives the label the room
# and shrinks the box: a family's radio on the upload page was drawn 13 px wide and 18 px tall, an oval).
SQUEEZED = """() => {
  const squeezed = [];
  for (const el of document.querySelectorAll('input[type=radio], input[type=checkbox]')) {
    if (!el.checkVisibility({ visibilityProperty: true })) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0) continue;
    if (Math.abs(r.width - r.height) > 1) squeezed.push(`${el.type} ${el.name}=${el.value} is ${r.width.toFixed(1)} × ${r.height.toFixed(1)} px`);
  }
  return squeezed;
}"""

ALL_IMAGES_LOADED = """(selector) => {
  const imgs = Array.from(document.querySelectorAll(selector));
  return imgs.length > 0 && imgs.every((img) => img.complete && img.naturalWidth > 0);
}"""


def _add_shape(family, user, colour: str, shape: str, seed: int, **kwargs) -> Photo:
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=shape_png(colour, shape, seed=seed),
                                     filename=f"{colour}-{shape}.png", **kwargs)
    assert result.outcome == UploadResult.SAVED, result.reason
    return result.photo


def _check(page, width: int, name: str, artifacts, prefix: str) -> None:
    page.screenshot(path=artifacts / f"{prefix}-{name}.png", full_page=True)
    assert page.evaluate(OVERFLOW, width) == [], f"{name} overflows {width} px"
    if prefix == "mobile":
        assert page.evaluate(SMALL_TARGETS) == [], f"{name}: tap targets under 40 px"
        assert page.evaluate(SQUEEZED) == [], f"{name}: boxes squeezed out of shape"


def _signed_in_page(browser, live_server, options: dict):
    context, page = new_page(browser, **options)
    missing: list[str] = []  # e.g. a favicon the page points at but the site does not have
    page.on("response", lambda response: missing.append(response.url) if response.status == 404 else None)
    page.missing = missing
    sign_in(page, live_server, "grandma")
    return context, page


def _make_gallery():
    """Two families with long names, a few embedded shapes (one with a long name and many tags)."""
    hendersons = FamilyFactory(name="The Hendersons of Little Whinging-on-the-Marsh")
    # One word longer than a phone is wide (QA: a compound name, a pasted link): it breaks instead of widening the page.
    cousins = FamilyFactory(name="Großelternseitederfamiliewhingingonthemarsh")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=hendersons, user=grandma, role=Membership.Role.ADMIN)
    MembershipFactory(family=cousins, user=grandma)
    MembershipFactory(family=hendersons, user=UserFactory(username="grandchild_with_a_rather_long_username"))
    photos = [_add_shape(hendersons, grandma, colour, shape, seed=n)
              for n, (colour, shape) in enumerate([("red", "circle"), ("red", "circle"), ("blue", "square"),
                                                   ("green", "triangle"), ("yellow", "circle"), ("red", "square")])]
    long_one = photo_create_from_bytes(
        family=hendersons, uploaded_by=grandma, data=shape_png("red", "triangle", seed=50),
        filename="IMG_20240812_183455_HDR_Portrait_Mode_Extremely_Long_Filename_From_A_Phone.png",
        # A tag may be one word of 64 characters (underscores, no spaces): it wraps inside its pill.
        tags=["birthday", "garden party", "summer holidays", "grandchildren", "cake",
              "grandmas_ninetieth_birthday_at_the_lake_house_with_the_cousins"],
        description="A very long description " * 10 + "https://example.com/albums/2024/gardenparty/photos/fullsize/IMG20240812183455.jpg",
    ).photo
    Photo.objects.filter(pk=long_one.pk).update(title="Grandmothersninetiethbirthdaycelebrationinthegarden")
    run_queued_tasks()
    return hendersons, photos, long_one


def _visit_every_page(page, live_server, width: int, prefix: str, artifacts, hendersons, photos, long_one) -> None:
    base = live_server.url

    page.goto(base + "/")
    page.wait_for_function(ALL_IMAGES_LOADED, arg=".tile img")
    _check(page, width, "timeline", artifacts, prefix)

    page.goto(base + "/search/?q=red+circle")
    page.wait_for_function(ALL_IMAGES_LOADED, arg="#results .tile img")
    _check(page, width, "search", artifacts, prefix)
    # Open the explanation of a result in the right-hand column: the one most likely to run off the screen.
    results = page.locator("#results .result")
    rightmost = max(range(results.count()), key=lambda i: results.nth(i).bounding_box()["x"])
    results.nth(rightmost).locator("details.explain summary").click()
    panel = results.nth(rightmost).locator("details.explain[open]")
    assert panel.is_visible()
    box = panel.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["width"] > 250
    _check(page, width, "search-explain", artifacts, prefix)
    # One explanation at a time: opening another closes the first (on a phone they would stack up).
    # (Opened by script: on a phone the open sheet covers the other tiles, as it should.)
    other = 0 if rightmost else 1
    results.nth(other).locator("details.explain").evaluate("(details) => { details.open = true; }")
    page.wait_for_function("() => document.querySelectorAll('details.explain[open]').length === 1")
    assert results.nth(other).locator("details.explain").get_attribute("open") is not None
    results.nth(other).locator("details.explain").evaluate("(details) => { details.open = false; }")

    page.goto(base + long_one.get_absolute_url())
    page.wait_for_function(ALL_IMAGES_LOADED, arg=".photo-view img")
    _check(page, width, "photo", artifacts, prefix)

    page.goto(base + "/upload/")
    page.set_input_files("#file-input", files=[
        {"name": "IMG_20240812_183455_HDR_Portrait_Mode_Long_Name.jpg", "mimeType": "image/jpeg",
         "buffer": shape_png("blue", "circle", seed=7)},
    ])
    _check(page, width, "upload", artifacts, prefix)

    page.goto(base + "/families/")
    _check(page, width, "families", artifacts, prefix)
    page.goto(base + hendersons.get_absolute_url())
    _check(page, width, "family", artifacts, prefix)

    page.goto(base + "/search/preferences/?preview_q=red")
    _check(page, width, "preferences", artifacts, prefix)

    page.goto(base + "/indexing/")
    _check(page, width, "index", artifacts, prefix)

    page.goto(base + f"/search/quality/{hendersons.pk}/")  # the families' switch: one name is a single long word
    _check(page, width, "quality", artifacts, prefix)


@pytest.mark.django_db(transaction=True)
def test_every_page_fits_a_390_px_phone(live_server, browser, artifacts, toy_model):
    hendersons, photos, long_one = _make_gallery()

    anonymous = browser.new_context(**PHONE)
    signin = anonymous.new_page()
    signin.goto(live_server.url + "/accounts/login/")
    _check(signin, PHONE_WIDTH, "signin", artifacts, "mobile")
    anonymous.close()

    context, page = _signed_in_page(browser, live_server, PHONE)

    # The menu folds behind one control, opens on a tap, and its links are finger-sized and on the screen.
    nav = page.locator("header nav")
    assert not nav.is_visible()
    menu = page.locator("details.menu > summary")
    assert menu.is_visible() and menu.bounding_box()["height"] >= 40
    menu.tap()
    assert nav.is_visible()
    assert page.get_by_role("link", name="Upload", exact=True).is_visible()
    _check(page, PHONE_WIDTH, "menu-open", artifacts, "mobile")
    page.get_by_role("link", name="Upload", exact=True).tap()
    page.wait_for_url(live_server.url + "/upload/")

    # The search filters fold behind "Filters".
    page.goto(live_server.url + "/search/?q=red+circle")
    family_filter = page.locator("#search-form select[name=family]")
    assert not family_filter.is_visible()
    page.locator("details.filters-fold > summary", has_text="Filters").tap()
    assert family_filter.is_visible()
    _check(page, PHONE_WIDTH, "search-filters", artifacts, "mobile")

    _visit_every_page(page, live_server, PHONE_WIDTH, "mobile", artifacts, hendersons, photos, long_one)
    assert page.js_errors == [] and page.missing == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_desktop_keeps_the_menu_and_filters_open(live_server, browser, artifacts, toy_model):
    hendersons, photos, long_one = _make_gallery()
    context, page = _signed_in_page(browser, live_server, DESKTOP)

    assert not page.locator("details.menu > summary").is_visible()
    assert page.locator("header nav").is_visible()
    page.goto(live_server.url + "/search/?q=red+circle")
    assert not page.locator("details.filters-fold > summary").is_visible()
    assert page.locator("#search-form select[name=family]").is_visible()

    _visit_every_page(page, live_server, DESKTOP_WIDTH, "desktop", artifacts, hendersons, photos, long_one)
    assert page.js_errors == [] and page.missing == []
    context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [PHONE_WIDTH, DESKTOP_WIDTH])
def test_upload_results_naming_a_photo_with_a_long_title_fit_the_page(live_server, browser, artifacts, width):
    """A duplicate's row says "Already in Smiths as “<title>”": the title of a photo uploaded as a 250-character
    file name is one word that long, and it ran off the row, widening the page to 2,235 px on a phone (QA)."""
    family = FamilyFactory(name="Smiths")
    MembershipFactory(family=family, user=UserFactory(username="grandma"), role=Membership.Role.ADMIN)
    data = shape_png("red", "circle", seed=3)
    long_name = "L" * 246 + ".png"
    _add_shape(family, family.memberships.get().user, "red", "circle", seed=3)  # the same bytes are in the family
    Photo.objects.filter(family=family).update(title=long_name[:-4], original_filename=long_name)
    context, page = _signed_in_page(browser, live_server, PHONE if width == PHONE_WIDTH else DESKTOP)

    page.goto(live_server.url + "/upload/")
    page.set_input_files("#file-input", files=[{"name": long_name, "mimeType": "image/png", "buffer": data}])
    page.locator("#upload-button").click()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent.includes('1 of 1 done')")
    assert page.locator("#upload-list li").get_attribute("data-outcome") == "duplicate"
    _check(page, width, "upload-duplicate-long-title", artifacts, "mobile" if width == PHONE_WIDTH else "desktop")
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_explore_lists_the_rest_by_name_in_finger_sized_rows(live_server, browser, artifacts):
    """Explore shows 24 tiles of a kind and lists the rest by name behind "N more tags": at 390 px that summary was
    23 px tall and each name a 19 px line, under the 40 px a finger needs (the rule of every page here). They are
    finger-sized now, and nothing sticks out."""
    from gallery.services import photo_tags_add
    from gallery.models import PhotoTag

    family = FamilyFactory(name="Hendersons")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role=Membership.Role.ADMIN)
    photo = _add_shape(family, grandma, "red", "circle", seed=1)
    photo_tags_add(photo=photo, names=[f"cousin {n:02d} from the lake house" for n in range(30)],
                   source=PhotoTag.Source.MEMBER)
    context, page = _signed_in_page(browser, live_server, PHONE)
    page.goto(live_server.url + "/explore/")
    rest = page.locator("details.explore-rest > summary")
    assert rest.inner_text().strip() == "6 more tags"
    rest.tap()
    names = page.locator("details.explore-rest[open] li a")
    assert names.count() == 6
    _check(page, PHONE_WIDTH, "explore-rest", artifacts, "mobile")
    assert min(names.nth(n).bounding_box()["height"] for n in range(6)) >= 40
    assert page.js_errors == []
    context.close()


# The fields on the page whose text is under 16 px, and the number fields drawn otherwise than a text field.
SMALL_FIELDS = """() => {
  const fields = [...document.querySelectorAll(
    'input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=range]):not([type=file]), select, textarea')]
    .filter((el) => el.checkVisibility({ visibilityProperty: true }));
  const text = fields.find((el) => el.type === 'text');
  const look = (el) => { const s = getComputedStyle(el); return [s.borderTopColor, s.borderRadius, s.fontFamily].join(' '); };
  return fields.flatMap((el) => {
    const name = `${el.tagName.toLowerCase()}[${el.type}] ${el.name}`;
    const size = parseFloat(getComputedStyle(el).fontSize);
    return [...(size < 16 ? [`${name}: ${size} px`] : []),
            ...(el.type === 'number' && text && look(el) !== look(text) ? [`${name}: drawn as ${look(el)}`] : [])];
  });
}"""


@pytest.mark.django_db(transaction=True)
def test_fields_on_a_phone_are_16_px_so_tapping_one_does_not_zoom_the_page(live_server, browser, artifacts):
    """On a phone the fields of a photo's "Correct what the camera got wrong" (day, time, shift, place, latitude,
    longitude) and of the search filters were 13-14 px: an iPhone zooms the page in when such a field gets the focus
    and leaves it zoomed, wider than the screen, so a grandparent correcting a date had to pinch back out after each
    field; the number fields (shift by, latitude, longitude) were not drawn as the other fields either (the browser's
    own smaller font and darker border). Every field reads at 16 px on a phone, and number fields look like the rest."""
    family = FamilyFactory(name="Hendersons")
    grandma = UserFactory(username="grandma")
    MembershipFactory(family=family, user=grandma, role=Membership.Role.ADMIN)
    photo = _add_shape(family, grandma, "red", "circle", seed=1)
    context, page = _signed_in_page(browser, live_server, PHONE)

    page.goto(live_server.url + f"/photos/{photo.pk}/")
    assert page.evaluate(SMALL_FIELDS) == []
    page.goto(live_server.url + "/search/?q=red")
    page.locator("details.filters-fold > summary").tap()
    assert page.evaluate(SMALL_FIELDS) == []
    _check(page, PHONE_WIDTH, "search-filters-open", artifacts, "mobile")
    assert page.js_errors == []
    context.close()


@pytest.mark.django_db(transaction=True)
def test_the_upload_summary_names_the_files_not_kept_so_a_phone_need_not_scroll_for_them(live_server, browser,
                                                                                         artifacts):
    """A grandparent chose 12 photos and the 2 videos the phone's picker put among them: the summary said "14 of 14
    done; 2 rejected (why is under each)", and which two, and why, were rows far down a list 12 screens long on a
    phone. The summary names the files not kept (the first ten, then how many more); each row still says why."""
    family = FamilyFactory(name="Smiths")
    MembershipFactory(family=family, user=UserFactory(username="grandma"), role=Membership.Role.ADMIN)
    context, page = _signed_in_page(browser, live_server, PHONE)
    photos = [{"name": f"IMG_{n:04d}.JPG", "mimeType": "image/png", "buffer": shape_png("red", "circle", seed=n)}
              for n in range(12)]
    videos = [{"name": "IMG_5003.MOV", "mimeType": "video/quicktime",
               "buffer": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  " + b"\x00" * 40},
              {"name": "VID_5004.mp4", "mimeType": "video/mp4",
               "buffer": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 40}]

    page.goto(live_server.url + "/upload/")
    page.set_input_files("#file-input", files=photos[:6] + videos[:1] + photos[6:] + videos[1:])
    page.locator("#upload-button").tap()
    page.wait_for_function("() => document.getElementById('upload-progress').textContent.includes('14 of 14 done')")

    assert page.locator("#upload-progress").inner_text() == (
        "14 of 14 done; 2 rejected, not kept: IMG_5003.MOV, VID_5004.mp4 (why is under each).")
    assert page.locator("#upload-progress").bounding_box()["y"] < 844  # on the first screen, with the button
    _check(page, PHONE_WIDTH, "upload-videos-named", artifacts, "mobile")
    assert page.js_errors == []
    context.close()
