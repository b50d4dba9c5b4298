"""Writes to the gallery. Every change to families, memberships and photos goes through here."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import EmptyResultSet, PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.http import parse_etags, quote_etag
from django.utils.text import Truncator

from gallery.files import (
    StorageFailed,
    files_remove,
    photo_file_fields,
    photo_file_names,
    photo_files_write,
    photos_files_release,
)
from gallery.embedded import Embedded, embedded_merged, names_the_file_only, read_embedded, without_file_name_title
from gallery.xmp_sidecars import is_an_xmp_sidecar
from gallery.filename_dates import DAY, MONTH, YEAR, FolderDate, NamedDate, date_in_filename
from gallery.sidecars import Sidecar, is_a_sidecar
from gallery.images import (
    EXTENSIONS, NOT_AN_IMAGE, ImageBusy, ImageRejected, decode_upright, encode_display, exif_dates, inspect_image,
    VIDEO_REFUSAL, archive_kind, archive_refusal, is_a_video, read_limited, sha256_of, turned,
)
from gallery.models import (Album, AlbumShare, DeletedFamilyInvite, DeletedPhoto, Family, Favourite, Invite, Membership,
                            Photo, PhotoTag, RemovedTag, SidecarStar, Tag, TagMerge, TagSuggestion)
from gallery.name_fold import NameFolded, name_folded
from gallery.places import country_code_for, country_name, place_for
from gallery.account_selectors import username_taken, username_taken_error
from gallery.selectors import TagKeys, names_folded, photos_worked_on, same_name
from gallery.signals import members_joined, members_leaving, photos_added, photos_changed, tags_merged
from gallery.text import (
    control_characters_refuse, name_key, one_line, tag_name_clean, text_from_file, text_from_os, without_controls,
    without_nul,
)
from gallery.timezones import aware, country_zone, local, offset_name, when_taken, zone_at
from gallery.upload_limits import UNNAMED_FILE

logger = logging.getLogger(__name__)
User = get_user_model()

MAX_TAGS = 50


# --- families -----------------------------------------------------------------------------------


def family_name_clean(name: str, *, user: AbstractBaseUser, family: Family | None = None) -> str:
    """A family's name as stored (one line), or the reason it can't be: for a family `user` makes or renames."""
    name = one_line(name)
    control_characters_refuse(name, what="A family's name")
    if not name:
        raise ValidationError("A family needs a name.")
    if len(name) > (longest := Family._meta.get_field("name").max_length):
        raise ValidationError(f"A family's name has at most {longest} characters.")
    # Names are not unique across the site (nor may a name taken elsewhere reveal that family): only among the
    # families of one person, so that they can tell their own apart.
    if twins := families_named_as(name, user=user, besides=family):
        if twins[0].name.casefold() != name.casefold():  # the same letters in another script: say which family
            raise ValidationError(f"You already have a family called “{twins[0].name}”, which “{name}” looks the "
                                  "same as (look-alike letters of another alphabet or width, or invisible marks): "
                                  "choose another name.")
        raise ValidationError(f"You already have a family called “{name}”: choose another name.")
    return name


def families_named_as(name: str, *, user: AbstractBaseUser, besides: Family | None = None) -> list[Family]:
    """`user`'s families whose name reads as `name` (name_key: any case, invisible marks aside, full-width letters as
    plain ones), but `besides`. Compared in Python, as a person has few families (name_key_sql reads them alike in
    SQL)."""
    key = name_key(name)
    families = Family.objects.filter(memberships__user=user).exclude(pk=besides.pk if besides else None)
    return [other for other in families.order_by("pk") if name_key(other.name) == key]


@transaction.atomic
def family_create(*, name: str, admin: AbstractBaseUser) -> Family:
    name = family_name_clean(name, user=admin)
    default_country = settings.DEFAULT_COUNTRY if country_name(settings.DEFAULT_COUNTRY) else ""
    family = Family.objects.create(name=name, default_country=default_country)
    Membership.objects.create(family=family, user=admin, role=Membership.Role.ADMIN)
    return family


@transaction.atomic
def family_rename(*, family: Family, name: str, user: AbstractBaseUser) -> Family:
    """A family admin renames the family (the name rules of family_create, among `user`'s own families)."""
    name = family_name_clean(name, user=user, family=family)
    if family.name != name:
        family.name = name
        family.save(update_fields=["name"])
    return family


@transaction.atomic
def family_default_country_set(*, family: Family, country_code: str) -> Family:
    """The country whose holidays name the dates of this family's photos without a place ('' for none)."""
    code = (country_code or "").strip().upper()
    if code and not country_name(code):
        raise ValidationError(f"“{country_code}” is not a country code.")
    if family.default_country != code:
        family.default_country = code
        family.save(update_fields=["default_country"])
        # Their dates' holiday words change: their search documents are rebuilt.
        ids = list(family.photos.filter(place_country_code="").values_list("pk", flat=True))
        photos_changed.send(sender=Photo, photo_ids=ids)
    return family


def photos_version_bump(*, photo_ids: Iterable[int] = (), family_ids: Iterable[int] = ()) -> None:
    """The photos' families' (and `family_ids`') `photos_version` moves on once the change commits: what lists cached
    per version (the timeline's month counts) is read afresh by every process. Collected per transaction and written
    after the commit in one statement of its own: an import's batch of 64 photos moves each family once, and its
    transaction holds no lock on the family meanwhile. `family_ids`: for photos deleted for good by the change."""
    on_commit_collected("photos_version", [("photo", int(i)) for i in photo_ids]
                        + [("family", int(i)) for i in family_ids], _photos_version_write)


def _photos_version_write(collected: set[tuple[str, int]]) -> None:
    photos = [i for kind, i in collected if kind == "photo"]
    families = [i for kind, i in collected if kind == "family"]
    Family.objects.filter(Q(pk__in=families) | Q(pk__in=Photo.all_objects.filter(pk__in=photos).values("family_id"))
                          ).update(photos_version=F("photos_version") + 1)


_COLLECTORS: dict[str, Callable[[], None]] = {}


def on_commit_collected(name: str, items: Iterable, flush: Callable[[set], None], *, robust: bool = True) -> None:
    """`flush(the items given under name)` once the current transaction commits (at once outside one): the same
    announcement made for each photo of a batch acts once for the batch. Each call queues a callback (cheap); the first
    to run takes every item collected, the others find none. A failing flush is logged, never raised at a change that
    has committed (`robust`; else it raises, as Django's on_commit does). What a transaction that rolled back collected
    is dropped (its callbacks went with it); items given in a savepoint rolled back while an earlier call's callback
    survives it are flushed with the rest: for what is harmless to do once more (moving a version on, queueing)."""
    items = list(items)
    if not items:
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        flush(set(items))
        return
    attribute = f"_mediasearch_collected_{name}"
    runner = _COLLECTORS.get(name)
    if runner is None:
        def runner(attribute=attribute, flush=flush) -> None:
            here = transaction.get_connection()
            collected = getattr(here, attribute, None)
            setattr(here, attribute, None)
            if collected is not None and collected.items:
                flush(collected.items)
        runner = _COLLECTORS.setdefault(name, runner)
    collected = getattr(connection, attribute, None)
    if collected is None or not collected.queued(connection.run_on_commit, runner):
        collected = _Collected(set())
        setattr(connection, attribute, collected)
    collected.items.update(items)
    transaction.on_commit(runner, robust=robust)
    collected.at = len(connection.run_on_commit) - 1


@dataclass
class _Collected:
    """Items collected on a connection, and where its last callback sits in the connection's on-commit list."""

    items: set
    at: int = -1

    def queued(self, run_on_commit: list, runner: Callable) -> bool:
        """Whether a callback that flushes these items is still to run: a rollback drops the callbacks queued in what
        it rolled back (Django's run_on_commit), and the items with them. The last callback's place answers at once;
        after a savepoint's rollback moved it, a look through the list."""
        if 0 <= self.at < len(run_on_commit) and run_on_commit[self.at][1] is runner:
            return True
        return any(func is runner for _, func, _ in run_on_commit)


def on_photos_changed(sender, photo_ids, **kwargs) -> None:
    """Any of the gallery's announcements (photos added, edited, dated, placed, trashed, restored)."""
    photos_version_bump(photo_ids=photo_ids)


LAST_ADMIN = "A family must keep at least one admin."
# The code of every service's refusal of something deleted since the caller read it (a photo, an album, a share or
# invitation link, a tag suggestion): the API's exception handler answers it as a missing one, a 404 saying why.
DELETED = "deleted"


def family_lock(*, family_id: int) -> None:
    """Serialise changes to who administers a family: every path that demotes or removes an admin takes
    this row lock first, so two admins stepping down at once can't both see the other one remain."""
    list(Family.objects.select_for_update().filter(pk=family_id).values_list("pk", flat=True))


def rows_key_share(queryset: QuerySet) -> list:
    """The first column of the queryset's rows (a values_list), locked FOR KEY SHARE until the transaction ends.

    What a new row's foreign key needs: the rows it points at can't be deleted before this transaction commits (the
    delete waits, then sees the new row), while others locking them the same way don't wait for each other. Django's
    select_for_update has no such mode; the locking clause goes after the compiled query, as FOR UPDATE does."""
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # e.g. pk__in=[]: no rows, nothing to lock
        return []
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} FOR KEY SHARE", params)
        return [row[0] for row in cursor.fetchall()]


def admin_kept(memberships: Iterable[tuple[bool, bool]]) -> bool:
    """The rule of who administers a family, given (is an admin, can sign in) for each membership it is left with:
    while anyone in it can sign in, one of them must be an admin (an account made inactive in the Django admin
    administers nothing); a family nobody in it can sign in to waits for them, kept by any admin row. The database's
    guard (0004, 0048) holds the same rule. No one left is no admin kept: a family ends by its deletion."""
    memberships = list(memberships)
    if any(can_sign_in for _, can_sign_in in memberships):
        return any(is_admin and can_sign_in for is_admin, can_sign_in in memberships)
    return any(is_admin for is_admin, _ in memberships)


def family_keeps_an_admin(*, family_id: int, demoting: Iterable[int] = (), leaving: Iterable[int] = (),
                          deactivating: Iterable[int] = (), activating: Iterable[int] = ()) -> bool:
    """Whether the family keeps an admin (admin_kept) once the memberships `demoting` (pks) are no longer admin, those
    `leaving` (pks) are gone, the accounts `deactivating` (user ids) can no longer sign in and those `activating` can
    again. Call under family_lock."""
    demoting, deactivating, activating = set(demoting), set(deactivating), set(activating)
    rows = (Membership.objects.filter(family_id=family_id).exclude(pk__in=list(leaving))
            .values_list("pk", "role", "user_id", "user__is_active"))
    return admin_kept((role == Membership.Role.ADMIN and pk not in demoting,
                       (is_active or user_id in activating) and user_id not in deactivating)
                      for pk, role, user_id, is_active in rows)


def invites_withdraw_made_by(*, user_ids: Iterable[int], family_id: int | None = None) -> int:
    """Withdraw the open invitation links these people made (for one family, or for every one): they no longer
    administer it (removed, stepped down, deleted, or made inactive: an admin who can't sign in administers nothing),
    so what they handed out must not let anyone in, themselves included (a removed admin opening an admin link of their
    own was its admin again). Used and expired links stay as they are, and withdrawn ones stay so should the maker
    administer again. How many were withdrawn."""
    links = Invite.objects.filter(created_by_id__in=list(user_ids), used_at__isnull=True, revoked_at__isnull=True,
                                  expires_at__gt=timezone.now())
    if family_id is not None:
        links = links.filter(family_id=family_id)
    return links.update(revoked_at=timezone.now())


def shares_withdraw_made_by(*, user_ids: Iterable[int], family_id: int | None = None) -> int:
    """Revoke the active share links these people made of the albums of a family (or of every one) as they leave it:
    out of the family, they would keep its photos (and originals, where allowed) by a link only they hold, and could
    no longer revoke it. Links others made of their albums stay. How many were revoked."""
    links = AlbumShare.objects.filter(created_by_id__in=list(user_ids), revoked_at__isnull=True,
                                      expires_at__gt=timezone.now())
    if family_id is not None:
        links = links.filter(album__family_id=family_id)
    return links.update(revoked_at=timezone.now())


def family_lookalike(*, family: Family, user: AbstractBaseUser) -> Family | None:
    """Another of `user`'s families whose name reads as `family`'s (families_named_as), when `family` is not theirs
    yet: joining it by a link would give them two families alike on every page (family_name_clean keeps names unique
    among one person's families; the site administrator's create_family and Django admin may still put someone in two
    of one name)."""
    if Membership.objects.filter(family=family, user=user).exists():
        return None
    return next(iter(families_named_as(family.name, user=user, besides=family)), None)


@transaction.atomic
def membership_add(
    *, family: Family, user: AbstractBaseUser, role: str = Membership.Role.MEMBER
) -> Membership:
    if role not in Membership.Role.values:
        raise ValidationError(f"Unknown role “{role}”.")
    family_lock(family_id=family.pk)
    # Read under the lock: a deletion that committed while we waited for it took every membership, none comes back.
    if Family.objects.filter(pk=family.pk, deleting_since__isnull=False).exists():
        raise ValidationError(f"The family {family} is being deleted.")
    membership, created = Membership.objects.get_or_create(family=family, user=user, defaults={
        "role": role, "admin_since": timezone.now() if role == Membership.Role.ADMIN else None})
    if created and not family_keeps_an_admin(family_id=family.pk):
        # Someone who can sign in joining a family none of whose admins can (an invitation made before they were made
        # inactive, the create_family command): refused as the Django admin refuses them (admin_kept).
        raise ValidationError(f"No one can join {family} as a member for now: none of its admins can sign in (their "
                              "accounts are inactive). Ask the site's administrator.", code="no_admin")
    if created:
        memberships_begun(family_id=family.pk, user_ids=[user.pk])
    elif membership.role != role:
        if membership.is_admin and not family_keeps_an_admin(family_id=family.pk, demoting=[membership.pk]):
            raise ValidationError(f"{LAST_ADMIN} Make someone else an admin before {user} steps down.")
        membership.role = role
        # (the database keeps admin_since whatever the path; given here, it is the app's clock, which links are
        # stamped with: a link made right after this counts)
        membership.admin_since = timezone.now() if membership.is_admin else None
        membership.save(update_fields=["role", "admin_since"])
        if not membership.is_admin:  # a member makes no links: those made as an admin stop working
            invites_withdraw_made_by(family_id=family.pk, user_ids=[user.pk])
    return membership


@transaction.atomic
def membership_remove(*, family: Family, user: AbstractBaseUser) -> tuple[int, int]:
    """Take `user` out of `family`, and withdraw the links they made for it: how many invitation links, how many
    album share links."""
    family_lock(family_id=family.pk)
    membership = Membership.objects.filter(family=family, user=user).first()
    if membership is None:
        raise ValidationError(f"{user} is not a member of {family}.")
    if membership.is_admin and not family_keeps_an_admin(family_id=family.pk, leaving=[membership.pk]):
        # Only an admin removes, so the last admin removed is the one asking (leaving, or removing themself): told
        # the way out.
        others = Membership.objects.filter(family=family).exclude(pk=membership.pk)
        if not others.exists():
            raise ValidationError(f"{LAST_ADMIN} You are the only member of {family}: to end it, use “Delete this "
                                  "family” at the bottom of its page.")
        asleep = ("" if others.filter(user__is_active=True).exists() else
                  f" The other members of {family} can't sign in (their accounts are inactive): make one of them its "
                  "admin all the same, and the family waits for them.")
        raise ValidationError(f"{LAST_ADMIN} Make another member of {family} an admin first (their role, in the "
                              f"list of members), then leave.{asleep}")
    return memberships_end(family_id=family.pk, user_ids=[user.pk])


@transaction.atomic
def memberships_end(*, family_id: int, user_ids: Iterable[int]) -> tuple[int, int]:
    """The one way people stop being members of a family (removed or leaving on its page, their accounts deleted,
    their row deleted or given to someone else in the admin), so that no path misses a side effect: it is announced
    (members_leaving: search withdraws the fits made with their judgments and queues a new one), their memberships
    go, and the links they made for the family stop working. The caller has checked that the family keeps an admin.
    How many invitation links, how many album share links were withdrawn."""
    user_ids = sorted(set(user_ids))
    family_lock(family_id=family_id)  # as every change of who is in the family (and the fit's store) takes it
    members_leaving.send(sender=Membership, family_id=family_id, user_ids=user_ids)
    Membership.objects.filter(family_id=family_id, user_id__in=user_ids).delete()
    return (invites_withdraw_made_by(family_id=family_id, user_ids=user_ids),
            shares_withdraw_made_by(family_id=family_id, user_ids=user_ids))


def memberships_begun(*, family_id: int, user_ids: Iterable[int]) -> None:
    """People became members of a family (an invitation, the admin; back after leaving, or new): announced, so that
    search fits the family again when judgments of theirs count again (members_joined). Called once their
    memberships exist, in the transaction that made them. Their memberships begin now (joined_at): a row given to
    someone else in the Django admin kept its first holder's, and a maker back after leaving counted as in the family
    since before the links they made then, which worked again (links count only while their maker has been in the
    family since they were made)."""
    Membership.objects.filter(family_id=family_id, user_id__in=set(user_ids)).update(joined_at=timezone.now())
    members_joined.send(sender=Membership, family_id=family_id, user_ids=sorted(set(user_ids)))


def users_delete_problems(*, users: Iterable[AbstractBaseUser]) -> list[str]:
    """Why these accounts can't be deleted together: the families they would leave without an admin
    (family_keeps_an_admin). Locks the families they are in (families_of_lock)."""
    return _last_admin_problems(users=users, change="delete")


def users_deactivate_problems(*, users: Iterable[AbstractBaseUser]) -> list[str]:
    """Why these accounts can't be made inactive together (the admin's "Active" box, Django's advice instead of
    deleting): the families whose others who can sign in they would leave with no admin who can (family_keeps_an_admin;
    a family with nobody else who can sign in goes to sleep with them). Locks the families they are in
    (families_of_lock)."""
    return _last_admin_problems(users=users, change="deactivate")


def users_activate_problems(*, users: Iterable[AbstractBaseUser]) -> list[str]:
    """Why these accounts can't be made active again together (the admin's "Active" box ticked): the families they are
    in whose admins can't sign in (family_keeps_an_admin), which they would sign in to with nobody to administer it.
    Refused rather than allowed with a warning nobody may read, or than making them its admin unasked: the site
    administrator is told the two ways out (the admin made active first, or they made its admin first). Locks the
    families they are in (families_of_lock)."""
    return _last_admin_problems(users=users, change="activate")


def families_of(*, user_ids: Iterable[int]) -> list[int]:
    """The ids of the families these people are in, in id order (the order their rows are locked in)."""
    return sorted(set(Membership.objects.filter(user_id__in=list(user_ids)).values_list("family_id", flat=True)))


def families_of_lock(*, user_ids: Iterable[int]) -> list[int]:
    """Inside a transaction, lock every family these people are in (as family_lock does, in id order: deleting or
    deactivating them changes each of them, and two such changes locking them in different orders would deadlock),
    so what is read of the families holds until commit. The families' ids (a family they join meanwhile is not among
    them, nor locked)."""
    family_ids = families_of(user_ids=user_ids)
    if transaction.get_connection().in_atomic_block:
        for family_id in family_ids:
            family_lock(family_id=family_id)
    return family_ids


def _last_admin_problems(*, users: Iterable[AbstractBaseUser], change: str) -> list[str]:
    """users_delete_problems (`change` "delete": they leave every family they are in), users_deactivate_problems
    ("deactivate": they stay, and can no longer sign in) or users_activate_problems ("activate": they can sign in
    again): one sentence for each family that would keep no admin (of those they administer, or are in when
    activated)."""
    user_ids = [user.pk for user in users]
    families_of_lock(user_ids=user_ids)
    if change == "activate":
        return [_activate_problem(family_id, user_ids=user_ids) for family_id in families_of(user_ids=user_ids)
                if not family_keeps_an_admin(family_id=family_id, activating=user_ids)]
    deleting = change == "delete"
    admin_of = Membership.objects.filter(user_id__in=user_ids, role=Membership.Role.ADMIN)
    problems = []
    for family_id in sorted(set(admin_of.values_list("family_id", flat=True))):
        theirs = Membership.objects.filter(family_id=family_id, user_id__in=user_ids).values_list("pk", flat=True)
        if (family_keeps_an_admin(family_id=family_id, leaving=theirs) if deleting else
                family_keeps_an_admin(family_id=family_id, deactivating=user_ids)):
            continue
        losing = admin_of.filter(family_id=family_id).select_related("user", "family")
        names = ", ".join(sorted(str(m.user) for m in losing))
        # No one else in it: there is no one to make its admin (the advice was that all the same).
        alone = deleting and not Membership.objects.filter(family_id=family_id).exclude(user_id__in=user_ids).exists()
        advice = (", and no one else stays in it: delete the family first (its photos go with it), or invite "
                  "someone and make them an admin." if alone else ": make someone else an admin of it first.")
        problems.append(f"{names} {'is' if len(losing) == 1 else 'are'} the last admin of {losing[0].family}{advice}")
    return problems


def _activate_problem(family_id: int, *, user_ids: list[int]) -> str:
    """The sentence of users_activate_problems for one family: who would sign in to it, whose admin row can't."""
    rows = Membership.objects.filter(family_id=family_id).select_related("user", "family").order_by("user__username")
    coming = [str(row.user) for row in rows if row.user_id in user_ids]
    asleep = [str(row.user) for row in rows if row.is_admin]
    who, admins, family = ", ".join(coming), ", ".join(asleep), rows[0].family
    make_admin = f"make {who} an admin of {family} (its memberships, on the family's page here), then active."
    if not asleep:  # (a family the database's guard, 0004, never leaves so once it had an admin)
        return f"{who} {'is' if len(coming) == 1 else 'are'} in {family}, which has no admin: {make_admin}"
    return (f"{who} {'is' if len(coming) == 1 else 'are'} in {family}, whose admins ({admins}) can't sign in (their "
            f"accounts are inactive): make {admins if len(asleep) == 1 else 'one of them'} active first, or "
            f"{make_admin}")


@transaction.atomic
def users_delete(*, users: QuerySet) -> int:
    """Delete accounts, unless that would leave a family without an admin."""
    users = list(users)
    if problems := users_delete_problems(users=users):
        raise ValidationError(problems)
    invites_withdraw_made_by(user_ids=[user.pk for user in users])  # their links would outlive them (created_by NULL)
    shares_withdraw_made_by(user_ids=[user.pk for user in users])
    leaving: dict[int, list[int]] = {}
    for family_id, user_id in Membership.objects.filter(user__in=users).values_list("family_id", "user_id"):
        leaving.setdefault(family_id, []).append(user_id)
    for family_id, user_ids in sorted(leaving.items()):
        memberships_end(family_id=family_id, user_ids=user_ids)
    for user in users:
        user.delete()
    return len(users)


def username_validate(username: str) -> None:
    """Django's own rules for a username (UnicodeUsernameValidator: letters, digits and @ . + - _; at most 150
    characters), as the admin and createsuperuser apply them: every way an account is made goes through these."""
    User._meta.get_field(User.USERNAME_FIELD).run_validators(username)


@transaction.atomic
def user_create(*, username: str, password: str, email: str = "", is_superuser: bool = False) -> AbstractBaseUser:
    from django.contrib.auth.password_validation import validate_password

    # As Django stores it (create_user normalises by NFKC): checked as typed, "ＢＯＢ" was no "bob" here, then stored
    # as "BOB" beside "bob", and "ｂｏｂ" met bob's unique index (a 500).
    username = User.normalize_username(username.strip())
    if not username:
        raise ValidationError("A username is required.")
    username_validate(username)
    # Two sign-ups choosing "Carol" and "carol" at once: the second waits here, then finds the name taken.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"mediasearch-username:{username.lower()}"])
    if username_taken(username):
        raise username_taken_error(username)
    candidate = User(username=username, email=email)
    validate_password(password, user=candidate)
    if is_superuser:
        return User.objects.create_superuser(username=username, email=email, password=password)
    return User.objects.create_user(username=username, email=email, password=password)


# --- photos -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadResult:
    """What happened to one file of an upload. `outcome` is saved, duplicate, restored or rejected."""

    filename: str
    outcome: str
    photo: Photo | None = None
    reason: str = ""
    resend: bool = False  # rejected for what the request said (its tags), not for the file: send it again once fixed
    storage_failed: bool = False  # rejected as the storage refused to write it (full, read-only), not for the file
    family_refused: bool = False  # rejected as the family was deleted, or the uploader left it, since the request

    SAVED = "saved"
    DUPLICATE = "duplicate"
    RESTORED = "restored"  # the same bytes were in the family's trash: that photo is back
    REJECTED = "rejected"


def photo_upload(
    *,
    family: Family,
    uploaded_by: AbstractBaseUser,
    stream: BinaryIO,
    filename: str,
    tags: Iterable[str] = (),
    description: str = "",
    tag_keys: TagKeys | None = None,
) -> UploadResult:
    """Store one uploaded file. Never raises for bad input: a rejected file is a result, not an error,
    so that one bad file never costs the others of the same upload. `tag_keys`: photo_create_from_bytes's."""
    try:
        data = read_limited(stream)
    except ImageRejected as exc:
        return _rejected(upload_filename(filename), exc)
    result = photo_create_from_bytes(  # (which makes the name the one stored: upload_filename)
        family=family, uploaded_by=uploaded_by, data=data, filename=filename, tags=tags, description=description,
        tag_keys=tag_keys,
    )
    if result.outcome != UploadResult.REJECTED or result.reason != NOT_AN_IMAGE:
        return result
    return replace(result, reason=_not_an_image_reason(data) or result.reason)


def _not_an_image_reason(data: bytes) -> str:
    """What a file that is no image is instead, as its uploader should hear it ("" when nothing is known)."""
    if is_a_sidecar(data):  # (chosen with the photos of a Google Photos export: what it holds is lost unless imported)
        return SIDECAR_UPLOADED
    if is_an_xmp_sidecar(data):  # (a darktable or digiKam folder dropped whole)
        return XMP_SIDECAR_UPLOADED
    if kind := archive_kind(data):  # (a Takeout part, a folder sent zipped)
        return archive_refusal(kind)
    if is_a_video(data):  # (a phone's picker sends its videos with the photos)
        return VIDEO_REFUSAL
    return ""


SIDECAR_UPLOADED = ("A Google Takeout sidecar, not a photo: the date taken, place, caption and people Google Photos "
                    "kept for a photo of the export. Uploading does not read it (its photo is dated by its own file, else "
                    "by the date in its name, else by the upload time); to have them, import the unzipped export instead "
                    "(python manage.py import_photos, see the README's “Import a folder”).")


XMP_SIDECAR_UPLOADED = ("An XMP sidecar, not a photo: the keywords, title and description a photo program (darktable, "
                        "digiKam, Lightroom, Capture One) kept beside a photo. Uploading does not read it; to have "
                        "them, import the folder instead (python manage.py import_photos, see the README's “Import a "
                        "folder”), which reads each photo's sidecar, also for photos uploaded before.")


def upload_filename(filename: str | None) -> str:
    """The name an uploaded or imported file is stored under: its last part, as text (bytes of another encoding
    become U+FFFD), at most 255 characters, as text read from files (text_from_file): without control characters (NUL,
    a bell) but for a tab or a line break, which is a space (it parts words: the title made from the name keeps them
    apart), without invisible marks (a right-to-left override in a folder's "שלום\u202egpj.jpg" turned its name and the
    text after it around on every page; a browser's upload loses them on the way), its accents composed."""
    name = re.sub(r"[\t\n\r\v\f]", " ", text_from_os(os.path.basename(filename or "")))
    return text_from_file(name).strip()[:255] or UNNAMED_FILE


def photo_create_from_bytes(
    *,
    family: Family,
    uploaded_by: AbstractBaseUser | None,
    data: bytes,
    filename: str,
    tags: Iterable[str] = (),
    description: str = "",
    modified_at: datetime | None = None,
    sidecar: Sidecar | None = None,
    xmp_sidecar: Embedded | None = None,
    folder_date: FolderDate | None = None,
    tag_keys: TagKeys | None = None,
) -> UploadResult:
    """Store a photo whole or not at all: its files, then its row. Bad input, a storage fault or the same
    bytes already in the family are results, not exceptions. `modified_at`: the file's modified time, its date
    taken when the file tells none (an import's; an upload's is the upload time). `sidecar`: what a Google Takeout
    sidecar beside the file says (an import's), which fills what the file's own metadata lacks; `xmp_sidecar`: what
    its XMP sidecar says (gallery.xmp_sidecars), which comes before the file's own (embedded_merged: its keywords
    added to the file's); `folder_date`: the date the names of the folders it is in tell (an import's), for a file
    that tells none and has no sidecar's. `tag_keys`: the keys of tag names read for the upload or import this file
    is one of (a TagKeys made for its first file and passed to each), so that the typed tags and the
    keywords its files share are read once."""
    filename = upload_filename(filename)
    try:
        # (refused before any file is written, or a trashed photo restored; keyed once)
        tags = tags_keyed(tags, tag_keys=tag_keys)
        description = without_nul(description or "")
        control_characters_refuse(description, what="A description", multiline=True)
    except ValidationError as exc:
        return UploadResult(filename, UploadResult.REJECTED, reason=" ".join(exc.messages))
    existing = Photo.all_objects.filter(family=family, sha256=sha256_of(data)).first() if data else None
    if existing is not None and (duplicate := _duplicate(filename, existing, tags=tags, description=description,
                                                         user=uploaded_by)) is not None:
        return duplicate
    try:
        info = inspect_image(data)
        # In a time- and memory-limited child process; never raises (what it skips is logged).
        embedded = read_embedded(data, label=filename) if info.has_metadata else Embedded()
        if xmp_sidecar is not None:  # its XMP sidecar's first (a user's later edits), then the file's own
            embedded = embedded_merged(file=without_file_name_title(embedded, filename=filename),
                                       sidecar=without_file_name_title(xmp_sidecar, filename=filename))
        if sidecar is not None:  # the file's own caption first, then the sidecar's (its people: _photo_store)
            embedded = replace(embedded, description=embedded.description or sidecar.description)
        photo = _photo_store(family=family, uploaded_by=uploaded_by, data=data, filename=filename, info=info,
                             tags=tags, description=description, embedded=embedded, modified_at=modified_at,
                             sidecar=sidecar, folder_date=folder_date, tag_keys=tag_keys)
    except ImageRejected as exc:
        return _rejected(filename, exc)
    except StorageFailed as exc:
        return UploadResult(filename, UploadResult.REJECTED, reason=str(exc), storage_failed=True)
    except ValidationError as exc:
        return UploadResult(filename, UploadResult.REJECTED, reason=" ".join(exc.messages),
                            family_refused=getattr(exc, "code", None) == FAMILY_REFUSED)
    except IntegrityError as exc:
        if _constraint_name(exc) != PHOTO_BYTES_CONSTRAINT:
            raise
        # Same bytes uploaded concurrently: the other request won; report it as the duplicate it is.
        existing = Photo.all_objects.filter(family=family, sha256=info.sha256).first()
        duplicate = _duplicate(filename, existing, tags=tags, description=description,
                               user=uploaded_by) if existing is not None else None
        if duplicate is None:  # the winner was rolled back after all, or deleted for good since
            return UploadResult(filename, UploadResult.REJECTED, reason="The same file was being uploaded at the same "
                                "moment and did not finish. Please try again.")
        return duplicate
    return UploadResult(filename, UploadResult.SAVED, photo=photo)


@transaction.atomic
def photo_sidecar_fill(*, family: Family, sha256: str, sidecar: Sidecar, date_of_change: bool = False) -> Photo | None:
    """A Takeout sidecar found beside a file the family has already, whose photo is dated only by a guess (the file's
    modified time, its upload, the day it was added to Google Photos: its sidecar was in another part of the export, or
    it came before sidecars were read) or by the day alone its name tells: what the sidecar says and nobody wrote, as
    the import of a new photo would take it: the date, the position (then place and zone) when the photo has none, the
    caption, the people named in Google Photos as tags (source "sidecar"). The photo, or None when the sidecar has no
    date or none better than the photo's (a date taken replaces any guess, and a name's day when it falls on it; the
    day it was added to Google Photos only the file's modified time or the upload; a date taken, its file's, its
    sidecar's or a member's, stays). `date_of_change`: the photo's EXIF date is EXIF DateTime alone (the day a scanner
    or an editor wrote the file, as its file read now says), which a date taken replaces too, as at upload."""
    photo = Photo.objects.select_for_update().filter(family=family, sha256=sha256).first()
    when, source = _sidecar_date(sidecar)
    if photo is None or when is None:
        return None
    # Worked out in memory first (nothing is saved when the sidecar's date is no better): its place, then its zone.
    fields = ["taken_at", "taken_at_source", "taken_tz", *_sidecar_place_and_caption(photo, sidecar)]
    taken_at, zone = when_taken(local=None, utc=when, latitude=photo.latitude, longitude=photo.longitude,
                                place_zone=_place_zone(photo))
    if photo.taken_at_source == Photo.DateSource.FILENAME:
        named = date_in_filename(photo.original_filename)
        if source != Photo.DateSource.SIDECAR or named is None or not _name_gives_way(named, when, zone):
            return None
    elif photo.taken_at_source == Photo.DateSource.EXIF:
        if source != Photo.DateSource.SIDECAR or not date_of_change:
            return None
    elif photo.taken_at_source not in _DATES_A_SIDECAR_REPLACES[source]:
        return None
    photo.taken_at, photo.taken_tz, photo.taken_at_source = taken_at, zone, source
    photo.save(update_fields=fields)
    photo_tags_add(photo=photo, names=sidecar.people, source=PhotoTag.Source.SIDECAR)
    photos_changed.send(sender=Photo, photo_ids=[photo.pk])
    return photo


def photo_sidecar_star(*, photo_id: int, sidecar: Sidecar, importer: AbstractBaseUser | None) -> bool:
    """A photo starred in Google Photos (its Takeout sidecar says so) is the importing member's favourite (favourites
    are each member's own), whenever an import reads the star: with the photo, or in a later run (its sidecar was in
    another part), or in another member's import of their own export. Once for each member and photo (SidecarStar): a
    member who took the heart off keeps it off when the import is run again. Whether a heart was given."""
    if not sidecar.favourite or importer is None:
        return False
    with transaction.atomic():  # (a savepoint: two imports at once read the same star once)
        if not rows_key_share(Photo.all_objects.filter(pk=photo_id).values_list("pk")):  # (deleted meanwhile)
            return False
        _, first = SidecarStar.objects.get_or_create(user=importer, photo_id=photo_id)
        return first and Favourite.objects.get_or_create(user=importer, photo_id=photo_id)[1]


@transaction.atomic
def photo_sidecar_complete(*, family: Family, sha256: str, sidecar: Sidecar) -> Photo | None:
    """A Takeout sidecar found beside a file the family has already, whose photo has its file's date (its camera's,
    EXIF, or its name's) and was stored without the sidecar (it was in another part of the export), or was dated by
    another sidecar (another member's export of the same photo, with their own caption and people): what the sidecar
    says and nobody gave the photo, as the import of a new photo would take it: the position (then place, and the zone
    its camera's clock is read in) when it has none, the caption, the people named in Google Photos (a tag a member
    took off stays off). Its date stays (a member's date: nothing is given). The photo, or None when nothing
    changed."""
    photo = Photo.objects.select_for_update().filter(family=family, sha256=sha256).first()
    if photo is None or photo.taken_at_source == Photo.DateSource.MEMBER:
        return None
    fields = _sidecar_place_and_caption(photo, sidecar)
    if "latitude" in fields:
        photo_zone_move(photo, zone_at(latitude=photo.latitude, longitude=photo.longitude))
        fields += ["taken_at", "taken_tz"]
    if fields:
        photo.save(update_fields=fields)
    # People an earlier version stored as the file's keywords (before they had a source of their own) are named as
    # what they are: a re-run then finds the photo has its people, and leaves it alone.
    relabelled = PhotoTag.objects.filter(photo=photo, source=PhotoTag.Source.EMBEDDED,
                                         tag__name__in=sidecar.people).update(source=PhotoTag.Source.SIDECAR)
    tagged = PhotoTag.objects.filter(photo=photo).count()
    photo_tags_add(photo=photo, names=sidecar.people, source=PhotoTag.Source.SIDECAR)
    if not fields and not relabelled and PhotoTag.objects.filter(photo=photo).count() == tagged:
        return None
    photos_changed.send(sender=Photo, photo_ids=[photo.pk])
    return photo


@transaction.atomic
def photo_sidecar_description(*, photo_id: int, description: str, before: str = "") -> str:
    """A description read beside the photo (a Picasa file's caption) as it reads now, `before` what the same file gave
    when last read with the photo ("": none, or not known): given to a photo nobody gave one (neither its file, nor a
    sidecar, nor a member: a date of theirs keeps it from nothing), and replacing, or taken off, one that file wrote
    that nobody changed since (_sidecar_description_set, the rule of an XMP sidecar's dc:description). From the file,
    as an XMP sidecar's description. The photo's search document rebuilt when it changed. How: "given", "replaced",
    "removed", or "" (nothing changed)."""
    photo = Photo.objects.select_for_update().filter(pk=photo_id).only("description", "description_source").first()
    how = _sidecar_description_set(photo, description, before=before) if photo is not None else ""
    if how:
        photo.save(update_fields=["description", "description_source"])
        photos_changed.send(sender=Photo, photo_ids=[photo_id])
    return how


def _sidecar_description_set(photo: Photo, said: str, *, before: str) -> str:
    """Set, in memory, the description a file beside the photo says now (`said`; "": none), `before` what it said when
    last read with it: given when nobody wrote one; replacing, or taken off with, the one it wrote (the photo's is still
    `before`, from the file) when it changed; never a member's, nor one the photo's own file or another sidecar wrote.
    How it changed ("given", "replaced", "removed"), or ""."""
    theirs = bool(before) and photo.description_source == Photo.FieldSource.EMBEDDED and photo.description == before
    if said and said != photo.description and (photo.description_source == Photo.FieldSource.NONE or theirs):
        how = "replaced" if photo.description else "given"
        photo.description, photo.description_source = said, Photo.FieldSource.EMBEDDED
        return how
    if not said and theirs:
        photo.description, photo.description_source = "", Photo.FieldSource.NONE
        return "removed"
    return ""


def _sidecar_place_and_caption(photo: Photo, sidecar: Sidecar) -> list[str]:
    """Set, in memory, the sidecar's position (then place) when the photo has none and no member placed it, and its
    caption when nobody wrote one. The fields changed."""
    fields = []
    if photo.latitude is None and sidecar.latitude is not None and photo.place_source != Photo.PlaceSource.MEMBER:
        photo.latitude, photo.longitude = sidecar.latitude, sidecar.longitude
        _place_set(photo)
        fields += ["latitude", "longitude", *PLACE_FIELDS]
    if sidecar.description and photo.description_source == Photo.FieldSource.NONE:
        photo.description, photo.description_source = sidecar.description, Photo.FieldSource.EMBEDDED
        fields += ["description", "description_source"]
    return fields


def photo_zone_move(photo: Photo, zone: str) -> None:
    """Set, in memory, the zone of a photo moved to where `zone` is ("": no zone known there, nothing changes). A
    camera's own offset stays (it said where its clock was); a wall-clock time (a camera's, a member's) stays, read in
    the new zone; a moment (an upload, a file's time, a sidecar's) stays that moment."""
    if not zone or zone == photo.taken_tz or offset_name(photo.taken_tz):
        return
    if not photo.taken_at_is_an_instant:  # a wall-clock time: the same, in the new zone
        photo.taken_at = aware(local(photo.taken_at, photo.taken_tz).replace(tzinfo=None), zone)
    photo.taken_tz = zone


# The dates a sidecar's date replaces, by what it is: the date taken, or only the day it was added to Google Photos.
_DATES_A_SIDECAR_REPLACES = {Photo.DateSource.SIDECAR: (*Photo.GUESSED_DATES, *Photo.FOLDER_DATES,
                                                          Photo.DateSource.XMP),
                             Photo.DateSource.GOOGLE: (Photo.DateSource.FILE, Photo.DateSource.UPLOAD)}


# The dates a file name's date replaces when the photo's file is read again (as an upload ranks them: a name's date
# comes after EXIF's, before a sidecar's, and beats EXIF DateTime alone).
_DATES_A_NAME_REPLACES = (*Photo.GUESSED_DATES, *Photo.FOLDER_DATES, Photo.DateSource.SIDECAR, Photo.DateSource.EXIF,
                          Photo.DateSource.XMP)
# The dates the XMP metadata's date taken replaces (Photo.DateSource.XMP): a guess, and its own read again.
_DATES_XMP_REPLACES = (*Photo.GUESSED_DATES, Photo.DateSource.XMP)
# The dates a folder's name replaces (and EXIF DateTime alone): a guess, or the XMP metadata's date (which may be its
# program's guess: for a file without a date, the file's modified time it wrote into the sidecar).
FOLDER_REPLACES = (Photo.DateSource.FILE, Photo.DateSource.UPLOAD, Photo.DateSource.XMP)
# The source of a date a folder's name tells, by its precision (gallery.filename_dates.date_in_folders).
FOLDER_DATE_SOURCES = {DAY: Photo.DateSource.FOLDER_DAY, MONTH: Photo.DateSource.FOLDER_MONTH,
                       YEAR: Photo.DateSource.FOLDER_YEAR}


def sidecar_may_date(source: str, filename: str) -> bool:
    """Whether a Takeout sidecar found later may date a photo dated by `source` and named `filename`: its date is a
    guess or its folder's name's, or the day alone its name tells (to which a sidecar's date taken on that day gives
    the time)."""
    if source == Photo.DateSource.FILENAME:
        return (named := date_in_filename(filename)) is not None and named.day_only
    return source in _DATES_A_SIDECAR_REPLACES[Photo.DateSource.SIDECAR]


@transaction.atomic
def photo_folder_date_fill(*, photo_id: int, folder_date: FolderDate, date_of_change: bool = False) -> bool:
    """A photo the family has already, dated only by a guess (its file's modified time, its upload: imported before
    folder names were read, or uploaded), found by an import in a folder whose name tells a date: dated by it, as the
    import of a new photo would be; so is one dated by EXIF DateTime alone (`date_of_change`: its file read now says
    so). Whether it was (any other date stays: the file's date taken, its name's, a sidecar's, a member's)."""
    photo = Photo.objects.select_for_update().filter(pk=photo_id).first()
    if photo is None or not (photo.taken_at_source in FOLDER_REPLACES
                             or (photo.taken_at_source == Photo.DateSource.EXIF and date_of_change)):
        return False
    taken_at, zone = when_taken(local=folder_date.when, latitude=photo.latitude, longitude=photo.longitude,
                                place_zone=_place_zone(photo))
    if folder_date.holds(local(photo.taken_at, zone).date()):  # (a guess in the folder's month or year says more)
        return False
    photo.taken_at, photo.taken_tz = taken_at, zone
    photo.taken_at_source = FOLDER_DATE_SOURCES[folder_date.precision]
    photo.save(update_fields=["taken_at", "taken_tz", "taken_at_source"])
    photos_changed.send(sender=Photo, photo_ids=[photo.pk])
    return True


@dataclass(frozen=True)
class _FileDate:
    taken_at: datetime | None
    zone: str
    source: str | None  # EXIF or FILENAME; None: the file tells no date
    named: NamedDate | None = None


def _file_date(*, local: datetime | None, offset: str, utc: datetime | None, is_a_change: bool, filename: str,
               latitude: float | None, longitude: float | None, place_zone: str = "") -> _FileDate:
    """The date a photo's own file gives it, in the zone it was taken in (the camera's offset, else its position's
    zone, else TIME_ZONE: gallery.timezones.when_taken): its EXIF date taken, else the date its name tells
    (gallery.filename_dates), which also beats EXIF DateTime alone (`is_a_change`: the day a scanner or an editor
    wrote the file). As an upload and a re-read of the file both rank them."""
    taken_at, zone = when_taken(local=local, offset=offset, utc=utc, latitude=latitude, longitude=longitude,
                                place_zone=place_zone)
    if taken_at is None or is_a_change:
        if (named := date_in_filename(filename)) is not None:
            named_at, named_zone = when_taken(local=named.when, latitude=latitude, longitude=longitude,
                                              place_zone=place_zone)
            return _FileDate(named_at, named_zone, Photo.DateSource.FILENAME, named)
    return _FileDate(taken_at, zone, Photo.DateSource.EXIF if taken_at else None)


def _xmp_date(embedded: Embedded, *, latitude: float | None, longitude: float | None,
              place_zone: str = "") -> tuple[datetime, str]:
    """The XMP metadata's date taken (Embedded.taken_local) and the zone it was taken in: its offset, else its
    position's zone, else TIME_ZONE, as EXIF's (gallery.timezones.when_taken)."""
    return when_taken(local=embedded.taken_local, offset=embedded.taken_offset, latitude=latitude,
                      longitude=longitude, place_zone=place_zone)


def _name_gives_way(named: NamedDate, sidecar_taken_at: datetime | None, zone: str) -> bool:
    """Whether a Takeout sidecar's date taken (None: it has none) comes before the date a file's name tells: the name
    tells only the day, and the sidecar a moment on that day where the photo was taken (in `zone`)."""
    return (named.day_only and sidecar_taken_at is not None
            and local(sidecar_taken_at, zone).date() == named.when.date())


def _sidecar_date(sidecar: Sidecar) -> tuple[datetime | None, str | None]:
    """The date a Takeout sidecar gives its photo (UTC) and its source: the date taken, else the day the photo was
    added to Google Photos (a better guess than the export's day, and said to be no date taken); (None, None)."""
    if sidecar.taken_at is not None:
        return sidecar.taken_at, Photo.DateSource.SIDECAR
    if sidecar.added_at is not None:
        return sidecar.added_at, Photo.DateSource.GOOGLE
    return None, None


def _rejected(filename: str, exc: ImageRejected) -> UploadResult:
    """A file refused for what it holds: the person reads our words (gallery.images words them all), the log keeps
    what the decoder said."""
    if exc.detail:
        logger.info("upload %r rejected: %s", filename, exc.detail)
    return UploadResult(filename, UploadResult.REJECTED, reason=exc.reason_for(filename))


PHOTO_BYTES_CONSTRAINT = "unique_photo_bytes_per_family"


def _constraint_name(exc: IntegrityError) -> str | None:
    """The name of the constraint PostgreSQL reported as violated (psycopg's diagnostics)."""
    return getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)


def _duplicate(filename: str, existing: Photo, *, tags: dict[str, str], description: str = "",
               user: AbstractBaseUser | None = None) -> UploadResult | None:
    """The same bytes are in the family already. In its trash: the upload restores that photo (the uploader holds
    the file, so they get the photo back with its tags, albums and favourites, not a "duplicate" they can't see),
    with what this upload asked for besides: its tags added, its description where the photo had none. What could
    not be applied is said, never dropped without a word. None when that photo was deleted for good meanwhile (the
    trash emptied at the same moment): store the file anew."""
    if existing.trashed_at is None:
        return _already_there(filename, existing, tags=tags, description=description)
    from gallery.trash_services import photos_untrash

    with transaction.atomic():
        locked = Photo.all_objects.select_for_update().filter(pk=existing.pk).values_list("trashed_at", flat=True)
        if not locked:
            return None
        if locked[0] is None:  # restored meanwhile (the same file chosen twice, uploaded at once): it is back
            existing.trashed_at, existing.trashed_by = None, None
            return _already_there(filename, existing, tags=tags, description=description)
        photos_untrash(photo_ids=[existing.pk])
        notes = _restored_with(existing, tags=tags, description=description, user=user)
    existing.trashed_at, existing.trashed_by = None, None
    restored = f"It was in the trash of {existing.family}: restored “{existing}”."
    return UploadResult(filename, UploadResult.RESTORED, photo=existing, reason=" ".join([restored, *notes]))


def _already_there(filename: str, existing: Photo, *, tags: dict[str, str], description: str) -> UploadResult:
    given = " and ".join(what for what, there in (("tags", tags), ("description", description.strip())) if there)
    unused = f" The {given} given with this upload {'were' if tags else 'was'} not applied." if given else ""
    return UploadResult(filename, UploadResult.DUPLICATE, photo=existing,
                        reason=f"Already in {existing.family} as “{existing}”.{unused}")


def _restored_with(photo: Photo, *, tags: dict[str, str], description: str, user) -> list[str]:
    """Apply a re-upload's tags (tags_keyed's) and description to the photo it restored; sentences about what was not
    applied."""
    notes = []
    # (compared by their keys, as the unique index compares names: same_name)
    have = set(PhotoTag.objects.filter(photo=photo).values_list(NameFolded("tag__name"), flat=True))
    new = [key for key in tags if key not in have]
    room = max(0, MAX_TAGS - len(have))
    if new[room:]:
        notes.append(f"It already has {len(have)} tags ({MAX_TAGS} at most): not added: "
                     f"{', '.join(tags[key] for key in new[room:])}.")
    added = {key: name for key, name in tags.items() if key in have or key in new[:room]}
    _photo_tags_add(photo=photo, keyed=added, source=PhotoTag.Source.MEMBER, user=user)
    description, described = description.strip(), False
    if description and description != photo.description:
        if photo.description:
            notes.append("It already had a description, kept: the one given with this upload was not saved.")
        else:
            Photo.all_objects.filter(pk=photo.pk).update(description=description,
                                                         description_source=Photo.FieldSource.MEMBER)
            photo.description, photo.description_source = description, Photo.FieldSource.MEMBER
            described = True
    if tags or described:
        photos_changed.send(sender=Photo, photo_ids=[photo.pk])
    return notes


def _photo_store(*, family, uploaded_by, data, filename, info, tags, description, embedded: Embedded,
                 modified_at: datetime | None = None, sidecar: Sidecar | None = None,
                 folder_date: FolderDate | None = None, tag_keys: TagKeys | None = None) -> Photo:
    stem, _ = os.path.splitext(filename)
    description = description.strip()
    # Where: the file's GPS position, else its XMP's (its XMP sidecar's, else its own), else its Takeout sidecar's; then
    # the place it names (the position's, else the file's).
    positions = ((info.latitude, info.longitude), (embedded.latitude, embedded.longitude),
                 (sidecar.latitude, sidecar.longitude) if sidecar else (None, None))
    latitude, longitude = next(((lat, lon) for lat, lon in positions if lat is not None), (None, None))
    photo = Photo(
        family=family,
        uploaded_by=uploaded_by,
        original_filename=filename,
        title=_title_from_filename(stem),
        description=description,
        description_source=Photo.FieldSource.MEMBER if description else Photo.FieldSource.NONE,
        mime_type=info.mime_type,
        file_size=len(data),
        width=info.width,
        height=info.height,
        camera_make=info.camera_make,
        camera_model=info.camera_model,
        latitude=latitude,
        longitude=longitude,
        sha256=info.sha256,
        phash=info.phash,
        mean_colour=info.mean_colour,
    )
    _place_set(photo)
    _embedded_set(photo, embedded)
    # When: the file's date (its EXIF's, else its name's: _file_date), else its sidecar's, whose date taken also beats
    # EXIF DateTime alone (a scanner's or an editor's) and gives a name's day alone its time; else the file's
    # modified time, else the upload. A date its folders' names tell comes before the modified time, and beats EXIF
    # DateTime alone too (a scan in "1987-07-04 Beach" was written by the scanner years later).
    place_zone = _place_zone(photo)
    dated = _file_date(local=info.taken_local, offset=info.taken_offset, utc=info.taken_utc,
                       is_a_change=info.taken_is_a_change, filename=filename, latitude=latitude, longitude=longitude,
                       place_zone=place_zone)
    taken_at, zone, source = dated.taken_at, dated.zone, dated.source
    sidecar_when, sidecar_source = _sidecar_date(sidecar) if sidecar is not None else (None, None)
    taken = sidecar_when if sidecar_source == Photo.DateSource.SIDECAR else None  # (a date taken, not an upload's)
    if sidecar_when is not None and (source is None or (taken and (
            (source == Photo.DateSource.EXIF and info.taken_is_a_change)
            or (source == Photo.DateSource.FILENAME and _name_gives_way(dated.named, taken, zone))))):
        (taken_at, zone), source = when_taken(local=None, utc=sidecar_when, latitude=latitude,
                                              longitude=longitude, place_zone=place_zone), sidecar_source
    if folder_date is not None and (source is None or (source == Photo.DateSource.EXIF and info.taken_is_a_change)):
        folder_at, folder_zone = when_taken(local=folder_date.when, latitude=latitude, longitude=longitude,
                                            place_zone=place_zone)
        guess = taken_at or modified_at  # (a guess in the folder's month or year says more: it stays)
        if guess is None or not folder_date.holds(local(guess, folder_zone).date()):
            taken_at, zone, source = folder_at, folder_zone, FOLDER_DATE_SOURCES[folder_date.precision]
    # Then the date taken in the XMP metadata (its XMP sidecar's, else the file's: a scan dated in digiKam, an iPhone
    # screenshot), before the file's modified time and the upload, and before EXIF DateTime alone and the day the photo
    # was added to Google Photos; not before a folder's date (a sidecar's date may be its program's guess).
    if embedded.taken_local is not None and (source in (None, Photo.DateSource.GOOGLE) or (
            source == Photo.DateSource.EXIF and info.taken_is_a_change)):
        (taken_at, zone), source = _xmp_date(embedded, latitude=latitude, longitude=longitude,
                                             place_zone=place_zone), Photo.DateSource.XMP
    photo.taken_at = taken_at or modified_at or timezone.now()
    photo.taken_at_source = source or (Photo.DateSource.FILE if modified_at else Photo.DateSource.UPLOAD)
    photo.taken_tz = zone
    # The stored name is the content hash: the user's file name may be hostile or collide.
    photo_files_write(photo, {
        "original": (f"{info.sha256}.{EXTENSIONS[info.mime_type]}", data),
        "thumbnail": (f"{info.sha256}.jpg", info.thumbnail),
        "display": (f"{info.sha256}.jpg", info.display),
    })
    try:
        with transaction.atomic():
            _upload_hold(family, uploaded_by)
            photo.save()
            DeletedPhoto.objects.filter(family=family, sha256=photo.sha256).delete()  # stored again: wanted after all
            _new_photo_tags_give(photo=photo, typed=tags, user=uploaded_by, read={  # (typed: tags_keyed's)
                PhotoTag.Source.EMBEDDED: _names_keyed(embedded.keywords, tag_keys=tag_keys),
                # the people named in Google Photos
                PhotoTag.Source.SIDECAR: _names_keyed(sidecar.people, tag_keys=tag_keys) if sidecar else {}})
            if sidecar is not None:  # its star in Google Photos
                photo_sidecar_star(photo_id=photo.pk, sidecar=sidecar, importer=uploaded_by)
            photos_added.send(sender=Photo, photo_ids=[photo.pk])
    except BaseException:
        # No row points at the files: remove them rather than leave orphans behind.
        files_remove(names=photo_file_names(photo))
        raise
    return photo


# The code of _upload_hold's refusals: so would every next file of the same upload or import be refused.
FAMILY_REFUSED = "family_refused"


def _upload_hold(family: Family, uploaded_by: AbstractBaseUser | None) -> None:
    """The family and the uploader's membership, checked when the request came in, held until the photo is stored:
    a family deleted or a member removed meanwhile stores nothing (code FAMILY_REFUSED), and the delete or the
    removal waits for an upload being stored (then takes its photo along)."""
    if not rows_key_share(Family.objects.filter(pk=family.pk, deleting_since__isnull=True).values_list("pk")):
        raise ValidationError(f"The family {family} no longer exists.", code=FAMILY_REFUSED)
    if uploaded_by is not None and not membership_hold(family_id=family.pk, user=uploaded_by):
        raise ValidationError(f"You are no longer a member of {family}.", code=FAMILY_REFUSED)


def membership_hold(*, family_id: int, user: AbstractBaseUser) -> bool:
    """Whether `user` is a member of the family, their membership held (FOR KEY SHARE) until the transaction ends:
    a removal meanwhile waits for what they are saving (then goes through), and one that came first is seen."""
    return family_id in member_families_hold(user=user, family_ids=[family_id])


def member_families_hold(*, user: AbstractBaseUser, family_ids) -> list[int]:
    """Those of `family_ids` (ids, or a values("pk") subquery) that `user` is a member of, the families' rows and the
    memberships held (FOR KEY SHARE) until the transaction ends. The families' rows first, as a removal takes them
    (family_lock, FOR UPDATE) before it deletes the membership: held after the membership alone, a removal coming
    between would wait for the membership while the save, making a row of the family's (a new tag: its foreign key
    takes the family's row at commit), waited for the removal: a deadlock."""
    rows_key_share(Family.objects.filter(pk__in=family_ids).order_by("pk").values_list("pk"))
    return rows_key_share(Membership.objects.filter(user_id=user.pk, family_id__in=family_ids).order_by("pk")
                          .values_list("family_id"))


def member_hold(*, family: Family, user: AbstractBaseUser | None) -> None:
    """A member's write to one of `family`'s photos: `user` must still be a member, the family's row and their
    membership held until the transaction ends (membership_hold; taken before the photo's row, as a removal takes the
    family's then the membership, and waits for nothing of the photo's). One removed since their page was drawn is
    refused (PermissionDenied), nothing saved.
    None (the system) and superusers (the admin, any family) are not checked."""
    if user is not None and not user.is_superuser and not membership_hold(family_id=family.pk, user=user):
        raise no_longer_member([family])


def no_longer_member(families: Iterable[Family]) -> PermissionDenied:
    """The refusal of a write by a member removed from `families` since their page was drawn (the same words for one
    photo and for many)."""
    names = " and ".join(str(family) for family in families)
    return PermissionDenied(f"You are no longer a member of {names}: nothing was saved.")


def member_family_ids_hold(*, user: AbstractBaseUser, photo_ids: Iterable[int]) -> list[int]:
    """A member's write over many photos: the families of `photo_ids` (in the trash or not) that `user` is a member
    of, each membership held as membership_hold holds it. One of those families they were removed from meanwhile
    (a member when the write began, no longer once held) refuses the whole write as member_hold does
    (PermissionDenied, no_longer_member); a family deleted meanwhile took its photos along: they are missing."""
    if not user.is_authenticated:
        return []
    family_ids = Photo.all_objects.filter(pk__in=list(photo_ids)).values("family_id")
    # Unlocked: as the write found them (a removal not yet committed is not seen, and waits for nothing here).
    found = set(Membership.objects.filter(user_id=user.pk, family_id__in=family_ids)
                .values_list("family_id", flat=True))
    held = member_families_hold(user=user, family_ids=family_ids)
    if removed := list(Family.objects.filter(pk__in=found - set(held)).order_by("name", "pk")):
        raise no_longer_member(removed)
    return held


def _title_from_filename(stem: str) -> str:
    title = without_controls(stem.replace("_", " ").replace("-", " "))
    return " ".join(title.split())[:255].strip()


def _set_tags(photo: Photo, names: Iterable[str], *, user: AbstractBaseUser | None = None) -> None:
    """A member's edit of the whole tag list: tags left out are removed (remembered: the file's keywords never put
    them back), new ones are the member's, tags kept keep their source (the edit form lists the embedded ones too;
    saving it is not re-typing them). A name merged away (TagMerge) is the tag it went into: the list the member read
    before a merge ("Oma") is saved as the merge left it ("Grandma"), their other edits with it."""
    tags = _tags_made(family=photo.family, names=tags_clean(names), merged_followed=True)
    kept = {tag.pk for tag in tags}
    left_out = [(photo.pk, key) for pk, key in (PhotoTag.objects.filter(photo=photo)
                                                .values_list("tag_id", NameFolded("tag__name"))) if pk not in kept]
    tags_removed_remember(left_out)
    photo.tags.set(tags, through_defaults={"source": PhotoTag.Source.MEMBER, "added_by": user})


def tags_removed_remember(removed: Iterable[tuple[int, str]]) -> None:
    """Remember tags members take off photos, as (photo id, the tag's key: its name read as NameFolded("tag__name"),
    the key of same_name and the unique index, which photo_tags_add compares): reading a file's embedded metadata again
    never puts them back. Call it inside the transaction, before the photo-tag rows go: the photos are locked FOR KEY
    SHARE first (one deleted meanwhile is skipped; one being deleted waits for us)."""
    removed = set(removed)
    if not removed:
        return
    present = set(rows_key_share(Photo.all_objects.filter(pk__in={pk for pk, _ in removed}).order_by("pk")
                                 .values_list("pk")))
    RemovedTag.objects.bulk_create([RemovedTag(photo_id=photo_id, name=name) for photo_id, name in sorted(removed)
                                    if photo_id in present], ignore_conflicts=True)


# Who decided a tag, most deliberate first: a tag keeps the most deliberate source it was ever added with.
_SOURCE_RANK = {PhotoTag.Source.MEMBER: 3, PhotoTag.Source.SUGGESTION: 2, PhotoTag.Source.EMBEDDED: 1,
                PhotoTag.Source.SIDECAR: 1}


@transaction.atomic
def photo_tags_add(
    *, photo: Photo, names: Iterable[str], source: str, user: AbstractBaseUser | None = None,
) -> list[Tag]:
    """Add tags to a photo, remembering where they came from (a PhotoTag.Source). Returns the photo's tags of
    these names.

    A tag the photo already has keeps its row, and takes the new source when that is more deliberate
    (member > accepted suggestion > embedded or sidecar): a member re-typing an embedded tag makes it the member's,
    an embedded keyword never demotes a member's tag. Names are cleaned as tags_clean does; more than MAX_TAGS
    names is refused (ValidationError) for a member or a suggestion, while tags read (PhotoTag.READ: a file's
    embedded keywords, a sidecar's people) are trimmed to the room the photo has left, with a log line. The caller
    announces the change (photos_changed) when the photo already existed. (A photo being stored: _photo_store gives
    it its tags with the run's TagKeys.)"""
    if source not in _SOURCE_RANK:
        raise ValidationError(f"Unknown tag source “{source}”.")
    keyed = _names_keyed(names) if source in PhotoTag.READ else tags_keyed(names)  # (more refused for a member)
    return _photo_tags_add(photo=photo, keyed=keyed, source=source, user=user)


def _photo_tags_add(*, photo: Photo, keyed: dict[str, str], source: str,
                    user: AbstractBaseUser | None = None) -> list[Tag]:
    """photo_tags_add of names cleaned and keyed already (_names_keyed, tags_keyed: no names read again)."""
    removed: set[str] = set()
    if source in PhotoTag.READ:
        # (names compared as same_name compares them: folded, the unique index's key)
        have = set(PhotoTag.objects.filter(photo=photo).values_list(NameFolded("tag__name"), flat=True))
        keyed = {key: name for key, name in keyed.items() if key not in have}  # (there: no room needed)
        if keyed:  # a member took it off: the file never puts it back
            removed = set(RemovedTag.objects.filter(photo_id=photo.pk).values_list(NameFolded("name"), flat=True))
            keyed = {key: name for key, name in keyed.items() if key not in removed}
        keyed = _read_tags_in_room(photo, keyed, room=MAX_TAGS - len(have))
    tags = _tags_made(family=photo.family, names=list(keyed.values()), merged_followed=True)
    # (a name merged away came back as the tag it went into, which a member may have taken off this photo)
    tags = [tag for tag in tags if tag.key not in removed]
    if not tags:
        return []
    existing = {link.tag_id: link for link in PhotoTag.objects.filter(photo=photo, tag__in=tags)}
    promote = [link.pk for link in existing.values() if _SOURCE_RANK[source] > _SOURCE_RANK.get(link.source, 0)]
    if promote:
        PhotoTag.objects.filter(pk__in=promote).update(source=source, added_by=user, added_at=timezone.now())
    PhotoTag.objects.bulk_create(
        [PhotoTag(photo=photo, tag=tag, source=source, added_by=user) for tag in tags if tag.pk not in existing],
        ignore_conflicts=True,  # the same tag added by a concurrent request: theirs stands
    )
    return tags


def _new_photo_tags_give(*, photo: Photo, typed: dict[str, str], read: dict[str, dict[str, str]],
                         user: AbstractBaseUser | None) -> None:
    """Give a photo stored in this transaction (_photo_store) its tags: those its member typed (`typed`, tags_keyed's:
    the member's), then the names its files give (`read`: by their PhotoTag.Source, _names_keyed's) as photo_tags_add
    gives them, each name once, with its first source (a member's before a file's), those past the photo's room left
    out with a log line. A new photo has no other tag nor any removal: neither is read back, no link is promoted."""
    sources = dict.fromkeys(typed, PhotoTag.Source.MEMBER)
    names = dict(typed)
    for source, keyed in read.items():
        fresh = _read_tags_in_room(photo, {key: name for key, name in keyed.items() if key not in names},
                                   room=MAX_TAGS - len(names))
        names |= fresh
        sources |= dict.fromkeys(fresh, source)
    tags = _tags_made(family=photo.family, names=list(names.values()), merged_followed=True)
    if any(tag.key not in sources for tag in tags):  # a name merged away came back as the tag it went into
        # (which takes the most deliberate source of the names it stands for: a member's typed "Oma" is the member's)
        made = {tag.key for tag in tags}
        followed = Q(key__in=[key for key in sources if key not in made])
        for key, (into_key, _) in _merged_into(family=photo.family, wanted=followed, have=made).items():
            if _SOURCE_RANK[sources[key]] > _SOURCE_RANK.get(sources.get(into_key), 0):
                sources[into_key] = sources[key]
    PhotoTag.objects.bulk_create([  # (a tag's key is its name's: _tags_made finds it by same_name)
        PhotoTag(photo=photo, tag=tag, source=sources[tag.key],
                 added_by=user if sources[tag.key] == PhotoTag.Source.MEMBER else None) for tag in tags])


def _read_tags_in_room(photo: Photo, keyed: dict[str, str], *, room: int) -> dict[str, str]:
    """The first `room` of the names read from a photo's files (`keyed`, by key), those past it named in a log line."""
    room = max(0, room)
    if len(keyed) <= room:
        return keyed
    past = list(keyed.values())[room:]
    logger.info("photo %s: %d embedded keyword(s) past the %d-tag limit left out: %s", photo.pk, len(past), MAX_TAGS,
                ", ".join(past)[:500])
    return dict(list(keyed.items())[:room])


def tags_clean(names: Iterable[str], *, tag_keys: TagKeys | None = None) -> list[str]:
    """Tag names as stored: whitespace collapsed, at most 64 characters, one per case-insensitive name.

    Raises ValidationError for more than MAX_TAGS, or a name with a comma or a control character in it
    (gallery.text.tag_name_clean), so a caller can refuse before doing any work. `tag_keys`: the run's TagKeys."""
    return list(tags_keyed(names, tag_keys=tag_keys).values())


def tags_keyed(names: Iterable[str], *, tag_keys: TagKeys | None = None) -> dict[str, str]:
    """tags_clean's names by their key (same_name's, the unique index's: names_folded), in order; one query (none for
    names whose keys `tag_keys`, the run's TagKeys, read already)."""
    keyed = _names_keyed(names, tag_keys=tag_keys)
    if len(keyed) > MAX_TAGS:
        raise ValidationError(f"At most {MAX_TAGS} tags per photo.")
    return keyed


def _names_keyed(names: Iterable[str], *, tag_keys: TagKeys | None = None) -> dict[str, str]:
    """The names cleaned (tag_name_clean), the first of each name the unique index counts as one, by its key there
    (same_name's: "İstanbul" and "istanbul" are one name, "ΟΔΟΣ" and "οδος" two). `tag_keys`: the run's TagKeys
    (none: the names read in one query)."""
    cleaned = [name for name in map(tag_name_clean, names) if name]
    keyed: dict[str, str] = {}
    for key, name in zip((tag_keys or TagKeys()).of(cleaned), cleaned):
        keyed.setdefault(key, name)
    return keyed


def tags_get_or_create(*, family: Family, names: Iterable[str]) -> list[Tag]:
    """The family's tags of these names, creating the missing ones; safe when other requests create them too.

    INSERT ... ON CONFLICT DO NOTHING waits for a concurrent insert of the same name and then skips it,
    so two uploads with the same new tag never fail; the rows are then read back by the unique key."""
    return _tags_made(family=family, names=tags_clean(names))


def _insert_order(name: str) -> tuple[str, str]:
    """The order new tags are inserted in: by the key the unique index compares (its fold; the name itself after it,
    where a server before 18 keys two names apart that Python folds alike), so concurrent transactions take the
    index entries in the same order and can't deadlock."""
    return name_folded(name), name


def _tags_made(*, family: Family, names: list[str], merged_followed: bool = False) -> list[Tag]:
    """tags_get_or_create of names cleaned already (tags_clean: one of each name), which it sorts in place.
    `merged_followed`: a name merged away (TagMerge) that the family has no tag of is the tag it went into, read after
    the tags' locks, so that a merge this waited for is seen (_names_merged_followed)."""
    if not names:
        return []
    names.sort(key=_insert_order)
    named = _tags_named(family=family, names=names)
    # Held until this transaction ends, so that a tag deleted meanwhile (tags_delete) can't leave the caller's new
    # photo-tag rows pointing at nothing; one deleted before the lock came is made again. Those the family has are
    # locked and read in one query: the files of an upload after its first make none.
    held = _tags_key_share(named)
    if merged_followed and len(held) < len(names):
        followed = _names_merged_followed(family=family, names=names, have={tag.key for tag in held})
        if followed != names:
            names, named = followed, _tags_named(family=family, names=followed)
            held = _tags_key_share(named)
    for _ in range(TAG_DELETED_RETRIES):
        if len(held) == len(names):
            break
        Tag.objects.bulk_create([Tag(family=family, name=name) for name in names], ignore_conflicts=True)
        held = _tags_key_share(named)
    return sorted(held, key=lambda tag: (tag.key, tag.pk))


def _tags_named(*, family: Family, names: list[str]) -> QuerySet[Tag]:
    """The family's tags of these names, annotated with their `key`."""
    # Compared folded (NameFolded), the expression of the unique index, not by Python's str.lower() (same_name).
    wanted = Q()
    for name in names:
        wanted |= Q(same_name("name", name))
    return Tag.objects.filter(family=family).annotate(key=NameFolded("name")).filter(wanted)


def _names_merged_followed(*, family: Family, names: list[str], have: set[str]) -> list[str]:
    """`names` with each one the family merged away (TagMerge) and has no tag of now (`have`: the keys of those it
    has) replaced by the name of the tag it went into, one of each key, sorted as _tags_made sorts them. A save that
    waited for the merge (its tags' locks) finds the merged name gone and its record there: read after the locks."""
    # The family's records of these names, found as same_name finds names (by the database's fold) and kept where
    # the family has no tag of the name now: one query, and none more unless a name was merged away (names_folded).
    wanted = Q()
    for name in names:
        wanted |= Q(same_name("name", name))
    merged = _merged_into(family=family, wanted=wanted, have=have)
    if not merged:
        return names
    keys = names_folded(names)
    followed: dict[str, str] = {}
    for key, name in zip(keys, names):
        key, name = merged.get(key, (key, name))
        followed.setdefault(key, name)
    return sorted(followed.values(), key=_insert_order)


def _merged_into(*, family: Family, wanted: Q, have: set[str]) -> dict[str, tuple[str, str]]:
    """The family's names merged away (TagMerge) that `wanted` finds (on the record's `name`, or its `key`: the name's
    NameFolded) and that it has no tag of (`have`: the keys of those it has), each by its key with the key and name of
    the tag it went into. One query."""
    return {key: (into_key, into_name) for key, into_key, into_name in TagMerge.objects.filter(family=family)
            .annotate(key=NameFolded("name"), into_key=NameFolded("into__name")).filter(wanted)
            .values_list("key", "into_key", "into__name") if key not in have}


def _tags_key_share(tags: QuerySet[Tag]) -> list[Tag]:
    """The tags, locked as rows_key_share locks rows (in pk order), read by the same query."""
    try:
        sql, params = tags.order_by("pk").query.sql_with_params()
    except EmptyResultSet:
        return []
    return list(Tag.objects.raw(f"{sql} FOR KEY SHARE", params))


TAG_DELETED_RETRIES = 3  # each retry follows a committed delete of one of the tags: more than one is already rare


@transaction.atomic
def tags_delete(*, tags: QuerySet[Tag]) -> int:
    """Delete tags (the admin): they leave every photo that carried them, whose search documents are rebuilt.
    Returns how many tags were deleted."""
    return len(_tags_deleted(tags=tags)[0])


def _tags_deleted(*, tags: QuerySet[Tag]) -> tuple[list[int], list[int]]:
    """tags_delete's work: (the ids of the tags deleted, of the photos that carried them), within the caller's
    transaction."""
    ids, links = _tags_held_with_their_photos(tags=tags)
    photo_ids = sorted({photo_id for photo_id, _ in links})
    tags_removed_remember(links)
    Tag.objects.filter(pk__in=ids).delete()
    photos_metadata_edited(photo_ids=photo_ids)
    return ids, photo_ids


def _tags_held_with_their_photos(*, tags: QuerySet[Tag]) -> tuple[list[int], list[tuple[int, str]]]:
    """The tags locked FOR UPDATE, the photos carrying them before them (FOR KEY SHARE, in pk order), and their
    photo-tag rows as (photo id, the tag's key), read under those locks: a member's transaction putting a tag on a
    photo (tags_get_or_create holds it) ends first, and its row goes with the tag instead of breaking the delete.

    Photos before tags, in the order every edit takes them (a member's save holds its photo, then the tags it puts on
    it): with the tags locked first, the delete waited for a photo whose edit waited for one of the tags, "deadlock
    detected". A photo that got a tag between the two steps, not locked yet, is not waited for while holding the tags
    (its edit may wait for them): they are let go (a savepoint rolled back releases its row locks), the photo is
    locked, then the tags again."""
    held: set[int] = set()
    tries = 0
    while True:
        tries += 1
        carrying = PhotoTag.objects.filter(tag_id__in=tags.values("pk")).exclude(photo_id__in=held)
        held.update(rows_key_share(Photo.all_objects.filter(pk__in=carrying.values("photo_id")).order_by("pk")
                                   .values_list("pk")))
        savepoint = transaction.savepoint()
        ids = list(Tag.objects.filter(pk__in=tags.values("pk")).order_by("pk").select_for_update()
                   .values_list("pk", flat=True))
        links = list(PhotoTag.objects.filter(tag_id__in=ids).values_list("photo_id", NameFolded("tag__name")))
        # (the last try keeps its locks: a photo tagged anew during every try before is waited for, as it was)
        if {photo_id for photo_id, _ in links} <= held or tries == TAG_DELETED_RETRIES:
            transaction.savepoint_commit(savepoint)
            return ids, links
        transaction.savepoint_rollback(savepoint)


@transaction.atomic
def tags_merge(*, into: Tag, tags: QuerySet[Tag], user: AbstractBaseUser | None = None) -> int:
    """Make tags of one family that mean the same one (the admin: "Oma" and "granny" into "Grandma"): every photo that
    carried any of `tags` carries `into` instead, as the member's, trash included (a photo restored keeps it), and
    the others are deleted as tags_delete does (taken off every photo, remembered so the file's keyword never puts one
    back; search documents rebuilt). Deleted first, so a photo at the tag limit has room for `into`. Returns how many
    photos out of the trash carry `into` now of those that carried the others (the trash's are merged, not counted, as
    the admin's counts of a tag's photos leave them out). `into` is kept itself, by its name now (renamed since the
    caller read it); one deleted meanwhile is refused (ValidationError), nothing merged."""
    others = tags.filter(family_id=into.family_id).exclude(pk=into.pk)
    # All locked, in one order (no deadlock with another merge or a delete), `into` read again under its lock; FOR NO
    # KEY UPDATE, which still blocks a rename or delete but not an edit putting one on a photo (FOR KEY SHARE), else
    # a member saving a photo (locked first) with the kept tag deadlocked with the merge waiting for that photo.
    held = {tag.pk: tag for tag in Tag.objects.filter(Q(pk=into.pk) | Q(pk__in=others.values("pk")))
            .order_by("pk").select_for_update(no_key=True)}
    if into.pk not in held:
        raise ValidationError(f"The tag “{into.name}” was deleted meanwhile: nothing was merged.")
    into = held[into.pk]
    names = list(others.values_list("name", flat=True))
    _merged_names_record(into=into, others=others, names=names)
    _tag_names_merged(into=into, names=names, user=user)
    photo_ids = _tags_deleted(tags=others)[1]  # (read under the delete's locks: a photo tagged meanwhile included)
    if not photo_ids:
        return 0
    room = _photos_with_room(photos=Photo.all_objects.filter(pk__in=photo_ids), key=names_folded([into.name])[0])
    _photos_tags_put(photo_ids=[photo.pk for photo in room], tags=[into], user=user)
    photos_changed.send(sender=Photo, photo_ids=[photo.pk for photo in room])
    return sum(1 for photo in room if photo.trashed_at is None)


def _merged_names_record(*, into: Tag, others: QuerySet[Tag], names: list[str]) -> None:
    """Remember `names` (of `others`, being merged into `into`) as merged into it, and the names merged into those
    before as merged into `into` now (their records would go with them): a member's edit naming one gets `into`
    (_names_merged_followed). A name `into` bears, in any letter case, is merged away no more."""
    TagMerge.objects.filter(into__in=others).update(into=into)
    keys = names_folded([*names, into.name])
    gone = {key: name for key, name in zip(keys, names) if key != keys[-1]}
    TagMerge.objects.filter(pk__in=TagMerge.objects.filter(family_id=into.family_id).annotate(key=NameFolded("name"))
                            .filter(key__in=[*gone, keys[-1]]).values("pk")).delete()
    TagMerge.objects.bulk_create([TagMerge(family_id=into.family_id, name=name, into=into) for name in gone.values()])


def _tag_names_merged(*, into: Tag, names: list[str], user: AbstractBaseUser | None) -> None:
    """What the family keeps by a tag's name follows `names` merged into `into` (tags_merge), or a tag renamed
    (tag_renamed: one name merged into a new one): its open suggestions, its smart albums' filters, and (through the
    tags_merged signal) its tag-suggestion vocabulary, search's, which the gallery does not import. A name differing
    from `into` in letter case alone is `into` already, for suggestions and the vocabulary as for tags. The vocabulary
    is the family admins' (the concepts admin): one it moves for a `user` who is not one raises VocabularyRefused."""
    gone = [name for name in names if name and names_folded([name]) != names_folded([into.name])]
    _suggestions_merged(into=into, names=gone)
    smart_albums_tag_renamed(family_id=into.family_id, names=names, into=into.name)
    if gone:
        tags_merged.send(sender=Tag, family_id=into.family_id, names=gone, into=into.name, user=user)


def _suggestions_merged(*, into: Tag, names: list[str]) -> None:
    """The family's suggestions of `names` are suggestions of `into` now (they are kept by name): an open "Oma" one,
    accepted after the merge, made "Oma" again, and a "puppy" dismissed on a photo stayed dismissed under that name
    while the concept, suggesting "dog" since the merge, suggested "dog" on that photo again. What a member decided
    was of the concept: a decided one carries its decision to the name kept. A photo suggests a name once
    (one_suggestion_per_photo_tag_ci): one with a suggestion of `into` already, whatever its state (a member judged
    it apart), keeps that one, its merged open ones go and its decided ones stay as they are (a record, should the
    merge be undone); of two merged names the decided one comes first (accepted, then dismissed), then the
    likeliest.

    The photos with a suggestion of any of these names are locked first (in pk order, as photos_suggestions_replace
    takes them): the worker's scoring, a dismissal or an acceptance (each holding its photo) committed between the
    reads below and the writes made the rename break one_suggestion_per_photo_tag_ci (IntegrityError, a 500), or
    the delete of a merged open one take a member's decision along. FOR NO KEY UPDATE: it holds off those (FOR
    UPDATE) but not the FOR KEY SHARE a tag's delete (_tags_held_with_their_photos) takes of its photos before the
    tags, which waits for the tags this merge holds: FOR UPDATE here deadlocked with it. Only open ones are deleted,
    whatever took them meanwhile."""
    family = TagSuggestion.objects.filter(photo__family_id=into.family_id)
    keys = names_folded([*names, into.name])
    list(Photo.all_objects.filter(pk__in=family.annotate(lowered=NameFolded("name")).filter(lowered__in=keys)
                                  .values("photo_id")).order_by("pk").select_for_update(no_key=True).values_list("pk"))
    taken = set(family.filter(same_name("name", into.name)).values_list("photo_id", flat=True))
    decided_first = Case(When(state=TagSuggestion.State.ACCEPTED, then=Value(0)),
                         When(state=TagSuggestion.State.DISMISSED, then=Value(1)), default=Value(2))
    merged = family.annotate(lowered=NameFolded("name"), decided_first=decided_first).filter(
        lowered__in=names_folded(names)).order_by("photo_id", "decided_first", "-probability", "pk").values_list(
        "pk", "photo_id", "state")
    renamed, dropped = [], []
    for pk, photo_id, state in merged:
        if photo_id not in taken:
            renamed.append(pk)
        elif state == TagSuggestion.State.OPEN:
            dropped.append(pk)
        taken.add(photo_id)
    TagSuggestion.objects.filter(pk__in=dropped, state=TagSuggestion.State.OPEN).delete()
    TagSuggestion.objects.filter(pk__in=renamed).update(name=into.name)


@transaction.atomic
def tag_renamed(*, tag: Tag, before: str, user: AbstractBaseUser | None = None) -> None:
    """A member renamed the tag (the admin; `before`: its name until then): every photo that carries it changes, and
    on each it is the member's now, not one read from the file or a sidecar: no file gives that name, and reading the
    file again (or its changed XMP sidecar) would take it off as a keyword no longer given. A change of letter case
    alone is still the file's keyword. What the family keeps by the old name follows as in a merge (_tag_names_merged):
    no suggestion of it stays open, and its tag-suggestion vocabulary suggests the new name instead; and the old name
    is remembered as merged into the tag (_merged_names_record), so an upload, a file's keyword or an edit naming it
    gets the tag, until the family has a tag of that name again or this one takes it back."""
    if len(set(names_folded([before, tag.name]))) > 1:  # (as the file's keyword finds its tag: same_name)
        PhotoTag.objects.filter(tag=tag, source__in=PhotoTag.READ).update(
            source=PhotoTag.Source.MEMBER, added_by=user, added_at=timezone.now())
    if before:
        _merged_names_record(into=tag, others=Tag.objects.none(), names=[before])
    _tag_names_merged(into=tag, names=[before], user=user)
    photos_metadata_edited(photo_ids=tag.photos.values_list("pk", flat=True))


def smart_albums_tag_renamed(*, family_id: int, names: list[str], into: str) -> int:
    """The family's smart albums filtering on a tag of one of `names` (as same_name reads names: "oma" is "Oma")
    filter on `into` instead: the tag merged (tags_merge) or renamed (tag_renamed), the old name finds no photo. A
    deleted tag's albums keep their filter, and say it is gone (search's describe): taken off, an album would show
    photos its owner never chose. Returns how many albums changed."""
    albums = [album for album in Album.objects.filter(family_id=family_id, search__tag__isnull=False)
              .select_for_update().order_by("pk") if isinstance(album.search.get("tag"), str) and album.search["tag"]]
    keys = set(names_folded(" ".join(name.split()) for name in names))
    saved = names_folded(" ".join(album.search["tag"].split()) for album in albums)
    changed = [album for album, key in zip(albums, saved) if key in keys and album.search["tag"] != into]
    for album in changed:
        album.search = {**album.search, "tag": into}
    Album.objects.bulk_update(changed, ["search"])
    return len(changed)


def parse_tags(text: str) -> list[str]:
    """Tags typed by a person: comma separated."""
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@transaction.atomic
def photo_update(
    *,
    photo: Photo,
    tags: Iterable[str] | None = None,
    description: str | None = None,
    title: str | None = None,
    user: AbstractBaseUser | None = None,
    seen: str = "",
) -> Photo:
    """A member's edit (photo page, API, admin). Edits of one photo take turns on its row, so two saving at once
    never insert the same photo-tag pair twice. With `seen` (photo_edit_version of what the member's form showed),
    an edit over someone else's change saved meanwhile is refused (code "edit_conflict", saying what the photo reads
    now) instead of silently replacing it; without it the later edit stands. A title is one line; text with a
    control character in it is refused (ValidationError), not changed behind the member's back. `user` (the member
    editing; not a superuser, who edits any family's photos in the admin) must still be a member of the photo's
    family: one removed since their page was drawn is refused (PermissionDenied), nothing saved."""
    tags = None if tags is None else list(tags)  # (read twice: by the check, then by the save)
    member_hold(family=photo.family, user=user)
    fresh = photo_edit_check(photo_id=photo.pk, seen=seen, title=title, description=description, tags=tags)
    photo.title, photo.title_source = fresh.title, fresh.title_source
    photo.description, photo.description_source = fresh.description, fresh.description_source
    fields = []
    if title is not None:
        title = _title_saved(title)
        control_characters_refuse(title, what="A title")
    if description is not None:
        control_characters_refuse(without_nul(description), what="A description", multiline=True)
        if _description_saved(description) != photo.description:
            # The member wrote it (even empty): embedded metadata never replaces it.
            photo.description_source = Photo.FieldSource.MEMBER
            fields.append("description_source")
        photo.description = _description_saved(description)
        fields.append("description")
    if title is not None:
        if title != photo.title:
            # A title cleared is nobody's, as an empty one is (the file's own may fill it again); a description
            # cleared stays the member's (above).
            photo.title_source = Photo.FieldSource.MEMBER if title else Photo.FieldSource.NONE
            fields.append("title_source")
        photo.title = title
        fields.append("title")
    if fields:
        photo.save(update_fields=fields)
    if tags is not None:
        _set_tags(photo, tags, user=user)
    photos_changed.send(sender=Photo, photo_ids=[photo.pk])
    return photo


def photo_edit_version(photo: Photo) -> str:
    """A digest of what the edit form shows of the photo (title, description, tags): the form carries it, and
    photo_update(seen=...) compares it with the photo's when saving."""
    tags = sorted(PhotoTag.objects.filter(photo_id=photo.pk).values_list("tag__name", flat=True), key=str.lower)
    return version_digest([photo.title, photo.description, tags])


def photo_api_version(photo: Photo) -> str:
    """A digest of everything an API PATCH can change (what the edit form shows, the date, its zone, the position,
    the place and the rotation): the photo's ETag, which a PATCH's If-Match is compared with."""
    when = [photo.taken_at.isoformat(), photo.taken_tz, photo.latitude, photo.longitude, photo.place_city,
            photo.place_region, photo.place_country_code, photo.rotation]
    return version_digest([photo_edit_version(photo), *when])


def version_digest(value) -> str:
    """A short digest of `value` (what JSON holds): a version a form or an ETag carries, compared when saving."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:32]


def photo_lock(*, photo_id: int) -> Photo:
    """The photo's row as it is now, locked until the caller's transaction ends (no other edit lands before the
    caller's save); refused (code DELETED) when it was deleted for good meanwhile."""
    fresh = Photo.all_objects.select_for_update(of=("self",)).filter(pk=photo_id).first()
    if fresh is None:
        raise ValidationError("This photo is no longer there: it was deleted meanwhile.", code=DELETED)
    return fresh


def photo_edit_check(*, photo_id: int, seen: str = "", title: str | None = None, description: str | None = None,
                     tags: Iterable[str] | None = None) -> Photo:
    """photo_lock, for an edit made from a form that showed `seen` (photo_edit_version; "": no check): refused (code
    "edit_conflict", saying what the photo reads now) when someone else saved the photo since. An edit that would
    leave the photo's title, description and tags (None: not edited) as they read now replaces nobody's change: no
    conflict (the same form sent twice: a double click without JavaScript, Back then Save again, two tabs). None of
    the three given: the edit is not known here, and a change since `seen` is a conflict."""
    fresh = photo_lock(photo_id=photo_id)
    edit = (title, description, tags)
    if seen and seen != photo_edit_version(fresh) and (edit == (None, None, None)
                                                       or not _edit_leaves_as_is(fresh, *edit)):
        raise photo_edit_conflict(fresh)
    return fresh


def _title_saved(title: str) -> str:
    """A title as photo_update saves it: one line, at most 255 characters."""
    return one_line(title)[:255].strip()


def _description_saved(description: str) -> str:
    return without_nul(description).strip()


def _edit_leaves_as_is(photo: Photo, title: str | None, description: str | None, tags: Iterable[str] | None) -> bool:
    """Whether photo_update with these would leave what the edit form shows of `photo` as it is (tags in any case,
    as tags_get_or_create finds them)."""
    if title is not None and _title_saved(title) != photo.title:
        return False
    if description is not None and _description_saved(description) != photo.description:
        return False
    if tags is None:
        return True
    have = PhotoTag.objects.filter(photo_id=photo.pk).values_list(NameFolded("tag__name"), flat=True)
    return set(_names_keyed(tags)) == set(have)


def photo_api_version_check(*, photo: Photo, if_match: str | None, lock: bool = True) -> None:
    """Refuse (code "edit_conflict", saying what the photo reads now) when `if_match` (an If-Match header: "*" or
    strong ETags) names none of the photo's current photo_api_version; no header, no check. Locks the photo's row
    until the caller's transaction ends, so that no other edit lands between the check and the caller's save
    (`lock=False`: a first look at `photo` as the caller read it, before slow work the check will be made again for)."""
    if not if_match:
        return
    fresh = photo_lock(photo_id=photo.pk) if lock else photo
    if not if_match_names(if_match, photo_api_version(fresh)):
        raise photo_edit_conflict(fresh, form=False)


def if_match_names(if_match: str, version: str) -> bool:
    """Whether an If-Match header ("*" or strong ETags, RFC 9110 §13.1.1) names `version` (a photo's or an album's)."""
    tags = parse_etags(if_match)
    return "*" in tags or quote_etag(version) in tags


def photo_edit_conflict(photo: Photo, *, form: bool = True) -> ValidationError:
    """What a member is told when their save would replace someone else's edit made since they read `photo` (as it
    reads now): in a form, or (form=False) through the API."""
    tags = sorted(PhotoTag.objects.filter(photo_id=photo.pk).values_list("tag__name", flat=True), key=str.lower)
    now = f"title “{photo.title}”" if photo.title else "no title"
    now += f", tags {', '.join(tags)}" if tags else ", no tags"
    # (the description too: a member saving again would replace one they were never shown)
    description = " ".join(photo.description.split())
    now += f", description “{Truncator(description).chars(200)}”" if description else ", no description"
    if not form:
        return ValidationError(
            f"Someone else saved this photo since you read it (If-Match names an older version). It now reads: "
            f"{now[:600]}. Read it again (GET, for its ETag) and send your change with the new one.",
            code="edit_conflict")
    return ValidationError(
        f"Someone else saved this photo while you were editing it. It now reads: {now[:600]}. Your changes are still "
        "in the form: save again to put them in place of that, or cancel to keep it.", code="edit_conflict")


def photo_can_delete(*, photo: Photo, user: AbstractBaseUser) -> bool:
    if photo.uploaded_by_id == user.pk:
        return True
    return Membership.objects.filter(family_id=photo.family_id, user=user, role=Membership.Role.ADMIN).exists()


@transaction.atomic
def photos_delete(*, photos: QuerySet[Photo], remember: bool = True) -> int:
    """Delete photo rows for good (in the trash or not: members only ever do it from the trash, through
    gallery.trash_services); their files are queued in the same transaction and removed after it commits. Their
    bytes are remembered as deleted (DeletedPhoto: an import leaves them out), unless `remember` is off (the family
    goes with them)."""
    # Re-selected by pk: the caller's queryset may carry joins or DISTINCT, which FOR UPDATE refuses.
    doomed = list(Photo.all_objects.filter(pk__in=photos.values("pk")).select_for_update()
                  .only("pk", "family_id", "sha256", *photo_file_fields()))
    photos_files_release(photos=doomed)
    if remember:
        DeletedPhoto.objects.bulk_create([DeletedPhoto(family_id=photo.family_id, sha256=photo.sha256)
                                          for photo in doomed], ignore_conflicts=True)  # deleted before: kept
    photos_version_bump(family_ids={photo.family_id for photo in doomed})
    Photo.all_objects.filter(pk__in=[photo.pk for photo in doomed]).delete()
    return len(doomed)


@transaction.atomic
def family_delete(*, family: Family) -> None:
    """Delete a family with everything in it, its trash too, in one transaction; the files of its photos go through
    the removal queue. Locked first: what is being added to it meanwhile (an upload being stored) commits before the
    delete collects. For a family of any size, family_delete_start (the request) and family_delete_continue (the
    worker) instead: this is their last step, once the photos are gone."""
    family_lock(family_id=family.pk)
    photos_delete(photos=Photo.all_objects.filter(family=family), remember=False)
    family.delete()


# Advisory lock class of the worker deleting a family (second key: the family's id): one deletion per family at once.
FAMILY_DELETE_LOCK_CLASS = 0x4D534644  # "MSFD"
FAMILY_DELETE_BATCH = 500  # photos a transaction: each locks only these rows, briefly


@transaction.atomic
def family_delete_start(*, family: Family) -> int:
    """Begin deleting a family (its only member on its page, the site administrator in the Django admin): at once,
    nobody is in it any more (every page, search, API call and media URL goes by membership), its open invitation
    and share links stop working, and it is marked (`deleting_since`: uploads, imports and the admin refuse it);
    the worker then deletes its photos in batches, files too, and the row (family_delete_continue, resumed by the
    sweep if the worker dies). One short transaction whatever the family's size. How many photos go, its trash's
    too."""
    family_lock(family_id=family.pk)
    now = timezone.now()
    Family.objects.filter(pk=family.pk, deleting_since__isnull=True).update(deleting_since=now)
    open_links = Invite.objects.filter(family=family, used_at__isnull=True, revoked_at__isnull=True)
    # Their rows go with the family: the link page still says why they no longer work (by the hash, as Invite keeps it).
    DeletedFamilyInvite.objects.bulk_create(
        [DeletedFamilyInvite(token_hash=token_hash) for token_hash in open_links.values_list("token_hash", flat=True)],
        ignore_conflicts=True)
    open_links.update(revoked_at=now)
    AlbumShare.objects.filter(album__family=family, revoked_at__isnull=True).update(revoked_at=now)
    # Not memberships_end: nobody leaves a family that stays (no fit to withdraw or redo, every link of it withdrawn
    # above). The guard of 0036 lets a family being deleted lose its admins.
    Membership.objects.filter(family=family).delete()
    family_id = family.pk
    transaction.on_commit(lambda: family_delete_later(family_id=family_id))
    return Photo.all_objects.filter(family_id=family_id).count()


def family_delete_later(*, family_id: int) -> None:
    """Queue the worker's part of a family's deletion (family_delete_continue)."""
    from mediasearch.task_queue import enqueue

    enqueue("gallery.tasks.family_delete_task", family_id, q_options={"timeout": settings.Q_CLUSTER["timeout"]})


def family_delete_continue(*, family_id: int, seconds: float) -> bool:
    """The worker's part of deleting a family marked by family_delete_start: its photos a batch a transaction (their
    files removed after each commit), then what is left with the row (family_delete). Stops after about `seconds`
    (a task's time is bounded), a batch done at least: True when it is done (or the family gone, or another worker
    on it), False when it should be called again. Refused inside a transaction (RuntimeError): each batch commits."""
    deadline = time.monotonic() + seconds
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [FAMILY_DELETE_LOCK_CLASS, family_id])
        if not cursor.fetchone()[0]:
            return True  # another worker deletes it (a task queued again by the sweep while the first still runs)
    try:
        # Durable: refused, before any statement, inside a caller's transaction, whose rollback would bring back the
        # batches reported deleted, and whose abort by a failing batch would fail the unlock below over the error.
        # Read once: under the lock, nobody else deletes the family, and nothing unmarks it.
        with transaction.atomic(durable=True):
            family = Family.objects.filter(pk=family_id, deleting_since__isnull=False).first()
        if family is None:
            return True
        while True:
            batch = list(Photo.all_objects.filter(family_id=family_id).order_by("pk")
                         .values_list("pk", flat=True)[:FAMILY_DELETE_BATCH])
            if len(batch) < FAMILY_DELETE_BATCH:
                family_delete(family=family)  # the last few, and any an upload in flight added, with the row
                logger.info("family %s deleted", family_id)
                return True
            photos_delete(photos=Photo.all_objects.filter(pk__in=batch), remember=False)
            if time.monotonic() >= deadline:
                return False
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [FAMILY_DELETE_LOCK_CLASS, family_id])


def family_deletions_resume() -> int:
    """Queue again the deletion of every family still being deleted (the sweep): a worker killed meanwhile, a task
    lost (Redis). One more task for a deletion under way finds it taken and ends. How many were queued."""
    ids = list(Family.objects.filter(deleting_since__isnull=False).values_list("pk", flat=True))
    for family_id in ids:
        family_delete_later(family_id=family_id)
    return len(ids)


def family_others_problem(*, family: Family, user: AbstractBaseUser) -> str:
    """Why `user` may not delete `family` for the others in it, in one sentence ("" when they are its only member)."""
    others = list(Membership.objects.filter(family=family).exclude(user=user)
                  .order_by("user__username").values_list("user__username", flat=True))
    if not others:
        return ""
    return (f"{family} has other members ({', '.join(others[:5])}{', …' if len(others) > 5 else ''}), whose photos "
            "are in it too: only a family's only member can delete it.")


@transaction.atomic
def family_delete_by_member(*, family: Family, user: AbstractBaseUser, name: str) -> int:
    """The family's only member (its admin, then) deletes it, typing its name (any case) to confirm: with every photo
    in it, its trash too, for good (no family, no trash to keep them in). How many photos went. Refused with the
    reason while anyone else belongs to it (their photos are in it too) or for another name."""
    family_lock(family_id=family.pk)  # no one joins, and no admin changes, meanwhile
    if problem := family_others_problem(family=family, user=user):
        raise ValidationError(problem)
    if not Membership.objects.filter(family=family, user=user, role=Membership.Role.ADMIN).exists():
        raise ValidationError(f"Only an admin of {family} can delete it.")
    if one_line(name).casefold() != family.name.casefold():
        raise ValidationError(f"Type its name, “{family.name}”, to delete the family: nothing was deleted.")
    return family_delete_start(family=family)


@transaction.atomic
def photos_tags_add_many(*, photos: Iterable[Photo], names: list[str], user: AbstractBaseUser | None = None) -> None:
    """A member's tags on many photos at once, as photo_tags_add(source=member) does one by one but in a few queries
    per family (a selection of 500 photos): the tags are the member's on each photo, a tag already there from the
    file or a suggestion becomes the member's. `names` are cleaned (tags_clean's: read by the database once, by the
    caller). The caller checks rights and the tag limit, and announces the change."""
    by_family: dict[int, list[Photo]] = {}
    for photo in photos:
        by_family.setdefault(photo.family_id, []).append(photo)
    for family_photos in by_family.values():
        tags = _tags_made(family=family_photos[0].family, names=list(names), merged_followed=True)
        _photos_tags_put(photo_ids=[photo.pk for photo in family_photos], tags=tags, user=user)


def _photos_tags_put(*, photo_ids: list[int], tags: list[Tag], user: AbstractBaseUser | None) -> None:
    """The member's `tags` (their photos' family's, held by the caller) on each photo: a tag already there from the
    file or a suggestion becomes the member's. The caller checks rights and the tag limit (_photos_with_room)."""
    now = timezone.now()
    existing = PhotoTag.objects.filter(photo_id__in=photo_ids, tag__in=tags)
    existing.exclude(source=PhotoTag.Source.MEMBER).update(source=PhotoTag.Source.MEMBER, added_by=user, added_at=now)
    have = set(existing.values_list("photo_id", "tag_id"))
    PhotoTag.objects.bulk_create(
        [PhotoTag(photo_id=pk, tag=tag, source=PhotoTag.Source.MEMBER, added_by=user, added_at=now)
         for pk in photo_ids for tag in tags if (pk, tag.pk) not in have],
        ignore_conflicts=True,  # the same tag added by a concurrent request: theirs stands
    )


def _photos_with_room(*, photos: Iterable[Photo], key: str | None) -> list[Photo]:
    """Of `photos`, those that may carry the tag of `key` (same_name's): they carry it already, or fewer than
    MAX_TAGS tags. One query."""
    photos = list(photos)
    have: dict[int, set[str]] = {photo.pk: set() for photo in photos}
    for photo_id, tag_key in (PhotoTag.objects.filter(photo_id__in=list(have))
                              .values_list("photo_id", NameFolded("tag__name"))):
        have[photo_id].add(tag_key)
    return [photo for photo in photos if key in have[photo.pk] or len(have[photo.pk]) < MAX_TAGS]


@transaction.atomic
def photos_tag_add(*, photos: Iterable[Photo], name: str, user: AbstractBaseUser | None = None) -> int:
    """A member adds one tag to many photos (the admin's bulk action): it becomes the member's on each, except on
    photos that already carry MAX_TAGS other tags (left as they are). Returns how many photos carry it now. A few
    queries per family, whatever the selection (photos_tags_add_many)."""
    names = tags_keyed([name])  # (its key as the unique index reads it, same_name's: once)
    room = _photos_with_room(photos=photos, key=next(iter(names), None))
    photos_tags_add_many(photos=room, names=list(names.values()), user=user)
    photos_changed.send(sender=Photo, photo_ids=[photo.pk for photo in room])
    return len(room)


@transaction.atomic
def photos_tag_remove(*, photos: Iterable[Photo], name: str, user: AbstractBaseUser | None = None) -> int:
    """A member takes one tag (any case) off many photos; how many had it. Each removal is remembered: the file's
    keywords never put it back (tags_removed_remember)."""
    links = PhotoTag.objects.filter(same_name("tag__name", name.strip()), photo_id__in=[photo.pk for photo in photos])
    removed = list(links.values_list("photo_id", NameFolded("tag__name")))
    tags_removed_remember(removed)
    links.delete()
    changed = sorted({photo_id for photo_id, _ in removed})
    photos_changed.send(sender=Photo, photo_ids=changed)
    return len(changed)


# --- renditions ----------------------------------------------------------------------------------


@dataclass
class RenditionReport:
    made: int = 0
    failures: list[tuple[int, str]] = field(default_factory=list)
    busy: bool = False  # stopped early: every decode slot stayed taken


def photos_lacking_display():
    """Photos stored before display renditions existed (or whose rendition could not be made yet)."""
    return photos_worked_on().filter(display="").order_by("pk")


def photo_display_make(*, photo: Photo) -> Photo:
    """Give `photo` its display rendition, decoded from the original through the storage API with bounded
    memory in a decode slot. Raises ImageRejected (ImageBusy when no slot came free).

    Not atomic as a whole on purpose: the decode (seconds for a big original) holds no transaction; only
    the row update is one, and it only fills a rendition that is still missing."""
    with photo.original.open("rb") as stream:
        display = encode_display(turned(decode_upright(stream, max_side=settings.DISPLAY_SIZE), photo.rotation))
    photo_files_write(photo, {"display": (f"{photo.sha256}.jpg", display)})
    try:
        with transaction.atomic():
            # Only if it still lacks one (a concurrent run may have been first) and still exists.
            updated = Photo.objects.filter(pk=photo.pk, display="").update(display=photo.display.name)
    except Exception:
        files_remove(names=[photo.display.name])
        raise
    if not updated:
        fresh = Photo.objects.filter(pk=photo.pk).values_list("display", flat=True).first()
        if fresh != photo.display.name:
            files_remove(names=[photo.display.name])  # nobody points at our copy
            photo.display.name = fresh or ""
    return photo


def photos_display_fill(*, photos: Iterable[Photo]) -> RenditionReport:
    """Make the display rendition of each photo that lacks one; one photo's bad original doesn't stop the
    others, a busy server stops the run (the rest wait for the next one)."""
    report = RenditionReport()
    for photo in photos:
        if photo.display:
            continue
        try:
            photo_display_make(photo=photo)
        except ImageBusy:
            report.busy = True
            break
        except (ImageRejected, OSError) as exc:
            logger.warning("photo %s: no display rendition: %s", photo.pk, exc)
            report.failures.append((photo.pk, str(exc)))
            continue
        report.made += 1
    return report


def photos_display_sweep(*, limit: int | None = None) -> RenditionReport:
    """The periodic sweep's share: renditions for up to RENDITION_SWEEP_LIMIT photos lacking one. Photos
    whose embedding failed are left out (their original is likely unreadable too, and would come first
    every time); make_renditions still tries them."""
    limit = settings.RENDITION_SWEEP_LIMIT if limit is None else limit
    batch = photos_lacking_display().exclude(status=Photo.Status.FAILED)[:limit]
    return photos_display_fill(photos=list(batch))


# --- places -------------------------------------------------------------------------------------


def _place_set(photo: Photo) -> None:
    """Fill the photo's place from its GPS position (in memory; the caller saves)."""
    if photo.place_source == Photo.PlaceSource.MEMBER:
        photo.place_checked = True
        return  # a member's place: no lookup replaces it
    place = place_for(latitude=photo.latitude, longitude=photo.longitude)
    photo.place_checked = photo.latitude is not None
    if place is None and photo.place_source == Photo.PlaceSource.EMBEDDED:
        return  # at sea by GPS: the place the file names stays
    photo.place_city = place.city if place else ""
    photo.place_region = place.region if place else ""
    photo.place_country = place.country if place else ""
    photo.place_country_code = place.country_code if place else ""
    photo.place_source = Photo.PlaceSource.GPS if place else Photo.PlaceSource.NONE


def _place_zone(photo: Photo) -> str:
    """The zone a photo's place gives it when it has no position (a position's own zone comes first: when_taken): a
    member's known place, the zone that gave it (correction_services: the zone it was set to stays); a place its file
    names (IPTC City/Country), its country's when the country keeps one clock; else ""."""
    if photo.latitude is not None:
        return ""
    if photo.place_source == Photo.PlaceSource.MEMBER:
        return photo.taken_tz
    if photo.place_source == Photo.PlaceSource.EMBEDDED:
        return country_zone(photo.place_country_code)
    return ""


def photos_lacking_place(*, again: bool = False):
    """Photos with a GPS position not yet looked up (stored before places existed); `again`: and those looked up that
    named no place (stored before a position far from any town was named by its country)."""
    unplaced = Q(place_checked=False) | Q(place_source=Photo.PlaceSource.NONE) if again else Q(place_checked=False)
    return photos_worked_on().filter(unplaced, latitude__isnull=False, longitude__isnull=False).order_by("pk")


PLACE_FIELDS = ("place_city", "place_region", "place_country", "place_country_code", "place_checked", "place_source")


@transaction.atomic
def photos_place_fill(*, photos: Iterable[Photo]) -> int:
    """Reverse-geocode these photos' positions and announce the change (their search documents name the
    place). Returns how many were looked up."""
    photos = [photo for photo in photos if photo.latitude is not None and photo.longitude is not None]
    for photo in photos:
        _place_set(photo)
    Photo.objects.bulk_update(photos, PLACE_FIELDS)
    photos_changed.send(sender=Photo, photo_ids=[photo.pk for photo in photos])
    return len(photos)


def photos_place_sweep(*, limit: int | None = None) -> int:
    """The periodic sweep's share: places for up to PLACE_SWEEP_LIMIT photos lacking one."""
    limit = settings.PLACE_SWEEP_LIMIT if limit is None else limit
    return photos_place_fill(photos=list(photos_lacking_place().only("pk", "latitude", "longitude", "place_source")[:limit]))


def photos_metadata_edited(*, photo_ids: Iterable[int]) -> None:
    """Announce metadata edits made outside these services (the admin's forms)."""
    photos_changed.send(sender=Photo, photo_ids=list(photo_ids))


# --- embedded metadata ----------------------------------------------------------------------------


def _embedded_set(photo: Photo, embedded: Embedded) -> None:
    """Fill, in memory, what the file's embedded metadata says and nobody else wrote: the title (a title made
    from the file name counts as unwritten; one that is only the file's name is none, and one stored before gives way:
    _file_name_title_reset), the description, and the place when the GPS position names none
    (IPTC City / Province-State / Country; the country's code when we know the name). The caller saves; the
    keywords become tags through photo_tags_add(source=embedded)."""
    photo.embedded_checked = photo.embedded_checked or settings.EMBEDDED_METADATA
    title = without_file_name_title(embedded, filename=photo.original_filename).title
    if title and photo.title_source != Photo.FieldSource.MEMBER:
        photo.title, photo.title_source = title, Photo.FieldSource.EMBEDDED
    _file_name_title_reset(photo)
    if embedded.description and photo.description_source != Photo.FieldSource.MEMBER:
        photo.description, photo.description_source = embedded.description, Photo.FieldSource.EMBEDDED
    elif photo.description_source == Photo.FieldSource.EMBEDDED and photo.description in embedded.no_descriptions:
        # (what the camera wrote by itself, "SAMSUNG CAMERA PICTURES", taken for the file's description before)
        photo.description, photo.description_source = "", Photo.FieldSource.NONE
    if photo.place_source not in (Photo.PlaceSource.GPS, Photo.PlaceSource.MEMBER) and (embedded.city or embedded.country):
        code = country_code_for(embedded.country)
        photo.place_city = embedded.city
        photo.place_region = embedded.region
        photo.place_country = country_name(code) or embedded.country
        photo.place_country_code = code
        photo.place_source = Photo.PlaceSource.EMBEDDED


def _file_name_title_reset(photo: Photo) -> None:
    """Give back, in memory, the title made from its name to a photo whose title was read from its file (or its
    sidecar) and is only the file's name (names_the_file_only): stored before that was no title, it is checked
    here rather than by what the file says now (a photo whose sidecar was read hears nothing of the title from its file
    alone: _file_under_its_sidecar). A member's title stays, whatever it says."""
    if photo.title_source == Photo.FieldSource.EMBEDDED and names_the_file_only(photo.title,
                                                                                filename=photo.original_filename):
        photo.title = _title_from_filename(os.path.splitext(photo.original_filename)[0])
        photo.title_source = Photo.FieldSource.NONE


EMBEDDED_FIELDS = ("title", "title_source", "description", "description_source", "place_city", "place_region",
                   "place_country", "place_country_code", "place_source", "place_checked", "latitude", "longitude",
                   "embedded_checked", "taken_at", "taken_at_source", "taken_tz")


def photos_lacking_embedded():
    """Photos whose file's embedded metadata has not been read (stored before it was)."""
    return photos_worked_on().filter(embedded_checked=False).order_by("pk")


def photo_embedded_read(*, photo: Photo, tag_keys: TagKeys | None = None) -> Photo:
    """Read a stored photo's embedded metadata from its original and apply it as an upload would: keywords as
    embedded tags, title and description where nobody wrote one, the IPTC place where GPS names none, and the
    zone it was taken in (the EXIF date re-read in it). Idempotent: a member's edits are never overwritten,
    tags keep their most deliberate source, and a tag from the file that the file (read whole) no longer gives is
    taken off, unless its XMP sidecar was read (_file_under_its_sidecar). The file is read outside any transaction; the
    row is updated in one. `tag_keys`: the TagKeys of a run over many photos, so that their names are read once for
    the run."""
    try:
        with photo.original.open("rb") as stream:
            data = read_limited(stream)
    except (OSError, ImageRejected) as exc:
        logger.warning("photo %s: embedded metadata not read: %s", photo.pk, exc)
        data = b""
    read = _file_metadata(data, label=f"photo {photo.pk} ({photo.original_filename})")
    with transaction.atomic():
        fresh, _ = _photo_embedded_apply(photo_id=photo.pk, read=read, save_always=True, file_alone=True,
                                         tag_keys=tag_keys)
        if fresh is None:
            return photo  # deleted meanwhile
        photos_changed.send(sender=Photo, photo_ids=[fresh.pk])
    return fresh


@dataclass(frozen=True)
class EmbeddedChanges:
    """What reading a photo's file (with its XMP sidecar) again changed: its title, description, place and date, each
    as (what, how): ("title", "replaced"), ("place", "given"), ("description", "removed"); the keywords added as tags
    and the tags from the file taken off (no longer given); and whether anything else of it changed (its zone)."""

    fields: tuple[tuple[str, str], ...] = ()
    keywords_added: int = 0
    keywords_removed: int = 0
    other: bool = False

    def __bool__(self) -> bool:
        return bool(self.fields or self.keywords_added or self.keywords_removed or self.other)


def photo_xmp_sidecar_read(*, photo_id: int, data: bytes, sidecar: Embedded,
                           also_given: tuple[str, ...] | None = (), keywords_only: bool = False,
                           description_before: str = "", tag_keys: TagKeys | None = None) -> EmbeddedChanges:
    """An XMP sidecar found beside the file `data` of a photo the family already has (an import's: the sidecar
    appeared, or changed, since the photo was stored): what it says, as importing the two together would give it
    (photo_create_from_bytes): its keywords as tags from the file (not one a member took off), its title,
    description and place before the file's own and over what was read before (a title edited in digiKam since), never
    over a member's. A tag from the file that neither the file nor the sidecar gives any more leaves the photo (taken
    off in digiKam), unless another sidecar of the photo gives it (`also_given`: the keywords the photo's other copies'
    sidecars gave; None when one of them is not known: nothing is taken off) or either could not be read whole. What
    that changed (announced then); a sidecar that changes nothing writes nothing. `keywords_only`: a sidecar that
    speaks of keywords alone (a Picasa file's people and keywords: gallery.picasa_ini), whose reading leaves the
    photo's title, description, place and date to whoever gave them (an XMP sidecar's title is not the file's again).
    `description_before`: the description the sidecar gave when last read with the photo (PhotoXmpSidecar.description;
    "": none, or not known): taken off in it, and the file saying none, it leaves the photo when nobody changed it
    since (_sidecar_description_set, as a Picasa caption taken off). `tag_keys`: the import run's TagKeys, so that
    its photos' names are read once for the run, not once a photo."""
    if not sidecar and not sidecar.keywords_complete:  # (nothing read: no sidecar can be told to say nothing)
        return EmbeddedChanges()
    embedded, dates = _file_metadata(data, label=f"photo {photo_id}")
    if keywords_only:  # (no title is taken: the photo's name is not read)
        merged = embedded_merged(file=embedded, sidecar=sidecar)
        merged = Embedded(keywords=merged.keywords, keywords_complete=merged.keywords_complete)
    else:  # a title that is only the photo's name is no title, in either (one read of the name a changed sidecar)
        filename = Photo.objects.filter(pk=photo_id).values_list("original_filename", flat=True).first()
        if filename is None:  # (deleted meanwhile)
            return EmbeddedChanges()
        merged = embedded_merged(file=without_file_name_title(embedded, filename=filename),
                                 sidecar=without_file_name_title(sidecar, filename=filename))
    if also_given is None:
        merged = replace(merged, keywords_complete=False)
    with transaction.atomic():
        fresh, changes = _photo_embedded_apply(photo_id=photo_id, read=(merged, dates), keep=also_given or (),
                                               description_before="" if keywords_only else description_before,
                                               tag_keys=tag_keys)
        if fresh is None or not changes:
            return EmbeddedChanges()
        photos_changed.send(sender=Photo, photo_ids=[fresh.pk])
    return changes


def _file_metadata(data: bytes, *, label: str) -> tuple[Embedded, tuple]:
    """What a stored photo's file says, read outside any transaction: its embedded metadata and its EXIF dates."""
    embedded = read_embedded(data, label=label) if data else Embedded()
    return embedded, exif_dates(data) if data else (None, "", None, False)


def _photo_embedded_apply(*, photo_id: int, read: tuple[Embedded, tuple], save_always: bool = False,
                          file_alone: bool = False, keep: tuple[str, ...] = (), description_before: str = "",
                          tag_keys: TagKeys | None = None) -> tuple[Photo | None, EmbeddedChanges]:
    """Apply what a photo's file says (`read`: _file_metadata's, with its XMP sidecar's merged in, or `file_alone`:
    the stored file read again without it) in the caller's transaction: the photo (None when deleted meanwhile) and
    what that changed (its row saved only when something did, or `save_always`). `keep`: keywords given elsewhere
    (another sidecar of the photo), whose tags from the file stay; `description_before`: the description its sidecar
    gave when last read (photo_xmp_sidecar_read); `tag_keys`: the run's TagKeys (photo_xmp_sidecar_read)."""
    embedded, (taken_local, offset, taken_utc, is_a_change) = read
    fresh = Photo.objects.select_for_update().filter(pk=photo_id).first()
    if fresh is None:
        return None, EmbeddedChanges()
    if file_alone and fresh.xmp_sidecar_sha256:
        embedded = _file_under_its_sidecar(fresh, embedded)
    before = [getattr(fresh, name) for name in EMBEDDED_FIELDS]
    shown = _embedded_shown(fresh)
    if fresh.latitude is None and embedded.latitude is not None and fresh.place_source != Photo.PlaceSource.MEMBER:
        # (an XMP position: geotagged in darktable or digiKam, written into the sidecar alone; its zone follows below)
        fresh.latitude, fresh.longitude = embedded.latitude, embedded.longitude
        _place_set(fresh)
    _embedded_set(fresh, embedded)
    if not embedded.description:  # (taken off the sidecar, the file saying none: the one it wrote goes with it)
        _sidecar_description_set(fresh, "", before=description_before)
    if fresh.taken_at_source != Photo.DateSource.MEMBER:  # a member's date keeps the zone it was given in
        dated = _file_date(local=taken_local, offset=offset, utc=taken_utc, is_a_change=is_a_change,
                           filename=fresh.original_filename, latitude=fresh.latitude, longitude=fresh.longitude,
                           place_zone=_place_zone(fresh))
        # The XMP metadata's date taken (the file's, or its sidecar's with it) replaces a guess, as at upload, and
        # EXIF DateTime alone; the file's name's comes first.
        xmp = embedded.taken_local is not None and dated.source != Photo.DateSource.FILENAME and (
            fresh.taken_at_source in _DATES_XMP_REPLACES
            or (fresh.taken_at_source == Photo.DateSource.EXIF and is_a_change))
        if fresh.taken_at_source in Photo.FOLDER_DATES:  # a wall-clock day its file can't tell again: kept, in the zone
            fresh.taken_at = aware(local(fresh.taken_at, fresh.taken_tz).replace(tzinfo=None), dated.zone)
        if xmp:
            (fresh.taken_at, fresh.taken_tz), fresh.taken_at_source = _xmp_date(
                embedded, latitude=fresh.latitude, longitude=fresh.longitude,
                place_zone=_place_zone(fresh)), Photo.DateSource.XMP
        elif fresh.taken_at_source != Photo.DateSource.XMP:  # (one its sidecar told, which a read of the file alone
            fresh.taken_tz = dated.zone                     # lacks: kept as it is, in its zone)
            if dated.source == fresh.taken_at_source:  # the same date, read again (in its zone now)
                fresh.taken_at = dated.taken_at
            elif dated.source == Photo.DateSource.FILENAME and fresh.taken_at_source in _DATES_A_NAME_REPLACES \
                    and not _name_gives_way(dated.named, fresh.taken_at if fresh.taken_at_source
                                            == Photo.DateSource.SIDECAR else None, dated.zone):
                fresh.taken_at, fresh.taken_at_source = dated.taken_at, Photo.DateSource.FILENAME
    changed = [getattr(fresh, name) for name in EMBEDDED_FIELDS] != before
    if changed or save_always:
        fresh.save(update_fields=EMBEDDED_FIELDS)
    fields = _embedded_shown_changes(shown, _embedded_shown(fresh))
    added, removed = _embedded_tags_apply(fresh, embedded, keep=keep, tag_keys=tag_keys)
    return fresh, EmbeddedChanges(fields=fields, keywords_added=added, keywords_removed=removed,
                                  other=changed and not fields)


def _embedded_tags_apply(photo: Photo, embedded: Embedded, *, keep: tuple[str, ...] = (),
                         tag_keys: TagKeys | None = None) -> tuple[int, int]:
    """The file's keywords (and its sidecar's) as tags from the file, and the tags from the file that they no longer
    give taken off, when they are known whole (not from a read of the stored file alone on a photo whose XMP sidecar
    was read: _file_under_its_sidecar). A tag a member typed or kept by re-typing it, an accepted
    suggestion, a person named in Google Photos, is no tag from the file and stays; so does one a member took off
    (RemovedTag: the file never puts it back), and the file taking one off is no member's doing (it comes back when
    the file gives it again), nor one `keep` names (given elsewhere: another sidecar of the photo). How many tags were
    added and taken off. `tag_keys`: the run's TagKeys (photo_xmp_sidecar_read)."""
    links = PhotoTag.objects.filter(photo=photo)
    before = set(links.values_list("tag_id", flat=True))
    _marked_embedded_tags_drop(photo)
    keyed = _names_keyed(embedded.keywords, tag_keys=tag_keys)  # (once, for what stays and what is added)
    if embedded.keywords_complete:
        # (compared by their keys, as tags_get_or_create finds a keyword's tag: same_name)
        given = {*keyed, *(_names_keyed(keep, tag_keys=tag_keys) if keep else ())}
        gone = (links.filter(source=PhotoTag.Source.EMBEDDED).annotate(key=NameFolded("tag__name"))
                .exclude(key__in=given))
        # (by their ids, and still from the file: one a member made theirs meanwhile stays)
        links.filter(pk__in=list(gone.values_list("pk", flat=True)), source=PhotoTag.Source.EMBEDDED).delete()
    _photo_tags_add(photo=photo, keyed=keyed, source=PhotoTag.Source.EMBEDDED)
    after = set(links.values_list("tag_id", flat=True))
    return len(after - before), len(before - after)


# What the summary of an import tells of what a photo's sidecar changed (_embedded_shown).
_EMBEDDED_SHOWN = ("title", "description", "place", "date")


def _embedded_shown(photo: Photo) -> dict[str, tuple]:
    """A photo's title, description, place and date as someone reading it sees them: empty when nothing says one (a
    title made from the file name is nobody's); the date as its wall-clock time (a zone found for it is no new date)."""
    return {
        "title": (photo.title if photo.title_source != Photo.FieldSource.NONE else "",),
        "description": (photo.description,),
        "place": (photo.place_city, photo.place_region, photo.place_country, photo.latitude, photo.longitude),
        "date": (photo.taken_at_source, photo.taken_at_local.replace(tzinfo=None) if photo.taken_at else None),
    }


def _embedded_shown_changes(before: dict[str, tuple], after: dict[str, tuple]) -> tuple[tuple[str, str], ...]:
    """Each of `_EMBEDDED_SHOWN` that changed, and how: "given" (there was none), "removed", or "replaced"."""
    def said(values: tuple) -> bool:
        return any(value not in ("", None) for value in values)

    return tuple((what, "given" if not said(before[what]) else "removed" if not said(after[what]) else "replaced")
                 for what in _EMBEDDED_SHOWN if before[what] != after[what])


def _file_under_its_sidecar(photo: Photo, embedded: Embedded) -> Embedded:
    """What a photo's file says, read again without the XMP sidecar read with it at its import: its sidecar's title,
    description, place and XMP date came before the file's (embedded_merged), and which of the two wrote what the photo
    holds is not known, so the file fills only what nothing wrote; its keywords are added as ever, but are not all the
    photo's (the file can't tell the sidecar's), so no tag from the file is taken off for lacking among them."""
    placed = photo.place_source == Photo.PlaceSource.EMBEDDED
    dated = photo.taken_at_source == Photo.DateSource.XMP
    return replace(
        embedded,
        title=embedded.title if photo.title_source == Photo.FieldSource.NONE else "",
        description=embedded.description if photo.description_source == Photo.FieldSource.NONE else "",
        city="" if placed else embedded.city, region="" if placed else embedded.region,
        country="" if placed else embedded.country,
        taken_local=None if dated else embedded.taken_local, taken_offset="" if dated else embedded.taken_offset,
        keywords_complete=False,
    )


def _marked_embedded_tags_drop(photo: Photo) -> None:
    """Readers before text_from_file kept a file's invisible marks in its keywords ("\ufeffEaster") and its decomposed
    accents ("e" + U+0301): reading the file again gives the clean name, which replaces such a tag rather than
    standing beside it. Only tags from the file."""
    links = PhotoTag.objects.filter(photo=photo, source=PhotoTag.Source.EMBEDDED).values_list("pk", "tag__name")
    marked = [pk for pk, name in links if text_from_file(name) != name]
    if marked:
        PhotoTag.objects.filter(pk__in=marked).delete()


def photos_embedded_fill(*, photos: Iterable[Photo]) -> int:
    """Read the embedded metadata of these stored photos (one child process each). Returns how many."""
    done = 0
    tag_keys = TagKeys()  # (the keys of their tag names: each read once)
    for photo in photos:
        photo_embedded_read(photo=photo, tag_keys=tag_keys)
        done += 1
    return done


def photos_embedded_sweep(*, limit: int | None = None) -> int:
    """The periodic sweep's share: embedded metadata for up to EMBEDDED_SWEEP_LIMIT photos stored before it was read."""
    if not settings.EMBEDDED_METADATA:
        return 0
    limit = settings.EMBEDDED_SWEEP_LIMIT if limit is None else limit
    return photos_embedded_fill(photos=list(photos_lacking_embedded().only("pk", "original", "original_filename")[:limit]))
