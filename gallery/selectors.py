"""Reads from the gallery. Each selector takes the requesting user and returns only what they may see.

"Missing" and "not yours" look the same from outside: both raise Http404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.contrib.postgres.aggregates import StringAgg
from django.db import connection
from django.db.models import (
    Count, Exists, Expression, F, Func, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, TextField, Value, Window,
)
from django.db.models.functions import Coalesce, Lower, TruncMonth, TruncYear
from django.db.models.lookups import Exact
from django.http import Http404

from gallery.models import Family, Favourite, Membership, Photo, PhotoTag, Tag, TagSuggestion
from gallery.name_fold import NAME_FOLDED_SQL, NameFolded
from gallery.text import INVISIBLE_IN_FILES, LATIN_LOOKALIKES


def photos_of_families_being_deleted() -> Q:
    """For the worker's queries of photos (no user): those of a family being deleted (gallery.services.
    family_delete_start), whose photos go in batches, are nothing to index or read. A subquery, not a join: a
    SELECT … FOR UPDATE with it locks no family row."""
    return Q(family_id__in=Family.objects.filter(deleting_since__isnull=False).values("pk"))


def photos_worked_on(rows: QuerySet | None = None) -> QuerySet:
    """What the worker's tasks and sweeps go through (no user): `rows` (Photo.objects unless given; any rows with a
    `family_id`, e.g. embeddings) without those of a family being deleted. Its deletion takes them a batch at a time:
    read, filled or purged meanwhile, they cost work for nothing, a wait on what never comes (text reading gives way
    to photos waiting to be embedded) or a deadlock with its last step."""
    return (Photo.objects.all() if rows is None else rows).exclude(photos_of_families_being_deleted())


def family_list(*, user: AbstractBaseUser, with_counts: bool = False, with_members: bool = False) -> QuerySet[Family]:
    """The user's families, by name; `with_counts`: each with `photo_count` (not in the trash; the families page
    and API show it); `with_members`: each one's memberships (with their users, by username) fetched in one more
    query, as `membership_list`. (The timeline's picker counts what its filters show: timeline_families.)"""
    if not user.is_authenticated:
        return Family.objects.none()
    families = Family.objects.filter(memberships__user=user).order_by("name", "pk").annotate(
        # Family.label: two of one's families of the same name (one made, the other joined) are told apart by
        # their admins in every menu and picker.
        name_twins=Window(Count("pk"), partition_by=[name_key_sql("name")]),
        admin_names=Subquery(Membership.objects.filter(family_id=OuterRef("pk"), role=Membership.Role.ADMIN)
                             .order_by().values("family_id")
                             .annotate(names=StringAgg("user__username", ", ", order_by="user__username"))
                             .values("names")))
    if with_counts:
        # Each count by itself per family (the live photos' partial index, photo_live_family): counting DISTINCT
        # over a join of every family with every photo sorted 100,000 ids on each page that asked for a family.
        families = families.annotate(photo_count=rows_count(Photo.objects.filter(family_id=OuterRef("pk"))))
    if with_members:
        families = families.prefetch_related(Prefetch(
            "memberships", queryset=Membership.objects.select_related("user").order_by("user__username"),
            to_attr="membership_list"))
    return families


def name_key_sql(field: str) -> Func:
    """gallery.text.name_key in SQL, for a name column: invisible marks out, NFKC, folded (NameFolded), look-alike
    letters as the Latin ones."""
    visible = Func(F(field), Value("".join(sorted(INVISIBLE_IN_FILES))), Value(""), function="translate")
    folded = NameFolded(Func(visible, template="normalize(%(expressions)s, NFKC)"))
    return Func(folded, Value("".join(LATIN_LOOKALIKES)), Value("".join(LATIN_LOOKALIKES.values())),
                function="translate", output_field=TextField())


def same_name(field: str, name: str | Expression | F) -> Exact:
    """The name column `field` (a tag's, an album's, a concept's, a synonym's term) read as `name` (text, or an
    expression: OuterRef("name")) is: the folded name of each (gallery.name_fold: NFC, case-folded, so "Straße" is
    "STRASSE" and "οδος" is "ΟΔΟΣ"), as the unique index of a family's tags compares names. What the family's tags
    count as one tag (tags_get_or_create) is what a tag filter finds and a removal takes off, and the album a name
    finds (album_find_or_create); `__iexact` compares upper(), which reads some names otherwise ("STRAẞE" is not
    "straße" to it)."""
    return Exact(NameFolded(field), NameFolded(name if hasattr(name, "resolve_expression") else Value(name)))


_NAMES_FOLDED = (f"SELECT {NAME_FOLDED_SQL.format('name')} FROM unnest(%s::text[]) WITH ORDINALITY AS given(name, n) "
                 "ORDER BY n")


def names_folded(names: Iterable[str]) -> list[str]:
    """Each name as same_name reads it (NameFolded, by the database: the key of the unique index of tags, whatever
    Unicode version Python has; album names are found by it too), in order, for names to be told apart in Python as
    that index tells them apart. One query; none for no names. (TagKeys, AlbumNameKeys: the same for the many files of
    one run, each name read once.)"""
    names = list(names)
    if not names:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_NAMES_FOLDED, [names])
        return [read for (read,) in cursor.fetchall()]


class _RunKeys:
    """The keys of names read by the database for one run over many files or photos (an upload, an import, a re-read
    of their files): made by the run's caller and passed down, so that each name is read once for the run, not once a
    file (a name's key never changes). No cache across runs. A subclass names the function reading the keys."""

    _read: Callable[[list[str]], list[str]]

    def __init__(self) -> None:
        self._by_name: dict[str, str] = {}

    def of(self, names: Iterable[str]) -> list[str]:
        """Each name's key, in order: one query for the names not read yet in this run, none when all were."""
        names = list(names)
        missing = list(dict.fromkeys(name for name in names if name not in self._by_name))
        if missing:
            self._by_name.update(zip(missing, self._read(missing)))
        return [self._by_name[name] for name in names]


class TagKeys(_RunKeys):
    """Tag names' keys (names_folded's: the unique index's, same_name's), read once for a run."""

    _read = staticmethod(names_folded)


class AlbumNameKeys(_RunKeys):
    """Album names' keys (names_folded's, as tag names': album_find_or_create's), read once for a run."""

    _read = staticmethod(names_folded)


def tag_key(name: str | None) -> str:
    """The key of a list's tag filter as same_name reads it (names_folded's, its whitespace collapsed), for a page to
    compare the tags the selection bar took off (gallery.views.bulk) with its own; "" for none, without a query."""
    name = " ".join((name or "").split())
    return names_folded([name])[0] if name else ""


def family_labelled(*, user: AbstractBaseUser, family: Family) -> Family:
    """`family` as family_list reads it, so that its `label` names its admins too when the user is in two families of
    that name (a page's header or row naming one family); as given when the user is not in it."""
    return next((mine for mine in family_list(user=user) if mine.pk == family.pk), family)


def rows_count(photos: QuerySet) -> Coalesce:
    """The number of rows of a correlated queryset, as an annotation."""
    return Coalesce(Subquery(photos.order_by().values(one=Value(1)).annotate(n=Func(Value(1), function="COUNT"))
                             .values("n")), 0)


def family_get(*, user: AbstractBaseUser, family_id: int) -> Family:
    """One of the user's families (no counts: family_list(with_counts=True) has them)."""
    family = Family.objects.filter(pk=family_id, memberships__user=user).first() if user.is_authenticated else None
    if family is None:
        raise Http404("No such family.")
    return family


def family_filter(*, user: AbstractBaseUser, family_id: int | None) -> int | None:
    """A list's `family` filter, checked: None (no filter) or the id of one of the user's families; any other id is
    a 404 like a missing family, as every list of the API answers (a membership lookup, no photo count)."""
    if family_id is not None and not Membership.objects.filter(user_id=user.pk, family_id=family_id).exists():
        raise Http404("No such family.")
    return family_id


def family_is_admin(*, user: AbstractBaseUser, family: Family) -> bool:
    return Membership.objects.filter(user=user, family=family, role=Membership.Role.ADMIN).exists()


def family_members(*, family: Family) -> QuerySet[Membership]:
    return family.memberships.select_related("user").order_by("user__username")


def _tags_in_display_order() -> QuerySet[Tag]:
    # Case-insensitive: under the C collation of the embedded database "Zoo" would sort before "apple".
    return Tag.objects.order_by(Lower("name"), "name")


def open_suggestions() -> QuerySet[TagSuggestion]:
    """Open tag suggestions, most probable first, except those a member has meanwhile given the photo as a tag
    (the next scoring removes them; until then they would only repeat the tag)."""
    tagged = PhotoTag.objects.filter(same_name("tag__name", OuterRef("name")), photo_id=OuterRef("photo_id"))
    return (TagSuggestion.objects.filter(state=TagSuggestion.State.OPEN, photo__trashed_at__isnull=True)
            .filter(~Exists(tagged))
            .order_by("-probability", "name"))


def _open_suggestions() -> Prefetch:
    """A photo's open tag suggestions as `photo.open_suggestions`."""
    return Prefetch("tag_suggestions", to_attr="open_suggestions", queryset=open_suggestions())


def last_day_bound(before: date | None) -> date | None:
    """A "taken until `before` inclusive" bound as the filters read it: the last day a date can name (date.max, as
    ?taken_before=9999-12-31) is no bound: nothing is taken after it, and the bound's next day, which no date can
    name, would overflow. (search.scope.Scope reads its own the same way.)"""
    return None if before == date.max else before


def whole_periods_only(qs: QuerySet[Photo], *, after: date | None, before: date | None) -> QuerySet[Photo]:
    """Of photos dated only by the month or the year a folder's name tells (Photo.DAYLESS_DATES: its first day stands
    for it), those whose whole month or year is within `after`..`before` (inclusive, None: open): a scan of "2003" is
    no photo of January 2003. As search.scope's date filter reads them."""
    year, month = Q(taken_at_source=Photo.DateSource.FOLDER_YEAR), Q(taken_at_source=Photo.DateSource.FOLDER_MONTH)
    if after is not None:
        year &= Q(period_year__gte=after)
        month &= Q(period_month__gte=after)
    before = last_day_bound(before)
    if before is not None:  # (a year, a month, that ends by `before` starts before the one its next day is in)
        next_day = before + timedelta(days=1)
        year &= Q(period_year__lt=date(next_day.year, 1, 1))
        month &= Q(period_month__lt=next_day.replace(day=1))
    return qs.alias(period_year=TruncYear("taken_day"), period_month=TruncMonth("taken_day")).filter(
        ~Q(taken_at_source__in=Photo.DAYLESS_DATES) | year | month)


def photo_list(
    *,
    user: AbstractBaseUser,
    family_id: int | None = None,
    uploaded_by_id: int | None = None,
    tag: str | None = None,
    favourite: bool = False,
    with_suggestions: bool = False,
    status: str | None = None,
    taken_after: date | None = None,
    taken_before: date | None = None,
    city: str | None = None,
    country: str | None = None,
) -> QuerySet[Photo]:
    """Photos of every family the user belongs to (not in the trash), newest first by date taken, each with
    `is_favourite` (the user's heart); `favourite`: the user's favourites only; `with_suggestions`: with their open
    tag suggestions (`photo.open_suggestions`, for the API); `status`: in that state of indexing only; `taken_after`
    / `taken_before`: taken from / until that day inclusive, the photo's own local day (Photo.taken_day); `city`:
    taken in the city of that name (any case: the Explore page's links), `country`: in the country of that ISO code."""
    if not user.is_authenticated:
        return Photo.objects.none()
    qs = Photo.objects.filter(family__memberships__user=user)
    if family_id is not None:
        qs = qs.filter(family_id=family_id)
    if status:
        qs = qs.filter(status=status)
    taken_before = last_day_bound(taken_before)
    if taken_after is not None:
        qs = qs.filter(taken_day__gte=taken_after)
    if taken_before is not None:
        qs = qs.filter(taken_day__lte=taken_before)
    if taken_after is not None or taken_before is not None:
        qs = whole_periods_only(qs, after=taken_after, before=taken_before)
    if uploaded_by_id is not None:
        qs = qs.filter(uploaded_by_id=uploaded_by_id)
    if tag:
        qs = qs.filter(same_name("tags__name", tag))
    if city:
        qs = qs.filter(same_name("place_city", city))  # (case-folded: "GIESSEN" is Gießen, as tags compare)
    if country:
        qs = qs.filter(place_country_code=country.upper())
    qs = qs.annotate(is_favourite=favourite_of(user))
    if favourite:
        qs = qs.filter(is_favourite=True)
    qs = qs.select_related("family", "uploaded_by").prefetch_related(
        Prefetch("tags", queryset=_tags_in_display_order()),
        Prefetch("phototag_set", queryset=PhotoTag.objects.only("photo_id", "tag_id", "source")))
    if with_suggestions:
        qs = qs.prefetch_related(_open_suggestions())
    return qs.order_by("-taken_at", "-id")


def favourite_of(user: AbstractBaseUser) -> Exists:
    """Whether the photo of the outer query is one of the user's favourites (an annotation)."""
    return Exists(Favourite.objects.filter(user_id=user.pk, photo_id=OuterRef("pk")))


def favourite_ids(*, user: AbstractBaseUser, photo_ids) -> set[int]:
    """Which of these photos are the user's favourites (one query; for tiles drawn from other lists, like search)."""
    ids = list(photo_ids)
    if not ids or not user.is_authenticated:
        return set()
    return set(Favourite.objects.filter(user=user, photo_id__in=ids).values_list("photo_id", flat=True))


def last_upload_family_id(*, user: AbstractBaseUser) -> int | None:
    """The family the user last uploaded a photo into, among the families they are still in."""
    if not user.is_authenticated:
        return None
    return (
        Photo.objects.filter(uploaded_by=user, family__memberships__user=user)
        .order_by("-uploaded_at", "-id")
        .values_list("family_id", flat=True)
        .first()
    )


def photo_get(*, user: AbstractBaseUser, photo_id: int, include_trashed: bool = False) -> Photo:
    """A photo of the user's families, with `is_favourite`, `suggestions_decided` (a member accepted or
    dismissed one of its tag suggestions) and its open suggestions. One in the trash is a 404 like a missing one, unless
    `include_trashed` (its files for the trash page)."""
    if not user.is_authenticated:
        raise Http404("No such photo.")
    photos = Photo.all_objects if include_trashed else Photo.objects
    photo = (
        photos.filter(pk=photo_id, family__memberships__user=user)
        .annotate(is_favourite=favourite_of(user),
                  # "No suggestions left" only once some were decided, not for a photo the model suggested nothing for.
                  suggestions_decided=Exists(TagSuggestion.objects.filter(photo_id=OuterRef("pk"))
                                             .exclude(state=TagSuggestion.State.OPEN)))
        .select_related("family", "uploaded_by")
        .prefetch_related(Prefetch("tags", queryset=_tags_in_display_order()),
                          Prefetch("phototag_set", queryset=PhotoTag.objects.only("photo_id", "tag_id", "source")),
                          _open_suggestions())
        .first()
    )
    if photo is None:
        raise Http404("No such photo.")
    return photo


def family_uploaders(*, user: AbstractBaseUser):
    """The accounts whose photos (out of the trash) are in the user's families, by username: members or not, since
    someone who left a family stays the uploader of the photos they added (the search page's "Uploaded by", and the
    API's through families_with_uploaders; both filter by these ids)."""
    from django.contrib.auth import get_user_model

    families = Family.objects.filter(memberships__user=user)
    # The accounts among the photos' uploaders (one pass over the photos, a semi-join): a DISTINCT over the join of
    # the accounts with every photo sorted whole user rows, one per photo.
    uploaders = Photo.objects.filter(family__in=families).order_by().values("uploaded_by_id")
    return get_user_model().objects.filter(pk__in=uploaders).order_by("username")


@dataclass(frozen=True)
class Uploader:
    """An account whose photos are in a family (family_uploaders): what the API's `uploaders` show of it."""

    id: int
    username: str


def families_with_uploaders(*, user: AbstractBaseUser) -> list[Family]:
    """family_list with counts and members, each family with `uploader_list`: its own family_uploaders (by username;
    members or not). Three queries whatever the number of families: the families, their memberships, and the
    (family, uploader, username) triples over one pass of their photos."""
    families = list(family_list(user=user, with_counts=True, with_members=True))
    uploaders: dict[int, list[Uploader]] = {family.pk: [] for family in families}
    if families:
        triples = (Photo.objects.filter(family_id__in=list(uploaders), uploaded_by__isnull=False)
                   .values_list("family_id", "uploaded_by_id", "uploaded_by__username").distinct()
                   .order_by("uploaded_by__username", "uploaded_by_id", "family_id"))
        for family_id, user_id, username in triples:
            uploaders[family_id].append(Uploader(id=user_id, username=username))
    for family in families:
        family.uploader_list = uploaders[family.pk]
    return families


def place_countries(*, user: AbstractBaseUser) -> list[tuple[str, str]]:
    """(code, name) of the countries where photos of the user's families were taken, by name."""
    families = Family.objects.filter(memberships__user=user)
    # order_by(): with the photos' own order, DISTINCT kept every photo (their dates and ids were selected too).
    rows = (Photo.objects.filter(family__in=families).exclude(place_country_code="")
            .values_list("place_country_code", "place_country").order_by().distinct())
    return sorted(set(rows), key=lambda row: row[1])


def family_status_counts(*, family: Family) -> dict[str, int]:
    return families_status_counts(family_ids=[family.pk])[family.pk]


def families_status_counts(*, family_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """How many of each family's photos (out of the trash) are in each state, in one query for them all (a list of
    families, the admin's indexing status)."""
    counts = {family_id: dict.fromkeys(Photo.Status.values, 0) for family_id in family_ids}
    rows = (Photo.objects.filter(family_id__in=list(counts)).order_by()
            .values("family_id", "status").annotate(n=Count("*")))  # "*": the live index alone answers
    for row in rows:
        counts[row["family_id"]][row["status"]] = row["n"]
    return counts


def family_trash_count(*, family: Family) -> int:
    """How many of the family's photos are in its trash."""
    return Photo.all_objects.filter(family=family, trashed_at__isnull=False).count()


def tag_list(*, user: AbstractBaseUser) -> QuerySet[Tag]:
    """The tags of the user's families that some photo out of the trash carries, by name. One probe of the tag's
    photos each (a DISTINCT over the join of every tag with every tagged photo took 150 ms at 100,000 photos)."""
    used = PhotoTag.objects.filter(tag_id=OuterRef("pk"), photo__trashed_at__isnull=True).order_by().values("photo_id")[:1]
    # A scalar subquery with LIMIT, so PostgreSQL probes each tag's index entries until one photo answers (an
    # EXISTS it turns into a hash join over every tagged photo).
    return (Tag.objects.filter(family__memberships__user=user).alias(some_photo=Subquery(used))
            .filter(some_photo__isnull=False).order_by("name"))


def suggestion_get(*, user: AbstractBaseUser, photo_id: int, suggestion_id: int) -> TagSuggestion:
    """One tag suggestion of a photo the user may see (any state); another photo's or family's is a 404, and so is
    one of a photo in the trash (nothing of it is decided there, as nothing else of it is edited)."""
    if not user.is_authenticated:
        raise Http404("No such suggestion.")
    suggestion = (TagSuggestion.objects.filter(pk=suggestion_id, photo_id=photo_id, photo__trashed_at__isnull=True,
                                               photo__family__memberships__user=user)
                  .select_related("photo__family").first())
    if suggestion is None:
        raise Http404("No such suggestion.")
    return suggestion


def family_suggestion_summary(*, family: Family, min_probability: float) -> list[dict]:
    """Per suggested tag of the family's open suggestions: how many photos, how many at or above
    `min_probability`, the highest probability; most frequent first."""
    rows = (open_suggestions().filter(photo__family=family).order_by()
            .values("name")
            .annotate(photos=Count("id"), above=Count("id", filter=Q(probability__gte=min_probability)),
                      best=Max("probability"))
            .order_by("-above", "-photos", "name"))
    return list(rows)


def family_suggestions_on_full_photos(*, family: Family, min_probability: float, max_tags: int) -> int:
    """How many of the family's open suggestions at or above `min_probability` are on photos that already carry
    `max_tags` tags: accepting in bulk leaves those open."""
    # "The photo has a max_tags-th tag", asked of each counted suggestion's photo through the (photo, tag) index:
    # counting every photo's tags to find the few at the limit read all of the family's tags (4.4x slower at
    # 100,000 photos: bench/page_times.py's before/after).
    at_limit = Exists(PhotoTag.objects.filter(photo_id=OuterRef("photo_id")).order_by()[max_tags - 1:max_tags])
    return open_suggestions().filter(photo__family=family, probability__gte=min_probability).filter(at_limit).count()


def trash_list(*, user: AbstractBaseUser, family_id: int | None = None) -> QuerySet[Photo]:
    """The photos in the trash of the user's families (members see their family's trash), most recently
    trashed first, each with `uploader_in_family`: whether its uploader may still restore it (they are still in its
    family; not when they left, were removed or their account is gone)."""
    if not user.is_authenticated:
        return Photo.all_objects.none()
    qs = Photo.all_objects.filter(family__memberships__user=user, trashed_at__isnull=False)
    if family_id is not None:
        qs = qs.filter(family_id=family_id)
    uploader_in_family = Exists(Membership.objects.filter(family_id=OuterRef("family_id"),
                                                          user_id=OuterRef("uploaded_by_id")))
    return (qs.select_related("family", "uploaded_by", "trashed_by").annotate(uploader_in_family=uploader_in_family)
            .order_by("-trashed_at", "-id"))


def trash_photo_get(*, user: AbstractBaseUser, photo_id: int) -> Photo:
    """A photo in the trash of the user's families; any other (live, foreign, missing) is a 404."""
    photo = trash_list(user=user).filter(pk=photo_id).first()
    if photo is None:
        raise Http404("No such photo in the trash.")
    return photo


def family_known_places(*, family_id: int, limit: int = 500):
    """The places where the family's photos were taken (as geocoded, or as the file or a member named them), by
    country then city: what a member picks from to correct a photo's place."""
    from gallery.places import Place

    rows = (Photo.objects.filter(family_id=family_id).exclude(place_country="", place_city="")
            .values_list("place_city", "place_region", "place_country", "place_country_code")
            .distinct().order_by("place_country", "place_region", "place_city", "place_country_code")[:limit])
    return [Place(city=city, region=region, country=country, country_code=code) for city, region, country, code in rows]


def photos_same_camera_day(*, user: AbstractBaseUser, photo: Photo) -> list[int]:
    """The ids of the photos of `photo`'s family taken with the same camera on the same local day: the set a wrong
    camera clock got wrong together, all of it (a wedding's day is often more than 500). On a trip across zones
    "that day" is the clicked photo's day where it was taken, matched against each photo's own day where it was
    taken (Photo.taken_day), as date filters read a day: not the clicked photo's midnight to midnight, which took a
    photo of the evening before elsewhere and missed one of that evening. `photo` came from a selector."""
    return list(Photo.objects.filter(
        family_id=photo.family_id, family__memberships__user=user, camera_make=photo.camera_make,
        camera_model=photo.camera_model, taken_day=photo.taken_day,
    ).order_by("pk").values_list("pk", flat=True))
