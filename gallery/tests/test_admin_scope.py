"""The Django admin: superusers see everything; staff without superuser see only the families they belong to,
with add, change and delete limited the same way, whatever model permissions they were given. Every other
admin (the program's own queues, tokens, groups, the task queue) is for superusers only."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from gallery.account_services import invite_create
from gallery.models import Album, Family, Invite, Membership, Photo, Tag
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory

pytestmark = pytest.mark.django_db

User = get_user_model()


@dataclass
class World:
    smiths: Family
    joneses: Family
    sam: object  # staff, admin of the Smiths, every model permission
    alice: object  # Smith
    mallory: object  # Jones only
    smith_photo: Photo
    jones_photo: Photo
    smith_tag: Tag
    jones_tag: Tag


@pytest.fixture
def world(db) -> World:
    smiths, joneses = FamilyFactory(name="Smiths"), FamilyFactory(name="Joneses")
    sam = UserFactory(username="sam", is_staff=True)
    sam.user_permissions.set(Permission.objects.all())
    alice, mallory = UserFactory(username="alice"), UserFactory(username="mallory")
    MembershipFactory(family=smiths, user=sam, role=Membership.Role.ADMIN)
    MembershipFactory(family=smiths, user=alice)
    MembershipFactory(family=joneses, user=mallory, role=Membership.Role.ADMIN)
    smith_photo = photo_factory(family=smiths, user=alice, filename="smith.jpg", tags=["smithtag"])
    jones_photo = photo_factory(family=joneses, user=mallory, filename="jones.jpg", tags=["jonestag"])
    return World(smiths, joneses, sam, alice, mallory, smith_photo, jones_photo,
                 Tag.objects.get(name="smithtag"), Tag.objects.get(name="jonestag"))


@pytest.fixture
def staff(world) -> Client:
    client = Client()
    client.force_login(world.sam)
    return client


@pytest.fixture
def root(world) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "", "root-password-123"))
    return client


def url(model, view: str = "changelist", *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def listed(response) -> set[int]:
    """The rows of a change list: by their checkboxes, or by their links where a list has no actions."""
    assert response.status_code == 200, response.status_code
    body = response.content.decode()
    boxes = re.findall(rf'name="{ACTION_CHECKBOX_NAME}" value="(\d+)"', body)
    opts = response.context["cl"].opts
    links = re.findall(rf'href="/admin/{opts.app_label}/{opts.model_name}/(\d+)/change/', body)
    return {int(pk) for pk in boxes + links}


def refused(response) -> bool:
    """The admin's answers to an object out of reach: 403, or "doesn't exist" (a redirect to the index)."""
    return response.status_code == 403 or (response.status_code == 302 and response["Location"] == reverse("admin:index"))


# --- the rule, for every registered admin ---------------------------------------------------------


def test_every_registered_admin_is_family_scoped_or_for_superusers_only(world, staff, root):
    for model, model_admin in admin.site._registry.items():
        assert root.get(url(model)).status_code == 200, model
        if getattr(model_admin, "family_scoped", False):
            assert staff.get(url(model)).status_code == 200, model
        else:
            assert staff.get(url(model)).status_code == 403, model


def test_the_admin_index_lists_only_what_staff_may_see(world, staff):
    body = staff.get(reverse("admin:index")).content.decode()
    assert "Photos" in body and "Families" in body
    for hidden in ("Groups", "Tokens", "File removals", "Work leases", "Embedding models", "Scheduled tasks"):
        assert hidden not in body, hidden


# --- gallery --------------------------------------------------------------------------------------


def test_family_admin(world, staff, root):
    assert listed(root.get(url(Family))) == {world.smiths.pk, world.joneses.pk}
    assert listed(staff.get(url(Family))) == {world.smiths.pk}
    assert staff.get(url(Family, "change", world.smiths.pk)).status_code == 200
    assert refused(staff.get(url(Family, "change", world.joneses.pk)))
    assert refused(staff.post(url(Family, "delete", world.joneses.pk), {"post": "yes"}))
    assert staff.get(url(Family, "add")).status_code == 403  # families start on the site, with their admin
    assert Family.objects.filter(pk=world.joneses.pk).exists()


def test_family_admin_changes_need_the_family_admin_role(world, staff):
    Membership.objects.filter(user=world.alice).update(role=Membership.Role.ADMIN)
    Membership.objects.filter(user=world.sam).update(role=Membership.Role.MEMBER)
    page = staff.get(url(Family, "change", world.smiths.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # view only
    assert refused(staff.post(url(Family, "delete", world.smiths.pk), {"post": "yes"}))
    assert Family.objects.filter(pk=world.smiths.pk).exists()


def _family_form(world, family, memberships, extra_user=None) -> dict:
    data = {
        "name": family.name,
        "memberships-TOTAL_FORMS": str(len(memberships) + 1), "memberships-INITIAL_FORMS": str(len(memberships)),
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
    }
    for i, membership in enumerate(memberships):
        data |= {f"memberships-{i}-id": membership.pk, f"memberships-{i}-family": family.pk,
                 f"memberships-{i}-user": membership.user_id, f"memberships-{i}-role": membership.role}
    n = len(memberships)
    data |= {f"memberships-{n}-family": family.pk, f"memberships-{n}-role": "member",
             f"memberships-{n}-user": extra_user.pk if extra_user else ""}
    return data


def test_membership_inline_offers_only_people_of_ones_families(world, staff):
    memberships = list(world.smiths.memberships.order_by("pk"))

    response = staff.post(url(Family, "change", world.smiths.pk), _family_form(world, world.smiths, memberships,
                                                                              extra_user=world.mallory))

    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    assert not world.smiths.memberships.filter(user=world.mallory).exists()
    autocomplete = staff.get(reverse("admin:autocomplete"), {"term": "mal", "app_label": "gallery",
                                                             "model_name": "membership", "field_name": "user"})
    assert "mallory" not in autocomplete.content.decode()


def test_tag_admin(world, staff):
    assert listed(staff.get(url(Tag))) == {world.smith_tag.pk}
    assert refused(staff.get(url(Tag, "change", world.jones_tag.pk)))
    assert refused(staff.post(url(Tag, "delete", world.jones_tag.pk), {"post": "yes"}))
    response = staff.post(url(Tag, "add"), {"name": "planted", "family": world.joneses.pk})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert staff.post(url(Tag, "add"), {"name": "ours", "family": world.smiths.pk}).status_code == 302
    assert set(Tag.objects.filter(family=world.joneses).values_list("name", flat=True)) == {"jonestag"}
    filters = staff.get(url(Tag)).content.decode()
    assert "Joneses" not in filters


def test_photo_admin(world, staff):
    response = staff.get(url(Photo))
    assert listed(response) == {world.smith_photo.pk}
    body = response.content.decode()
    assert "Joneses" not in body and "mallory" not in body  # not even in the filters
    assert refused(staff.get(url(Photo, "change", world.jones_photo.pk)))
    assert refused(staff.post(url(Photo, "delete", world.jones_photo.pk), {"post": "yes"}))
    assert staff.get(reverse("admin:gallery_photo_thumbnail", args=[world.jones_photo.pk])).status_code == 404
    assert staff.get(reverse("admin:gallery_photo_thumbnail", args=[world.smith_photo.pk])).status_code == 200
    # A bulk action posted with a foreign id acts on nothing of theirs.
    staff.post(url(Photo), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [world.jones_photo.pk], "post": "yes"})
    assert Photo.objects.filter(pk=world.jones_photo.pk).exists()


def test_a_staff_member_who_is_no_family_admin_deletes_only_their_own_photos(world):
    # As on the gallery's pages: a photo is moved to the trash by its uploader or a family admin.
    stan = UserFactory(username="stan", is_staff=True)
    stan.user_permissions.set(Permission.objects.all())
    MembershipFactory(family=world.smiths, user=stan, role=Membership.Role.MEMBER)
    own = photo_factory(family=world.smiths, user=stan, filename="stan.jpg")
    client = Client()
    client.force_login(stan)
    assert refused(client.post(url(Photo, "delete", world.smith_photo.pk), {"post": "yes"}))
    # A selection with someone else's photo is refused whole (Django: "you don't have permission to delete").
    client.post(url(Photo), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [world.smith_photo.pk, own.pk],
                             "post": "yes"})
    assert Photo.objects.filter(pk__in=[world.smith_photo.pk, own.pk]).count() == 2
    client.post(url(Photo), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [own.pk], "post": "yes"})
    assert Photo.objects.filter(pk=world.smith_photo.pk).exists()  # alice's stays
    assert not Photo.objects.filter(pk=own.pk).exists()  # stan's own went to the trash
    assert Photo.all_objects.get(pk=own.pk).trashed_at is not None


def test_photo_admin_edits_only_with_the_familys_tags(world, staff):
    response = staff.post(url(Photo, "change", world.smith_photo.pk),
                          {"title": "t", "description": "", "photo_tags": [world.jones_tag.pk]})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert list(world.smith_photo.tags.all()) == [world.smith_tag]


def test_album_admin(world, staff, root):
    """Albums are their family's: staff list, search, filter, open, rename and delete their families' alone (another
    family's is "doesn't exist" on every page, and out of every list, filter and bulk action); superusers, every one."""
    from gallery.album_services import album_create

    ours = album_create(user=world.alice, family=world.smiths, name="Beach")
    theirs = album_create(user=world.mallory, family=world.joneses, name="Jones beach")
    assert listed(root.get(url(Album))) == {ours.pk, theirs.pk}
    page = staff.get(url(Album))
    assert listed(page) == {ours.pk}
    assert "Joneses" not in page.content.decode() and "Jones beach" not in page.content.decode()  # filters too
    assert listed(staff.get(url(Album), {"q": "beach"})) == {ours.pk}
    assert listed(staff.get(url(Album), {"family__id__exact": world.joneses.pk})) <= {ours.pk}  # (a hand-typed id)
    assert refused(staff.get(url(Album, "change", theirs.pk)))
    assert refused(staff.post(url(Album, "change", theirs.pk), {"name": "Mine now", "description": ""}))
    assert refused(staff.get(url(Album, "delete", theirs.pk)))
    assert refused(staff.post(url(Album, "delete", theirs.pk), {"post": "yes"}))
    assert refused(staff.get(url(Album, "history", theirs.pk)))
    staff.post(url(Album), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [theirs.pk], "post": "yes"})
    theirs.refresh_from_db()
    assert theirs.name == "Jones beach"
    assert staff.get(url(Album, "add")).status_code == 403  # albums are made on the gallery's pages

    assert staff.post(url(Album, "change", ours.pk), {"name": "Beach 2026", "description": ""}).status_code == 302
    ours.refresh_from_db()
    assert ours.name == "Beach 2026"  # sam administers the Smiths
    assert root.post(url(Album, "change", theirs.pk), {"name": "Renamed", "description": ""}).status_code == 302
    theirs.refresh_from_db()
    assert theirs.name == "Renamed"  # a superuser need not be in the family
    assert root.post(url(Album, "delete", theirs.pk), {"post": "yes"}).status_code == 302
    assert staff.post(url(Album, "delete", ours.pk), {"post": "yes"}).status_code == 302
    assert not Album.objects.filter(pk__in=[ours.pk, theirs.pk]).exists()


def test_a_staff_member_who_is_no_family_admin_renames_and_deletes_only_the_albums_they_made(world):
    """As in the gallery (album_can_manage): an album is renamed and deleted by its creator or a family admin; any
    other member of its family sees it."""
    alices, stans, client = _staff_member_with_an_album_beside_alices(world)
    assert listed(client.get(url(Album))) == {alices.pk, stans.pk}
    page = client.get(url(Album, "change", alices.pk))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # view only
    assert refused(client.post(url(Album, "change", alices.pk), {"name": "Stan's now", "description": ""}))
    assert refused(client.post(url(Album, "delete", alices.pk), {"post": "yes"}))
    refusal = client.post(url(Album), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [alices.pk, stans.pk],
                                       "post": "yes"})
    assert refusal.status_code == 200 and "only its creator or an admin of its family" in html.unescape(
        refusal.content.decode())
    assert Album.objects.filter(pk__in=[alices.pk, stans.pk]).count() == 2  # refused whole
    alices.refresh_from_db()
    assert alices.name == "Alice's"
    assert client.post(url(Album, "change", stans.pk), {"name": "Stan's trip", "description": ""}).status_code == 302
    client.post(url(Album), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [stans.pk], "post": "yes"})
    assert list(Album.objects.filter(family=world.smiths).values_list("name", flat=True)) == ["Alice's"]


def test_an_album_page_shown_view_only_has_no_row_of_what_its_form_carries(world):
    """A staff member who is a plain member sees another member's album view only: the form's hidden "seen" (what
    a rename form showed) was drawn as a row of its own, "Seen: None". Their own album's form still carries it."""
    from gallery.album_services import album_edit_version

    alices, stans, client = _staff_member_with_an_album_beside_alices(world)

    body = client.get(url(Album, "change", alices.pk)).content.decode()
    assert "field-seen" not in body and "Seen" not in body and 'name="_save"' not in body
    body = client.get(url(Album, "change", stans.pk)).content.decode()
    assert f'name="seen" value="{album_edit_version(stans)}"' in body


def _staff_member_with_an_album_beside_alices(world):
    """Stan, on staff with every permission but a plain member of the Smiths, signed in; alice's album and his."""
    from gallery.album_services import album_create

    stan = UserFactory(username="stan", is_staff=True)
    stan.user_permissions.set(Permission.objects.all())
    MembershipFactory(family=world.smiths, user=stan, role=Membership.Role.MEMBER)
    alices = album_create(user=world.alice, family=world.smiths, name="Alice's")
    stans = album_create(user=stan, family=world.smiths, name="Stan's")
    client = Client()
    client.force_login(stan)
    return alices, stans, client


def test_invite_admin(world, staff, root):
    ours = invite_create(family=world.smiths, created_by=world.sam).invite
    theirs = invite_create(family=world.joneses, created_by=world.mallory).invite
    assert listed(root.get(url(Invite))) == {ours.pk, theirs.pk}
    assert listed(staff.get(url(Invite))) == {ours.pk}
    assert refused(staff.get(url(Invite, "change", theirs.pk)))
    page = root.get(url(Invite, "change", ours.pk)).content.decode()
    assert "token_hash" not in page and ours.token_hash not in page


def test_a_staff_member_who_is_no_family_admin_sees_none_of_its_invitations(world):
    """The family page shows its links to the family's admins only (who is invited, the notes); the admin showed them
    to any staff member of the family, and offered deleting them."""
    invite = invite_create(family=world.smiths, created_by=world.sam, note="for Gran").invite
    stan = UserFactory(username="stan", is_staff=True)
    stan.user_permissions.set(Permission.objects.all())
    MembershipFactory(family=world.smiths, user=stan, role=Membership.Role.MEMBER)
    client = Client()
    client.force_login(stan)
    assert listed(client.get(url(Invite))) == set()
    assert refused(client.get(url(Invite, "change", invite.pk)))
    assert "for Gran" not in client.get(url(Invite)).content.decode()


def _shares(world):
    """A link of alice's Smiths album (with a note and a password), and one of mallory's Jones album."""
    from gallery.album_services import album_create, share_create

    ours = share_create(user=world.alice, album=album_create(user=world.alice, family=world.smiths, name="Beach"),
                        days=7, note="for Gran", password="sandcastle-9").share
    theirs = share_create(user=world.mallory, album=album_create(user=world.mallory, family=world.joneses,
                                                                 name="Jones beach"), days=7, note="for Aunt Jo").share
    return ours, theirs


def test_album_share_admin(world, staff, root):
    """The album share links of the albums staff manage (sam administers the Smiths), with their maker, dates and
    state; another family's link is out of the list, its page "doesn't exist", and the action leaves it working. A
    superuser sees and withdraws every one. Only hashes are stored: no token, no password hash, nothing that opens a
    link is on any page."""
    from gallery.models import AlbumShare

    ours, theirs = _shares(world)
    assert listed(root.get(url(AlbumShare))) == {ours.pk, theirs.pk}
    page = staff.get(url(AlbumShare))
    assert listed(page) == {ours.pk}
    body = html.unescape(page.content.decode())
    assert "Jones beach" not in body and "Joneses" not in body and "for Aunt Jo" not in body  # filters too
    assert "Beach" in body and "for Gran" in body and "alice" in body and "Active" in body
    assert listed(staff.get(url(AlbumShare), {"q": "jones"})) == set()
    assert listed(staff.get(url(AlbumShare), {"album__family__id__exact": world.joneses.pk})) <= {ours.pk}
    assert refused(staff.get(url(AlbumShare, "change", theirs.pk)))
    assert refused(staff.get(url(AlbumShare, "history", theirs.pk)))
    assert staff.get(url(AlbumShare, "add")).status_code == 403
    for response in (staff.get(url(AlbumShare, "change", ours.pk)), root.get(url(AlbumShare))):
        assert response.status_code == 200
        for secret in (ours.token_hash, ours.password_hash, theirs.token_hash, "token_hash", "password_hash"):
            assert secret not in response.content.decode()
    change = html.unescape(staff.get(url(AlbumShare, "change", ours.pk)).content.decode())
    assert "for Gran" in change and "Active" in change and 'name="_save"' not in change  # read-only

    staff.post(url(AlbumShare), {"action": "withdraw_selected", ACTION_CHECKBOX_NAME: [theirs.pk]})
    assert AlbumShare.objects.get(pk=theirs.pk).revoked_at is None  # another family's: not in reach
    done = staff.post(url(AlbumShare), {"action": "withdraw_selected", ACTION_CHECKBOX_NAME: [ours.pk, theirs.pk]},
                      follow=True)
    assert "Withdrew 1 link." in html.unescape(done.content.decode())
    assert AlbumShare.objects.get(pk=ours.pk).revoked_at is not None
    assert AlbumShare.objects.get(pk=theirs.pk).revoked_at is None
    assert "Withdrawn" in html.unescape(staff.get(url(AlbumShare)).content.decode())
    withdrawn = staff.get(url(AlbumShare, "change", ours.pk))
    when = re.search(r'field-withdrawn_at.*?<div class="readonly">([^<]*)<', withdrawn.content.decode(), re.S).group(1)
    assert re.search(r"\d{4}", when) and "None" not in when, when  # (a date, localised as the others)

    root.post(url(AlbumShare), {"action": "withdraw_selected", ACTION_CHECKBOX_NAME: [theirs.pk]})
    assert AlbumShare.objects.get(pk=theirs.pk).revoked_at is not None  # a superuser need not be in the family


def test_album_share_admin_says_each_links_state_and_withdraws_only_what_still_works(world, root):
    """Active, expired, withdrawn, and ended with its maker (alice left without the services that withdraw her links:
    a shell), as the album's share page reads them; the action withdraws the working link and, for good, the one
    ended with its maker (should she come back), and leaves those over as they were, saying so."""
    from datetime import timedelta

    from django.utils import timezone

    from gallery.album_services import album_create, share_create, share_revoke
    from gallery.models import AlbumShare

    album = album_create(user=world.sam, family=world.smiths, name="Garden")
    links = {state: share_create(user=world.sam, album=album, days=7, note=state).share
             for state in ("active", "expired", "withdrawn")}
    AlbumShare.objects.filter(pk=links["expired"].pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    share_revoke(user=world.sam, share=links["withdrawn"])
    links["hers"] = share_create(user=world.alice, album=album_create(user=world.alice, family=world.smiths,
                                                                      name="Alice's"), days=7, note="hers").share
    Membership.objects.filter(family=world.smiths, user=world.alice).delete()

    cells = {}
    for row in re.findall(r"<tr>(.*?)</tr>", root.get(url(AlbumShare)).content.decode(), flags=re.S):
        if match := re.search(r'class="field-note">([^<]*)<', row):
            cells[match.group(1)] = html.unescape(re.search(r'class="field-state_shown">([^<]*)<', row).group(1))
    assert cells == {"active": "Active", "expired": "Expired", "withdrawn": "Withdrawn",
                     "hers": "Withdrawn (its maker is no longer in the family, or can't sign in)"}
    # The words of the album's share page, for each link (one label, the model's).
    sams = Client()
    sams.force_login(world.sam)
    shown = set()
    for shown_album in (album, links["hers"].album):
        page = sams.get(reverse("gallery:album_shares", args=[shown_album.pk])).content.decode()
        for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S):
            if match := re.search(r'data-label="For">(.*?)<br>.*data-label="State">([^<]*)<', row, flags=re.S):
                note = match.group(1).strip("\u2066\u2067\u2068\u2069")
                assert html.unescape(match.group(2)) == cells[note], note
                shown.add(note)
    assert shown == set(cells)
    working = root.get(url(AlbumShare), {"state": "working"})
    assert listed(working) == {links["active"].pk}
    assert listed(root.get(url(AlbumShare), {"state": "ended"})) == {links[s].pk for s in ("expired", "withdrawn",
                                                                                           "hers")}

    before = {pk: revoked for pk, revoked in AlbumShare.objects.values_list("pk", "revoked_at")}
    done = root.post(url(AlbumShare), {"action": "withdraw_selected",
                                       ACTION_CHECKBOX_NAME: [link.pk for link in links.values()]}, follow=True)
    text = html.unescape(done.content.decode())
    assert "Withdrew 2 links." in text and "2 links had ended already (withdrawn or expired): left as they were." in text
    after = dict(AlbumShare.objects.values_list("pk", "revoked_at"))
    assert after[links["active"].pk] and after[links["hers"].pk]
    assert after[links["expired"].pk] is None and after[links["withdrawn"].pk] == before[links["withdrawn"].pk]


def test_a_staff_member_who_is_no_family_admin_sees_only_the_links_of_the_albums_they_made(world):
    """As the album's share page: the links of an album are its creator's and its family admins' to see (who each is
    for) and withdraw; stan, a plain member on staff, sees none of alice's, and withdraws none."""
    from gallery.album_services import share_create
    from gallery.models import AlbumShare

    alices, stans, client = _staff_member_with_an_album_beside_alices(world)
    hers = share_create(user=world.alice, album=alices, days=7, note="for Gran").share
    his = share_create(user=Membership.objects.get(family=world.smiths, user__username="stan").user, album=stans,
                       days=7).share
    page = client.get(url(AlbumShare))
    assert listed(page) == {his.pk} and "for Gran" not in page.content.decode()
    assert refused(client.get(url(AlbumShare, "change", hers.pk)))
    client.post(url(AlbumShare), {"action": "withdraw_selected", ACTION_CHECKBOX_NAME: [hers.pk]})
    assert AlbumShare.objects.get(pk=hers.pk).revoked_at is None
    client.post(url(AlbumShare), {"action": "withdraw_selected", ACTION_CHECKBOX_NAME: [his.pk]})
    assert AlbumShare.objects.get(pk=his.pk).revoked_at is not None


def test_user_admin(world, staff, root):
    assert listed(root.get(url(User))) == set(User.objects.values_list("pk", flat=True))
    assert listed(staff.get(url(User))) == {world.sam.pk, world.alice.pk}  # people of one's families
    assert refused(staff.get(url(User, "change", world.mallory.pk)))
    # Accounts are not changed by staff here: no password set for someone, no one made superuser, no new account.
    for user in (world.alice, world.sam):
        assert staff.post(url(User, "password_change", user.pk),
                          {"password1": "new-pass-word-77", "password2": "new-pass-word-77"}).status_code in (403, 302)
        user.refresh_from_db()
        assert user.check_password("correct horse battery")
    response = staff.post(url(User, "change", world.sam.pk),
                          {"username": "sam", "is_staff": "on", "is_superuser": "on", "is_active": "on",
                           "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})
    assert response.status_code == 403
    assert not User.objects.get(pk=world.sam.pk).is_superuser
    assert staff.get(url(User, "add")).status_code == 403


def test_staff_outside_every_family_see_no_family_data(world, staff):
    Membership.objects.filter(user=world.alice).update(role=Membership.Role.ADMIN)
    Membership.objects.filter(user=world.sam).delete()
    for model in (Family, Tag, Photo):
        assert listed(staff.get(url(model))) == set()


def test_a_staff_family_admin_without_the_right_to_delete_photos_cannot_delete_a_family_of_photos(world, staff):
    """The family delete page counts what goes (it no longer collects every row); the rights Django asked of what
    goes along still apply: without "delete photo", a family with photos is not theirs to delete."""
    world.sam.user_permissions.remove(Permission.objects.get(codename="delete_photo"))
    assert _rights_lacking(staff, world.smiths) == ["photo"]
    staff.post(url(Family, "delete", world.smiths.pk), {"post": "yes"})
    assert Family.objects.get(pk=world.smiths.pk).deleting_since is None


def test_a_staff_family_admin_deletes_a_family_only_as_its_only_member_as_on_its_page(world, staff, root):
    """On the family page only a family's only member deletes it (the others' photos are in it too), but a family
    admin made staff deleted a family of several members in the Django admin, their photos with it, for good: its
    delete page and "Delete selected" went ahead. They refuse as the family page does; the superuser's delete stays."""
    page = html.unescape(staff.get(url(Family, "delete", world.smiths.pk)).content.decode())
    assert "Smiths has other members (alice)" in page and 'name="post"' not in page
    staff.post(url(Family, "delete", world.smiths.pk), {"post": "yes"})
    staff.post(url(Family), {"action": "delete_selected", ACTION_CHECKBOX_NAME: [world.smiths.pk], "post": "yes"})
    assert Family.objects.get(pk=world.smiths.pk).deleting_since is None

    Membership.objects.filter(user=world.alice).delete()  # alice left: sam is its only member (her photo stays)
    assert 'name="post"' in staff.get(url(Family, "delete", world.smiths.pk)).content.decode()
    assert 'name="post"' in root.get(url(Family, "delete", world.joneses.pk)).content.decode()
    staff.post(url(Family, "delete", world.smiths.pk), {"post": "yes"})
    assert Family.objects.get(pk=world.smiths.pk).deleting_since is not None


def _rights_lacking(client: Client, family: Family) -> list[str]:
    """The kinds the family's delete page says the account may not delete ([]: it offers the delete)."""
    page = client.get(url(Family, "delete", family.pk)).content.decode()
    if "doesn’t have permission to delete" not in page and "doesn't have permission to delete" not in page:
        return []
    return re.findall(r"<li>([^<]*)</li>", re.search(r'<ul id="deleted-objects">(.*?)</ul>', page, re.S).group(1))


def test_deleting_a_family_asks_the_right_to_delete_every_kind_that_goes_with_it(world, staff):
    """fb47866 asked it for the kinds the page counted (memberships, photos, suggestions, tags, albums) only:
    staff without the right to delete invitations, or to the search fits (superusers' alone), could delete a family
    holding them, which Django's own page refused. Every kind the delete takes along is counted, and asked for."""
    from search.models import SearchCalibration

    Membership.objects.filter(user=world.alice).delete()  # sam's alone now (a family admin's delete: its only member)
    assert _rights_lacking(staff, world.smiths) == []
    page = html.unescape(staff.get(url(Family, "delete", world.smiths.pk)).content.decode())
    summary = re.search(r"<h2>Summary</h2>(.*?)</ul>", page, re.S).group(1)
    summary = dict(re.findall(r"<li>([^<:]*): (\d+)</li>", summary))
    assert summary["Photos (their trash's too)"] == "1" and summary["Memberships"] == "1", summary
    invite_create(family=world.smiths, created_by=world.sam)
    world.sam.user_permissions.remove(Permission.objects.get(codename="delete_invite"))
    assert _rights_lacking(staff, world.smiths) == ["invite"]
    world.sam.user_permissions.add(Permission.objects.get(codename="delete_invite"))
    SearchCalibration.objects.create(family=world.smiths, model_name="m", semantic_scale=1.0, semantic_bias=0.0)
    assert _rights_lacking(staff, world.smiths) == ["search calibration"]
    staff.post(url(Family, "delete", world.smiths.pk), {"post": "yes"})
    assert Family.objects.get(pk=world.smiths.pk).deleting_since is None


def test_a_family_being_deleted_is_no_choice_and_no_filter_for_a_superuser_either(world, root):
    """A family being deleted is gone from the superuser's lists, but its name was still offered in every family
    dropdown (a tag or invitation could be added to it) and every family filter."""
    from gallery.services import family_delete_start

    browns = FamilyFactory(name="Browns")  # a filter of one family is not shown
    photo_factory(family=browns, tags=["browntag"])
    family_delete_start(family=world.joneses)
    form = root.get(url(Tag, "add")).content.decode()
    assert f'<option value="{world.smiths.pk}">' in form and f'<option value="{world.joneses.pk}">' not in form
    response = root.post(url(Tag, "add"), {"name": "late", "family": world.joneses.pk})
    assert response.status_code == 200 and not Tag.objects.filter(name="late").exists()
    for model in (Photo, Tag):
        page = root.get(url(model)).content.decode()
        assert f"family__id__exact={world.smiths.pk}" in page, model
        assert f"family__id__exact={world.joneses.pk}" not in page, model


def test_only_a_family_admin_merges_its_tags_in_the_admin(world, root):
    """A merge moves the family's suggestion vocabulary (its concepts) too, which the concepts admin leaves to the
    family's admins; yet any staff member of the family could run "Merge the selected tags". Offered now only to
    who administers a family (a superuser: any), and a selection holding a tag of a family where they are a plain
    member is refused, saying which, nothing merged; renaming and deleting a tag stay any member's."""
    browns = FamilyFactory(name="Browns")
    stan = UserFactory(username="stan", is_staff=True)
    stan.user_permissions.set(Permission.objects.all())
    MembershipFactory(family=world.smiths, user=stan, role=Membership.Role.MEMBER)
    photo_factory(family=world.smiths, user=world.alice, filename="oma.jpg", tags=["Oma", "Grandma"])
    smiths = {tag.name: tag.pk for tag in Tag.objects.filter(family=world.smiths)}
    client = Client()
    client.force_login(stan)

    page = client.get(url(Tag))
    assert listed(page) == set(smiths.values()) and "merge_selected" not in page.content.decode()
    client.post(url(Tag), {"action": "merge_selected", "apply": "1", "keep": smiths["Grandma"],
                           ACTION_CHECKBOX_NAME: [smiths["Grandma"], smiths["Oma"]]})
    assert Tag.objects.filter(pk=smiths["Oma"]).exists()
    # Rename and delete stay as they were: a member changes tags photo by photo anyway.
    assert client.post(url(Tag, "change", smiths["smithtag"]), {"name": "smith tag"}).status_code == 302
    assert Tag.objects.get(pk=smiths["smithtag"]).name == "smith tag"

    MembershipFactory(family=browns, user=stan, role=Membership.Role.ADMIN)
    photo_factory(family=browns, user=stan, filename="brown.jpg", tags=["Opa", "Grandpa"])
    browns_tags = {tag.name: tag.pk for tag in Tag.objects.filter(family=browns)}
    assert "merge_selected" in client.get(url(Tag)).content.decode()
    refused_page = client.post(url(Tag), {"action": "merge_selected", "apply": "1", "keep": smiths["Grandma"],
                                          ACTION_CHECKBOX_NAME: [smiths["Grandma"], smiths["Oma"]]}, follow=True)
    said = html.unescape(refused_page.content.decode())
    assert "Only a family’s admins merge its tags (a merge moves its suggestion vocabulary too): not Smiths." in said
    assert Tag.objects.filter(pk=smiths["Oma"]).exists()
    done = client.post(url(Tag), {"action": "merge_selected", "apply": "1", "keep": browns_tags["Grandpa"],
                                  ACTION_CHECKBOX_NAME: [browns_tags["Grandpa"], browns_tags["Opa"]]}, follow=True)
    assert "Merged “Opa” into “Grandpa”" in html.unescape(done.content.decode())

    root.post(url(Tag), {"action": "merge_selected", "apply": "1", "keep": smiths["Grandma"],
                         ACTION_CHECKBOX_NAME: [smiths["Grandma"], smiths["Oma"]]})
    assert not Tag.objects.filter(pk=smiths["Oma"]).exists()


def test_no_hash_is_read_through_the_lists_lookups(world, staff, root):
    """A link's password or token hash, and an invitation's token hash, can't be rebuilt a character at a time with
    ?password_hash__startswith=… (as Django's UserAdmin refuses lookups on passwords): any lookup on a *_hash field
    is refused (400), whatever its first characters, so the answer says nothing about the hash."""
    from gallery.models import AlbumShare

    ours, _ = _shares(world)
    invite = invite_create(family=world.smiths, created_by=world.sam).invite
    probes = [(AlbumShare, "password_hash__startswith", ours.password_hash[:8]),
              (AlbumShare, "token_hash__startswith", ours.token_hash[:4]),
              (AlbumShare, "token_hash", ours.token_hash),
              (Invite, "token_hash__startswith", invite.token_hash[:4]),
              (Album, "shares__password_hash__startswith", ours.password_hash[:8])]
    for client in (staff, root):
        for model, lookup, known in probes:
            right, wrong = client.get(url(model), {lookup: known}), client.get(url(model), {lookup: "~" + known})
            assert (right.status_code, wrong.status_code) == (400, 400), (model, lookup)
            assert right.content == wrong.content, (model, lookup)
    assert listed(staff.get(url(AlbumShare), {"note__startswith": "for"})) == {ours.pk}  # other lookups still work


def test_the_withdraw_action_writes_each_withdrawn_links_history(world, staff):
    """Who withdrew a link, and when, is on its History page, as the photo and tag actions write theirs: one entry
    per link the action withdrew, none for a link it left as it was (withdrawn already)."""
    from django.contrib.admin.models import LogEntry

    from gallery.models import AlbumShare

    ours, _ = _shares(world)

    def history(share) -> list[tuple[str, str]]:
        return list(LogEntry.objects.filter(content_type__model="albumshare", object_id=str(share.pk))
                    .values_list("user__username", "change_message"))

    staff.post(url(AlbumShare), {"action": "withdraw_selected", ACTION_CHECKBOX_NAME: [ours.pk]})
    assert history(ours) == [("sam", "Withdrawn.")]
    staff.post(url(AlbumShare), {"action": "withdraw_selected", ACTION_CHECKBOX_NAME: [ours.pk]})
    assert history(ours) == [("sam", "Withdrawn.")]  # over already: nothing done, nothing written
    assert "Withdrawn." in html.unescape(staff.get(url(AlbumShare, "history", ours.pk)).content.decode())


def _staff_member(family, role):
    stan = UserFactory(username="stan", is_staff=True)
    stan.user_permissions.set(Permission.objects.all())
    MembershipFactory(family=family, user=stan, role=role)
    c = Client()
    c.force_login(stan)
    return c


@pytest.mark.django_db
def test_a_plain_member_moves_the_vocabulary_by_renaming_instead(family, alice):
    """The merge is refused to a plain member because it moves the family's suggestion vocabulary; the rename,
    left to any member, moved it just the same (tag_renamed -> _tag_names_merged -> tags_merged): refused too, the
    tag keeping its name."""
    from search.models import TagConcept

    TagConcept.objects.create(family=family, name="puppy", prompt="a young dog")
    photo_factory(family=family, user=alice, filename="p.jpg", tags=["puppy"])
    before = sorted(TagConcept.objects.filter(family=family).values_list("name", "enabled", "merged_into"))
    client = _staff_member(family, Membership.Role.MEMBER)
    tag = Tag.objects.get(family=family, name="puppy")
    assert "merge_selected" not in client.get(reverse("admin:gallery_tag_changelist")).content.decode()
    assert client.post(reverse("admin:gallery_tag_change", args=[tag.pk]), {"name": "dog"}).status_code == 302
    after = sorted(TagConcept.objects.filter(family=family).values_list("name", "enabled", "merged_into"))
    assert after == before, f"a plain member changed the family's concepts: {before} -> {after}"
    assert Tag.objects.get(pk=tag.pk).name == "puppy"


@pytest.mark.django_db
def test_a_rename_moving_no_concept_stays_any_members_and_a_family_admins_moves_the_concepts(family, alice):
    from search.models import TagConcept

    TagConcept.objects.create(family=family, name="puppy", prompt="a young dog")
    photo_factory(family=family, user=alice, filename="p.jpg", tags=["puppy", "Kowalski"])
    plain = _staff_member(family, Membership.Role.MEMBER)
    kowalski, puppy = Tag.objects.get(family=family, name="Kowalski"), Tag.objects.get(family=family, name="puppy")
    refused = plain.post(reverse("admin:gallery_tag_change", args=[puppy.pk]), {"name": "dog"}, follow=True)
    assert "Only the family’s admins" in refused.content.decode()
    assert plain.post(reverse("admin:gallery_tag_change", args=[kowalski.pk]), {"name": "Kowalscy"}).status_code == 302
    assert Tag.objects.get(pk=kowalski.pk).name == "Kowalscy"

    Membership.objects.filter(family=family, user__username="stan").update(role=Membership.Role.ADMIN)
    assert plain.post(reverse("admin:gallery_tag_change", args=[puppy.pk]), {"name": "dog"}).status_code == 302
    assert Tag.objects.get(pk=puppy.pk).name == "dog"
    assert not TagConcept.objects.filter(family=family, name="puppy", enabled=True).exists()


def test_tag_merge_admin(world, staff, root):
    """The names merged away, listed read-only, each family's to its members (staff) as its tags are."""
    from gallery.models import TagMerge
    from gallery.services import tags_merge

    for family, user in ((world.smiths, world.alice), (world.joneses, world.mallory)):
        photo_factory(family=family, user=user, filename=f"{family.pk}.jpg", tags=["Oma"])
    tags_merge(into=world.smith_tag, tags=Tag.objects.filter(family=world.smiths, name="Oma"))
    tags_merge(into=world.jones_tag, tags=Tag.objects.filter(family=world.joneses, name="Oma"))
    smiths, joneses = (TagMerge.objects.get(family=family) for family in (world.smiths, world.joneses))
    assert listed(root.get(url(TagMerge))) == {smiths.pk, joneses.pk}
    assert listed(staff.get(url(TagMerge))) == {smiths.pk}
    assert staff.get(url(TagMerge, "change", smiths.pk)).status_code == 200
    assert refused(staff.get(url(TagMerge, "change", joneses.pk)))
    assert staff.get(url(TagMerge, "add")).status_code == 403
    assert refused(staff.post(url(TagMerge, "delete", joneses.pk), {"post": "yes"}))
    assert TagMerge.objects.count() == 2
