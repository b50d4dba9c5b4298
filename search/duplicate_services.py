"""Writes of the near-duplicates review, for the review page and the API alike: moving a group's photos to the trash,
those ticked and, by the group's key, the members not shown that match the keeper."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from gallery.models import Family
from gallery.trash_services import PhotoResult, admin_family_ids, photo_may_manage, photos_trash
from search.duplicate_selectors import DUPLICATES_SHOWN
from search.duplicates import duplicate_group_get

# Photos one move to the trash takes (the trash service checks each): the rest are said, still ticked, for another.
DUPLICATES_TRASH_MAX = 500


class DuplicatesTrashed(NamedTuple):
    results: list[PhotoResult]  # one per photo tried, as the trash service answers
    left: int  # ticked photos not tried: past DUPLICATES_TRASH_MAX, for another move


@transaction.atomic
def duplicate_group_trash(*, user: AbstractBaseUser, family: Family, photo_ids: Iterable[int | str], key: str = "",
                     more: bool = False) -> DuplicatesTrashed:
    """Move the ticked photos of a group to the trash and, with `more`, the members the group's review did not show
    that match its keeper and the user may move (the group `key` names, as it was shown: raises GroupChanged,
    nothing moved, when the family has no such group now), at most DUPLICATES_TRASH_MAX. The trash service checks
    each photo against the user's rights. `family` must come from a selector that checked the user's membership."""
    ticked = [str(pk) for pk in photo_ids]
    if more:
        group = duplicate_group_get(user=user, family=family, key=key, shown=DUPLICATES_SHOWN)
        admin_of = admin_family_ids(user) & {family.pk}
        ticked += [str(photo.pk) for photo in group.more_trash
                   if photo_may_manage(photo=photo, user=user, admin_of=admin_of)]
    ticked = list(dict.fromkeys(ticked))
    results = photos_trash(user=user, photo_ids=ticked[:DUPLICATES_TRASH_MAX])
    return DuplicatesTrashed(results, max(0, len(ticked) - DUPLICATES_TRASH_MAX))
