from __future__ import annotations

import html

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gallery.models import Family, Membership, Photo
from tests.factories import MembershipFactory, UserFactory, photo_factory
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


User = get_user_model()


def _roles(family: Family) -> dict[str, str]:
    return dict(family.memberships.values_list("user__username", "role"))


def test_family_admin_changes_a_members_role(client_for, family, alice, bob):
    response = client_for(alice).post(reverse("gallery:member_role", args=[family.pk, bob.pk]), {"role": "admin"})

    assert response.status_code == 302 and response["Location"] == family.get_absolute_url()
    assert _roles(family) == {"alice": "admin", "bob": "admin"}
    page = client_for(alice).get(response["Location"])
    assert "bob is now an admin of Smiths." in page.content.decode()  # not "now admin of" (QA)
    client_for(alice).post(reverse("gallery:member_role", args=[family.pk, bob.pk]), {"role": "member"})
    assert "bob is now a member of Smiths." in client_for(alice).get(family.get_absolute_url()).content.decode()


def test_the_family_page_offers_invitations_not_accounts_with_typed_passwords(client_for, family, alice, bob):
    """People come in by invitation (they choose their password); an admin never types one to create an account,
    nor pulls an existing account into the family without its owner opening the link."""
    body = client_for(alice).get(family.get_absolute_url()).content.decode()
    assert reverse("gallery:invite_new", args=[family.pk]) in body
    assert 'name="password"' not in body and 'name="username"' not in body


def test_an_unknown_role_is_refused_plainly(client_for, family, alice, bob):
    response = client_for(alice).post(reverse("gallery:member_role", args=[family.pk, bob.pk]), {"role": "owner"},
                                      follow=True)
    assert "Choose a role: admin or member." in response.content.decode()
    assert _roles(family) == {"alice": "admin", "bob": "member"}


def test_family_page_lists_members_and_shows_admin_controls_only_to_admins(client_for, family, alice, bob):
    as_admin = client_for(alice).get(family.get_absolute_url()).content.decode()
    assert "alice" in as_admin and "bob" in as_admin
    assert reverse("gallery:invite_new", args=[family.pk]) in as_admin
    assert reverse("gallery:member_role", args=[family.pk, bob.pk]) in as_admin
    assert reverse("gallery:member_remove", args=[family.pk, bob.pk]) in as_admin

    as_member = Client()
    as_member.force_login(bob)
    body = as_member.get(family.get_absolute_url()).content.decode()
    assert "alice" in body and "bob" in body
    assert reverse("gallery:invite_new", args=[family.pk]) not in body
    assert "/remove/" not in body and "/role/" not in body
    assert reverse("gallery:member_password", args=[family.pk, alice.pk]) not in body


def test_plain_member_cannot_invite_promote_or_remove_members(client_for, family, alice, bob):
    client = client_for(bob)

    invite = client.post(reverse("gallery:invite_new", args=[family.pk]), {"role": "admin"})
    promote = client.post(reverse("gallery:member_role", args=[family.pk, bob.pk]), {"role": "admin"})
    remove = client.post(reverse("gallery:member_remove", args=[family.pk, alice.pk]))

    # A member of the family: refused, and told (403); not the 404 of a family that isn't theirs.
    assert (invite.status_code, promote.status_code, remove.status_code) == (403, 403, 403)
    assert _roles(family) == {"alice": "admin", "bob": "member"}
    assert not family.invites.exists()


def test_admin_removes_a_member(client_for, family, alice, bob):
    response = client_for(alice).post(reverse("gallery:member_remove", args=[family.pk, bob.pk]))
    assert response.status_code == 302 and response["Location"] == family.get_absolute_url()
    assert _roles(family) == {"alice": "admin"}
    assert User.objects.filter(pk=bob.pk).exists()  # out of the family, account kept


def test_the_last_admin_cannot_be_removed(client_for, family, alice, bob):
    client = client_for(alice)
    response = client.post(reverse("gallery:member_remove", args=[family.pk, alice.pk]), follow=True)

    assert _roles(family) == {"alice": "admin", "bob": "member"}
    assert "A family must keep at least one admin." in response.content.decode()
    # Refused, she is still in it: the family's page (where she can make someone else an admin), not her list of
    # families as if she had left.
    assert response.redirect_chain[-1][0] == family.get_absolute_url()

    # With a second admin, the first may step down.
    Membership.objects.filter(family=family, user=bob).update(role=Membership.Role.ADMIN)
    response = client.post(reverse("gallery:member_remove", args=[family.pk, alice.pk]))
    assert _roles(family) == {"bob": "admin"}
    assert response["Location"] == reverse("gallery:families")


def test_an_admin_removing_themself_is_told_they_left(client_for, family, alice, bob):
    """alice, an admin with bob as the other, takes herself out with the "Remove" button of her own row: the page said
    "Removed alice from Smiths", as of someone else. It says what "Leave this family" says, links included."""
    from gallery.account_services import invite_create

    Membership.objects.filter(family=family, user=bob).update(role=Membership.Role.ADMIN)
    invite_create(family=family, created_by=alice)
    response = client_for(alice).post(reverse("gallery:member_remove", args=[family.pk, alice.pk]), follow=True)
    page = html.unescape(response.content.decode())
    assert "You left Smiths. The photos you added stay with it; the 1 invitation link you made for it no longer " \
           "works." in page
    assert "Removed" not in page
    assert _roles(family) == {"bob": "admin"}


def test_removing_someone_who_is_not_a_member_is_404(client_for, family, alice, mallory):
    response = client_for(alice).post(reverse("gallery:member_remove", args=[family.pk, mallory.pk]))
    assert response.status_code == 404
    assert mallory.memberships.count() == 1


def test_creating_a_family_makes_you_its_admin(client_for, family, bob):
    response = client_for(bob).post(reverse("gallery:families"), {"name": "Bob's Bunch"})
    new = Family.objects.get(name="Bob's Bunch")
    assert response["Location"] == new.get_absolute_url()
    assert _roles(new) == {"bob": "admin"}

    again = client_for(bob).post(reverse("gallery:families"), {"name": "bob's bunch"})
    assert again.status_code == 200
    assert "You already have a family called" in again.content.decode()
    assert Family.objects.count() == 2


def test_a_family_admin_renames_the_family_on_its_page(client_for, family, alice, bob):
    """The first-run page names the family ("My family" unless changed): only a superuser could rename it, in the
    Django admin, while family admins manage everything else from the gallery's pages."""
    page = client_for(alice).get(family.get_absolute_url()).content.decode()
    assert reverse("gallery:family_rename", args=[family.pk]) in page

    response = client_for(alice).post(reverse("gallery:family_rename", args=[family.pk]), {"name": "  The   Smiths "})
    assert response.status_code == 302 and response["Location"] == family.get_absolute_url()
    family.refresh_from_db()
    assert family.name == "The Smiths"
    assert "Renamed the family “The Smiths”." in client_for(alice).get(response["Location"]).content.decode()

    member_page = client_for(bob).get(family.get_absolute_url()).content.decode()
    assert reverse("gallery:family_rename", args=[family.pk]) not in member_page
    assert client_for(bob).post(reverse("gallery:family_rename", args=[family.pk]), {"name": "Bob's"}).status_code == 403
    family.refresh_from_db()
    assert family.name == "The Smiths"


@pytest.mark.parametrize(("name", "message"), [
    ("", "This field is required."),
    ("Smi\x07ths", "control character"),
    ("x" * 101, "at most 100 characters"),
    ("joneses", "You already have a family called “joneses”: choose another name."),
])
def test_a_rename_the_rules_refuse_says_why_and_keeps_the_name(client_for, family, alice, other_family, name, message):
    MembershipFactory(family=other_family, user=alice)
    response = client_for(alice).post(reverse("gallery:family_rename", args=[family.pk]), {"name": name})
    assert response.status_code == 422 and message in response.content.decode()
    family.refresh_from_db()
    assert family.name == "Smiths"


def test_a_rename_to_a_name_someone_elses_family_has_is_allowed(client_for, family, alice, other_family):
    """Names are unique among one person's own families only (a name taken elsewhere must not tell anyone so)."""
    response = client_for(alice).post(reverse("gallery:family_rename", args=[family.pk]), {"name": "Joneses"})
    assert response.status_code == 302
    # ...and keeping one's family's own name (another letter case) is no clash with itself.
    assert client_for(alice).post(reverse("gallery:family_rename", args=[family.pk]),
                                  {"name": "JONESES"}).status_code == 302


def test_a_member_of_several_families_sees_all_their_photos_on_the_timeline(client_for, family, alice, other_family, mallory):
    MembershipFactory(family=other_family, user=alice)
    third = Family.objects.create(name="Unrelated")
    mine = photo_factory(family=family, user=alice)
    theirs = photo_factory(family=other_family, user=mallory)
    unrelated = photo_factory(family=third)

    body = client_for(alice).get(reverse("gallery:timeline")).content.decode()

    assert mine.get_absolute_url() in body and theirs.get_absolute_url() in body
    assert unrelated.get_absolute_url() not in body
    # ...and can narrow it to one family.
    only_joneses = client_for(alice).get(reverse("gallery:timeline"), {"family": other_family.pk}).content.decode()
    assert theirs.get_absolute_url() in only_joneses and mine.get_absolute_url() not in only_joneses


# --- create_family command ----------------------------------------------------------------------


def test_create_family_command_creates_the_family_and_is_safe_to_rerun(db, capsys):
    UserFactory(username="uma")
    UserFactory(username="vic")
    UserFactory(username="wes")

    call_command("create_family", "Millers", "--admin", "uma", "--member", "vic")
    family = Family.objects.get(name="Millers")
    assert _roles(family) == {"uma": "admin", "vic": "member"}

    call_command("create_family", "millers", "--admin", "uma", "--member", "vic", "--member", "wes")
    assert Family.objects.filter(name__iexact="millers").count() == 1
    assert _roles(family) == {"uma": "admin", "vic": "member", "wes": "member"}
    assert Membership.objects.filter(family=family).count() == 3
    out = capsys.readouterr().out
    assert "Created family “Millers” with admin uma." in out
    assert "Family “Millers” exists; uma is an admin." in out


@pytest.mark.parametrize("first, again", [("Straße", "STRASSE"), ("ΟΔΟΣ", "οδος"), ("İnan", "Inan")])
def test_rerunning_create_family_finds_the_family_by_the_name_it_reads_as(db, capsys, first, again):
    """A rerun looked the family up by PostgreSQL's upper case ("STRASSE" is not "Straße" there) while the family it
    would make is refused as a twin of that one: "create_family STRASSE" beside "Straße" stopped with "You already have
    a family called". It finds the family as the refusal reads names (name_key) and adds the members."""
    UserFactory(username="uma")
    UserFactory(username="vic")
    call_command("create_family", first, "--admin", "uma")

    call_command("create_family", again, "--admin", "uma", "--member", "vic")

    family = Family.objects.get(name=first)
    assert _roles(family) == {"uma": "admin", "vic": "member"} and Family.objects.count() == 1
    assert f"Family “{first}” exists; uma is an admin." in capsys.readouterr().out


def test_rerunning_create_family_never_demotes_an_admin_named_as_a_member(db, capsys):
    """The README's `create_family "The Smiths" --admin alice --member bob`, run again once bob had been made an
    admin on the family page, made him a plain member (withdrawing his links) and printed "Added bob as a member"."""
    for name in ("uma", "vic", "wes"):
        UserFactory(username=name)
    call_command("create_family", "Millers", "--admin", "uma", "--member", "vic", "--member", "wes")
    family = Family.objects.get(name="Millers")
    Membership.objects.filter(family=family, user__username="vic").update(role=Membership.Role.ADMIN)
    capsys.readouterr()

    call_command("create_family", "Millers", "--admin", "uma", "--member", "vic", "--member", "wes")

    assert _roles(family) == {"uma": "admin", "vic": "admin", "wes": "member"}
    out = capsys.readouterr().out
    assert "vic is already in it, as an admin." in out and "wes is already in it, as a member." in out
    assert "Added" not in out


@pytest.mark.parametrize("args", [["--admin", "ghost"], ["--admin", "uma", "--member", "ghost"]])
def test_create_family_command_with_an_unknown_user_fails_and_creates_nothing(db, args):
    UserFactory(username="uma")
    with pytest.raises(CommandError, match="No such user: ghost"):
        call_command("create_family", "Millers", *args)
    assert not Family.objects.filter(name="Millers").exists()


def test_create_family_command_refuses_a_name_longer_than_the_column(db):
    UserFactory(username="uma")
    with pytest.raises(CommandError, match="at most 100 characters"):
        call_command("create_family", "x" * 101, "--admin", "uma")
    assert not Family.objects.exists()


# --- a family always keeps an admin -------------------------------------------------------------


def test_the_last_admin_cannot_demote_themselves_on_the_family_page(client_for, family, alice, bob):
    response = client_for(alice).post(reverse("gallery:member_role", args=[family.pk, alice.pk]), {"role": "member"},
                                      follow=True)

    assert "A family must keep at least one admin." in response.content.decode()
    assert _roles(family) == {"alice": "admin", "bob": "member"}


def test_an_admin_may_step_down_while_another_admin_remains(client_for, family, alice, bob):
    client = client_for(alice)
    client.post(reverse("gallery:member_role", args=[family.pk, bob.pk]), {"role": "admin"})
    response = client.post(reverse("gallery:member_role", args=[family.pk, alice.pk]), {"role": "member"})

    assert response.status_code == 302
    assert _roles(family) == {"alice": "member", "bob": "admin"}


def test_the_last_admin_cannot_be_demoted_by_the_service_or_the_command(family, alice, bob):
    from gallery.services import membership_add

    with pytest.raises(ValidationError, match="A family must keep at least one admin."):
        membership_add(family=family, user=alice, role=Membership.Role.MEMBER)
    assert _roles(family) == {"alice": "admin", "bob": "member"}


def test_an_admin_whose_account_is_inactive_is_no_admin_the_family_keeps(client_for, family, alice, bob):
    """bob, the Smiths' other admin, had his account made inactive by the site administrator (he can't sign in). alice
    could still step down, leave, or have her account deleted, "another admin remains": the family was left with carol
    and an admin who can never act. Only an admin who can sign in counts as the one a family keeps."""
    from gallery.services import membership_add, users_delete

    carol = UserFactory(username="carol")
    MembershipFactory(family=family, user=carol)
    Membership.objects.filter(family=family, user=bob).update(role=Membership.Role.ADMIN)
    type(bob).objects.filter(pk=bob.pk).update(is_active=False)
    client = client_for(alice)

    for response in (client.post(reverse("gallery:member_role", args=[family.pk, alice.pk]), {"role": "member"},
                                 follow=True),
                     client.post(reverse("gallery:family_leave", args=[family.pk]), follow=True),
                     client.post(reverse("gallery:member_remove", args=[family.pk, alice.pk]), follow=True)):
        assert "A family must keep at least one admin." in response.content.decode()
    # The page says why bob, listed as an admin, is none to keep.
    page = client.get(reverse("gallery:family_detail", args=[family.pk])).content.decode()
    assert "bob <small class=\"muted\">(account inactive: can't sign in)</small>" in page
    with pytest.raises(ValidationError, match="alice is the last admin of Smiths"):
        users_delete(users=type(alice).objects.filter(pk=alice.pk))
    assert _roles(family) == {"alice": "admin", "bob": "admin", "carol": "member"}

    # The inactive admin himself may go (alice stays), and once carol is an admin alice may step down.
    membership_add(family=family, user=bob, role=Membership.Role.MEMBER)
    membership_add(family=family, user=carol, role=Membership.Role.ADMIN)
    assert client.post(reverse("gallery:member_role", args=[family.pk, alice.pk]), {"role": "member"}).status_code == 302
    assert _roles(family) == {"alice": "member", "bob": "member", "carol": "admin"}


def test_an_admin_whose_other_members_are_all_inactive_leaves_once_one_of_them_is_an_admin(client_for, family,
                                                                                            alice, bob):
    """The Smiths are alice (admin) and bob, whose account the site administrator made inactive. Leaving, alice was
    told "Make another member of Smiths an admin first"; she made bob an admin and was refused again in the same words
    (an admin who can't sign in counted for nothing, even with nobody left who could), as was deleting her account,
    while making it inactive went through. One rule now, for every path: while anyone who can sign in stays, one of
    them must be an admin; a family nobody left in it can sign in to keeps any admin, and waits for them."""
    from html import unescape

    from gallery.services import users_deactivate_problems, users_delete_problems

    User.objects.filter(pk=bob.pk).update(is_active=False)
    client = client_for(alice)

    page = unescape(client.post(reverse("gallery:family_leave", args=[family.pk]), follow=True).content.decode())
    assert "Make another member of Smiths an admin first" in page
    assert "The other members of Smiths can't sign in (their accounts are inactive)" in page
    assert "alice is the last admin of Smiths: make someone else an admin of it first." in users_delete_problems(
        users=[alice])
    assert users_deactivate_problems(users=[alice]) == []  # (nobody else who can sign in stays: it goes to sleep)
    assert _roles(family) == {"alice": "admin", "bob": "member"}

    assert client.post(reverse("gallery:member_role", args=[family.pk, bob.pk]), {"role": "admin"}).status_code == 302
    # Staying, she can sign in: she can't step down to leave the family to bob, who can't.
    page = client.post(reverse("gallery:member_role", args=[family.pk, alice.pk]), {"role": "member"}, follow=True)
    assert "A family must keep at least one admin." in page.content.decode()
    assert users_delete_problems(users=[alice]) == [] and users_deactivate_problems(users=[alice]) == []
    # carol, who can sign in, deleted along with her: nobody who can sign in stays, bob's admin row keeps it.
    carol = UserFactory(username="carol")
    MembershipFactory(family=family, user=carol)
    assert users_delete_problems(users=[alice, carol]) == []
    assert "alice is the last admin of Smiths" in " ".join(users_delete_problems(users=[alice]))
    Membership.objects.filter(user=carol).delete()

    response = client.post(reverse("gallery:family_leave", args=[family.pk]), follow=True)
    assert "You left Smiths." in response.content.decode()
    assert _roles(family) == {"bob": "admin"}


def test_a_member_leaves_a_family_on_its_page(client_for, family, alice, bob, mallory, other_family):
    """A plain member could not leave a family: only an admin could remove them (QA acct22). "Leave this family"
    takes them out (their photos stay the family's); the last admin is refused, as when removed; another family's
    page is a 404."""
    photo = photo_factory(family=family, user=bob)
    page = client_for(bob).get(reverse("gallery:family_detail", args=[family.pk])).content.decode()
    assert "Leave this family" in page
    assert client_for(mallory).post(reverse("gallery:family_leave", args=[family.pk])).status_code == 404
    response = client_for(bob).post(reverse("gallery:family_leave", args=[family.pk]), follow=True)
    assert f"You left {family.name}." in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("gallery:families")
    assert not Membership.objects.filter(family=family, user=bob).exists()
    assert family.photos.filter(pk=photo.pk).exists()
    assert client_for(bob).get(reverse("gallery:family_detail", args=[family.pk])).status_code == 404
    # The last admin stays, and is told why.
    response = client_for(alice).post(reverse("gallery:family_leave", args=[family.pk]), follow=True)
    assert Membership.objects.filter(family=family, user=alice).exists()
    assert "admin" in response.content.decode() and response.redirect_chain[-1][0] == family.get_absolute_url()


def test_a_leavers_hearts_are_kept_out_of_sight_and_theirs_again_when_they_come_back(client_for, family, alice, bob):
    """What the README says of a member who leaves (or is removed): the hearts they gave the family's photos are
    kept, out of their sight while they are out (their favourites list no photo of it), and theirs again if they
    are invited back."""
    from gallery.models import Favourite
    from gallery.services import membership_add, membership_remove
    from tests.factories import api_token_key

    photo = photo_factory(family=family, user=alice)
    Favourite.objects.create(user=bob, photo=photo)
    api = Client(headers={"Authorization": f"Token {api_token_key(bob)}"})
    assert [p["id"] for p in api.get("/api/v1/photos/?favourite=1").json()["results"]] == [photo.pk]

    membership_remove(family=family, user=bob)
    assert Favourite.objects.filter(user=bob, photo=photo).exists()
    assert api.get("/api/v1/photos/?favourite=1").json()["results"] == []
    assert f'id="photo-{photo.pk}"' not in client_for(bob).get(reverse("gallery:timeline") + "?favourite=1").content.decode()

    membership_add(family=family, user=bob)
    assert [p["id"] for p in api.get("/api/v1/photos/?favourite=1").json()["results"]] == [photo.pk]


def test_create_family_says_so_when_it_makes_a_member_the_admin(db, capsys):
    """Run for a person who is a plain member of a family of that name, it made them its admin and printed "Family
    “Millers” exists; vic is an admin.", as if nothing had changed."""
    for name in ("uma", "vic"):
        UserFactory(username=name)
    call_command("create_family", "Millers", "--admin", "uma", "--member", "vic")
    capsys.readouterr()

    call_command("create_family", "Millers", "--admin", "vic")

    assert _roles(Family.objects.get(name="Millers")) == {"uma": "admin", "vic": "admin"}
    assert "Family “Millers” exists; vic, a member of it, is now an admin too." in capsys.readouterr().out


def test_an_admin_who_leaves_is_told_their_invitation_links_stopped_working(client_for, family, alice, bob):
    """Leaving withdrew the open invitation links the admin had made (whoever they sent one to can no longer join)
    and said nothing of it, as it did of their share links; removing someone says both."""
    from gallery.account_services import invite_create

    Membership.objects.filter(family=family, user=bob).update(role=Membership.Role.ADMIN)
    invite_create(family=family, created_by=bob, note="Grandpa")
    response = client_for(bob).post(reverse("gallery:family_leave", args=[family.pk]), follow=True)
    assert "The photos you added stay with it; the 1 invitation link you made for it no longer works." in \
        response.content.decode()


# --- the last admin, and the family's only member ------------------------------------------------


def test_the_last_admin_who_leaves_is_told_what_to_do(client_for, family, alice, bob):
    """They were told only that "a family keeps one admin": not how to leave all the same."""
    response = client_for(alice).post(reverse("gallery:family_leave", args=[family.pk]), follow=True)
    body = response.content.decode()
    assert "A family must keep at least one admin." in body
    assert "Make another member of Smiths an admin first" in body
    assert _roles(family) == {"alice": "admin", "bob": "member"}

    client_for(alice).post(reverse("gallery:member_remove", args=[family.pk, bob.pk]))
    body = client_for(alice).post(reverse("gallery:family_leave", args=[family.pk]), follow=True).content.decode()
    assert "You are the only member of Smiths" in body and "Delete this family" in body
    assert _roles(family) == {"alice": "admin"}


def test_the_only_member_deletes_the_family_naming_it(client_for, family, alice, bob, other_family, mallory,
                                                     django_capture_on_commit_callbacks):
    """The only member could not delete their family (only the site administrator could, in the Django admin). Its
    page offers it to them alone, naming how many photos go for good (the trash's too: no family, no trash), and the
    family's name must be typed: nothing goes by a stray click."""
    from gallery.trash_services import photos_trash

    kept = photo_factory(family=family, user=alice)
    binned = photo_factory(family=family, user=alice)
    photos_trash(user=alice, photo_ids=[binned.pk])
    theirs = photo_factory(family=other_family, user=mallory)
    delete = reverse("gallery:family_delete", args=[family.pk])
    # Not while someone else belongs to it (their photos are in it too), whoever asks.
    assert "Delete this family" not in client_for(alice).get(family.get_absolute_url()).content.decode()
    refused = client_for(alice).post(delete, {"name": "Smiths"}, follow=True).content.decode()
    assert "bob" in refused and Family.objects.filter(pk=family.pk).exists()
    assert client_for(mallory).post(delete, {"name": "Smiths"}).status_code == 404

    client_for(alice).post(reverse("gallery:member_remove", args=[family.pk, bob.pk]))
    page = client_for(alice).get(family.get_absolute_url()).content.decode()
    assert "Delete this family" in page and "1 photo" in page and "1 in its trash" in page
    wrong = client_for(alice).post(delete, {"name": "Smith"}, follow=True).content.decode()
    assert "Type its name" in wrong and Family.objects.filter(pk=family.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(delete, {"name": " smiths "}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("gallery:families")
    assert "Deleting the family Smiths and its 2 photos: it is gone from your pages now" in response.content.decode()
    run_queued_tasks()  # the worker
    assert not Family.objects.filter(pk=family.pk).exists()
    assert not Photo.all_objects.filter(pk__in=[kept.pk, binned.pk]).exists()
    assert Photo.objects.filter(pk=theirs.pk).exists() and Family.objects.filter(pk=other_family.pk).exists()

    # An empty family: no "its 0 photos".
    empty = client_for(bob).post(reverse("gallery:families"), {"name": "Camping"}, follow=True).content.decode()
    assert "it holds no photos" in empty and "0 photo" not in empty and "Delete Camping</button>" in empty
    camping = Family.objects.get(name="Camping")
    with django_capture_on_commit_callbacks(execute=True):
        done = client_for(bob).post(reverse("gallery:family_delete", args=[camping.pk]), {"name": "Camping"},
                                    follow=True)
    assert "Deleting the family Camping: it is gone from your pages now" in done.content.decode()
    run_queued_tasks()
    assert not Family.objects.filter(pk=camping.pk).exists()


def test_deleting_a_big_family_is_one_short_request_and_it_is_gone_for_everyone_at_once(
        client_for, family, alice, other_family, mallory, django_capture_on_commit_callbacks, settings, tmp_path):
    """Deleting a family deleted every photo in the request, in one transaction that locked every photo row: a
    family of 100,000 photos timed out, or held its locks for minutes. The request now only takes everyone out of
    the family, withdraws its links and marks it; from that instant nothing shows it (pages, API, media, share and
    invitation links, the Django admin), and the worker deletes its photos in batches, their files too."""
    from gallery import services
    from gallery.account_services import invite_create
    from gallery.album_services import album_add_photos, album_create, share_create
    from tests.factories import api_token_key

    photos = [photo_factory(family=family, user=alice) for _ in range(7)]
    files = [photo.original.name for photo in photos]
    album = album_create(user=alice, family=family, name="Summer")
    album_add_photos(user=alice, album=album, photo_ids=[photos[0].pk])
    link = share_create(user=alice, album=album, days=7, allow_download=True).token
    invitation = invite_create(family=family, created_by=alice).token
    token = api_token_key(alice)
    theirs = photo_factory(family=other_family, user=mallory)
    with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as queries:
        response = client_for(alice).post(reverse("gallery:family_delete", args=[family.pk]), {"name": "Smiths"})
    assert response.status_code == 302
    # One short request: no photo row touched (the photos are the worker's), whatever their number.
    assert not [q for q in queries.captured_queries if "gallery_photo" in q["sql"] and
                ("DELETE" in q["sql"] or "FOR UPDATE" in q["sql"])]
    assert Photo.all_objects.filter(family=family).count() == 7  # still there, for the worker

    client = client_for(alice)
    assert client.get(family.get_absolute_url()).status_code == 404
    assert "Smiths" not in client.get(reverse("gallery:families")).content.decode()
    assert client.get(photos[1].get_absolute_url()).status_code == 404
    assert client.get(photos[1].original_url).status_code == 404
    assert client.get(reverse("gallery:timeline")).content.decode().count("/photos/") == 0
    assert client.get(f"/shared/{link}/").status_code == 404
    assert "Smiths" not in Client().get(f"/invite/{invitation}/").content.decode()
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/photos/").json()["count"] == 0
    assert api.get(f"/api/v1/photos/{photos[1].pk}/").status_code == 404
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    admin_page = client_for(root).get(reverse("admin:gallery_photo_changelist")).content.decode()
    assert f"/admin/gallery/photo/{photos[1].pk}/" not in admin_page
    assert client_for(root).get(reverse("admin:gallery_family_change", args=[family.pk])).status_code in (302, 404)
    with pytest.raises(CommandError, match="No family"):
        call_command("import_photos", str(tmp_path), "--family", str(family.pk), "--user", "root")

    services.FAMILY_DELETE_BATCH, batch = 3, services.FAMILY_DELETE_BATCH
    try:
        with django_capture_on_commit_callbacks(execute=True):
            run_queued_tasks()  # the worker: 3, 3, then the last one with the row (files removed after each)
    finally:
        services.FAMILY_DELETE_BATCH = batch
    assert not Family.objects.filter(pk=family.pk).exists()
    assert not Photo.all_objects.filter(family_id=family.pk).exists()
    assert not any(default_storage.exists(name) for name in files)
    assert Photo.objects.filter(pk=theirs.pk).exists()


def test_a_family_deletion_a_killed_worker_left_is_finished_by_the_sweep(family, alice,
                                                                        django_capture_on_commit_callbacks):
    from gallery import services
    from gallery.services import family_delete_continue, family_delete_start, family_deletions_resume

    for _ in range(5):
        photo_factory(family=family, user=alice)
    with django_capture_on_commit_callbacks(execute=False):
        assert family_delete_start(family=family) == 5  # its task lost (a worker killed before it ran)
    services.FAMILY_DELETE_BATCH, batch = 2, services.FAMILY_DELETE_BATCH
    try:
        assert family_delete_continue(family_id=family.pk, seconds=0.0) is False  # one batch, then its time is up
        assert Photo.all_objects.filter(family=family).count() == 3
        assert family_deletions_resume() == 1  # the sweep
        run_queued_tasks()
    finally:
        services.FAMILY_DELETE_BATCH = batch
    assert not Family.objects.filter(pk=family.pk).exists() and not Photo.all_objects.exists()
    assert family_deletions_resume() == 0


def test_an_admin_demoted_meanwhile_is_told_so_not_shown_a_404(client_for, family, alice, bob):
    """An admin made a member while their family page's admin forms were open got "Page not found" on saving one, as
    if the family were gone; they are told they are no longer its admin, and nothing is changed. Outsiders still
    get the 404 of a family that is not theirs."""
    Membership.objects.filter(family=family, user=bob).update(role=Membership.Role.ADMIN)
    client_for(bob).get(family.get_absolute_url())  # the forms open…
    client_for(alice).post(reverse("gallery:member_role", args=[family.pk, bob.pk]), {"role": "member"})  # …meanwhile
    client = client_for(bob)
    for url, data in ((reverse("gallery:family_rename", args=[family.pk]), {"name": "Bob's"}),
                      (reverse("gallery:member_role", args=[family.pk, alice.pk]), {"role": "member"}),
                      (reverse("gallery:member_remove", args=[family.pk, alice.pk]), {}),
                      (reverse("gallery:invite_new", args=[family.pk]), {"role": "member"}),
                      (reverse("gallery:default_country", args=[family.pk]), {"default_country": "PT"})):
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert "You are no longer an admin of Smiths" in response.content.decode(), url
    response = client.get(reverse("gallery:member_password", args=[family.pk, alice.pk]))
    assert response.status_code == 403 and "You are no longer an admin of Smiths" in response.content.decode()
    family.refresh_from_db()
    assert family.name == "Smiths" and _roles(family) == {"alice": "admin", "bob": "member"}


def test_two_families_of_the_same_name_are_told_apart_in_menus_and_pickers(client_for, family, alice, other_family,
                                                                           mallory):
    """Names are unique only among the families one person makes or renames: joining another "Smiths" by invitation
    gave two "Smiths" in every picker, with nothing to tell which is which. Each names its admins then."""
    from gallery.album_services import album_create

    Family.objects.filter(pk=other_family.pk).update(name="smiths")
    Membership.objects.filter(family=other_family, user=mallory).update(role=Membership.Role.ADMIN)
    MembershipFactory(family=other_family, user=alice)
    third = Family.objects.create(name="Joneses")
    MembershipFactory(family=third, user=alice, role=Membership.Role.ADMIN)
    album_create(user=alice, family=family, name="Beach")  # the album page's family picker shows with two families
    client = client_for(alice)
    mine, theirs = "Smiths · admin: alice", "smiths · admin: mallory"
    for url in (reverse("gallery:timeline"), reverse("gallery:upload"), reverse("gallery:families"),
                reverse("gallery:explore"), reverse("gallery:albums"), reverse("search:search") + "?q=x"):
        body = client.get(url).content.decode()
        assert mine in body and theirs in body, url
        assert "Joneses · admin" not in body, url  # a name alone when it is the only one
    for url in (reverse("search:quality", args=[family.pk]), reverse("search:indexing")):
        page = client.get(url).content.decode()
        assert mine in page and theirs in page, url


def test_a_family_whose_name_only_looks_like_another_is_told_apart_by_its_admins(client_for, family, alice,
                                                                                 other_family, mallory):
    """Joined by invitation (nobody could refuse that name), a family named "Smіths" with a Cyrillic і read as alice's
    own "Smiths" in every picker. It is a twin of it as "smiths" is: each names its admins."""
    Family.objects.filter(pk=other_family.pk).update(name="Sm\u0456ths")
    Membership.objects.filter(family=other_family, user=mallory).update(role=Membership.Role.ADMIN)
    MembershipFactory(family=other_family, user=alice)
    mine, theirs = "Smiths · admin: alice", "Sm\u0456ths · admin: mallory"
    for url in (reverse("gallery:timeline"), reverse("gallery:upload"), reverse("search:search") + "?q=x"):
        body = client_for(alice).get(url).content.decode()
        assert mine in body and theirs in body, url


@pytest.mark.parametrize("mine, theirs", [("Straße", "STRASSE"), ("ΟΔΟΣ", "οδος"), ("İnan", "Inan"),
                                          ("\ufb01nns", "FINNS"), ("Smiths", "SMITHS")])
def test_a_name_refused_as_one_of_yours_is_one_the_pickers_tell_apart(client_for, family, alice, other_family,
                                                                    mallory, mine, theirs):
    """A family's name was compared case-folded where a new name is refused (Python) and lowered where two of one's
    families are told apart (SQL): "STRASSE" was refused beside alice's "Straße", and a "STRASSE" she joined showed
    as a second, unexplained "STRASSE"-alike in every picker; "Inan" beside "İnan" the other way round. Both read a
    name alike: twins are refused, and told apart by their admins when joined."""
    Family.objects.filter(pk=family.pk).update(name=mine)
    refused = client_for(alice).post(reverse("gallery:families"), {"name": theirs})
    assert refused.status_code == 200 and "You already have a family called" in refused.content.decode(), theirs
    assert not Family.objects.filter(name=theirs).exists()
    Family.objects.filter(pk=other_family.pk).update(name=theirs)
    Membership.objects.filter(family=other_family, user=mallory).update(role=Membership.Role.ADMIN)
    MembershipFactory(family=other_family, user=alice)
    body = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    assert f"{mine} · admin: alice" in body and f"{theirs} · admin: mallory" in body, (mine, theirs)


def test_albums_of_two_families_of_the_same_name_are_told_apart_by_their_family_too(client_for, family, alice,
                                                                                    other_family, mallory):
    """The albums page's tiles and the selection bar's "Add to album" named an album's family by its name alone: two
    "Beach" albums, one in each "Smiths", read "Beach (Smiths)" twice, and a selection went to whichever was
    picked. They name the family as every other picker does then."""
    from gallery.album_services import album_create

    Family.objects.filter(pk=other_family.pk).update(name="smiths")
    Membership.objects.filter(family=other_family, user=mallory).update(role=Membership.Role.ADMIN)
    MembershipFactory(family=other_family, user=alice)
    album_create(user=alice, family=family, name="Beach")
    theirs_beach = album_create(user=mallory, family=other_family, name="Beach")
    photo_factory(family=family, user=alice)  # (the timeline shows the selection bar with a photo to tick)
    client = client_for(alice)
    mine, theirs = "Smiths · admin: alice", "smiths · admin: mallory"
    bar = client.get(reverse("gallery:timeline")).content.decode()
    assert f"Beach ({mine})" in bar and f"Beach ({theirs})" in bar
    tiles = client.get(reverse("gallery:albums")).content.decode()
    assert f"0 photos · {mine}" in tiles and f"0 photos · {theirs}" in tiles
    # The upload page's albums by family, and the family an album's "Upload into it" picks.
    upload = client.get(reverse("gallery:upload"), {"album": theirs_beach.pk}).content.decode()
    assert f'<optgroup label="{mine}">' in upload and f'<optgroup label="{theirs}">' in upload
    assert f'<strong id="upload-target">{theirs}</strong>' in upload


def test_an_album_page_and_a_photo_page_tell_two_families_of_the_same_name_apart(client_for, family, alice,
                                                                                 other_family, mallory):
    """The album page's header and the photo page's Family row named the family by its name alone, so for someone in
    two "Smiths" they read alike; they name it as every menu and picker does then."""
    from gallery.album_services import album_create
    from gallery.models import TagSuggestion

    Family.objects.filter(pk=other_family.pk).update(name="smiths")
    Membership.objects.filter(family=other_family, user=mallory).update(role=Membership.Role.ADMIN)
    MembershipFactory(family=other_family, user=alice)
    album = album_create(user=mallory, family=other_family, name="Beach")
    photo = photo_factory(family=other_family, user=mallory)
    client = client_for(alice)
    theirs = "smiths · admin: mallory"

    assert f"0 photos</span> · {theirs}" in client.get(album.get_absolute_url()).content.decode()
    TagSuggestion.objects.create(photo=photo, name="sky", probability=0.9, model_name="toy")
    suggestion = TagSuggestion.objects.create(photo=photo, name="sea", probability=0.9, model_name="toy")
    page = client.get(photo.get_absolute_url()).content.decode()
    assert f"<dt>Family</dt><dd>{theirs}</dd>" in page and f"All suggestions in {theirs}</a>" in page
    # The suggestions card again after a suggestion is dismissed (HTMX).
    card = client.post(reverse("gallery:suggestion_dismiss", args=[photo.pk, suggestion.pk]),
                       headers={"HX-Request": "true"})
    assert f"All suggestions in {theirs}</a>" in card.content.decode()
    # Someone in one family of that name reads the name alone.
    assert "<dt>Family</dt><dd>smiths</dd>" in client_for(mallory).get(photo.get_absolute_url()).content.decode()


def test_the_worker_deletes_a_family_in_short_tasks_that_a_restart_does_not_wait_long_for(
        family, alice, django_capture_on_commit_callbacks, monkeypatch):
    """One task deleted a whole family for up to half Q_TIMEOUT (5 minutes): a worker asked to stop (a restart)
    finishes its running task first, so it waited that long, or was killed at its stop time. Each run now stops after
    FAMILY_DELETE_SLICE_SECONDS (a batch at least) and queues the rest."""
    from gallery import services, tasks
    from gallery.services import family_delete_start

    from mediasearch.cluster import STOP_SECONDS

    assert tasks.FAMILY_DELETE_SLICE_SECONDS < STOP_SECONDS
    for _ in range(4):
        photo_factory(family=family, user=alice)
    monkeypatch.setattr(services, "FAMILY_DELETE_BATCH", 2)
    monkeypatch.setattr(tasks, "FAMILY_DELETE_SLICE_SECONDS", 0)
    with django_capture_on_commit_callbacks(execute=True):
        family_delete_start(family=family)
    assert run_queued_tasks() == 3  # 2 photos, 2 photos, then the row
    assert not Family.objects.filter(pk=family.pk).exists()


def test_the_sweeps_and_the_trash_purge_leave_a_family_being_deleted_to_its_deletion(
        family, alice, other_family, mallory, django_capture_on_commit_callbacks):
    """The worker's deletion of a family takes its photos a batch at a time: meanwhile the sweeps (renditions,
    places, embedded metadata) still worked on them, and the trash's purge deleted its old trash under the family's
    final deletion (each waiting for the other's locks). They are left to the deletion now; another family's go on."""
    from datetime import timedelta

    from django.utils import timezone

    from gallery.services import (family_delete_start, photos_lacking_display, photos_lacking_embedded,
                                  photos_lacking_place)
    from gallery.trash_services import trash_purge_expired

    lacking = {"display": "", "latitude": 51.5, "longitude": -0.12, "place_checked": False, "embedded_checked": False}
    long_ago = timezone.now() - timedelta(days=365)
    doomed, doomed_trash = (photo_factory(family=family, user=alice) for _ in range(2))
    kept, kept_trash = (photo_factory(family=other_family, user=mallory) for _ in range(2))
    Photo.all_objects.filter(pk__in=[doomed.pk, kept.pk]).update(**lacking)
    Photo.all_objects.filter(pk__in=[doomed_trash.pk, kept_trash.pk]).update(trashed_at=long_ago)
    with django_capture_on_commit_callbacks(execute=False):
        family_delete_start(family=family)
    for lacking_photos in (photos_lacking_display(), photos_lacking_place(), photos_lacking_place(again=True),
                           photos_lacking_embedded()):
        assert set(lacking_photos.values_list("pk", flat=True)) == {kept.pk}
    assert trash_purge_expired() == 1
    assert set(Photo.all_objects.values_list("pk", flat=True)) == {doomed.pk, doomed_trash.pk, kept.pk}


def test_no_one_is_added_to_a_family_being_deleted(family, alice, bob, django_capture_on_commit_callbacks):
    """membership_add did not look whether the family is being deleted: an admin's change of a member's role that
    waited on the family's lock while a superuser deleted the family in the Django admin made that member's
    membership again once the deletion committed, and they saw the family until the worker had deleted it
    (review29). It is refused now, whoever asks."""
    from gallery.services import family_delete_start, membership_add

    with django_capture_on_commit_callbacks(execute=False):
        family_delete_start(family=family)
    for user, role in ((bob, Membership.Role.MEMBER), (alice, Membership.Role.ADMIN)):
        with pytest.raises(ValidationError, match="being deleted"):
            membership_add(family=family, user=user, role=role)
    assert not Membership.objects.filter(family=family).exists()


def test_the_worker_s_deletion_of_a_family_reads_its_row_once_and_is_refused_inside_a_transaction(
        family, alice, django_capture_on_commit_callbacks, monkeypatch):
    """Each batch commits on its own: called inside a transaction, a failing batch aborted it and the advisory unlock
    in its `finally` failed in turn, hiding the error (and a rollback would bring back what was reported deleted). It
    is refused there now, before anything is deleted. And the family's row was read again before every batch."""
    from django.db import transaction

    from gallery import services
    from gallery.services import family_delete_continue, family_delete_start

    for _ in range(5):
        photo_factory(family=family, user=alice)
    with django_capture_on_commit_callbacks(execute=False):
        family_delete_start(family=family)
    with pytest.raises(RuntimeError), transaction.atomic():
        family_delete_continue(family_id=family.pk, seconds=60.0)
    assert Photo.all_objects.filter(family=family).count() == 5
    monkeypatch.setattr(services, "FAMILY_DELETE_BATCH", 2)
    with CaptureQueriesContext(connection) as queries:
        assert family_delete_continue(family_id=family.pk, seconds=60.0) is True
    family_reads = [q["sql"] for q in queries.captured_queries
                    if q["sql"].startswith("SELECT") and 'FROM "gallery_family"' in q["sql"] and "FOR" not in q["sql"]]
    assert len(family_reads) == 1, family_reads
    assert not Family.objects.filter(pk=family.pk).exists()


@pytest.mark.parametrize("demoted", ["shell", "django_admin"])
@pytest.mark.parametrize("made_admin_again", ["shell", "django_admin", "family_page"])
def test_an_admin_demoted_from_a_shell_and_made_admin_again_does_not_revive_their_old_links(family, alice, bob,
                                                                                          demoted, made_admin_again):
    """bob, an admin, made an invitation link; demoted from a shell (no withdrawal ran) it read withdrawn, and made an
    admin again (a shell, the Django admin's memberships table, the family page) it let people in again (demoted in the
    Django admin, its withdrawal keeps it withdrawn, as on the family page): a link counts
    while its maker is an admin and has been since it was made (admin_since, kept by the database whatever the path),
    not only in the family since. A link he makes as an admin again works."""
    import re

    from django.test import Client

    from gallery.models import Membership
    from tests.files import admin_change_form_data, admin_inline_row

    def link_made() -> str:
        made = bobs.post(reverse("gallery:invite_new", args=[family.pk]), {"role": "member", "note": "n"})
        assert made.status_code == 201
        return re.search(r'value="http://testserver(/invite/[^"]+/)"', made.content.decode()).group(1)

    Membership.objects.filter(family=family, user=bob).update(role=Membership.Role.ADMIN)
    bobs = Client()
    bobs.force_login(bob)
    old = link_made()
    assert Client().get(old).status_code == 200
    root = Client()
    root.force_login(get_user_model().objects.create_superuser("root", "", "root-password-123"))

    def role_set_in_the_django_admin(role: str) -> None:
        url = reverse("admin:gallery_family_change", args=[family.pk])
        data = admin_change_form_data(root.get(url))
        response = root.post(url, {**data, f"memberships-{admin_inline_row(data, bob)}-role": role})
        assert response.status_code == 302, response.content.decode()[:3000]

    if demoted == "shell":  # no withdrawal runs
        Membership.objects.filter(family=family, user=bob).update(role=Membership.Role.MEMBER)
    else:
        role_set_in_the_django_admin("member")
    assert Client().get(old).status_code == 410

    if made_admin_again == "shell":
        Membership.objects.filter(family=family, user=bob).update(role=Membership.Role.ADMIN)
    elif made_admin_again == "django_admin":
        role_set_in_the_django_admin("admin")
    else:
        alices = Client()
        alices.force_login(alice)
        assert alices.post(reverse("gallery:member_role", args=[family.pk, bob.pk]),
                           {"role": "admin"}).status_code == 302
    assert Membership.objects.get(family=family, user=bob).role == Membership.Role.ADMIN

    assert Client().get(old).status_code == 410, "the link bob made before he was demoted works again"
    assert Client().get(link_made()).status_code == 200
