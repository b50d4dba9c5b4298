"""Near-duplicates for review: a family's pairs (found by search.duplicate_finder) joined into groups for a member to
keep one and trash the rest, and "Not duplicates: keep all".

A page view reads the family's pairs and joins them into groups (a group is a connected set: every photo linked by a
chain of pairs), nothing quadratic, nothing over the whole family; of each group it draws the first few photos and
moves the rest with them. What is ticked for the trash is measured against the suggested keeper itself (a pair with
it, or a hash near its hash), not only the pairs stored.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, F, FloatField, Func, OuterRef, Q

from gallery.models import Family, Photo
from gallery.sidecars import edited_original
from search.duplicate_finder import colour_distance, hash_near
from search.models import DuplicateDismissal, DuplicatePair


def _connected(pairs: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Each photo the pairs name → the label of its connected set (photos joined by a chain of pairs): one photo of
    the set, the same for all of them (union-find with path halving: linear in the pairs, whatever their order)."""
    parent: dict[int, int] = {}

    def root(pk: int) -> int:
        while parent.setdefault(pk, pk) != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    for a, b in pairs:
        parent[root(a)] = root(b)
    return {pk: root(pk) for pk in parent}




# Reading: a family's groups, for the review page and the API.


@dataclass
class DuplicateMember:
    photo: Photo
    keep: bool  # the suggestion: the largest (pixels, then bytes), then the earliest taken
    reason: str  # why it is in the group: its closest match in it, by the signal that found it
    # Suggested for the trash: a near-duplicate of the keeper itself (paired with it, or its hash near the keeper's).
    # A group is every photo linked by a chain of near-duplicate pairs (a burst drifts, A~B~C); one that only
    # resembles another member may be another picture altogether, so it is never ticked for the trash unasked.
    trash: bool = False


@dataclass
class DuplicateGroup:
    members: list[DuplicateMember]  # the keeper first; on the review page only the first few (`shown`)
    signals: list[str] = field(default_factory=list)  # "hash", "embedding"
    key: str = ""  # group_key of its members, shown or not: what "Not duplicates: keep all" posts
    # The members past those shown (a group of 600 blank scans), as ids, and of them those suggested for the trash
    # as unsaved Photo rows carrying what photo_may_manage reads (id, family, uploader): the page offers to move them
    # with the ticked ones without drawing them.
    more: list[int] = field(default_factory=list)
    more_trash: list[Photo] = field(default_factory=list)

    @property
    def keep(self) -> Photo | None:
        return self.members[0].photo if self.members else None

    @property
    def rest(self) -> list[Photo]:
        return [member.photo for member in self.members[1:]]

    @property
    def size(self) -> int:
        return len(self.members) + len(self.more)


def _why(pair: DuplicatePair | _Pair) -> tuple[str, str]:
    """The signal that grouped the pair and a sentence saying why."""
    if hash_near(pair.hash_distance, pair.colour_distance):
        bits = "identical" if pair.hash_distance == 0 else \
            f"{pair.hash_distance} of 64 bits apart (at most {settings.DUPLICATE_HASH_DISTANCE})"
        if pair.colour_distance is None:  # stored before mean colours were kept: the hash alone said so
            colours = "colours not compared yet"
        elif pair.colour_distance == 0:
            colours = "mean colours identical"
        else:
            colours = (f"mean colours {pair.colour_distance} of 255 apart (at most "
                       f"{settings.DUPLICATE_COLOUR_DISTANCE})")
        return "hash", f"Same picture: perceptual hashes {bits}, {colours}."
    return "embedding", (f"Looks alike: image embeddings' cosine {pair.cosine:.3f} "
                         f"(at least {settings.DUPLICATE_COSINE:g}).")


class _Pair(NamedTuple):
    """A DuplicatePair's row as the groups need it (what _why and _closeness read)."""

    photo_a_id: int
    photo_b_id: int
    hash_distance: int | None
    colour_distance: int | None
    cosine: float | None


class _Row(NamedTuple):
    """What the groups read of a paired photo besides its order: whether it is the keeper's copy, whether its
    original, and who may trash it, for members not shown too."""

    name: str
    phash: str
    mean_colour: str
    uploaded_by_id: int | None


class DuplicateGroups(Sequence):
    """A family's groups, in order, as photo ids: their DuplicateGroups (Photo rows, reasons) are built for the groups
    asked for only, and of each group its first `shown` members only (all when None), so a page of groups reads a
    page of photos whatever the groups' sizes (Paginator and DRF's pagination slice it)."""

    def __init__(self, family: Family, groups: list[list[int]], best: dict[int, _Pair],
                 paired: set[tuple[int, int]], rows: dict[int, _Row], shown: int | None = None) -> None:
        self.family, self.groups, self.best, self.paired, self.rows = family, groups, best, paired, rows
        self.shown = shown

    def __len__(self) -> int:
        return len(self.groups)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._build(self.groups[index])
        built = self._build([self.groups[index]])
        return built[0] if built else DuplicateGroup(members=[])  # all its photos went to the trash

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, (list, DuplicateGroups)) else NotImplemented

    def _build(self, groups: list[list[int]]) -> list[DuplicateGroup]:
        """The groups' DuplicateGroups, of each its first `shown` photos still out of the trash (another member may
        have trashed some since the groups were read: the next ones are shown instead); a group none of whose photos
        are left is dropped."""
        shown = [group[:self.shown] if self.shown else group for group in groups]
        photos = self._photos([pk for group in shown for pk in group])
        if len(photos) < sum(map(len, shown)):  # (one more read only then)
            present = set(Photo.objects.filter(family=self.family, pk__in=[pk for group in groups for pk in group])
                          .values_list("pk", flat=True))
            groups = [group for group in ([pk for pk in group if pk in present] for group in groups) if group]
            shown = [group[:self.shown] if self.shown else group for group in groups]
            photos |= self._photos([pk for group in shown for pk in group if pk not in photos])
        apart = _dismissed_with(self.family, [group[0] for group in groups])
        built = []
        for group, visible in zip(groups, shown):
            # A photo trashed between the two reads above is left out of its group.
            whys = [(photos[pk], _why(self.best[pk])) for pk in visible if pk in photos]
            if not whys:
                continue
            keeper = whys[0][0]
            copy_of_keeper = _copy_test(keeper.pk, self.rows, self.paired, apart)
            members = []
            for index, (photo, (_, reason)) in enumerate(whys):
                # The keeper's own original, when the keeper is an edit of it: another version, not a copy.
                version = index > 0 and _is_original_of(photo, keeper)
                if version:
                    reason = (f"The original of the edited copy {keeper.original_filename}: kept unless you tick "
                              f"it. {reason}")
                members.append(DuplicateMember(photo, index == 0, reason,
                                               trash=index > 0 and not version and copy_of_keeper(photo.pk)))
            more = group[len(visible):]
            more_trash = [Photo(pk=pk, family_id=self.family.pk, uploaded_by_id=self.rows[pk].uploaded_by_id)
                          for pk in more if copy_of_keeper(pk) and
                          _stem(self.rows[pk].name) != _edit_of(keeper.original_filename)]
            built.append(DuplicateGroup(members=members, signals=sorted({why[0] for _, why in whys}),
                                        key=group_key([photo.pk for photo, _ in whys] + more),
                                        more=more, more_trash=more_trash))
        return built

    def _photos(self, ids: list[int]) -> dict[int, Photo]:
        return Photo.objects.filter(family=self.family).select_related("uploaded_by").in_bulk(ids) if ids else {}

    def with_photo(self, photo_id: int) -> list[int] | None:
        """The ids of the group this photo is in, if any."""
        return next((group for group in self.groups if photo_id in group), None)


def _copy_test(keeper_id: int, rows: dict[int, _Row], paired: set[tuple[int, int]],
               apart: set[tuple[int, int]]):
    """Whether a member is the keeper's own near-duplicate: paired with it, or its hash within
    DUPLICATE_HASH_DISTANCE of the keeper's and its mean colour near the keeper's (hash_near). Pairs are each photo's
    few nearest, so of 600 copies of one blank scan most are paired with a few others only; their hash (and colour)
    says they are the keeper's copies all the same. Never one a
    member said is not a duplicate of the keeper."""
    keeper_hash, keeper_colour = _hash_bits(rows[keeper_id].phash), rows[keeper_id].mean_colour

    def test(pk: int) -> bool:
        pair = (min(keeper_id, pk), max(keeper_id, pk))
        if pair in apart:
            return False
        if pair in paired:
            return True
        bits = _hash_bits(rows[pk].phash)
        return keeper_hash is not None and bits is not None and \
            hash_near((keeper_hash ^ bits).bit_count(), colour_distance(keeper_colour, rows[pk].mean_colour))

    return test


def _hash_bits(phash: str) -> int | None:
    try:
        return int(phash, 16) if len(phash) == 16 else None
    except ValueError:
        return None


def _dismissed_with(family: Family, photo_ids: list[int]) -> set[tuple[int, int]]:
    """The pairs (smaller id first) of these photos with the photos a member kept with them by one "Not duplicates:
    keep all" (every photo of that action, whether their own pair was stored then or not)."""
    actions = DuplicateDismissal.objects.filter(family=family).filter(
        Q(photo_a_id__in=photo_ids) | Q(photo_b_id__in=photo_ids)).values("action")
    kept: dict[uuid.UUID, set[int]] = {}
    for action, a, b in DuplicateDismissal.objects.filter(family=family, action__in=actions).values_list(
            "action", "photo_a_id", "photo_b_id"):
        kept.setdefault(action, set()).update((a, b))
    wanted = set(photo_ids)
    return {(min(pk, other), max(pk, other)) for photos in kept.values() for pk in photos & wanted
            for other in photos if other != pk}


def group_key(photo_ids: Iterable[int]) -> str:
    """A group's key, "<its smallest photo id>-<a fingerprint of its members' ids>": what "Not duplicates: keep all"
    posts, one field whatever the group's size (a burst's hundreds of ids passed Django's
    DATA_UPLOAD_MAX_NUMBER_FIELDS), and what tells a group changed since it was shown (duplicates_dismiss_group)."""
    ids = sorted({int(pk) for pk in photo_ids})
    return f"{ids[0]}-{hashlib.sha256(','.join(map(str, ids)).encode()).hexdigest()[:16]}"


_KEY = re.compile(r"([1-9][0-9]{0,18})-[0-9a-f]{16}")


def group_key_valid(key: str) -> bool:
    return bool(_KEY.fullmatch(key))


class GroupChanged(Exception):
    """The group a key names is not the family's group now: `photos` is how many its smallest photo's group holds
    now (0: that photo is in no group, kept or trashed since, or not of this family)."""

    def __init__(self, photos: int) -> None:
        super().__init__(photos)
        self.photos = photos

    @property
    def message(self) -> str:
        if self.photos:
            return (f"This group changed since the page was shown (it now holds {self.photos} photos): nothing was "
                    "changed.")
        return ("That group is no longer shown (kept or moved to the trash since the page was drawn): nothing was "
                "changed.")


def duplicate_groups(*, user: AbstractBaseUser, family: Family, shown: int | None = None) -> DuplicateGroups:
    """The family's near-duplicate groups among photos not in the trash, largest group first, each built with its
    first `shown` members (all when None). `family` must come from a selector that checked the user's membership
    (gallery.selectors.family_get). The grouping reads the pairs and the few columns that order a group (no Photo
    rows: thousands of groups took a second a page); the photos of the groups looked at are read when they are
    (DuplicateGroups)."""
    pairs = [_Pair(*row) for row in _grouped_pairs(family).order_by("pk").values_list(
        "photo_a_id", "photo_b_id", "hash_distance", "colour_distance", "cosine")]
    paired = DuplicatePair.objects.filter(family=family)
    # The keeper's order: an edited copy first (Google Photos exports an edit beside its original, "IMG_0042-edited
    # .jpg": the edit is the version the family chose, often re-encoded smaller), then larger, then earlier taken (as
    # seconds: parsing thousands of timestamps took longer than the statement), then the id. Out of the trash: the
    # live manager.
    photos = list(Photo.objects.filter(Q(pk__in=paired.values("photo_a_id")) | Q(pk__in=paired.values("photo_b_id")),
                                       family=family)
                  .annotate(taken=Func(F("taken_at"), template="EXTRACT(EPOCH FROM %(expressions)s)::float8",
                                       output_field=FloatField()))
                  .values_list("pk", "original_filename", "width", "height", "file_size", "taken", "phash",
                               "mean_colour", "uploaded_by_id"))
    keys = {pk: (_edit_of(name) is None, -(width * height), -size, taken, pk)
            for pk, name, width, height, size, taken, *_ in photos}
    rows = {pk: _Row(name, phash, colour, uploader) for pk, name, _, _, _, _, phash, colour, uploader in photos}
    pairs = [pair for pair in pairs if pair.photo_a_id in keys and pair.photo_b_id in keys]
    best: dict[int, _Pair] = {}  # each photo's closest match: the lowest hash distance, else highest cosine
    for pair in pairs:
        for pk in (pair.photo_a_id, pair.photo_b_id):
            if pk not in best or _closeness(pair) < _closeness(best[pk]):
                best[pk] = pair
    members: dict[int, list[int]] = {}
    for pk, label in _connected((pair.photo_a_id, pair.photo_b_id) for pair in pairs).items():
        members.setdefault(label, []).append(pk)
    groups = [sorted(group, key=keys.__getitem__) for group in members.values() if len(group) >= 2]
    groups.sort(key=lambda group: (-len(group), keys[group[0]][3], group[0]))  # stable, for pages
    return DuplicateGroups(family, groups, best,
                           {(min(p.photo_a_id, p.photo_b_id), max(p.photo_a_id, p.photo_b_id)) for p in pairs},
                           rows, shown)


def duplicates_dismiss_group(*, user: AbstractBaseUser, family: Family, key: str) -> tuple[int, int]:
    """"Not duplicates: keep all" on the family's group that `key` (group_key) names, as it was shown: raises
    GroupChanged, changing nothing, when the family has no such group now (its photos changed since, or the key is
    another family's). `family` must come from a selector that checked the user's membership. Returns how many photos
    the group holds and how many pairs were dismissed."""
    group = _group_ids(duplicate_groups(user=user, family=family), key)
    return len(group), _dismiss(user, family, group)


def duplicate_group_get(*, user: AbstractBaseUser, family: Family, key: str, shown: int | None = None
                        ) -> DuplicateGroup:
    """The family's group that `key` (group_key) names, as it was shown, built with its first `shown` members:
    raises GroupChanged when the family has no such group now. `family` must come from a selector that checked the
    user's membership."""
    groups = duplicate_groups(user=user, family=family, shown=shown)
    return groups[groups.groups.index(_group_ids(groups, key))]


def _group_ids(groups: DuplicateGroups, key: str) -> list[int]:
    match = _KEY.fullmatch(key)
    group = groups.with_photo(int(match.group(1))) if match else None
    if group is None or group_key(group) != key:
        raise GroupChanged(len(group or []))
    return group


def duplicates_dismiss(*, user: AbstractBaseUser, family: Family, photo_ids: Iterable[int]) -> int:
    """"Not duplicates": the pairs found among these photos of the family are no longer grouped (any member may say
    so, as any member curates; ids of other families' photos are ignored). `family` must come from a selector that
    checked the user's membership. Returns how many pairs were dismissed."""
    return _dismiss(user, family, sorted({int(pk) for pk in photo_ids})[:DISMISS_MAX_PHOTOS])


def _dismiss(user: AbstractBaseUser, family: Family, ids: list[int]) -> int:
    pairs = list(_grouped_pairs(family).filter(photo_a_id__in=ids, photo_b_id__in=ids)
                 .values_list("photo_a_id", "photo_b_id"))
    action = uuid.uuid4()  # every two of these photos stay apart (_kept_apart), whether their pair was stored or not
    made = DuplicateDismissal.objects.bulk_create(
        [DuplicateDismissal(family=family, photo_a_id=a, photo_b_id=b, dismissed_by=user, action=action)
         for a, b in pairs],
        ignore_conflicts=True)  # (a member saying it at the same moment: once)
    return len(made)


# Photos one "not duplicates" by ids (the API's `photos`) may name: a group, which a burst or a time-lapse chains into
# hundreds; a larger group is named by its key (duplicates_dismiss_group), as the page does.
DISMISS_MAX_PHOTOS = 500


def _grouped_pairs(family: Family):
    """The family's pairs that group photos: those no member said are not duplicates."""
    dismissed = DuplicateDismissal.objects.filter(photo_a_id=OuterRef("photo_a_id"), photo_b_id=OuterRef("photo_b_id"))
    return DuplicatePair.objects.filter(family=family).exclude(Exists(dismissed))


def _is_original_of(photo: Photo, edit: Photo) -> bool:
    """Whether `photo` is the original `edit` is an edited copy of, by their names: "IMG_0042.jpg" or "IMG_0042.HEIC"
    of "IMG_0042-edited.jpg" (in the account's language; an edit is saved as a JPEG whatever the original was)."""
    original = _edit_of(edit.original_filename)
    return original is not None and original == _stem(photo.original_filename)


def _edit_of(name: str) -> str | None:
    """The original's name without its extension (to compare: NFC, case folded) when `name` is a member's edited copy
    (sidecars.edited_original); None for any other name, and for Google's own "-effects" creations (a stylised copy
    nobody asked for is no version to prefer)."""
    original = edited_original(name)
    if original is None or _stem(name).endswith("-effects"):
        return None
    return _stem(original)


def _stem(name: str) -> str:
    return unicodedata.normalize("NFC", name.rpartition(".")[0] or name).casefold()


def _closeness(pair: DuplicatePair | _Pair) -> tuple:
    if hash_near(pair.hash_distance, pair.colour_distance):
        return (0, pair.hash_distance)
    return (1, -(pair.cosine or 0.0))
