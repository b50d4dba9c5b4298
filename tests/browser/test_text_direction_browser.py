"""In a real browser: people's text stored with a direction override before overrides were refused (gallery.text)
shows without it and inside an isolate, so its letters read as typed and the text after it on the page (the count
after an album's name, a search's summary, the message quoting a title) keeps its order. 1280 and 390 px."""

from __future__ import annotations

import pytest

from gallery.album_services import album_add_photos, album_create
from gallery.models import Album, Membership, Photo
from search.tests.conftest import toy_model  # noqa: F401 (a fixture)
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in, width_options
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]

RLO = "\u202e"

# The left edge of each letter of the first `word` in the text under `selector`, in the order the letters are stored.
LETTER_EDGES = """([selector, word]) => {
  const walk = document.createTreeWalker(document.querySelector(selector), NodeFilter.SHOW_TEXT);
  for (let node = walk.nextNode(); node; node = walk.nextNode()) {
    const at = node.data.indexOf(word);
    if (at < 0) continue;
    return [...word].map((_, k) => {
      const range = document.createRange(); range.setStart(node, at + k); range.setEnd(node, at + k + 1);
      return range.getBoundingClientRect().left;
    });
  }
  return null;
}"""


def reads_in_order(page, selector: str, word: str) -> bool:
    edges = page.evaluate(LETTER_EDGES, [selector, word])
    assert edges, f"{word!r} not in {selector}"
    return all(a < b for a, b in zip(edges, edges[1:]))


@pytest.fixture
def stored_before(transactional_db):
    family = FamilyFactory(name="Smiths")
    alice = UserFactory(username="alice")
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)
    photos = [photo_factory(family=family, user=alice, tags=["beach"], filename=f"beach-{n}.jpg") for n in range(2)]
    Photo.objects.filter(pk=photos[0].pk).update(title=f"{RLO}evil")
    album = album_create(user=alice, family=family, name="Trip")
    album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in photos])
    Album.objects.filter(pk=album.pk).update(name=f"{RLO}pirT")
    return photos[0], album


def test_the_check_sees_an_override_left_in(browser):
    context, page = new_page(browser)
    page.set_content(f"<p>Moved “{RLO}evil” to the trash</p>")
    assert not reads_in_order(page, "p", "trash")
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_text_stored_with_an_override_reads_as_typed_and_leaves_the_page_around_it_alone(
        browser, live_server, artifacts, stored_before, toy_model, width):
    photo, album = stored_before
    context, page = new_page(browser, **width_options(width))
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server.url}{photo.get_absolute_url()}")
    assert reads_in_order(page, "h1.photo-title", "evil")
    page.goto(f"{live_server.url}{album.get_absolute_url()}")
    assert reads_in_order(page, "main h1", "pirT") and reads_in_order(page, "main", "photos")
    page.screenshot(path=artifacts / f"direction-album-{width}.png", full_page=True)
    page.goto(f"{live_server.url}/search/?q=beach")
    assert reads_in_order(page, "main", "evil") and reads_in_order(page, "main", "beach")
    page.screenshot(path=artifacts / f"direction-search-{width}.png", full_page=True)
    page.goto(f"{live_server.url}{photo.get_absolute_url()}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("form[action$='/delete/'] button[type=submit]").first.click()
    page.wait_for_selector(".messages")
    assert reads_in_order(page, ".messages", "trash") and reads_in_order(page, ".messages", "restored")
    page.screenshot(path=artifacts / f"direction-trashed-{width}.png", full_page=True)
    assert page.js_errors == []
    context.close()
