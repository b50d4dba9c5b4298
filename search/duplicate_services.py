"""Writes of the near-duplicates review, for the review page and the API alike: moving a group's photos to the trash,
those ticked and, by the group's key, the members not shown that match the keeper; and undoing a "keep all" (the
admin)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet

from gallery.models import Family, Photo
from gallery.trash_services import (
    NOT_FOUND, PhotoResult, admin_family_ids, photo_ids_read, photo_may_manage, photos_trash,
)
from search.duplicate_selectors import DUPLICATES_SHOWN
from search.duplicates import DuplicateGroup, duplicate_group_get
from search.models import DuplicateDismissal

# Photos one move to the trash takes (the trash service checks each): the rest are said, still ticked, for another.
DUPLICATES_TRASH_MAX = 500


class DuplicatesTrashed(NamedTuple):
    results: list[PhotoResult]  # one per photo named or moved with `more`: "No such photo." outside the family or group
    left: int  # photos not tried: past DUPLICATES_TRASH_MAX, for another move


@transaction.atomic
def duplicate_group_trash(*, user: AbstractBaseUser, family: Family, photo_ids: Iterable[int | str], key: str = "",
                          more: bool = False) -> DuplicatesTrashed:
    """Move the ticked photos of a group to the trash and, with `more`, the members the group's review did not show
    that match its keeper and the user may move, at most DUPLICATES_TRASH_MAX. With the group's `key` (as it was
    shown; required with `more`) the group is checked first: raises GroupChanged, nothing moved, when the family has
    no such group now. Only photos of `family` (with a key: of that group) are tried: another is "No such photo.",
    as the trash's own API says of a photo not yours (a member of two families ticked the other's photo through this
    one's group). The trash service checks each photo tried against the user's rights. `family` must come from a
    selector that checked the user's membership."""
    ticked = photo_ids_read(photo_ids)
    group = duplicate_group_get(user=user, family=family, key=key, shown=DUPLICATES_SHOWN) if key or more else None
    ours = _group_ids(group) if group else set(
        Photo.all_objects.filter(family=family, pk__in=ticked).values_list("pk", flat=True))
    refused = [PhotoResult(pk, False, NOT_FOUND) for pk in ticked if pk not in ours]
    tried = [pk for pk in ticked if pk in ours]
    if more:
        admin_of = admin_family_ids(user) & {family.pk}
        tried += [photo.pk for photo in group.more_trash if photo_may_manage(photo=photo, user=user, admin_of=admin_of)]
    tried = list(dict.fromkeys(tried))
    results = photos_trash(user=user, photo_ids=tried[:DUPLICATES_TRASH_MAX])
    return DuplicatesTrashed(refused + results, max(0, len(tried) - DUPLICATES_TRASH_MAX))


def _group_ids(group: DuplicateGroup) -> set[int]:
    """Every member of the group, shown or not."""
    return {member.photo.pk for member in group.members} | set(group.more)


@transaction.atomic
def duplicate_keep_alls_undo(*, dismissals: QuerySet[DuplicateDismissal]) -> int:
    """Undo the "Not duplicates: keep all"s these rows were stored by: every row of their actions (one row deleted
    left the rest of its group kept apart, every two photos of an action being kept apart), within the families of
    `dismissals` (a queryset already limited to what the caller may change). Their pairs still stored group again
    at once. Returns how many rows were deleted."""
    return DuplicateDismissal.objects.filter(family_id__in=dismissals.values("family_id"),
                                             action__in=dismissals.values("action")).delete()[0]
