"""Invitation links under races: these commit for real, because the races only exist between connections."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test import Client

from gallery.account_selectors import invite_of_token
from gallery.account_services import (
    InviteUnusable, invite_accept_existing, invite_accept_new_account, invite_create, invite_problem,
    member_password_set, user_active_set,
)
from gallery.models import Invite, Membership
from gallery.services import invites_withdraw_made_by, membership_add, membership_remove
from gallery.tests.test_concurrency import _in_threads
from tests.factories import FamilyFactory, MembershipFactory, UserFactory
from tests.races import first_holds_then_second

pytestmark = pytest.mark.django_db(transaction=True)

User = get_user_model()
PASSWORD = "seaside-kite-flying-9"


@pytest.fixture
def smiths():
    family = FamilyFactory(name="Smiths")
    alice = UserFactory(username="alice")
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)
    return family, alice


def test_two_submits_of_one_link_make_one_account(smiths):
    family, alice = smiths
    path = f"/invite/{invite_create(family=family, created_by=alice).token}/"

    def submit(i):
        return Client().post(path, {"username": f"carol{i}", "password": PASSWORD, "password_again": PASSWORD})

    responses = _in_threads(2, submit)

    assert sorted(r.status_code for r in responses) == [302, 410], responses
    assert User.objects.filter(username__startswith="carol").count() == 1
    assert family.memberships.count() == 2
    invite = Invite.objects.get()
    assert invite.used_by.username.startswith("carol")


def test_a_signup_and_a_signed_in_join_on_one_link_use_it_once(smiths):
    family, alice = smiths
    token = invite_create(family=family, created_by=alice).token
    mallory = UserFactory(username="mallory")

    def work(i):
        if i == 0:
            return invite_accept_new_account(token=token, username="carol", password=PASSWORD)
        return invite_accept_existing(token=token, user=mallory)

    results = _in_threads(2, work)

    refused = [r for r in results if isinstance(r, InviteUnusable)]
    assert len(refused) == 1 and refused[0].state == "used", results
    assert family.memberships.count() == 2


def test_two_links_choosing_one_username_at_once_make_one_account(smiths):
    family, alice = smiths
    tokens = [invite_create(family=family, created_by=alice).token for _ in range(2)]

    results = _in_threads(2, lambda i: invite_accept_new_account(token=tokens[i], username=["Carol", "carol"][i],
                                                                 password=PASSWORD))

    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 1 and "is taken" in refused[0].messages[0], results
    assert User.objects.filter(username__iexact="carol").count() == 1
    assert Invite.objects.filter(used_at__isnull=False).count() == 1


# --- an admin setting a password while the member's families change ------------------------------


def _in_background(work):
    """Start work() in a thread of its own (own connection); returns a function that waits for its outcome."""
    outcome = {}

    def run():
        try:
            outcome["value"] = work()
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["value"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()

    def wait():
        thread.join(timeout=30)
        return outcome.get("value")

    return wait


def test_a_password_set_while_the_member_joins_another_family_is_refused(smiths):
    """The member opens a link to a family the admin doesn't administer while the admin sets their password:
    whichever commits second sees the other. Here the join holds its locks first."""

    family, alice = smiths
    bob = UserFactory(username="bob")
    MembershipFactory(family=family, user=bob)
    joneses = FamilyFactory(name="Joneses")
    mallory = UserFactory(username="mallory")
    MembershipFactory(family=joneses, user=mallory, role=Membership.Role.ADMIN)
    token = invite_create(family=joneses, created_by=mallory).token

    with transaction.atomic():
        invite_accept_existing(token=token, user=bob)  # not committed yet: its locks are held
        wait = _in_background(lambda: member_password_set(actor=alice, user=bob, password=PASSWORD))
        time.sleep(1)

    outcome = wait()
    assert isinstance(outcome, PermissionDenied), outcome
    bob.refresh_from_db()
    assert bob.check_password("correct horse battery")


def test_a_password_set_while_the_admin_is_demoted_is_refused(smiths):
    family, alice = smiths
    bob, carol = UserFactory(username="bob"), UserFactory(username="carol")
    MembershipFactory(family=family, user=bob)
    MembershipFactory(family=family, user=carol, role=Membership.Role.ADMIN)

    with transaction.atomic():
        membership_add(family=family, user=alice, role=Membership.Role.MEMBER)  # carol demotes alice
        wait = _in_background(lambda: member_password_set(actor=alice, user=bob, password=PASSWORD))
        time.sleep(1)

    outcome = wait()
    assert isinstance(outcome, PermissionDenied), outcome
    bob.refresh_from_db()
    assert bob.check_password("correct horse battery")


def test_removing_an_admin_while_someone_opens_their_link_neither_deadlocks_nor_lets_them_in(smiths):
    """Removing someone withdraws their links (family row, then the link's); opening a link locked the link's row,
    then the family's: the two in opposite orders deadlocked, and PostgreSQL aborted one of them (a 500). The link
    is now opened under the family's lock first, so it waits for the removal and finds the link withdrawn."""
    from gallery.services import family_lock, membership_remove

    family, alice = smiths
    bob, carol = UserFactory(username="bob"), UserFactory(username="carol")
    MembershipFactory(family=family, user=bob, role=Membership.Role.ADMIN)
    token = invite_create(family=family, created_by=bob, role=Membership.Role.ADMIN).token

    with transaction.atomic():
        family_lock(family_id=family.pk)  # the removal has begun
        wait = _in_background(lambda: invite_accept_existing(token=token, user=carol))
        time.sleep(1)
        membership_remove(family=family, user=bob)  # withdraws bob's link

    outcome = wait()
    assert isinstance(outcome, InviteUnusable) and outcome.state == Invite.State.REVOKED, outcome
    assert dict(family.memberships.values_list("user__username", "role")) == {"alice": "admin"}


# --- a link made while its maker stops being an admin who can sign in ----------------------------


def _alice_makes_a_link(family, alice, made: dict):
    """invite_new: alice's request began while she was still an admin who could sign in."""
    def make():
        new = invite_create(family=family, created_by=alice)
        made["token"] = new.token
        return new.invite.pk
    return make


def _link_lets_no_one_in(token: str) -> None:
    """The link reads as withdrawn, naming no one, and accepting it is refused."""
    invite = invite_of_token(token).get()
    problem = invite_problem(invite, token=token)
    assert problem is not None and problem.state == Invite.State.REVOKED, problem
    assert problem.messages == ["This invitation link was withdrawn. Ask the family's admin for a new one."]
    with pytest.raises(InviteUnusable):
        invite_accept_new_account(token=token, username="carol", password=PASSWORD)
    assert not User.objects.filter(username="carol").exists()


def test_a_link_made_while_its_admin_is_made_inactive_lets_no_one_in():
    """The site administrator unticks alice's "Active" box (the save, then the withdrawal of her open links, in one
    transaction) while alice makes a link: the link's row commits after the withdrawal looked for her links, so it
    stayed open, read "alice invites you" and let people in. A link counts only while its maker is an admin of its
    family who can sign in."""
    family = FamilyFactory(name="Smiths")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=family, user=bob, role=Membership.Role.ADMIN)
    made = {}

    def deactivate():  # what the Django admin's save does
        user = User.objects.get(pk=alice.pk)
        user.is_active = False
        user.save()
        return invites_withdraw_made_by(user_ids=[alice.pk])

    run = first_holds_then_second(deactivate, _alice_makes_a_link(family, alice, made))

    assert not isinstance(run.first, Exception) and not isinstance(run.second, Exception), run
    assert not User.objects.get(pk=alice.pk).is_active
    _link_lets_no_one_in(made["token"])


def test_two_admins_made_inactive_at_once_leave_one_who_can_sign_in():
    """alice and bob administer the Smiths, where carol stays: each alone may be made inactive, not both. Made
    inactive at once (two site administrators, or a script), the second waits for the first's locks on the family and
    is refused."""
    from gallery.account_services import user_active_set

    family = FamilyFactory(name="Smiths")
    alice, bob, carol = (UserFactory(username=name) for name in ("alice", "bob", "carol"))
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=family, user=bob, role=Membership.Role.ADMIN)
    MembershipFactory(family=family, user=carol)

    run = first_holds_then_second(lambda: user_active_set(user=alice, active=False),
                                  lambda: user_active_set(user=bob, active=False))

    assert run.second_waited and not isinstance(run.first, Exception), run
    assert isinstance(run.second, ValidationError), run
    assert run.second.messages == ["bob is the last admin of Smiths: make someone else an admin of it first."]
    assert list(User.objects.filter(is_active=True).order_by("username").values_list("username", flat=True)) == [
        "bob", "carol"]


# --- the order locks are taken in: a family's row, then the account's ------------------------------


def _no_deadlock(outcome) -> None:
    from django.db import OperationalError

    assert not isinstance(outcome, OperationalError), outcome  # PostgreSQL's "deadlock detected": a 500


@pytest.mark.parametrize("family_first", ["invite_accept_existing", "user_active_set"])
def test_a_password_set_while_the_member_opens_a_link_or_is_made_inactive_does_not_deadlock(smiths, family_first):
    """Opening a link locks its family, then the account (invite_accept_existing); making an account inactive locks its
    families, then writes its row (user_active_set); an admin setting a member's password locked the account, then its
    families (member_password_set). bob, a member of the Smiths, opens a link to them again (or the site administrator
    unticks his "Active" box) while alice sets his password: each held the lock the other waited for, and PostgreSQL
    aborted one of them ("deadlock detected", a 500). Every path now takes a family's row before the account's: the
    password waits for the family, then goes through."""
    from gallery.services import family_lock

    family, alice = smiths
    bob = UserFactory(username="bob")
    MembershipFactory(family=family, user=bob)
    token = invite_create(family=family, created_by=alice).token
    then = {"invite_accept_existing": lambda: invite_accept_existing(token=token, user=bob),
            "user_active_set": lambda: user_active_set(user=User.objects.get(pk=bob.pk), active=False)}[family_first]

    run = first_holds_then_second(lambda: family_lock(family_id=family.pk),  # (the first step of either)
                                  lambda: member_password_set(actor=alice, user=bob, password=PASSWORD), then=then)

    _no_deadlock(run.first)
    _no_deadlock(run.second)
    assert run.second_waited
    assert run.second is None, run.second  # the password was set
    assert User.objects.get(pk=bob.pk).check_password(PASSWORD)
    if family_first == "invite_accept_existing":
        assert isinstance(run.first, ValidationError) and "already in Smiths" in run.first.messages[0], run.first
    else:
        assert not User.objects.get(pk=bob.pk).is_active


def test_a_password_set_while_the_member_joins_a_family_committed_meanwhile_is_refused_not_half_checked(smiths):
    """The password's check locks the member's families, then the account: a family they joined between the two (its
    join committed meanwhile) was never locked, so it is refused, asking to try again, as any join seen meanwhile is."""
    family, alice = smiths
    bob = UserFactory(username="bob")
    MembershipFactory(family=family, user=bob)
    joneses = FamilyFactory(name="Joneses")
    MembershipFactory(family=joneses, user=alice, role=Membership.Role.ADMIN)  # alice administers both
    token = invite_create(family=joneses, created_by=alice).token

    run = first_holds_then_second(lambda: invite_accept_existing(token=token, user=bob),
                                  lambda: member_password_set(actor=alice, user=bob, password=PASSWORD))

    assert run.second_waited and isinstance(run.first, Membership), run.first
    assert isinstance(run.second, PermissionDenied) and "try again" in str(run.second), run.second
    assert User.objects.get(pk=bob.pk).check_password("correct horse battery")
    member_password_set(actor=alice, user=bob, password=PASSWORD)  # and so it does
    assert User.objects.get(pk=bob.pk).check_password(PASSWORD)


def test_a_password_set_while_the_member_leaves_one_of_their_families_goes_through(smiths):
    """The password's check reads the member's families, locks them, then the account, and reads them again: a family
    they left meanwhile (bob leaves the Joneses while alice's check waits for its lock) was refused as a join is, though
    one family fewer needs no new check (the check runs on the families they are in). Only a family joined is refused
    now: the password is set."""
    family, alice = smiths
    bob = UserFactory(username="bob")
    MembershipFactory(family=family, user=bob)
    joneses = FamilyFactory(name="Joneses")
    MembershipFactory(family=joneses, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=joneses, user=bob)
    from gallery.services import family_lock

    run = first_holds_then_second(lambda: family_lock(family_id=joneses.pk),
                                  lambda: member_password_set(actor=alice, user=bob, password=PASSWORD),
                                  then=lambda: membership_remove(family=joneses, user=bob))

    assert run.second_waited and not isinstance(run.first, Exception), run
    assert run.second is None, run.second
    assert User.objects.get(pk=bob.pk).check_password(PASSWORD)


# --- making a link takes its maker's membership first, as share_create does ------------------------


@pytest.mark.parametrize("change", ["removed", "stepped down", "made inactive"])
def test_no_link_is_made_while_its_admin_is_removed_and_none_works_when_they_are_back(change):
    """alice makes a link while bob removes her (or she steps down, or the site administrator makes her inactive).
    invite_create took no lock: its row waited for the removal's lock on the family (its foreign key), then committed
    after the removal had withdrawn her links, so it stayed open, withdrawn only while she was no admin: made an admin
    again, her link let people in once more, where every link she made before was withdrawn for good. The link is
    now made under her membership held (membership_hold): it waits for the change, then is refused."""
    family = FamilyFactory(name="Smiths")
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=family, user=bob, role=Membership.Role.ADMIN)
    made = {}
    change_alice = {"removed": lambda: membership_remove(family=family, user=alice),
                    "stepped down": lambda: membership_add(family=family, user=alice, role=Membership.Role.MEMBER),
                    "made inactive": lambda: user_active_set(user=User.objects.get(pk=alice.pk), active=False),
                    }[change]

    run = first_holds_then_second(change_alice, _alice_makes_a_link(family, alice, made))

    assert run.second_waited and not isinstance(run.first, Exception), run
    assert isinstance(run.second, PermissionDenied), run
    assert not Invite.objects.filter(created_by=alice, revoked_at__isnull=True).exists()
    # Back as an admin who can sign in: nothing she handed out before works again.
    User.objects.filter(pk=alice.pk).update(is_active=True)
    membership_add(family=family, user=User.objects.get(pk=alice.pk), role=Membership.Role.ADMIN)
    for token in made.values():
        assert invite_problem(invite_of_token(token).first(), token=token) is not None


def test_no_link_is_made_for_a_family_while_it_is_deleted():
    """alice, the Smiths' only member, deletes the family while her other tab makes a link: the link's row waited for
    the deletion's lock, then committed open, in a family being deleted, its hash not among those kept to say so
    (DeletedFamilyInvite). It now waits, then is refused."""
    from gallery.models import DeletedFamilyInvite
    from gallery.services import family_delete_start

    family = FamilyFactory(name="Smiths")
    alice = UserFactory(username="alice")
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)
    made = {}

    run = first_holds_then_second(lambda: family_delete_start(family=family), _alice_makes_a_link(family, alice, made))

    assert run.second_waited and not isinstance(run.first, Exception), run
    assert isinstance(run.second, PermissionDenied), run
    # No link at all: no token handed out, no row (open or not), so no hash the deletion should have kept.
    assert made == {}
    assert not Invite.objects.filter(family=family).exists()
    assert not DeletedFamilyInvite.objects.exists()
