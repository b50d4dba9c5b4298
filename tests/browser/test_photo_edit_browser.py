"""In a real browser: editing a photo's title, tags and description in place. A refused edit shows why, in the
form (the view answers 422 with it, which htmx must swap in, not drop), on a phone and at desktop width."""

from __future__ import annotations

import pytest

from gallery.models import Photo
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, photo_edit_open, sign_in, width_options
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_a_refused_edit_says_why_and_a_fixed_one_saves(live_server, browser, artifacts, width):
    family = FamilyFactory(name="Smiths")
    alice = UserFactory(username="alice")
    MembershipFactory(family=family, user=alice)
    photo = photo_factory(family=family, user=alice)
    context, page = new_page(browser, viewport={"width": width, "height": 844})
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + photo.get_absolute_url())
        photo_edit_open(page)
        page.locator("#photo-meta input[name=title]").fill("Beach day")
        page.locator("#photo-meta input[name=tags]").fill(", ".join(f"tag{n}" for n in range(60)))
        page.get_by_role("button", name="Save").click()
        page.get_by_text("At most 50 tags per photo.").wait_for()
        assert page.locator("#photo-meta input[name=title]").input_value() == "Beach day"  # what was typed stays
        # The keyboard's focus is on the field to fix, whose error a screen reader then reads; it was on the title.
        assert page.evaluate("() => document.activeElement.matches('#photo-meta input[name=tags]')")
        assert "At most 50 tags" in page.evaluate(
            "() => document.getElementById(document.activeElement.getAttribute('aria-describedby').split(' ').pop())"
            ".textContent")
        page.screenshot(path=artifacts / f"photo-edit-refused-{width}.png", full_page=True)
        assert Photo.objects.get(pk=photo.pk).title != "Beach day"

        page.locator("#photo-meta input[name=tags]").fill("beach, sea")
        page.get_by_role("button", name="Save").click()
        page.get_by_role("link", name="Edit title, tags and description").wait_for()
        assert "Beach day" in page.locator("#photo-meta").inner_text()
        assert sorted(t.name for t in Photo.objects.get(pk=photo.pk).tags.all()) == ["beach", "sea"]
        assert page.js_errors == [] and [e for e in errors if "422" not in e] == [], errors
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, overflow
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390])
def test_two_members_editing_at_once_the_later_save_is_told_and_saves_on_a_second_click(
        live_server, browser, artifacts, width):
    family = FamilyFactory(name="Smiths")
    for name in ("alice", "bob"):
        MembershipFactory(family=family, user=UserFactory(username=name))
    photo = photo_factory(family=family, user=None, tags=["kids"])
    pages = {}
    try:
        for name in ("alice", "bob"):  # both open the form before either saves
            context, page = new_page(browser, viewport={"width": width, "height": 844})
            pages[name] = (context, page)
            sign_in(page, live_server, name)
            page.goto(live_server.url + photo.get_absolute_url())
            photo_edit_open(page)
            page.locator("#photo-meta input[name=title]").wait_for()
        alice, bob = pages["alice"][1], pages["bob"][1]
        alice.locator("#photo-meta input[name=title]").fill("Grandma's birthday")
        alice.locator("#photo-meta input[name=tags]").fill("kids, cake")
        alice.get_by_role("button", name="Save").click()
        alice.get_by_role("link", name="Edit title, tags and description").wait_for()

        bob.locator("#photo-meta input[name=title]").fill("Beach day")
        bob.locator("#photo-meta input[name=tags]").fill("kids, sea")
        bob.get_by_role("button", name="Save").click()
        bob.get_by_text("Someone else saved this photo while you were editing it.").wait_for()
        assert "“Grandma's birthday”, tags cake, kids" in bob.locator("#photo-meta").inner_text()
        assert bob.locator("#photo-meta input[name=title]").input_value() == "Beach day"
        bob.screenshot(path=artifacts / f"photo-edit-conflict-{width}.png", full_page=True)
        assert Photo.objects.get(pk=photo.pk).title == "Grandma's birthday"
        overflow = bob.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, overflow

        bob.get_by_role("button", name="Save").click()  # he has seen hers: now his stands
        bob.get_by_role("link", name="Edit title, tags and description").wait_for()
        assert "Beach day" in bob.locator("#photo-meta").inner_text()
        assert sorted(t.name for t in Photo.objects.get(pk=photo.pk).tags.all()) == ["kids", "sea"]
        assert alice.js_errors == [] and bob.js_errors == []
    finally:
        for context, _ in pages.values():
            context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_admins_tag_chooser_is_labelled_before_it_as_every_field(live_server, browser, artifacts, width):
    """A photo's admin page put its "Tags:" label after the tag chooser: Django's chooser script puts itself first in
    the field's box, which for Django's own choosers is a wrapper of their own and here held the label too; at desktop
    width the label sat right of the two lists, on a phone under them, beside "Family:", and read as that field's. The
    chooser has a box of its own now: the label stands left of it, or above it on a phone, as every field's does."""
    family = FamilyFactory(name="Smiths")
    alice = UserFactory(username="alice", is_staff=True, is_superuser=True)
    MembershipFactory(family=family, user=alice)
    photo = photo_factory(family=family, user=alice, tags=["Sea"])
    context, page = new_page(browser, viewport={"width": width, "height": 844})
    try:
        sign_in(page, live_server, "alice")
        page.goto(live_server.url + f"/admin/gallery/photo/{photo.pk}/change/")
        chooser = page.locator(".field-photo_tags .selector").bounding_box()
        label = page.locator(".field-photo_tags label[for='id_photo_tags']").bounding_box()
        page.screenshot(path=artifacts / f"admin-photo-tags-{width}.png", full_page=True)
        if width == 1280:
            assert label["x"] + label["width"] <= chooser["x"] and label["y"] < chooser["y"] + chooser["height"]
        else:
            assert label["y"] + label["height"] <= chooser["y"]
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280])
def test_a_tag_merged_while_the_form_is_open_is_not_made_again(live_server, browser, artifacts, width):
    """bob's form shows "Oma"; an admin merges "Oma" into "Grandma" meanwhile. His save is told the photo changed,
    keeping what he typed ("Oma, sea"); saving that again made "Oma" again, undoing the merge. It saves "Grandma, sea".
    The admin lists "Oma" among the tag names merged away."""
    from django.contrib.auth import get_user_model

    from gallery.models import Membership, Tag
    from gallery.services import tags_merge

    family = FamilyFactory(name="Smiths")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=family, user=bob)
    photo_factory(family=family, user=alice, filename="g.jpg", tags=["Grandma"])
    photo = photo_factory(family=family, user=alice, filename="p.jpg", tags=["Oma"])
    get_user_model().objects.create_superuser("root", "", "correct horse battery")
    context, page = new_page(browser, viewport={"width": width, "height": 844})
    try:
        sign_in(page, live_server, "bob")
        page.goto(live_server.url + photo.get_absolute_url())
        photo_edit_open(page)
        tags_merge(into=Tag.objects.get(family=family, name="Grandma"), tags=Tag.objects.filter(name="Oma"), user=alice)
        page.locator("#photo-meta input[name=tags]").fill("Oma, sea")
        page.get_by_role("button", name="Save").click()
        page.get_by_text("Someone else saved this photo while you were editing it").wait_for()
        assert page.locator("#photo-meta input[name=tags]").input_value() == "Oma, sea"
        page.get_by_role("button", name="Save").click()
        page.get_by_role("link", name="Edit title, tags and description").wait_for()
        page.screenshot(path=artifacts / f"photo-edit-merged-{width}.png", full_page=True)
        assert sorted(tag.name for tag in photo.tags.all()) == ["Grandma", "sea"]
        assert not Tag.objects.filter(name="Oma").exists()
        assert "Grandma" in page.locator("#photo-meta").inner_text() and page.js_errors == []

        context.close()
        context, page = new_page(browser, **width_options(width))
        sign_in(page, live_server, "root")
        page.goto(live_server.url + "/admin/gallery/tagmerge/")
        page.get_by_role("link", name="Oma").wait_for()
        page.screenshot(path=artifacts / f"admin-tag-merges-{width}.png", full_page=True)
        assert "Grandma" in page.locator("#result_list").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= width or width < 500
    finally:
        context.close()
