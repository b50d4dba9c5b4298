"""In a real browser, as the site administrator curates: albums (list, rename, a refused name, delete), the tags list's
order and its merge, and a photo's "Move to trash", at desktop and phone width."""

from __future__ import annotations

import re

import pytest

from gallery.album_services import album_add_photos, album_create
from gallery.models import Album, Membership, Photo
from gallery.trash_services import photos_trash
from tests.browser.conftest import CHROMIUM, HAVE_CHROMIUM, new_page, sign_in, width_options
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not HAVE_CHROMIUM, reason=f"chromium is not installed (looked for {CHROMIUM})"),
]


def _world():
    smiths = FamilyFactory(name="Smiths")
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    MembershipFactory(family=smiths, user=root, role=Membership.Role.ADMIN)
    photos = [photo_factory(family=smiths, user=root, filename=f"p{n}.jpg", tags=tags)
              for n, tags in enumerate([["Oma"], ["Oma"], ["Grandma", "Zoo"], ["apple"]])]
    photos_trash(user=root, photo_ids=[photos[1].pk])
    beach = album_create(user=root, family=smiths, name="Beach")
    album_add_photos(user=root, album=beach, photo_ids=[photos[0].pk, photos[2].pk, photos[3].pk])
    album_create(user=root, family=smiths, name="Dogs", search={"q": "dog"})
    return {"photos": photos, "beach": beach}


def _no_sideways_scroll(page) -> bool:
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_site_administrator_curates_albums_tags_and_photos(live_server, browser, artifacts, width):
    world = _world()
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "root")
        page.goto(live_server.url + "/admin/gallery/album/")
        assert page.locator("#result_list tbody tr").count() == 2
        beach_row = page.locator("#result_list tbody tr", has_text="Beach")
        assert beach_row.locator("td.field-photo_count").inner_text() == "3"
        assert "from its search" in page.locator("#result_list tbody tr", has_text="Dogs").inner_text()
        page.screenshot(path=artifacts / f"admin-albums-{width}.png", full_page=True)

        beach_row.get_by_role("link", name="Beach").click()
        page.wait_for_url("**/album/*/change/")
        page.fill("#id_name", "\u202eevil")
        page.locator("input[name=_save]").click()
        assert "direction overrides" in page.locator(".errorlist").first.inner_text()
        page.screenshot(path=artifacts / f"admin-album-refused-{width}.png", full_page=True)
        page.fill("#id_name", "Beach 2026")
        page.locator("input[name=_save]").click()
        page.wait_for_url("**/admin/gallery/album/")
        assert Album.objects.get(pk=world["beach"].pk).name == "Beach 2026"

        page.goto(live_server.url + f"/admin/gallery/album/{world['beach'].pk}/delete/")
        assert "its 3 photos stay in the family" in page.locator("#content").inner_text()
        page.screenshot(path=artifacts / f"admin-album-delete-{width}.png", full_page=True)
        page.get_by_role("button", name="Yes, I’m sure").click()
        page.wait_for_url("**/admin/gallery/album/")
        assert not Album.objects.filter(pk=world["beach"].pk).exists() and Photo.objects.count() == 3

        page.goto(live_server.url + "/admin/gallery/tag/")
        names = page.locator("#result_list tbody th a").all_inner_texts()
        assert names == ["apple", "Grandma", "Oma", "Zoo"]
        page.screenshot(path=artifacts / f"admin-tags-{width}.png", full_page=True)
        for name in ("Grandma", "Oma"):
            page.locator("#result_list tbody tr", has_text=name).locator("input.action-select").check()
        page.select_option("select[name=action]", "merge_selected")
        page.locator("button[name=index]").click()
        text = page.locator("#content").inner_text()
        assert "Grandma (1 photo)" in text and "Oma (1 photo, and 1 in the trash)" in text
        page.screenshot(path=artifacts / f"admin-tag-merge-{width}.png", full_page=True)
        page.get_by_label("Grandma (1 photo)").check()
        page.get_by_role("button", name="Merge").click()
        assert "1 photo carries it in its place" in page.locator(".messagelist").inner_text()
        page.screenshot(path=artifacts / f"admin-tag-merged-{width}.png", full_page=True)

        page.goto(live_server.url + f"/admin/gallery/photo/{world['photos'][3].pk}/change/")
        button = page.locator(".submit-row a.deletelink")
        assert button.inner_text() == "Move to trash"
        page.screenshot(path=artifacts / f"admin-photo-trash-button-{width}.png", full_page=True)
        button.click()
        page.wait_for_url("**/delete/")
        assert "Move the photo" in page.locator("#content").inner_text()
        assert _no_sideways_scroll(page)
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280])
def test_a_plain_member_on_staff_sorts_the_albums_by_name_and_sees_anothers_album_view_only(
        live_server, browser, artifacts, width):
    """The album list's name column sorts whatever the letter case ("Zoo" came before "apple"), and another member's
    album is shown view only, without the rename form's hidden "seen" drawn as a row "Seen: None"."""
    from django.contrib.auth.models import Permission

    smiths = FamilyFactory(name="Smiths")
    alice = UserFactory(username="alice")
    stan = UserFactory(username="stan", is_staff=True)
    stan.user_permissions.set(Permission.objects.filter(content_type__app_label="gallery"))
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=smiths, user=stan, role=Membership.Role.MEMBER)
    for name in ("Zoo", "apple", "Mango"):
        album_create(user=alice, family=smiths, name=name)
    album_create(user=stan, family=smiths, name="banana")
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "stan")
        page.goto(live_server.url + "/admin/gallery/album/?o=-1")
        assert page.locator("#result_list tbody th a").all_inner_texts() == ["Zoo", "Mango", "banana", "apple"]
        page.screenshot(path=artifacts / f"admin-albums-by-name-desc-{width}.png", full_page=True)
        # (on its word: the sort options' icons, floated over the header's link, take a tap at its middle)
        name_column = page.locator("#result_list thead th.column-album_name a", has_text="Name").first
        name_column.click(position={"x": 4, "y": 4})
        page.wait_for_url("**/album/?o=1")
        assert page.locator("#result_list tbody th a").all_inner_texts() == ["apple", "banana", "Mango", "Zoo"]
        page.screenshot(path=artifacts / f"admin-albums-by-name-{width}.png", full_page=True)

        page.get_by_role("link", name="Zoo").click()
        page.wait_for_url(re.compile(r"/album/\d+/change/"))  # (the list's order kept after it: ?_changelist_filters)
        text = page.locator("#content").inner_text()
        assert "View album" in text and "Seen" not in text and page.locator("input[name=_save]").count() == 0
        assert _no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"admin-album-view-only-{width}.png", full_page=True)
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390])
def test_a_family_admin_on_staff_sees_and_withdraws_the_share_links_of_their_familys_albums(
        live_server, browser, artifacts, width):
    """sam administers the Smiths (on staff with the gallery's permissions): the share links of their albums, each with
    its maker and state, never another family's; one opened read-only, then withdrawn with the list's action; the
    album's delete page counts the working links apart from the ended ones."""
    from django.contrib.auth.models import Permission

    from gallery.album_services import share_create, share_revoke
    from gallery.models import AlbumShare

    smiths, joneses = FamilyFactory(name="Smiths"), FamilyFactory(name="Joneses")
    sam, alice, mallory = UserFactory(username="sam", is_staff=True), UserFactory(username="alice"), \
        UserFactory(username="mallory")
    sam.user_permissions.set(Permission.objects.filter(content_type__app_label="gallery"))
    MembershipFactory(family=smiths, user=sam, role=Membership.Role.ADMIN)
    MembershipFactory(family=smiths, user=alice)
    MembershipFactory(family=joneses, user=mallory, role=Membership.Role.ADMIN)
    beach = album_create(user=alice, family=smiths, name="Beach days at Whitby, summer 2026")
    gran = share_create(user=alice, album=beach, days=30, note="Gran", password="sandcastle-9").share
    share_revoke(user=sam, share=share_create(user=sam, album=beach, days=7, note="the neighbours").share)
    share_create(user=mallory, album=album_create(user=mallory, family=joneses, name="Jones trip"), days=7,
                 note="for Aunt Jo")
    ann = UserFactory(username="ann")
    MembershipFactory(family=smiths, user=ann)
    share_create(user=ann, album=album_create(user=ann, family=smiths, name="Ann's garden"), days=7, note="Uncle Tom")
    Membership.objects.filter(family=smiths, user=ann).delete()  # (from a shell: her link ends with her)
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "sam")
        page.goto(live_server.url + "/admin/gallery/albumshare/")
        rows = page.locator("#result_list tbody tr")
        assert rows.count() == 3
        text = page.locator("#content").inner_text()
        assert "Jones trip" not in text and "Aunt Jo" not in text
        assert "Active" in rows.filter(has_text="Gran").inner_text()
        assert "Withdrawn" in rows.filter(has_text="the neighbours").inner_text()
        assert AlbumShare.ENDED_WITH_ITS_MAKER_LABEL in rows.filter(has_text="Uncle Tom").inner_text()
        page.screenshot(path=artifacts / f"admin-share-links-{width}.png", full_page=True)

        page.goto(live_server.url + f"/admin/gallery/albumshare/{gran.pk}/change/")
        text = page.locator("#content").inner_text()
        assert "Gran" in text and "alice" in text and page.locator("input[name=_save]").count() == 0
        assert page.locator(".field-withdrawn_at .readonly").inner_text() == "-"
        assert gran.token_hash not in page.content() and gran.password_hash not in page.content()
        assert _no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"admin-share-link-{width}.png", full_page=True)

        page.goto(live_server.url + f"/admin/gallery/album/{beach.pk}/delete/")
        assert "Share links: 1 working, 1 ended" in page.locator("#content").inner_text()
        page.screenshot(path=artifacts / f"admin-album-delete-share-links-{width}.png", full_page=True)

        page.goto(live_server.url + "/admin/gallery/albumshare/")
        page.locator("#result_list tbody tr", has_text="Gran").locator("input.action-select").check()
        page.select_option("select[name=action]", "withdraw_selected")
        page.locator("button[name=index]").click()
        assert "Withdrew 1 link." in page.locator(".messagelist").inner_text()
        assert "Withdrawn" in page.locator("#result_list tbody tr", has_text="Gran").inner_text()
        page.screenshot(path=artifacts / f"admin-share-links-withdrawn-{width}.png", full_page=True)
        assert AlbumShare.objects.get(pk=gran.pk).revoked_at is not None

        page.goto(live_server.url + f"/admin/gallery/albumshare/{gran.pk}/history/")
        assert "Withdrawn." in page.locator("#content").inner_text() and "sam" in page.locator("#content").inner_text()
        assert _no_sideways_scroll(page)
        page.screenshot(path=artifacts / f"admin-share-link-history-{width}.png", full_page=True)
        refused = page.goto(live_server.url + "/admin/gallery/albumshare/?password_hash__startswith=pbkdf2")
        assert refused.status == 400
        assert page.js_errors == []
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280])
def test_an_accounts_change_refused_at_its_save_says_the_refusal_alone(live_server, browser, artifacts, width):
    """The site administrator ticks bob's "Active" box and changes his email; bob, inactive, joins the Joneses, whose
    only admin can't sign in, after the form's check and before the save's (committed on another connection, at the
    save's first step: the form's check holds the families bob was in until the page's transaction ends, so a family
    joined meanwhile is the one change that can come between). The account's page says the refusal alone, that
    nothing was saved, and shows bob as he was. Screenshot: admin-user-save-refused-<width>.png."""
    import threading

    from django.contrib.auth import get_user_model
    from django.db import connection as joiners
    from django.db.backends.signals import connection_created

    from gallery.services import membership_add

    User = get_user_model()
    smiths, joneses = FamilyFactory(name="Smiths"), FamilyFactory(name="Joneses")
    UserFactory(username="root", is_staff=True, is_superuser=True)
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob", email="bob@old.example", is_active=False)
    MembershipFactory(family=smiths, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=smiths, user=bob)
    MembershipFactory(family=joneses, user=UserFactory(username="carol", is_active=False), role=Membership.Role.ADMIN)
    steps = []

    def join():
        try:
            membership_add(family=joneses, user=User.objects.get(pk=bob.pk))
        finally:
            joiners.close()

    def bob_joins_after_the_forms_check(execute, sql, params, many, context):
        if 'FROM "gallery_family"' in sql and "FOR UPDATE" in sql and not steps:
            steps.append("the form's check")
        elif sql.startswith("SAVEPOINT") and steps == ["the form's check"]:  # the save's user_active_set begins
            steps.append("joined")
            thread = threading.Thread(target=join)
            thread.start()
            thread.join(30)
        return execute(sql, params, many, context)

    context, page = new_page(browser, **width_options(width))
    sign_in(page, live_server, "root")
    page.goto(live_server.url + f"/admin/auth/user/{bob.pk}/change/")
    page.fill("#id_email", "bob@new.example")
    page.check("#id_is_active")

    def watch(sender, connection, **kwargs):
        connection.execute_wrappers.append(bob_joins_after_the_forms_check)

    connection_created.connect(watch)
    try:
        page.locator("input[name=_save]").click()
        page.wait_for_load_state()
    finally:
        connection_created.disconnect(watch)
    assert steps == ["the form's check", "joined"] and Membership.objects.filter(family=joneses, user=bob).exists()
    messages = page.locator("ul.messagelist").inner_text()
    assert "Nothing was saved: bob was not made active: bob is in Joneses" in messages, messages
    assert "successfully" not in messages
    assert page.locator("#id_email").input_value() == "bob@old.example" and not page.locator("#id_is_active").is_checked()
    page.screenshot(path=artifacts / f"admin-user-save-refused-{width}.png", full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1")
    bob = User.objects.get(pk=bob.pk)
    assert not bob.is_active and bob.email == "bob@old.example"
    context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390])
def test_a_family_admin_merges_a_tag_and_ticks_its_concept_on_again_as_the_name_kept(
        live_server, browser, artifacts, width):
    """A family admin on staff merges "puppy" into "dog" in the tags list; the concepts list shows the shared
    "puppy" unticked for the family, "Merged into: dog"; its page says what ticking it on does, and ticked on it
    suggests "dog"."""
    from django.contrib.auth.models import Permission
    from django.db.models.functions import Lower

    from search.models import TagConcept
    from search.suggestions import vocabularies

    smiths = FamilyFactory(name="Smiths")
    sam = UserFactory(username="sam", is_staff=True)
    sam.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["gallery", "search"]))
    MembershipFactory(family=smiths, user=sam, role=Membership.Role.ADMIN)
    TagConcept.objects.annotate(key=Lower("name")).filter(key__in=["puppy", "dog"]).delete()  # (the seed's)
    TagConcept.objects.create(family=None, name="puppy", prompt="a young dog")
    photo_factory(family=smiths, user=sam, filename="p.jpg", tags=["puppy"])
    photo_factory(family=smiths, user=sam, filename="d.jpg", tags=["dog"])
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "sam")
        page.goto(live_server.url + "/admin/gallery/tag/")
        for name in ("dog", "puppy"):
            page.locator("#result_list tbody tr", has_text=name).locator("input.action-select").check()
        page.select_option("select[name=action]", "merge_selected")
        page.locator("button[name=index]").click()
        assert "ticked on again, it suggests that name" in page.locator("#content").inner_text()
        page.get_by_label("dog (1 photo)").check()
        page.screenshot(path=artifacts / f"admin-concept-merge-page-{width}.png", full_page=True)
        page.get_by_role("button", name="Merge").click()
        assert "1 photo carries it in its place" in page.locator(".messagelist").inner_text()

        page.goto(live_server.url + "/admin/search/tagconcept/?q=puppy")
        rows = page.locator("#result_list tbody tr")
        row = rows.filter(has=page.locator("td.field-scope", has_text=re.compile(r"^Smiths$")))
        assert "dog" in row.locator("td.field-merged_into").inner_text()
        shared = rows.filter(has=page.locator("td.field-scope", has_text="every family"))
        assert shared.locator("td.field-scope").inner_text() == "every family but Smiths (its own entry)"
        page.screenshot(path=artifacts / f"admin-concepts-merged-{width}.png", full_page=True)
        row.locator("th a").click()
        page.wait_for_url("**/tagconcept/*/change/**")
        help_text = page.locator("#id_merged_into_helptext").inner_text()
        assert "was merged into “dog”: ticked, this concept suggests “dog”" in help_text
        page.get_by_label("Enabled").check()
        page.screenshot(path=artifacts / f"admin-concept-tick-on-{width}.png", full_page=True)
        page.locator("input[name=_save]").click()
        page.wait_for_url("**/admin/search/tagconcept/**")
        assert TagConcept.objects.get(family=smiths, name="puppy").enabled  # (Save ticked it on)
        TagConcept.objects.filter(family=smiths, name="dog").delete()  # (the merge's "dog" aside: the entry's)
        ours = {concept.name for concept in vocabularies([smiths.pk])[smiths.pk] if concept.text == "a young dog"}
        assert ours == {"dog"}, ours
        assert _no_sideways_scroll(page)
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280, 390])
def test_the_concepts_list_reads_on_a_phone_without_scrolling_sideways(live_server, browser, artifacts, width):
    """The suggested-tag concepts list has six columns (a prompt may be long): on a phone it scrolled sideways inside
    Django's results box, the prompt, the family using it and the merge off screen. On a phone each concept is a
    block of its own now, each value under its column's name; on a desktop it is the table it was."""
    from search.models import TagConcept

    smiths = FamilyFactory(name="Smiths")
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    MembershipFactory(family=smiths, user=root, role=Membership.Role.ADMIN)
    TagConcept.objects.create(family=smiths, name="Grandma’s garden",
                              prompt="a garden with roses, a greenhouse and an old wooden bench in summer")
    TagConcept.objects.create(family=smiths, name="puppy", prompt="a young dog", enabled=False, merged_into="dog")
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "root")
        page.goto(live_server.url + "/admin/search/tagconcept/?q=garden")
        page.screenshot(path=artifacts / f"admin-concepts-list-{width}.png", full_page=True)
        results = page.locator("#changelist .results")
        assert results.evaluate("box => box.scrollWidth <= box.clientWidth + 1")
        assert _no_sideways_scroll(page)
        row = page.locator("#result_list tbody tr").first
        prompt = row.locator("td.field-prompt")
        assert "old wooden bench in summer" in prompt.inner_text()
        box = prompt.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        assert row.locator("td.field-scope").bounding_box()["x"] + 10 <= width
        if width < 500:  # each value said with its column's name, as the header row above it is no longer beside it
            assert page.evaluate("() => getComputedStyle(document.querySelector("
                                 "'#result_list td.field-prompt'), '::before').content") == '"Prompt"'
        page.goto(live_server.url + "/admin/search/tagconcept/?q=puppy")
        page.screenshot(path=artifacts / f"admin-concepts-list-merged-{width}.png", full_page=True)
        assert "dog" in page.locator("#result_list td.field-merged_into").inner_text()
        assert _no_sideways_scroll(page)
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [1280])
def test_a_staff_member_merges_only_the_tags_of_a_family_they_administer(live_server, browser, artifacts, width):
    """Stan administers the Browns and is a plain member of the Smiths: "Merge the selected tags" is offered him (for
    the Browns' tags), and a selection of the Smiths' tags is refused, saying whose, nothing merged."""
    from django.contrib.auth.models import Permission

    from gallery.models import Tag

    smiths, browns = FamilyFactory(name="Smiths"), FamilyFactory(name="Browns")
    stan = UserFactory(username="stan", is_staff=True)
    stan.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["gallery", "search"]))
    MembershipFactory(family=smiths, user=stan, role=Membership.Role.MEMBER)
    MembershipFactory(family=browns, user=stan, role=Membership.Role.ADMIN)
    photo_factory(family=smiths, user=stan, filename="s.jpg", tags=["Oma", "Grandma"])
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "stan")
        page.goto(live_server.url + "/admin/gallery/tag/")
        for name in ("Grandma", "Oma"):
            page.locator("#result_list tbody tr", has_text=name).locator("input.action-select").check()
        page.select_option("select[name=action]", "merge_selected")
        page.locator("button[name=index]").click()
        message = page.locator(".messagelist .error").inner_text()
        assert "Only a family’s admins merge its tags" in message and "not Smiths" in message
        page.screenshot(path=artifacts / f"admin-tags-merge-refused-{width}.png", full_page=True)
        assert Tag.objects.filter(family=smiths).count() == 2
        assert _no_sideways_scroll(page)
    finally:
        context.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390])
def test_a_plain_members_rename_of_a_tag_with_a_concept_is_refused_on_its_page(live_server, browser, artifacts, width):
    """Stan is a plain member of the Smiths: renaming their "puppy" (a concept of theirs) would move their suggestion
    vocabulary, refused on the tag's page, the name kept; their "Kowalski" (no concept) he renames."""
    from django.contrib.auth.models import Permission

    from gallery.models import Tag
    from search.models import TagConcept

    smiths = FamilyFactory(name="Smiths")
    stan = UserFactory(username="stan", is_staff=True)
    stan.user_permissions.set(Permission.objects.filter(content_type__app_label__in=["gallery", "search"]))
    MembershipFactory(family=smiths, user=stan, role=Membership.Role.MEMBER)
    TagConcept.objects.create(family=smiths, name="puppy", prompt="a young dog")
    photo_factory(family=smiths, user=stan, filename="s.jpg", tags=["puppy", "Kowalski"])
    puppy, kowalski = (Tag.objects.get(family=smiths, name=name) for name in ("puppy", "Kowalski"))
    context, page = new_page(browser, **width_options(width))
    try:
        sign_in(page, live_server, "stan")
        page.goto(live_server.url + f"/admin/gallery/tag/{puppy.pk}/change/")
        page.fill("input[name=name]", "dog")
        page.locator("input[name=_save]").click()
        message = page.locator(".messagelist .error").inner_text()
        assert "Only the family’s admins rename or merge a tag that has a suggestion concept" in message
        assert page.locator("input[name=name]").input_value() == "puppy"
        page.screenshot(path=artifacts / f"admin-tag-rename-refused-{width}.png", full_page=True)
        assert _no_sideways_scroll(page)
        page.goto(live_server.url + f"/admin/gallery/tag/{kowalski.pk}/change/")
        page.fill("input[name=name]", "Kowalscy")
        page.locator("input[name=_save]").click()
        assert "was changed successfully" in page.locator(".messagelist").inner_text()
        assert Tag.objects.get(pk=kowalski.pk).name == "Kowalscy" and Tag.objects.get(pk=puppy.pk).name == "puppy"
    finally:
        context.close()
