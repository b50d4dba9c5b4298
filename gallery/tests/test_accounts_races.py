"""Invitation links under races: these commit for real, because the races only exist between connections."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.test import Client

from gallery.account_services import InviteUnusable, invite_accept_existing, invite_accept_new_account, invite_create
from gallery.models import Invite, Membership
from gallery.tests.test_concurrency import _in_threads
from tests.factories import FamilyFactory, MembershipFactory, UserFactory

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
