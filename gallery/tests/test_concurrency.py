"""Writes that race: parallel uploads creating the same new tags, admins stepping down at the same time.

These tests commit for real (transactional database, live server), because the races only exist between
separate connections."""

from __future__ import annotations

import re
from pathlib import Path
import time
import uuid
from http.cookiejar import CookieJar
from urllib.error import HTTPError
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client

from gallery.models import Membership, Photo, Tag
from gallery.services import membership_add, membership_remove, tags_get_or_create
from tests import images
from tests.factories import FamilyFactory, MembershipFactory, UserFactory
from tests.races import in_threads as _in_threads

pytestmark = pytest.mark.django_db(transaction=True)


# --- tags ---------------------------------------------------------------------------------------


def test_two_transactions_creating_the_same_new_tags_get_the_same_rows():
    family = FamilyFactory()

    def work(i):
        with transaction.atomic():
            tags = tags_get_or_create(family=family, names=["Beach", "sunset", "Grandma"] if i else ["beach", "Sunset"])
            time.sleep(0.3)  # keep the transaction open so that the other one meets the uncommitted rows
            return sorted(tag.pk for tag in tags)

    first, second = _in_threads(2, work)

    assert not isinstance(first, Exception) and not isinstance(second, Exception), (first, second)
    assert Tag.objects.filter(family=family).count() == 3
    assert set(first) <= set(second)  # thread 0 asked for two of the three


class _Browser:
    """What the upload page's script does, over real HTTP: a session cookie, the CSRF token, one file a request."""

    def __init__(self, live_server, user):
        client = Client()
        client.force_login(user)
        self.base = live_server.url
        self.jar = CookieJar()
        self.opener = build_opener(HTTPCookieProcessor(self.jar))
        self.session = client.cookies["sessionid"].value
        page = self._open(Request(f"{self.base}/upload/", headers={"Cookie": f"sessionid={self.session}"}))
        self.csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode()).group(1)
        self.csrf_cookie = next(c.value for c in self.jar if c.name == "csrftoken")

    def _open(self, request):
        try:
            return self.opener.open(request, timeout=60)
        except HTTPError as exc:
            return exc

    def upload(self, *, family_id: int, filename: str, data: bytes, tags: str) -> tuple[int, str]:
        boundary = uuid.uuid4().hex
        fields = {"csrfmiddlewaretoken": self.csrf, "family": str(family_id), "tags": tags}
        body = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
            for name, value in fields.items()
        )
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{filename}"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        request = Request(f"{self.base}/upload/", data=body, method="POST", headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Cookie": f"sessionid={self.session}; csrftoken={self.csrf_cookie}",
            "Referer": f"{self.base}/upload/",
            "X-Upload-Script": "1",
        })
        response = self._open(request)
        return response.status, response.read().decode()


def test_parallel_uploads_with_the_same_new_tags_all_save(live_server):
    family = FamilyFactory(name="Racers")
    user = UserFactory(username="racer")
    MembershipFactory(family=family, user=user, role=Membership.Role.ADMIN)
    browser = _Browser(live_server, user)
    tags = "Holiday 2026, Beach, grandma, new tag one, new tag two, Sunset"

    # The second round meets the tags the first one committed, differently cased, plus one more new tag.
    for prefix, batch_tags in (("first", tags), ("second", tags.upper() + ", another new one")):
        batch = [(f"{prefix}{i}.jpg", images.jpeg(colour=(len(prefix) * 20 + i, 9 * i, 90), size=(60 + i, 40)))
                 for i in range(6)]
        results = _in_threads(len(batch), lambda i: browser.upload(
            family_id=family.pk, filename=batch[i][0], data=batch[i][1], tags=batch_tags))
        for status, body in results:
            assert status == 200, body
            assert 'data-outcome="saved"' in body, body

    assert Photo.objects.filter(family=family).count() == 12
    assert Tag.objects.filter(family=family).count() == 7
    for photo in Photo.objects.filter(family=family):
        expected = 6 if photo.original_filename.startswith("first") else 7
        assert photo.tags.count() == expected, photo.original_filename


def test_the_same_file_uploaded_from_four_tabs_at_once_is_stored_once_and_the_others_say_already_there(live_server):
    family = FamilyFactory(name="Racers")
    user = UserFactory(username="racer")
    MembershipFactory(family=family, user=user, role=Membership.Role.ADMIN)
    browser = _Browser(live_server, user)
    data = images.jpeg(colour=(200, 30, 60), size=(80, 60))

    results = _in_threads(4, lambda i: browser.upload(family_id=family.pk, filename=f"tab{i}.jpg", data=data, tags=""))

    assert [status for status, _ in results] == [200] * 4, results
    outcomes = sorted(re.search(r'data-outcome="(\w+)"', body).group(1) for _, body in results)
    assert outcomes == ["duplicate", "duplicate", "duplicate", "saved"], outcomes
    assert all("Already in Racers" in body for _, body in results if 'data-outcome="duplicate"' in body)
    assert Photo.all_objects.filter(family=family).count() == 1


def test_the_same_bytes_uploaded_at_once_are_saved_once_and_reported_as_a_duplicate_once(settings):
    from gallery.services import UploadResult, photo_create_from_bytes

    family = FamilyFactory()
    data = images.jpeg(colour=(3, 140, 90))

    results = _in_threads(3, lambda i: photo_create_from_bytes(
        family=family, uploaded_by=None, data=data, filename=f"same{i}.jpg", tags=["fresh tag"]))

    outcomes = sorted(r.outcome for r in results)
    assert outcomes == [UploadResult.DUPLICATE, UploadResult.DUPLICATE, UploadResult.SAVED], results
    assert Photo.objects.filter(family=family).count() == 1
    # The losers wrote their files before their row was refused; those files are gone again.
    photo = Photo.objects.get(family=family)
    stored = sorted(str(p.relative_to(settings.MEDIA_ROOT)) for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file())
    assert stored == sorted([photo.original.name, photo.thumbnail.name, photo.display.name])


# --- admins ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("second", ["demote", "remove"])
def test_two_admins_stepping_down_at_once_leave_exactly_one_admin(second):
    family = FamilyFactory()
    alice, carol = UserFactory(username="alice"), UserFactory(username="carol")
    for user in (alice, carol):
        MembershipFactory(family=family, user=user, role=Membership.Role.ADMIN)

    def work(i):
        if i == 0:
            return membership_add(family=family, user=alice, role=Membership.Role.MEMBER)
        if second == "demote":
            return membership_add(family=family, user=carol, role=Membership.Role.MEMBER)
        return membership_remove(family=family, user=carol)

    results = _in_threads(2, work)

    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 1, results
    assert refused[0].messages[0].startswith("A family must keep at least one admin.")
    assert family.memberships.filter(role=Membership.Role.ADMIN).count() == 1


def test_the_database_refuses_to_commit_a_family_without_an_admin_whatever_the_path():
    """The services and the admin refuse with a message; the database is the net under every other path
    (the shell, a cascade, code written later)."""
    from django.db import IntegrityError

    family = FamilyFactory()
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)
    MembershipFactory(family=family, user=bob)

    with pytest.raises(IntegrityError, match="without an admin"):
        Membership.objects.filter(user=alice).update(role=Membership.Role.MEMBER)
    with pytest.raises(IntegrityError, match="without an admin"):
        alice.delete()
    assert family.memberships.get(user=alice).role == Membership.Role.ADMIN

    with transaction.atomic():  # a hand-over inside one transaction is fine, in either order
        Membership.objects.filter(user=alice).update(role=Membership.Role.MEMBER)
        Membership.objects.filter(user=bob).update(role=Membership.Role.ADMIN)
    family.delete()  # and so is deleting the whole family
    assert not Membership.objects.exists()


def test_the_database_refuses_to_commit_a_family_whose_admins_cannot_sign_in_while_others_can():
    """The guard counted any admin row: by raw SQL (the shell, a script, code with a bug) alice, the Smiths' only
    admin, was made inactive while bob could still sign in, or bob made active again once both were, or carol put in a
    family all of whose accounts were inactive, and the database took it. It holds the rule of the services now: while
    anyone who can sign in is in a family, one of them is an admin; with nobody who can, any admin row; no admin row
    at all, never (a family being filled, with no admin row yet, takes members)."""
    from django.db import IntegrityError, connection

    family = FamilyFactory()
    alice, bob, carol = (UserFactory(username=name) for name in ("alice", "bob", "carol"))
    MembershipFactory(family=family, user=bob)  # members first, then the admin: a family being filled
    MembershipFactory(family=family, user=alice, role=Membership.Role.ADMIN)

    def sql(statement: str, *params) -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)

    def active(*users) -> set[str]:
        return set(type(alice).objects.filter(pk__in=[u.pk for u in users], is_active=True)
                   .values_list("username", flat=True))

    refused = pytest.raises(IntegrityError, match="without an admin who can sign in")
    with refused:
        sql("UPDATE auth_user SET is_active = false WHERE id = %s", alice.pk)
    assert active(alice) == {"alice"}
    sql("UPDATE gallery_membership SET role = 'admin' WHERE user_id = %s", bob.pk)
    sql("UPDATE auth_user SET is_active = false WHERE id = %s", bob.pk)
    with refused:  # bob's admin row: he can't sign in, alice can
        sql("UPDATE gallery_membership SET role = 'member' WHERE user_id = %s", alice.pk)
    # Nobody who can sign in: the family waits, kept by any admin row.
    sql("UPDATE auth_user SET is_active = false WHERE id = %s", alice.pk)
    sql("UPDATE gallery_membership SET role = 'member' WHERE user_id = %s", alice.pk)
    with refused:  # alice, made active again, is in a family none of whose admins can sign in
        sql("UPDATE auth_user SET is_active = true WHERE id = %s", alice.pk)
    with refused:  # carol, who can sign in, joins it
        sql("INSERT INTO gallery_membership (family_id, user_id, role, joined_at) VALUES (%s, %s, 'member', now())",
            family.pk, carol.pk)
    with refused:  # alice's row given to carol
        sql("UPDATE gallery_membership SET user_id = %s WHERE user_id = %s", carol.pk, alice.pk)
    with refused:  # still no admin row at all
        sql("UPDATE gallery_membership SET role = 'member' WHERE user_id = %s", bob.pk)
    assert active(alice, bob) == set() and not family.memberships.filter(user=carol).exists()
    assert dict(family.memberships.values_list("user__username", "role")) == {"alice": "member", "bob": "admin"}

    # bob made active: he is its admin. Then alice too, and carol joins.
    sql("UPDATE auth_user SET is_active = true WHERE id = %s", bob.pk)
    sql("UPDATE auth_user SET is_active = true WHERE id = %s", alice.pk)
    sql("INSERT INTO gallery_membership (family_id, user_id, role, joined_at) VALUES (%s, %s, 'member', now())",
        family.pk, carol.pk)
    with transaction.atomic():  # a hand-over inside one transaction is fine
        sql("UPDATE gallery_membership SET role = 'admin' WHERE user_id = %s", carol.pk)
        sql("UPDATE auth_user SET is_active = false WHERE id = %s", bob.pk)
    assert active(alice, bob, carol) == {"alice", "carol"}
    # Deleting accounts in bulk (the admin's action) and then the family go through.
    from gallery.services import family_delete_start, users_delete

    users_delete(users=type(alice).objects.filter(pk__in=[alice.pk, bob.pk]))
    assert dict(family.memberships.values_list("user__username", "role")) == {"carol": "admin"}
    family_delete_start(family=family)
    assert not Membership.objects.exists()


def test_the_database_lets_a_member_be_made_inactive_in_a_family_that_breaks_the_rule_already():
    """The guard of who can sign in checked every family of an account whose Active box changed: a member made
    inactive in a family with no admin row yet (the admin's form allowed one before 5b58f8c), or one whose only admin
    could no longer sign in before 08bbbac, was refused by the database at commit although the services saw nothing
    wrong: the site administrator got a 500. A member going inactive can't break the rule: only an account made active
    again, or an admin made inactive, is checked."""
    from django.db import IntegrityError, connection

    def sql(statement: str, *params) -> None:
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    waiting = FamilyFactory()  # members and no admin row yet
    bob, carol = UserFactory(username="bob"), UserFactory(username="carol")
    MembershipFactory(family=waiting, user=bob)
    MembershipFactory(family=waiting, user=carol)
    with transaction.atomic():
        sql("UPDATE auth_user SET is_active = false WHERE id = %s", bob.pk)
    assert not type(bob).objects.get(pk=bob.pk).is_active

    broken = FamilyFactory()  # its only admin can't sign in, its member can (made so before 08bbbac)
    dave, erin = UserFactory(username="dave"), UserFactory(username="erin")
    MembershipFactory(family=broken, user=dave, role=Membership.Role.ADMIN)
    MembershipFactory(family=broken, user=erin)
    with transaction.atomic(), connection.cursor() as cursor:  # (as a database before 0048: no trigger then)
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE auth_user SET is_active = false WHERE id = %s", [dave.pk])
    with transaction.atomic():
        sql("UPDATE auth_user SET is_active = false WHERE id = %s", erin.pk)
    with pytest.raises(IntegrityError, match="without an admin who can sign in"), transaction.atomic():
        sql("UPDATE auth_user SET is_active = true WHERE id = %s", erin.pk)  # made active again: checked
