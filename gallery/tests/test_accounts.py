"""Accounts: invitation links, passwords a family admin sets, changing one's own password."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from gallery.account_selectors import invites_with_maker_vouching
from gallery.account_services import invite_create, invite_token_hash
from gallery.models import ApiToken, Invite, Membership
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, api_token_key

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "seaside-kite-flying-9"
SIGNUP = {"username": "carol", "email": "", "password": PASSWORD, "password_again": PASSWORD}


def _roles(family) -> dict[str, str]:
    return dict(family.memberships.values_list("user__username", "role"))


def _make_link(client, family, **data) -> str:
    response = client.post(reverse("gallery:invite_new", args=[family.pk]), {"role": "member", **data})
    assert response.status_code == 201, response.content.decode()[:2000]
    match = re.search(r'value="(http://testserver/invite/[^"]+/)"', response.content.decode())
    assert match, "the new link is shown"
    return match.group(1).removeprefix("http://testserver")


def _token(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[1]


def _state(invite: Invite) -> str:
    """The link's state as every page reads it: with its maker's vouching (Invite.state needs it)."""
    return invites_with_maker_vouching(Invite.objects.filter(pk=invite.pk)).get().state()


# --- making, listing and withdrawing links ------------------------------------------------------


def test_a_new_link_is_shown_once_and_only_its_hash_is_stored(client_for, family, alice):
    client = client_for(alice)
    path = _make_link(client, family, note="Grandma")

    token = _token(path)
    invite = Invite.objects.get()
    assert invite.token_hash == invite_token_hash(token) != token
    assert invite.note == "Grandma" and invite.role == "member" and invite.created_by == alice
    with connection.cursor() as cursor:  # the token is nowhere in the table
        cursor.execute(f"SELECT * FROM {Invite._meta.db_table}")
        assert not any(token in str(value) for row in cursor.fetchall() for value in row)
    page = client.get(family.get_absolute_url()).content.decode()
    assert token not in page  # listed, but the link itself is gone
    assert "Grandma" in page and "Open until" in page


def test_links_expire_after_invite_days(client_for, family, alice, settings):
    settings.INVITE_DAYS = 3
    before = timezone.now()
    new = invite_create(family=family, created_by=alice)
    assert before + timedelta(days=3) <= new.invite.expires_at <= timezone.now() + timedelta(days=3)


def test_the_family_page_lists_links_with_their_state(client_for, family, alice, bob):
    pending = invite_create(family=family, created_by=alice, note="pending one").invite
    used = invite_create(family=family, created_by=alice, note="used one").invite
    Invite.objects.filter(pk=used.pk).update(used_at=timezone.now(), used_by=bob)
    revoked = invite_create(family=family, created_by=alice, note="revoked one").invite
    Invite.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    expired = invite_create(family=family, created_by=alice, note="expired one").invite
    Invite.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    body = client_for(alice).get(family.get_absolute_url()).content.decode()

    assert 'class="invite-pending"' in body and 'Used by <span class="username">bob</span>' in body
    assert "Withdrawn" in body and "Expired" in body
    # The Django admin's list of links says it alike ("Revoked" there).
    from django.contrib.auth import get_user_model

    Client = type(client_for(alice))
    root = Client()
    root.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "x"))
    listed = root.get(reverse("admin:gallery_invite_changelist")).content.decode()
    assert "Withdrawn" in listed and "Revoked" not in listed
    # Only the pending link can be withdrawn.
    assert reverse("gallery:invite_revoke", args=[family.pk, pending.pk]) in body
    for invite in (used, revoked, expired):
        assert reverse("gallery:invite_revoke", args=[family.pk, invite.pk]) not in body


def test_members_see_no_links(client_for, family, alice, bob):
    invite_create(family=family, created_by=alice, note="for Gran")
    body = client_for(bob).get(family.get_absolute_url()).content.decode()
    assert "for Gran" not in body and "Invite someone" not in body


def test_a_withdrawn_link_no_longer_works(client_for, family, alice):
    client = client_for(alice)
    path = _make_link(client, family)
    invite = Invite.objects.get()

    response = client.post(reverse("gallery:invite_revoke", args=[family.pk, invite.pk]))
    assert response.status_code == 302
    invite.refresh_from_db()
    assert _state(invite) == Invite.State.REVOKED

    fresh = Client()
    assert fresh.get(path).status_code == 410
    response = fresh.post(path, SIGNUP)
    assert response.status_code == 410 and "withdrawn" in response.content.decode()
    assert not User.objects.filter(username="carol").exists()


def test_a_used_link_cannot_be_withdrawn(client_for, family, alice):
    path = _make_link(client_for(alice), family)
    Client().post(path, SIGNUP)
    response = client_for(alice).post(reverse("gallery:invite_revoke", args=[family.pk, Invite.objects.get().pk]),
                                      follow=True)
    assert "already been used" in response.content.decode()
    assert _state(Invite.objects.get()) == Invite.State.USED


def test_only_the_familys_admins_withdraw_its_links(client_for, family, alice, bob, other_family, mallory):
    invite = invite_create(family=family, created_by=alice).invite
    theirs = invite_create(family=other_family, created_by=mallory).invite

    assert client_for(bob).post(reverse("gallery:invite_revoke", args=[family.pk, invite.pk])).status_code == 403
    assert client_for(mallory).post(reverse("gallery:invite_revoke", args=[family.pk, invite.pk])).status_code == 404
    # Alice can't reach the Joneses' link through her own family either.
    assert client_for(alice).post(reverse("gallery:invite_revoke", args=[family.pk, theirs.pk])).status_code == 404
    assert Invite.objects.filter(revoked_at__isnull=False).count() == 0


def _admin_bob(family, bob):
    Membership.objects.filter(family=family, user=bob).update(role=Membership.Role.ADMIN)


def test_a_removed_admin_cannot_come_back_through_a_link_they_made(client_for, family, alice, bob):
    """Removed from the family, an admin opened an admin link of their own making and was its admin again (and could
    then remove the others). Removing someone withdraws the open links they made for that family."""
    _admin_bob(family, bob)
    theirs = _make_link(client_for(bob), family, role="admin", note="my cousin")
    alices = _make_link(client_for(alice), family, note="Gran")

    response = client_for(alice).post(reverse("gallery:member_remove", args=[family.pk, bob.pk]), follow=True)
    assert "Removed bob from Smiths" in response.content.decode()
    assert "withdrew the 1 invitation link they had made" in response.content.decode()

    response = client_for(bob).post(theirs)
    assert response.status_code == 410 and "withdrawn" in response.content.decode()
    assert _roles(family) == {"alice": "admin"}
    assert Client().get(alices).status_code == 200  # the other admin's links are theirs: untouched


def test_an_admins_link_stays_withdrawn_when_they_are_back_in_the_family(client_for, family, alice, bob):
    """A link counts only while its maker vouches for it: an admin of its family who can sign in, and has been one
    of the family since before the link was made (as a share link counts only while its maker has been in the family
    since it was made). Out of the family without the withdrawals running (a membership deleted from a shell, a
    removal that missed a link committed after it looked) and invited back, bob's old link let people in again."""
    _admin_bob(family, bob)
    theirs = _make_link(client_for(bob), family, note="my cousin")
    membership = Membership.objects.get(family=family, user=bob)
    Membership.objects.filter(pk=membership.pk).delete()
    assert Client().get(theirs).status_code == 410

    Membership.objects.create(family=family, user=bob, role=Membership.Role.ADMIN)  # back, an admin again

    assert Client().get(theirs).status_code == 410
    assert _state(Invite.objects.get(note="my cousin")) == Invite.State.REVOKED
    response = Client().post(theirs, SIGNUP)
    assert response.status_code == 410 and _roles(family) == {"alice": "admin", "bob": "admin"}
    assert Client().get(_make_link(client_for(bob), family)).status_code == 200  # a link made since works


def test_an_admin_made_a_member_loses_their_open_links(client_for, family, alice, bob):
    """A member makes no links: those they made as an admin stop working when they step down (an admin link would
    have let them make a second account an admin)."""
    _admin_bob(family, bob)
    theirs = _make_link(client_for(bob), family, role="admin")
    used = _make_link(client_for(bob), family)
    Client().post(used, SIGNUP)

    client_for(alice).post(reverse("gallery:member_role", args=[family.pk, bob.pk]), {"role": "member"})

    assert Client().get(theirs).status_code == 410
    assert _state(Invite.objects.get(used_by__username="carol")) == Invite.State.USED  # used ones stay used
    client_for(alice).post(reverse("gallery:member_role", args=[family.pk, bob.pk]), {"role": "admin"})
    assert Client().get(theirs).status_code == 410  # made an admin again, the old link stays withdrawn


def test_removing_a_member_in_the_django_admin_withdraws_their_links_too(client, family, alice, bob):
    from gallery.admin import MembershipFormSet  # noqa: F401 - the inline the family's change page saves through

    from gallery.album_services import album_create, share_create

    _admin_bob(family, bob)
    theirs = invite_create(family=family, created_by=bob, role="admin").invite
    share = share_create(user=bob, album=album_create(user=bob, family=family, name="Bob's"), days=7).share
    site_admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(site_admin)
    memberships = list(family.memberships.order_by("pk"))
    data = {"name": family.name, "memberships-TOTAL_FORMS": len(memberships), "memberships-INITIAL_FORMS":
            len(memberships), "memberships-MIN_NUM_FORMS": 0, "memberships-MAX_NUM_FORMS": 1000}
    for i, membership in enumerate(memberships):
        data |= {f"memberships-{i}-id": membership.pk, f"memberships-{i}-family": family.pk,
                 f"memberships-{i}-user": membership.user_id, f"memberships-{i}-role": membership.role}
        if membership.user_id == bob.pk:
            data[f"memberships-{i}-DELETE"] = "on"
    response = client.post(reverse("admin:gallery_family_change", args=[family.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert _roles(family) == {"alice": "admin"}
    theirs.refresh_from_db()
    assert _state(theirs) == Invite.State.REVOKED
    share.refresh_from_db()  # and the album share links they made, as on the family page
    assert share.state() == share.State.REVOKED


def test_a_deleted_accounts_open_links_stop_working(family, alice, bob):
    from gallery.services import users_delete

    _admin_bob(family, bob)
    theirs = invite_create(family=family, created_by=bob, role="admin").invite
    users_delete(users=User.objects.filter(pk=bob.pk))
    theirs.refresh_from_db()
    assert theirs.created_by is None and _state(theirs) == Invite.State.REVOKED



def test_deleting_accounts_locks_their_families_in_one_order_first():
    """users_delete locked the families the accounts administer (in id order), then, leaving each family, every family
    they are in: one account admin of family 9 and a member of family 3 locked 9, then 3; another, admin of 3 and a
    member of 9, deleted at the same moment locked 3, then 9: a deadlock. Every family they are in is locked first, in
    one order."""
    import re as regex

    from django.test.utils import CaptureQueriesContext

    from gallery.models import Family
    from gallery.services import users_delete

    first, second = FamilyFactory(), FamilyFactory()  # first.pk < second.pk
    leaving, other_admin = UserFactory(), UserFactory()
    MembershipFactory(family=second, user=leaving, role=Membership.Role.ADMIN)  # admin of the later family
    MembershipFactory(family=first, user=leaving, role=Membership.Role.MEMBER)  # a member of the earlier one
    for family in (first, second):
        MembershipFactory(family=family, user=other_admin, role=Membership.Role.ADMIN)
    with CaptureQueriesContext(connection) as captured:
        users_delete(users=User.objects.filter(pk=leaving.pk))
    table = Family._meta.db_table
    locked = [int(regex.search(r'"id" = (\d+)', q["sql"])[1]) for q in captured.captured_queries
              if "FOR UPDATE" in q["sql"] and f'FROM "{table}"' in q["sql"] and regex.search(r'"id" = (\d+)', q["sql"])]
    assert list(dict.fromkeys(locked)) == [first.pk, second.pk], locked


# --- opening a link ------------------------------------------------------------------------------


def test_a_new_person_signs_up_through_the_link_and_lands_in_the_family(client_for, family, alice):
    path = _make_link(client_for(alice), family)
    visitor = Client()

    page = visitor.get(path)
    assert page.status_code == 200
    assert "Join Smiths" in page.content.decode() and "alice invites you" in page.content.decode()

    response = visitor.post(path, SIGNUP)

    assert response.status_code == 302 and response["Location"] == family.get_absolute_url()
    carol = User.objects.get(username="carol")
    assert carol.check_password(PASSWORD) and not carol.is_staff and not carol.is_superuser
    assert _roles(family) == {"alice": "admin", "carol": "member"}
    invite = Invite.objects.get()
    assert invite.used_by == carol and _state(invite) == Invite.State.USED
    welcome = visitor.get(response["Location"]).content.decode()  # signed in
    assert "Welcome to Smiths! You are a member." in welcome

    again = Client().post(path, {**SIGNUP, "username": "dave"})
    assert again.status_code == 410 and "already been used" in again.content.decode()
    assert not User.objects.filter(username="dave").exists()


def test_a_member_who_opens_their_used_link_again_is_sent_to_the_family_not_told_to_ask_for_a_new_one(
        client_for, family, alice):
    """People open the invitation in their mail again to reach the gallery: the member who joined with it was told
    "This invitation link has already been used. Ask alice for a new one." though they need none. A member of the
    link's family who opens it used, withdrawn or expired lands on the family's page, told they are in it."""
    path = _make_link(client_for(alice), family)
    carol = Client()
    assert carol.post(path, SIGNUP).status_code == 302

    response = carol.get(path)

    assert response.status_code == 302 and response["Location"] == family.get_absolute_url()
    page = carol.get(response["Location"]).content.decode()
    assert "You are in Smiths already: this invitation was used." in page
    assert Client().get(path).status_code == 410  # anyone else: the link is used


def test_an_admin_link_makes_an_admin(client_for, family, alice):
    path = _make_link(client_for(alice), family, role="admin")
    Client().post(path, SIGNUP)
    assert _roles(family)["carol"] == "admin"


def test_an_expired_link_says_so_and_creates_nothing(client_for, family, alice):
    path = _make_link(client_for(alice), family)
    Invite.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = Client().post(path, SIGNUP)

    assert response.status_code == 410
    assert "This invitation link has expired. Ask alice for a new one." in response.content.decode()
    assert not User.objects.filter(username="carol").exists()


@pytest.mark.parametrize("token", ["nonsense", "x" * 43, "a%00b"])
def test_an_unknown_link_is_404_with_a_plain_message(client, alice, token):
    response = client.get(f"/invite/{token}/")
    assert response.status_code == 404
    assert "This invitation link is not valid" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"password": "123", "password_again": "123"}, "This password is too short"),
        ({"password_again": PASSWORD + "x"}, "The two passwords differ."),
        ({"username": "Alice"}, "The username “Alice” is taken."),
        ({"username": "no spaces"}, "Enter a valid username"),
        ({"username": "a b/c"}, "Enter a valid username"),
        ({"username": "x" * 151}, "at most 150 characters"),
        ({"email": "not-an-email"}, "Enter a valid email address."),
        # Longer than the account's email column (254): the form said nothing and the insert was a 500.
        ({"email": "x" * 300 + "@example.com"}, "at most 254 characters"),
        # Full-width letters are the username NFKC makes of them, as Django stores it: "ａｌｉｃｅ" was a 500 (the
        # insert met "alice"'s unique index) and "ＡＬＩＣＥ" a second account "ALICE" beside "alice".
        ({"username": "ａｌｉｃｅ"}, "The username “alice” is taken."),
        ({"username": "ＡＬＩＣＥ"}, "The username “ALICE” is taken."),
    ],
    ids=["weak", "differ", "taken", "bad-username", "slash-username", "long-username", "bad-email", "long-email",
         "full-width-username", "full-width-capitals"],
)
def test_bad_signups_say_why_and_keep_the_link(client_for, family, alice, data, message):
    path = _make_link(client_for(alice), family)

    response = Client().post(path, {**SIGNUP, **data})

    assert response.status_code == 422
    assert message in response.content.decode()
    assert User.objects.count() == 1
    assert _state(Invite.objects.get()) == Invite.State.PENDING


def test_a_taken_username_is_said_at_its_field_with_the_other_mistakes_at_once(client_for, family, alice):
    """A grandparent signing up on a phone chose "Alice" (taken) and mistyped the second password: the page said only
    "The two passwords differ." and emptied both; once they were typed again, it said "The username “Alice” is taken."
    above the form, not at the field, the focus on nothing, and both passwords had to be typed a third time. Every
    mistake is said at once, the taken name at its field (marked invalid, so the focus goes there)."""
    path = _make_link(client_for(alice), family)

    response = Client().post(path, {**SIGNUP, "username": "Alice", "password_again": PASSWORD + "x"})

    body = response.content.decode()
    assert response.status_code == 422
    assert "The two passwords differ." in body and "The username “Alice” is taken." in body
    assert response.context["form"].errors["username"] == ["The username “Alice” is taken."]
    assert 'name="username" value="Alice"' in body and 'aria-invalid="true"' in body.split('name="username"')[1][:400]
    response = Client().post(path, {**SIGNUP, "username": "Alice"})  # the passwords right: the service's own check
    assert response.context["form"].errors["username"] == ["The username “Alice” is taken."]
    assert User.objects.count() == 1 and _state(Invite.objects.get()) == Invite.State.PENDING


def test_a_signed_in_user_joins_with_their_existing_account(client_for, family, alice, other_family, mallory):
    path = _make_link(client_for(alice), family)
    client = client_for(mallory)

    page = client.get(path).content.decode()
    assert "Join as mallory" in page and 'name="password"' not in page
    response = client.post(path)

    assert response.status_code == 302 and response["Location"] == family.get_absolute_url()
    assert set(mallory.memberships.values_list("family__name", flat=True)) == {"Smiths", "Joneses"}
    assert mallory.check_password("correct horse battery")  # untouched
    assert Invite.objects.get().used_by == mallory
    assert User.objects.count() == 2


def test_a_link_to_a_family_named_as_one_of_yours_is_not_joined_so_two_never_look_alike(client_for, family, alice,
                                                                                          mallory):
    """Names are unique among one person's families, so that they can tell theirs apart; a stranger made a family of
    the same name as alice's ("Smiths"), invited her, and her joining made two "Smiths" side by side on the upload
    page, where a photo meant for her own went to his. The link is not used then, and she is told why."""
    from gallery.services import family_create

    lookalike = family_create(name="smiths", admin=mallory)
    path = _make_link(client_for(mallory), lookalike)
    client = client_for(alice)

    response = client.post(path, follow=True)

    page = response.content.decode()
    assert response.status_code == 409 and "already in a family called" in page, page[:3000]
    assert set(alice.memberships.values_list("family__name", flat=True)) == {"Smiths"}
    assert _state(Invite.objects.get()) == Invite.State.PENDING


@pytest.mark.parametrize("name", ["Smiths\u200b", "\u2060smiths", "Ｓｍｉｔｈｓ", "Sm\u0456ths", "\u0405mith\u0455",
                                  "Sm\u03b9ths"],
                         ids=["zero-width-space", "word-joiner", "full-width", "cyrillic-i", "cyrillic-s", "greek-iota"])
def test_a_family_named_as_one_of_yours_but_for_invisible_marks_or_full_width_letters_is_no_other(
        client_for, family, alice, mallory, name):
    """The guard above compared names letter for letter (any case): a stranger's "Smiths" with a zero-width space
    after it, or in full-width letters, read as alice's on every page, and her joining put the two side by side all
    the same. Nor may she make or rename one of hers so. (Later: nor with a Cyrillic і or ѕ, or a Greek ι, which read
    as the Latin letters on every page.)"""
    from gallery.services import family_create

    lookalike = family_create(name=name, admin=mallory)
    path = _make_link(client_for(mallory), lookalike)
    client = client_for(alice)
    response = client.post(path, follow=True)
    assert response.status_code == 409 and "already in a family called" in response.content.decode()
    assert set(alice.memberships.values_list("family__name", flat=True)) == {"Smiths"}
    response = client.post(reverse("gallery:families"), {"name": name})
    assert "You already have a family called" in response.content.decode()
    assert alice.memberships.count() == 1


def test_a_member_opening_a_link_to_their_own_family_leaves_it_unused(client_for, family, alice, bob):
    path = _make_link(client_for(alice), family, role="admin")
    client = client_for(bob)

    assert "already in Smiths" in client.get(path).content.decode()
    response = client.post(path, follow=True)

    assert "You are already in Smiths." in response.content.decode()
    assert _roles(family) == {"alice": "admin", "bob": "member"}  # not promoted by someone else's link
    assert _state(Invite.objects.get()) == Invite.State.PENDING


def test_a_link_opened_on_a_family_members_device_offers_to_sign_out_and_open_it_again(client_for, family, alice,
                                                                                       bob):
    """Grandpa opens his link on the tablet bob is signed in on: the page said "You (bob) are already in Smiths." with
    only "Open the family", no way to the sign-up form short of finding "Sign out" in the menu. It offers the same
    "Sign out and open the link again" as to a signed-in person who is not in the family."""
    path = _make_link(client_for(alice), family)
    page = client_for(bob).get(path).content.decode()
    assert "already in Smiths" in page
    assert f'action="{reverse("logout")}"' in page and f'name="next" value="{path}"' in page
    assert "Sign out</button> and open the link again" in page


def test_a_signup_with_nul_is_a_form_error(client_for, family, alice):
    path = _make_link(client_for(alice), family)
    response = Client().post(path, {**SIGNUP, "username": "car\x00ol"})
    assert response.status_code == 422 and "Null characters are not allowed." in response.content.decode()
    assert _state(Invite.objects.get()) == Invite.State.PENDING


# --- a family admin sets a member's password ----------------------------------------------------


def _set_password(client, family, user, password=PASSWORD):
    return client.post(reverse("gallery:member_password", args=[family.pk, user.pk]),
                       {"new_password1": password, "new_password2": password})


def test_an_admin_sets_the_password_of_a_member_of_only_their_families(client_for, family, alice, bob):
    other = FamilyFactory(name="Cousins")
    MembershipFactory(family=other, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=other, user=bob)
    bob_session = Client()
    bob_session.force_login(bob)
    bob_token = api_token_key(bob)
    assert f'href="{reverse("gallery:member_password", args=[family.pk, bob.pk])}"' in (
        client_for(alice).get(family.get_absolute_url()).content.decode())

    response = _set_password(client_for(alice), family, bob)

    assert response.status_code == 302 and response["Location"] == family.get_absolute_url()
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)
    assert bob_session.get(reverse("gallery:timeline")).status_code == 302  # signed out everywhere
    assert not ApiToken.objects.filter(user=bob).exists()
    assert Client(headers={"Authorization": f"Token {bob_token}"}).get(reverse("api_photos")).status_code == 401


def test_no_one_sets_the_password_of_someone_also_in_a_family_they_dont_administer(
    client_for, family, alice, bob, other_family
):
    MembershipFactory(family=other_family, user=bob)  # bob is also a Jones
    client = client_for(alice)

    assert reverse("gallery:member_password", args=[family.pk, bob.pk]) not in (
        client.get(family.get_absolute_url()).content.decode())
    page = client.get(reverse("gallery:member_password", args=[family.pk, bob.pk]))
    response = _set_password(client, family, bob)

    assert page.status_code == response.status_code == 403
    assert "bob is also in a family you don't administer" in html.unescape(response.content.decode())
    bob.refresh_from_db()
    assert bob.check_password("correct horse battery")


@pytest.mark.parametrize("who", ["staff", "superuser", "self", "co-admin-elsewhere", "plain-member-actor"])
def test_password_setting_is_refused(client_for, family, alice, bob, who):
    actor, target = alice, bob
    if who == "staff":
        User.objects.filter(pk=bob.pk).update(is_staff=True)
    elif who == "superuser":
        User.objects.filter(pk=bob.pk).update(is_superuser=True)
    elif who == "self":
        target = alice
    elif who == "co-admin-elsewhere":  # bob is admin of a family alice isn't in
        MembershipFactory(family=FamilyFactory(name="Bobs"), user=bob, role=Membership.Role.ADMIN)
    elif who == "plain-member-actor":
        actor, target = bob, alice

    response = _set_password(client_for(actor), family, target)

    assert response.status_code == 403
    target.refresh_from_db()
    assert target.check_password("correct horse battery")


def test_setting_a_password_of_someone_outside_the_family_is_404(client_for, family, alice, mallory):
    assert _set_password(client_for(alice), family, mallory).status_code == 404
    mallory.refresh_from_db()
    assert mallory.check_password("correct horse battery")


def test_a_weak_password_set_by_an_admin_is_refused_with_the_reason(client_for, family, alice, bob):
    response = _set_password(client_for(alice), family, bob, password="bob")
    assert response.status_code == 422
    assert "This password is too short" in response.content.decode()


# --- changing one's own password ----------------------------------------------------------------


def test_changing_ones_own_password(client_for, alice):
    client = client_for(alice)
    menu = client.get(reverse("gallery:timeline")).content.decode()
    assert f'href="{reverse("password_change")}"' in menu

    page = client.get(reverse("password_change"))
    assert page.status_code == 200 and 'class="topbar"' in page.content.decode()  # our layout, not the admin's
    wrong = client.post(reverse("password_change"),
                        {"old_password": "nope", "new_password1": PASSWORD, "new_password2": PASSWORD})
    assert wrong.status_code == 200 and "Your old password was entered incorrectly" in wrong.content.decode()

    response = client.post(reverse("password_change"), {"old_password": "correct horse battery",
                                                        "new_password1": PASSWORD, "new_password2": PASSWORD})

    assert response.status_code == 302 and response["Location"] == reverse("password_change_done")
    assert client.get(reverse("gallery:timeline")).status_code == 200  # still signed in here
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_a_changed_password_says_what_still_signs_in_as_me(client_for, alice):
    """Someone changing a password that leaked was told only "you stay signed in here": not that other browsers
    are signed out, nor that API tokens made with the old password (by anyone who had it) keep working until
    revoked. The page says both and links to the tokens."""
    client = client_for(alice)
    mine = api_token_key(alice, "laptop")
    client.post(reverse("password_change"), {"old_password": "correct horse battery",
                                             "new_password1": PASSWORD, "new_password2": PASSWORD})

    page = client.get(reverse("password_change_done")).content.decode()

    assert "signed out in every other browser" in page
    assert "API tokens keep working" in page and f'href="{reverse("api_tokens_page")}"' in page
    assert Client(headers={"Authorization": f"Token {mine}"}).get(reverse("api_photos")).status_code == 200


def test_changing_password_needs_sign_in(client):
    UserFactory(username="someone")
    response = client.get(reverse("password_change"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_signing_in_from_the_invite_page_comes_back_to_it(client_for, family, alice, mallory):
    path = _make_link(client_for(alice), family)
    visitor = Client()
    page = visitor.get(path).content.decode()
    assert f'href="{reverse("login")}?next={path}"' in page.replace("%2F", "/")

    response = visitor.post(reverse("login"), {"username": "mallory", "password": "correct horse battery",
                                               "next": path})

    assert response.status_code == 302 and response["Location"] == path
    assert "Join as mallory" in visitor.get(path).content.decode()


def test_a_link_with_an_unknown_role_is_refused_plainly(client_for, family, alice):
    response = client_for(alice).post(reverse("gallery:invite_new", args=[family.pk]), {"role": "owner"})
    assert response.status_code == 422
    assert "Select a valid choice" in response.content.decode()
    assert not Invite.objects.exists()


def test_an_invitation_note_with_a_control_character_is_refused_plainly(client_for, family, alice):
    response = client_for(alice).post(reverse("gallery:invite_new", args=[family.pk]),
                                      {"role": "member", "note": "Gran\x1b[2J"})
    assert response.status_code != 201 and "A note can" in response.content.decode()
    from gallery.models import Invite

    assert not Invite.objects.filter(family=family).exists()


def test_the_sign_in_page_says_what_to_do_about_a_forgotten_password(client, alice):
    """There is no reset by e-mail: an admin of one's family sets a new password from the family page (or the site's
    administrator in the Django admin). The sign-in page said nothing of it, so someone who forgot theirs was stuck."""
    page = client.get(reverse("login")).content.decode()
    assert "Forgot your password?" in page and "admin of your family" in page


def test_the_sign_out_address_opened_in_the_browser_offers_the_button_and_signs_out_nobody(client_for, alice):
    """/accounts/logout/ typed or bookmarked answered an empty 405 (signing out is a POST), which browsers show as
    "This page isn't working". It now shows a page with the Sign out button; opening it signs nobody out (a link on
    another site must not)."""
    client = client_for(alice)
    page = client.get(reverse("logout"))
    assert page.status_code == 200
    body = page.content.decode()
    assert f'action="{reverse("logout")}"' in body and "csrfmiddlewaretoken" in body and "Sign out" in body
    assert client.get(reverse("gallery:timeline")).status_code == 200  # still signed in
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("gallery:timeline")).status_code == 302  # signed out by the button


def test_the_sign_out_address_when_signed_out_goes_to_sign_in(client, alice):
    response = client.get(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")


@pytest.mark.parametrize("how", ["left", "removed", "made a member"])
def test_a_link_withdrawn_with_its_maker_sends_the_invitee_to_the_familys_admin(client_for, family, alice, bob, how):
    """An admin who left (or was removed, or stepped down) had their open links withdrawn, and the invitee read "This
    invitation link was withdrawn. Ask bob for a new one.": bob makes no links for that family any more."""
    _admin_bob(family, bob)
    theirs = _make_link(client_for(bob), family, note="my cousin")
    if how == "left":
        client_for(bob).post(reverse("gallery:family_leave", args=[family.pk]))
    elif how == "removed":
        client_for(alice).post(reverse("gallery:member_remove", args=[family.pk, bob.pk]))
    else:
        client_for(alice).post(reverse("gallery:member_role", args=[family.pk, bob.pk]), {"role": "member"})

    body = Client().get(theirs).content.decode()
    assert "This invitation link was withdrawn. Ask the family&#x27;s admin for a new one." in body
    assert "Ask bob" not in body


def test_nobody_joins_a_family_none_of_whose_admins_can_sign_in(client_for, family, alice, bob, mallory):
    """alice, the Smiths' only admin, made an invitation link; then the site administrator made bob inactive, and her
    (allowed: nobody else could sign in, the family waits for them). carol opened the link and signed up: she was a
    member of a family nobody could administer, the very thing the rule of every other path prevents (while anyone who
    can sign in is in a family, one of them is its admin). Its links were made by admins who can no longer sign in, so
    they read withdrawn, an admin link too: no account is made, the link stays unused, mallory, signed in, is not let
    in. Other ways in (the create_family command) are held to the rule by membership_add itself."""
    from django.core.exceptions import ValidationError

    from gallery.services import membership_add

    link = _make_link(client_for(alice), family, note="for carol")
    admins = _make_link(client_for(alice), family, role="admin")
    User = get_user_model()
    User.objects.filter(pk__in=[alice.pk, bob.pk]).update(is_active=False)

    response = Client().post(link, {"username": "carol", "password": "a-long-passphrase-1", "password_again":
                                    "a-long-passphrase-1", "email": ""})
    assert response.status_code == 410 and "withdrawn" in response.content.decode()
    assert not User.objects.filter(username="carol").exists()
    for path in (link, admins):
        response = client_for(mallory).post(path)
        assert response.status_code == 410 and "withdrawn" in response.content.decode()
    assert not family.memberships.filter(user=mallory).exists()
    assert Invite.objects.get(note="for carol").used_at is None
    with pytest.raises(ValidationError) as refused:
        membership_add(family=family, user=mallory)
    assert refused.value.code == "no_admin"
    assert ("No one can join Smiths as a member for now: none of its admins can sign in (their accounts are "
            "inactive). Ask the site's administrator.") in refused.value.messages


def test_an_admin_made_inactive_has_their_open_links_withdrawn_everywhere_alike(client_for, family, alice, bob):
    """alice made a link for her cousin; then the site administrator unticked her "Active" box (bob, the Smiths' other
    admin, keeps the family administered). The link still read "alice invites you" and let the cousin in, vouched for
    by someone who can no longer sign in (nor withdraw it). Made inactive, an admin's open links are withdrawn, as when
    they leave or step down: the link page says so and names no one who can't sign in, accepting is refused, and the
    family page and the Django admin's list of links say "Withdrawn" too."""
    from gallery.tests.test_admin import _user_form_data_inactive

    _admin_bob(family, bob)
    link = _make_link(client_for(alice), family, note="my cousin")
    root = Client()
    root.force_login(User.objects.create_superuser("root", "root@example.org", "x"))
    response = root.post(reverse("admin:auth_user_change", args=[alice.pk]), _user_form_data_inactive(root, alice))
    assert response.status_code == 302, response.content.decode()[:2000]

    _link_reads_withdrawn_naming_no_one(link)
    listed = client_for(bob).get(family.get_absolute_url()).content.decode()
    assert 'class="invite-revoked"' in listed and 'class="invite-pending"' not in listed
    admin_list = root.get(reverse("admin:gallery_invite_changelist")).content.decode()
    assert "Withdrawn" in admin_list and "Waiting" not in admin_list


def _link_reads_withdrawn_naming_no_one(link: str) -> None:
    """alice's link: its page says it was withdrawn without naming her, and a sign-up through it is refused."""
    page = Client().get(link)
    body = html.unescape(page.content.decode())
    assert page.status_code == 410
    assert "This invitation link was withdrawn. Ask the family's admin for a new one." in body
    assert "alice" not in body
    response = Client().post(link, SIGNUP)
    assert response.status_code == 410 and "withdrawn" in response.content.decode()
    assert not User.objects.filter(username="carol").exists()


@pytest.mark.parametrize("how", ["made inactive in a shell", "made a member in a shell"])
def test_a_link_whose_maker_no_longer_administers_the_family_reads_withdrawn_everywhere(client_for, family, alice,
                                                                                       bob, how):
    """Whatever way alice stopped being an admin of the Smiths who can sign in (here without the services that
    withdraw her links: a shell, or a change that committed after they looked), her open link let people in and read
    "alice invites you". A link counts only while its maker vouches for it: it reads withdrawn on its page (naming no
    one), is refused, and the family page and the Django admin's list say "Withdrawn" with no button to withdraw it."""
    _admin_bob(family, bob)
    link = _make_link(client_for(alice), family, note="my cousin")
    if how == "made inactive in a shell":
        User.objects.filter(pk=alice.pk).update(is_active=False)
    else:
        Membership.objects.filter(family=family, user=alice).update(role=Membership.Role.MEMBER)

    _link_reads_withdrawn_naming_no_one(link)
    invite = Invite.objects.get(note="my cousin")
    listed = client_for(bob).get(family.get_absolute_url()).content.decode()
    assert 'class="invite-revoked"' in listed and 'class="invite-pending"' not in listed
    assert reverse("gallery:invite_revoke", args=[family.pk, invite.pk]) not in listed
    root = Client()
    root.force_login(User.objects.create_superuser("root", "root@example.org", "x"))
    admin_list = root.get(reverse("admin:gallery_invite_changelist")).content.decode()
    assert "Withdrawn" in admin_list and "Waiting" not in admin_list


def test_an_account_is_made_inactive_or_active_by_one_service_under_the_rule_of_who_administers(family, alice, bob):
    """The rule was spread over the Django admin's form (the check) and its save (the withdrawal of links), and a
    script had neither. user_active_set checks under the families' locks, saves, and withdraws the links of an
    account made inactive; a refusal changes nothing."""
    from django.core.exceptions import ValidationError

    from gallery.account_services import user_active_set

    link = invite_create(family=family, created_by=alice).invite
    with pytest.raises(ValidationError) as refused:
        user_active_set(user=alice, active=False)
    assert refused.value.messages == ["alice is the last admin of Smiths: make someone else an admin of it first."]
    alice.refresh_from_db()
    assert alice.is_active and _state(Invite.objects.get(pk=link.pk)) == "pending"

    _admin_bob(family, bob)
    user_active_set(user=alice, active=False)
    assert not User.objects.get(pk=alice.pk).is_active
    assert Invite.objects.get(pk=link.pk).revoked_at is not None

    user_active_set(user=bob, active=False)  # nobody else can sign in: the family waits for them
    carol = UserFactory(username="carol")
    MembershipFactory(family=family, user=carol)
    User.objects.filter(pk=carol.pk).update(is_active=False)
    with pytest.raises(ValidationError) as refused:
        user_active_set(user=carol, active=True)
    assert "carol is in Smiths, whose admins (alice, bob) can't sign in" in refused.value.messages[0]
    assert not User.objects.get(pk=carol.pk).is_active
    user_active_set(user=alice, active=True)
    assert User.objects.get(pk=alice.pk).is_active


def test_an_unknown_link_opened_signed_in_is_the_same_404(client_for, alice):
    """Signed in, the page looked for the link's family to see whether they were in it already: of no link at all,
    a 500."""
    for method in ("get", "post"):
        response = getattr(client_for(alice), method)("/invite/nonsense/")
        assert response.status_code == 404
        assert "This invitation link is not valid" in response.content.decode()


def test_a_link_to_a_deleted_family_says_the_family_was_deleted(client_for, family, alice, mallory,
                                                                 django_capture_on_commit_callbacks):
    """A link opened after its family was deleted read "not valid. Check that it was copied whole": the Invite row
    had gone with the family. Deleting a family keeps the hash of each open link's token (never the token), and the
    link page says the family was deleted, while the deletion runs and after it; signed in or not, nothing joins."""
    from gallery.services import family_delete_by_member
    from tests.queue import run_queued_tasks

    link = _make_link(client_for(alice), family, note="Gran")
    used = _make_link(client_for(alice), family)
    Client().post(used, SIGNUP)
    client_for(alice).post(reverse("gallery:member_remove", args=[family.pk, User.objects.get(username="carol").pk]))
    said = "The family this invitation was for was deleted."

    with django_capture_on_commit_callbacks(execute=True):
        family_delete_by_member(family=family, user=alice, name="Smiths")
    assert said in html.unescape(Client().get(link).content.decode())  # being deleted
    with django_capture_on_commit_callbacks(execute=True):
        run_queued_tasks()  # the worker
    assert not type(family).objects.filter(pk=family.pk).exists()

    for client in (Client(), client_for(mallory)):
        response = client.get(link)
        assert response.status_code == 410 and said in html.unescape(response.content.decode())
        response = client.post(link, SIGNUP)
        assert response.status_code == 410 and said in html.unescape(response.content.decode())
    assert not User.objects.filter(username="carol2").exists()
    assert not Membership.objects.filter(user=mallory, family_id=family.pk).exists()
    # Only the hash of the open link's token is kept: the used link was no open one, and reads as any unknown link.
    from gallery.models import DeletedFamilyInvite

    token = _token(link)
    assert list(DeletedFamilyInvite.objects.values_list("token_hash", flat=True)) == [invite_token_hash(token)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {DeletedFamilyInvite._meta.db_table}")
        assert not any(token in str(value) for row in cursor.fetchall() for value in row)
    assert Client().get(used).status_code == 404


def test_migration_0049_withdraws_the_open_links_no_admin_who_can_sign_in_vouches_for(family, alice, bob,
                                                                                     other_family, mallory):
    """Links made before their makers' leaving, stepping down, deletion or deactivation withdrew them were left open
    by each of those changes: they still let people in. 0049 withdraws each open link whose maker is not an admin of
    its family who can sign in (or is gone); used, expired and vouched-for links stay as they are."""
    import importlib

    from django.db.migrations.executor import MigrationExecutor

    _admin_bob(family, bob)
    dave = UserFactory(username="dave")
    MembershipFactory(family=family, user=dave, role=Membership.Role.ADMIN)
    links = {who: invite_create(family=family, created_by=maker).invite
             for who, maker in (("alice", alice), ("bob stepped down", bob), ("dave made inactive", dave),
                                ("mallory's elsewhere", alice), ("gone", alice), ("bob expired", bob),
                                ("bob used", bob))}
    theirs = invite_create(family=other_family, created_by=mallory).invite  # mallory is the Joneses' admin
    # What the services withdraw today, done around them (as before they did).
    Membership.objects.filter(family=family, user=bob).update(role=Membership.Role.MEMBER)
    User.objects.filter(pk=dave.pk).update(is_active=False)
    Invite.objects.filter(pk=links["gone"].pk).update(created_by=None)
    Invite.objects.filter(pk=links["mallory's elsewhere"].pk).update(created_by=mallory)  # (no admin of it makes one now)
    Invite.objects.filter(pk=links["bob expired"].pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    Invite.objects.filter(pk=links["bob used"].pk).update(used_at=timezone.now(), used_by=alice)

    executor = MigrationExecutor(connection)
    name = "0049_deleted_family_invites"
    migration = executor.loader.get_migration("gallery", name)
    apps = executor.loader.project_state(("gallery", name), at_end=False).apps
    importlib.import_module(migration.__module__).links_no_admin_vouches_for_withdrawn(apps, None)

    # What it stored (the pages read every link of a maker who no longer vouches as withdrawn, stored or not).
    withdrawn = {who for who, invite in links.items() if Invite.objects.get(pk=invite.pk).revoked_at is not None}
    assert withdrawn == {"bob stepped down", "dave made inactive", "mallory's elsewhere", "gone"}
    assert _state(Invite.objects.get(pk=links["alice"].pk)) == "pending"
    assert _state(Invite.objects.get(pk=links["bob used"].pk)) == "used"
    assert _state(Invite.objects.get(pk=theirs.pk)) == "pending"


def test_a_link_that_does_not_work_offers_signing_in_only_where_it_leads_somewhere(client_for, family, alice, mallory):
    """The page of a link that doesn't work said "Sign in if you already have an account" whatever the reason, also for
    a link whose family was deleted (or a made-up one), where signing in leads nowhere. It offers signing in only for a
    link of a family that still is (used, withdrawn, expired), to one who may be in it: signed in, they come back to
    the link, which takes a member to their family's page. Signed in, each page offers the way to their photos."""
    from gallery.models import DeletedFamilyInvite

    def link_of(**state) -> str:
        made = invite_create(family=family, created_by=alice)
        Invite.objects.filter(pk=made.invite.pk).update(**state)
        return reverse("invite", args=[made.token])

    now = timezone.now()
    links = {"used": link_of(used_at=now, used_by=alice), "withdrawn": link_of(revoked_at=now),
             "expired": link_of(expires_at=now - timedelta(days=1))}
    gone = "deleted-family-token"
    DeletedFamilyInvite.objects.create(token_hash=invite_token_hash(gone))
    ended = {"deleted family": reverse("invite", args=[gone]),
             "made up": reverse("invite", args=["made-up-token"])}

    def card(response) -> str:
        return re.search(r'<section class="card narrow invite-page">(.*?)</section>', response.content.decode(),
                         re.S).group(1)

    for state, link in links.items():
        page = card(Client().get(link))
        assert f'href="{reverse("login")}?next={link}"' in page, state
        assert "Already in the family?" in page, state
    for state, link in ended.items():
        page = card(Client().get(link))
        assert reverse("login") not in page and "Sign in" not in page and "account" not in page, state
    for link in [*links.values(), *ended.values()]:
        page = card(client_for(mallory).get(link))
        assert reverse("gallery:timeline") in page and "Sign in" not in page, link


def test_the_periodic_sweep_prunes_invitation_links_ended_longer_than_invite_keep_days(client_for, family, alice,
                                                                                        mallory, settings):
    """Used, withdrawn and expired links, and the token hashes kept of a deleted family's open links, were kept for
    good. The periodic sweep (search's embed_missing, every few minutes) deletes each once it has been over for
    INVITE_KEEP_DAYS: until then its page still says what became of it (used, withdrawn, expired, its family deleted)
    and takes a member who opens it to their family's page; after, it reads as any link that is not valid. Open links,
    and those that ended more recently, stay."""
    from gallery.models import DeletedFamilyInvite
    from search.services import embed_missing

    settings.INVITE_KEEP_DAYS = 30
    now = timezone.now()
    long_ago, lately = now - timedelta(days=31), now - timedelta(days=29)

    def link_of(**state) -> str:
        made = invite_create(family=family, created_by=alice)
        Invite.objects.filter(pk=made.invite.pk).update(**state)
        return reverse("invite", args=[made.token])

    old = {"used": link_of(used_at=long_ago, used_by=alice), "withdrawn": link_of(revoked_at=long_ago),
           "expired": link_of(expires_at=long_ago)}
    recent = {"used": link_of(used_at=lately, used_by=alice), "withdrawn": link_of(revoked_at=lately),
              "expired": link_of(expires_at=lately),
              # (withdrawn lately although made long ago, and expired since: over from its withdrawal)
              "withdrawn, expired since": link_of(created_at=long_ago, revoked_at=lately, expires_at=lately)}
    still_open = link_of()
    DeletedFamilyInvite.objects.create(token_hash=invite_token_hash("old-deleted"))
    DeletedFamilyInvite.objects.filter(token_hash=invite_token_hash("old-deleted")).update(deleted_at=long_ago)
    DeletedFamilyInvite.objects.create(token_hash=invite_token_hash("recent-deleted"))
    DeletedFamilyInvite.objects.filter(token_hash=invite_token_hash("recent-deleted")).update(deleted_at=lately)

    embed_missing()

    for state, link in old.items():
        assert not Invite.objects.filter(token_hash=invite_token_hash(_token(link))).exists(), state
        assert Client().get(link).status_code == 404, state  # "not valid", as any unknown link
    for state, link in recent.items():
        assert Invite.objects.filter(token_hash=invite_token_hash(_token(link))).exists(), state
        assert client_for(alice).get(link).status_code == 302, state  # a member: to the family's page
    assert Client().get(still_open).status_code == 200
    assert list(DeletedFamilyInvite.objects.values_list("token_hash", flat=True)) == [
        invite_token_hash("recent-deleted")]
    assert Client().get(reverse("invite", args=["recent-deleted"])).status_code == 410
    assert Client().get(reverse("invite", args=["old-deleted"])).status_code == 404


def test_a_used_withdrawn_or_expired_link_of_a_family_being_deleted_says_it_was_deleted(family, alice, bob):
    """While a deleted family's photos are still being deleted (its row kept, deleting_since set), its used, withdrawn
    and expired links, of which no hash is kept (only open links' are), said "Ask the family's admin for a new one" and
    offered "Already in the family? Sign in", leading nowhere. Every link of a family being deleted says it was."""
    from gallery.services import family_delete_start

    now = timezone.now()
    links = {}
    for state, fields in {"used": {"used_at": now, "used_by": bob}, "withdrawn": {"revoked_at": now},
                          "expired": {"expires_at": now - timedelta(days=1)}, "open": {}}.items():
        made = invite_create(family=family, created_by=alice)
        Invite.objects.filter(pk=made.invite.pk).update(**fields)
        links[state] = reverse("invite", args=[made.token])
    family_delete_start(family=family)

    for state, link in links.items():
        response = Client().get(link)
        page = response.content.decode()
        assert response.status_code == 410, state
        assert "The family this invitation was for was deleted." in page, state
        assert "Sign in" not in page and "Ask the family" not in page, state


@pytest.mark.parametrize("expired", [False, True], ids=["open", "expired since"])
def test_an_invitation_whose_maker_left_is_refused_on_every_path_that_reads_it(client_for, family, alice, bob,
                                                                               mallory, expired):
    """bob's link, his membership gone without the services that withdraw his links (a shell, or a removal that
    committed after they looked). Invite.state() read a row without its maker's vouching as vouched for, and the link's
    page read such rows (invite_problem): an expired one said "has expired" while the family page and the Django admin
    said "Withdrawn". Every path reads the link with its maker's vouching: withdrawn alike, naming no one."""
    _admin_bob(family, bob)
    link = _make_link(client_for(bob), family, note="my cousin")
    Membership.objects.filter(family=family, user=bob).delete()
    if expired:
        Invite.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    withdrawn = "This invitation link was withdrawn. Ask the family's admin for a new one."

    page = Client().get(link)
    assert page.status_code == 410 and withdrawn in html.unescape(page.content.decode())
    signup = Client().post(link, SIGNUP)
    assert signup.status_code == 410 and withdrawn in html.unescape(signup.content.decode())
    joined = client_for(mallory).post(link)
    assert joined.status_code == 410 and withdrawn in html.unescape(joined.content.decode())
    assert not User.objects.filter(username="carol").exists() and not family.memberships.filter(user=mallory).exists()
    listed = client_for(alice).get(family.get_absolute_url()).content.decode()
    assert 'class="invite-revoked"' in listed and 'class="invite-pending"' not in listed
    root = Client()
    root.force_login(User.objects.create_superuser("root", "root@example.org", "x"))
    admin_list = html.unescape(root.get(reverse("admin:gallery_invite_changelist")).content.decode())
    assert "Withdrawn" in admin_list and "Waiting" not in admin_list and "Expired" not in admin_list


def test_an_invitations_state_read_without_its_makers_vouching_is_a_mistake_said_at_once(family, alice):
    """As AlbumShare.state(): a row read without the annotation is refused, never read as vouched for."""

    invite_create(family=family, created_by=alice)
    with pytest.raises(AttributeError, match="invites_with_maker_vouching"):
        Invite.objects.get().state()
    assert invites_with_maker_vouching(Invite.objects.all()).get().state() == Invite.State.PENDING
