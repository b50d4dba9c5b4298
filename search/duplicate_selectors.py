"""Reading a family's near-duplicate groups for review, as the requesting member sees them: the review page and the
API read the same groups, each with its first DUPLICATES_SHOWN members, what the member may move to the trash, and
counts of the members not shown (a group of 600 blank scans is shown as 12 and "588 more like these")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Page, Paginator

from gallery.models import Family, Photo
from gallery.selectors import family_members
from gallery.trash_services import admin_family_ids, photo_may_manage
from search.duplicates import DuplicateGroup, DuplicateGroups, duplicate_groups

# Members of a group the page and the API show: the rest ("and 588 more like these": 600 copies of a blank scan were
# 480 KB of HTML and seconds to draw, and as many photos in an API page) are counted, and moved with the ticked ones
# by the group's key (search.duplicate_services.duplicate_group_trash).
DUPLICATES_SHOWN = 12


@dataclass(frozen=True)
class ReviewedMember:
    """A member shown, and whether the requesting user may move it to the trash (its uploader or a family admin)."""

    photo: Photo
    keep: bool
    reason: str
    trash: bool  # suggested for the trash: a near-duplicate of the keeper itself
    may_trash: bool


@dataclass(frozen=True)
class RestOfGroup:
    """The members of a group not shown, counted: those suggested for the trash (the keeper's own near-duplicates)
    that the user may move, those only their uploader or a family admin may, and those that resemble only other
    members (never moved unasked)."""

    photos: int
    to_trash: int
    theirs: int
    unlike: int


@dataclass(frozen=True)
class ReviewedGroup:
    group: DuplicateGroup
    members: list[ReviewedMember]  # the keeper first, the first DUPLICATES_SHOWN
    rest: RestOfGroup

    @property
    def keep(self) -> Photo | None:
        return self.group.keep

    @property
    def key(self) -> str:
        return self.group.key

    @property
    def signals(self) -> list[str]:
        return self.group.signals

    @property
    def size(self) -> int:
        return self.group.size

    @property
    def can_trash(self) -> bool:
        """Whether a "Move ticked to trash" can move anything: a member past the keeper, or of the rest, is theirs."""
        return self.rest.to_trash > 0 or any(member.may_trash for member in self.members[1:])


class ReviewedGroups(Sequence):
    """A family's groups as the user reviews them, largest first: built only for the groups asked for (a page; the
    page's Paginator and the API's pagination slice it), whatever the family's number of groups."""

    def __init__(self, user: AbstractBaseUser, family: Family, groups: DuplicateGroups) -> None:
        self.user, self.family, self.groups = user, family, groups
        self._admin_of: set[int] | None = None

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._reviewed(group) for group in self.groups[index] if group.members]
        return self._reviewed(self.groups[index])

    def _may_trash(self, photo: Photo) -> bool:
        if self._admin_of is None:
            self._admin_of = admin_family_ids(self.user) & {self.family.pk}
        return photo_may_manage(photo=photo, user=self.user, admin_of=self._admin_of)

    def _reviewed(self, group: DuplicateGroup) -> ReviewedGroup:
        members = [ReviewedMember(member.photo, member.keep, member.reason, member.trash, self._may_trash(member.photo))
                   for member in group.members]
        to_trash = sum(map(self._may_trash, group.more_trash))
        rest = RestOfGroup(photos=len(group.more), to_trash=to_trash, theirs=len(group.more_trash) - to_trash,
                           unlike=len(group.more) - len(group.more_trash))
        return ReviewedGroup(group, members, rest)


def duplicate_groups_reviewed(*, user: AbstractBaseUser, family: Family) -> ReviewedGroups:
    """The family's near-duplicate groups (photos out of the trash) as `user` reviews them, each with its first
    DUPLICATES_SHOWN members. `family` must come from a selector that checked the user's membership
    (gallery.selectors.family_get)."""
    return ReviewedGroups(user, family, duplicate_groups(user=user, family=family, shown=DUPLICATES_SHOWN))


@dataclass(frozen=True)
class DuplicatesPage:
    """A page of the review page's groups: `page.object_list` holds its ReviewedGroups."""

    page: Page
    total: int  # the family's groups, all pages
    # Who, besides a family admin, may trash a photo: its uploader only while in the family (not after leaving, nor a
    # deleted account); the page names them.
    member_ids: set[int]


def duplicates_page(*, user: AbstractBaseUser, family: Family, page: str | None) -> DuplicatesPage:
    """The review page's page `page` (a number as given; out of range: the last) of the family's groups,
    DUPLICATE_GROUPS_PAGE_SIZE a page. `family` as for duplicate_groups_reviewed."""
    groups = duplicate_groups_reviewed(user=user, family=family)
    shown = Paginator(groups, settings.DUPLICATE_GROUPS_PAGE_SIZE).get_page(page)
    return DuplicatesPage(shown, len(groups), set(family_members(family=family).values_list("user_id", flat=True)))
