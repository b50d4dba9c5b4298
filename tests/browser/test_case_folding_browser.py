"""Names that fold alike in a real browser: Explore's one tile for "Straße" and "STRASSE" (two families' tags), the
Photos page it links to, the city filter "GIESSEN" finding Gießen, and a photo page's "New album…" named "STRASSE"
putting the photo in the family's album "Straße", at a desktop's and a phone's width."""

from __future__ import annotations

import re

import pytest

from gallery.album_services import album_create
from gallery.models import Album, Membership, Photo
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in, width_options
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]

TILES_LOADED = """(expected) => {
  const imgs = Array.from(document.querySelectorAll('.tile img'));
  return imgs.length === expected && imgs.every((img) => img.complete && img.naturalWidth > 0);
}"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_explore_and_the_photos_page_read_names_folded(live_server, browser, artifacts, width):
    smiths, joneses = FamilyFactory(name="Smiths"), FamilyFactory(name="Joneses")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=joneses, user=alice, role=Membership.Role.MEMBER)
    MembershipFactory(family=joneses, user=bob, role=Membership.Role.ADMIN)
    streets = [photo_factory(family=smiths, user=alice, tags=["Straße"]) for _ in range(2)]
    streets.append(photo_factory(family=joneses, user=bob, tags=["STRASSE"]))
    Photo.objects.filter(pk=streets[0].pk).update(place_city="Gießen", place_country="Germany",
                                                  place_country_code="DE", place_checked=True)

    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + "/explore/")
        tags = page.locator("a.tile", has_text=re.compile("Stra(ß|ss)e", re.IGNORECASE))
        assert tags.count() == 1 and "Straße" in tags.first.inner_text()
        page.screenshot(path=str(artifacts / f"fold-explore-{width}.png"), full_page=True)

        tags.first.click()
        page.wait_for_function(TILES_LOADED, arg=3)
        page.screenshot(path=str(artifacts / f"fold-tag-{width}.png"), full_page=True)

        page.goto(live_server.url + "/?city=GIESSEN")
        page.wait_for_function(TILES_LOADED, arg=1)
        assert page.locator(f"#photo-{streets[0].pk}").count() == 1
        page.screenshot(path=str(artifacts / f"fold-city-{width}.png"), full_page=True)
        assert not page.js_errors
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390])
def test_new_album_named_as_the_familys_album_folds_adds_to_it(live_server, browser, artifacts, width):
    """A photo page's "New album…" named "STRASSE" beside the family's "Straße" made a second album (names compared by
    PostgreSQL's upper()); the photo goes into "Straße", the message says no second was made. Another family's
    "STRASSE" is not the one found."""
    smiths, joneses = FamilyFactory(name="Smiths"), FamilyFactory(name="Joneses")
    alice, mallory = UserFactory(username="alice"), UserFactory(username="mallory")
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=joneses, user=mallory, role=Membership.Role.ADMIN)
    album_create(user=mallory, family=joneses, name="STRASSE")
    street = album_create(user=alice, family=smiths, name="Straße")
    photo = photo_factory(family=smiths, user=alice)

    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + photo.get_absolute_url())
        page.select_option("#add-to-album select[name=album]", "new")
        page.fill("#add-to-album input[name=name]", "STRASSE")
        page.screenshot(path=str(artifacts / f"fold-new-album-typed-{width}.png"), full_page=True)
        page.click("#add-to-album button[type=submit]")
        page.wait_for_load_state()
        said = page.locator("ul.messages").first.inner_text()
        assert "Added to the album “Straße” (Smiths had one of that name: no second was made)." in said, said
        page.screenshot(path=str(artifacts / f"fold-new-album-added-{width}.png"), full_page=True)
        assert Album.objects.filter(family=smiths).count() == 1
        assert list(street.photos.values_list("pk", flat=True)) == [photo.pk]
        assert not page.js_errors
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280])
def test_a_greek_tag_in_capitals_is_one_tile_and_a_familys_concept_saves_beside_the_shared_one(
        live_server, browser, artifacts, width):
    """"ταΐζω" and "ΤΑΪ́ΖΩ" (its capitals, "Ϊ" and a combining acute) fold to one key since the fold writes NFC again:
    one Explore tile. A family admin saves the family's concept "Straße" (the shared "STRASSE" beside it is another
    scope's, one name: search 0034's constraint and the form agree)."""
    from django.contrib.auth.models import Permission

    from search.models import TagConcept

    smiths, joneses = FamilyFactory(name="Smiths"), FamilyFactory(name="Joneses")
    sam, bob = UserFactory(username="sam", is_staff=True), UserFactory(username="bob")
    sam.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["gallery", "search"]))
    MembershipFactory(family=smiths, user=sam, role=Membership.Role.ADMIN)
    MembershipFactory(family=joneses, user=sam, role=Membership.Role.MEMBER)
    MembershipFactory(family=joneses, user=bob, role=Membership.Role.ADMIN)
    photo_factory(family=smiths, user=sam, tags=["ταΐζω"])
    photo_factory(family=joneses, user=bob, tags=["ΤΑΪ́ΖΩ"])
    TagConcept.objects.create(family=None, name="STRASSE")
    concept = TagConcept.objects.create(family=smiths, name="Straße", prompt="a street")

    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "sam")
        page.goto(live_server.url + "/explore/")
        tiles = page.locator("a.tile", has_text=re.compile("ταΐζω", re.IGNORECASE))
        assert tiles.count() == 1
        page.screenshot(path=str(artifacts / f"fold-greek-explore-{width}.png"), full_page=True)

        page.goto(live_server.url + f"/admin/search/tagconcept/{concept.pk}/change/")
        page.get_by_label("Enabled").uncheck()
        page.screenshot(path=str(artifacts / f"fold-concept-change-{width}.png"), full_page=True)
        page.locator("input[name=_save]").click()
        page.wait_for_url("**/admin/search/tagconcept/")
        assert "There is already" not in page.content()
        page.screenshot(path=str(artifacts / f"fold-concept-saved-{width}.png"), full_page=True)
        concept.refresh_from_db()
        assert not concept.enabled
        assert not page.js_errors
    finally:
        context.close()
