"""Reads of the search app. Like the gallery's, they take the requesting user where scope matters."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import (BooleanField, Case, CharField, Count, Exists, ExpressionWrapper, OuterRef, Q, QuerySet,
                              Subquery, Value, When)

from gallery.models import Family, Membership, Photo
from gallery.selectors import family_list, rows_count
from gallery.trash_services import admin_family_ids
from search.expansion import SYNONYMS_VERSION_SQL
from search.judgment_selectors import family_judgments
from search.models import EmbeddingModel, ModelSwitch, PhotoEmbedding, SearchCalibration, SearchPreferences
from search.read_estimates import ReadEstimate


def active_model_state() -> EmbeddingModel | None:
    return EmbeddingModel.objects.filter(name=settings.SEARCH_MODEL).first()


@dataclass(frozen=True)
class StoredModel:
    """What a load of a model recorded of it (EmbeddingModel), for a process that has not loaded it: its name, size
    and own calibration (a, b), enough to score stored vectors with cached text embeddings, never to encode."""

    model_name: str
    dim: int
    calibration: tuple[float, float]


def stored_model(*, model_name: str) -> StoredModel | None:
    """The model as some process's load recorded it; None when no load of it succeeded anywhere yet, or the latest
    failed (a worker's failed load marks it unavailable, keeping its old figures)."""
    row = (EmbeddingModel.objects.filter(name=model_name, available=True, dim__isnull=False,
                                         calibration_scale__isnull=False, calibration_bias__isnull=False)
           .values_list("dim", "calibration_scale", "calibration_bias").first())
    return None if row is None else StoredModel(model_name, row[0], (row[1], row[2]))


def family_covered(*, family_id: int, model_name: str) -> bool:
    """Whether every photo of the family that can be embedded (all but the failed) has an embedding of the model."""
    embeddable = Photo.objects.filter(family_id=family_id).exclude(status=Photo.Status.FAILED)
    return not embeddable.exclude(embeddings__model_name=model_name).exists()


def family_search_model(*, family_id: int, other_models: bool | None = None) -> str:
    """The model whose embeddings search should use for this family.

    The active model once it covers every photo that can be embedded; until then, during a model
    switch, the previous model with the best coverage keeps serving, and so it does while the active model is
    recorded as unable to load (a typo in SEARCH_MODEL, a download that failed): its embeddings can't be
    searched without it. `other_models`: whether any embeddings of another model exist, when the caller already
    knows (search_context)."""
    active = settings.SEARCH_MODEL
    # Usually no other model has embeddings at all, and then the answer is the active model whatever the
    # coverage. Two range probes of the (model_name, photo) index say so in well under a millisecond; the
    # coverage check below reads every photo of the family (tens of ms at 10,000 photos), on every search.
    if other_models is None:
        other_models = PhotoEmbedding.objects.filter(Q(model_name__lt=active) | Q(model_name__gt=active)).exists()
    if not other_models:
        return active
    if EmbeddingModel.objects.filter(name=active, available=False).exists():
        return _best_previous(family_id, active) or active
    # A switch to the active model the family completed: the previous model's embeddings are only kept for comparing
    # (MODEL_SWITCH_KEEP_DAYS), and the active model has at least as many of the family's photos as any other from
    # then on (new photos get only its embeddings), so it serves: one indexed probe instead of the coverage scan.
    if ModelSwitch.objects.filter(family_id=family_id, model_name=active).exists():
        return active
    if family_covered(family_id=family_id, model_name=active):
        return active
    previous = _best_previous(family_id, active, counted=True)
    active_count = PhotoEmbedding.objects.filter(family_id=family_id, model_name=active).count()
    if previous and previous["n"] > active_count:
        return previous["model_name"]
    return active


def usable_other_embeddings(active: str) -> QuerySet[PhotoEmbedding]:
    """The embeddings of models other than `active` that can load: what search falls back on while the active one
    can't (two range probes of the (model_name, photo) index, not a read of every embedding)."""
    return (PhotoEmbedding.objects.filter(Q(model_name__lt=active) | Q(model_name__gt=active))
            .exclude(model_name__in=EmbeddingModel.objects.filter(available=False).values("name")))


def _best_previous(family_id: int, active: str, *, counted: bool = False):
    """The other model with the most embeddings of the family's photos, not recorded as unable to load: its name
    (with `counted`, {"model_name", "n"}), or None."""
    previous = (
        PhotoEmbedding.objects.filter(family_id=family_id)
        .exclude(model_name=active)
        .exclude(model_name__in=EmbeddingModel.objects.filter(available=False).values("name"))
        .values("model_name")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
    )
    if previous is None or counted:
        return previous
    return previous["model_name"]


def models_searched(*, user: AbstractBaseUser) -> set[str]:
    """The models the user's families with photos are searched with (family_search_model of each; a family with
    nothing to search yet is searched with nothing)."""
    family_ids = (Membership.objects.filter(user=user)
                  .filter(Exists(Photo.objects.filter(family_id=OuterRef("family_id"))))  # one probe per family
                  .values_list("family_id", flat=True))
    return {family_search_model(family_id=family_id) for family_id in family_ids}


@dataclass
class SearchContext:
    family_ids: list[int]
    preferences: SearchPreferences
    other_models: bool  # whether embeddings of a model other than the active one exist (a switch under way)
    synonyms_version: tuple | None = None  # search.expansion's version of the synonyms of the user's families
    calibrated: bool = False  # whether some family of the user has a fitted calibration in force (search.quality)


def search_context(*, user: AbstractBaseUser) -> SearchContext:
    """What a search needs to know before it starts, in one round trip (search-as-you-type runs one per
    pause in typing): the user's families, their preferences (or unsaved defaults), whether any
    family might still be searched with a previous model, whether any has a fitted calibration, and the
    version of the synonyms in scope (for search.expansion)."""
    if not user.is_authenticated:
        return SearchContext([], SearchPreferences(), False)
    prefs_table, embeddings = SearchPreferences._meta.db_table, PhotoEmbedding._meta.db_table
    calibrations = SearchCalibration._meta.db_table
    synonyms = SYNONYMS_VERSION_SQL.format(families=f"ARRAY(SELECT m.family_id FROM {Membership._meta.db_table} m "
                                                    "WHERE m.user_id = %(user)s)")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT ARRAY(SELECT m.family_id FROM {Membership._meta.db_table} m
                         WHERE m.user_id = %(user)s ORDER BY m.family_id),
                   EXISTS (SELECT 1 FROM {embeddings} WHERE model_name < %(active)s)
                   OR EXISTS (SELECT 1 FROM {embeddings} WHERE model_name > %(active)s),
                   synonyms.*,
                   sp.id, sp.semantic_weight, sp.metadata_weight, sp.min_score, sp.expansion_enabled, sp.default_sort,
                   EXISTS (SELECT 1 FROM {calibrations} c JOIN {Membership._meta.db_table} cm
                           ON cm.family_id = c.family_id AND cm.user_id = %(user)s WHERE c.applied)
            FROM ({synonyms}) AS synonyms LEFT JOIN {prefs_table} sp ON sp.user_id = %(user)s
            """,
            {"user": user.pk, "active": settings.SEARCH_MODEL},
        )
        family_ids, other_models, synonym_count, synonym_changed, pk, *values, calibrated = cursor.fetchone()
    if pk is None:
        prefs = SearchPreferences(user=user)
    else:
        names = ("semantic_weight", "metadata_weight", "min_score", "expansion_enabled", "default_sort")
        prefs = SearchPreferences(id=pk, user=user, **dict(zip(names, values)))
        prefs._state.adding, prefs._state.db = False, "default"
    return SearchContext(list(family_ids), prefs, bool(other_models), (synonym_count, synonym_changed),
                         bool(calibrated))


@dataclass
class MetadataProgress:
    """How far the background has filled a family's metadata: what the Index page shows under its bar."""

    files_read: int  # embedded keywords, title, description and zone read from the file
    with_position: int  # photos with GPS
    places_looked_up: int
    placed: int  # of those looked up, photos in a named place (at sea, at 0,0 or far from any town: none)
    text_read: int  # OCR done (text found or not)
    text_skipped: int  # the gate expected no text
    text_waiting: int  # embedded, OCR still to come
    text_failed: int
    suggestions_scored: int  # embedded photos whose suggestions the active model has scored
    embedded: int  # photos with an embedding (ready)

    @property
    def text_reading_off(self) -> bool:
        """OCR_ENABLED is off: the photos waiting for their text wait for nothing that runs."""
        return not settings.OCR_ENABLED

    @cached_property  # (the page reads its words and whether it needs confirming: one look at the readings)
    def skipped_read(self) -> ReadEstimate:
        """What reading the skipped photos would cost the worker (the Index page's "Read the N skipped photos")."""
        return ReadEstimate(self.text_skipped)

    @property
    def suggestions_off(self) -> bool:
        """TAG_SUGGESTIONS_ENABLED is off: photos not scored yet wait for nothing that runs."""
        return not settings.TAG_SUGGESTIONS_ENABLED

    @property
    def working(self) -> bool:
        return bool((self.text_waiting and not self.text_reading_off) or self.places_looked_up < self.with_position
                    or (self.suggestions_scored < self.embedded and not self.suggestions_off))


def family_metadata_progress(*, family: Family) -> MetadataProgress:
    """One aggregate over the family's photos (the caller already checked the user is a member)."""
    return families_metadata_progress(family_ids=[family.pk])[family.pk]


def families_metadata_progress(*, family_ids: list[int]) -> dict[int, MetadataProgress]:
    """family_metadata_progress of several families, in one aggregate grouped by family."""
    ready = Q(status=Photo.Status.READY)
    rows = Photo.objects.filter(family_id__in=family_ids).order_by().values("family_id").annotate(
        files_read=Count("pk", filter=Q(embedded_checked=True)),
        with_position=Count("pk", filter=Q(latitude__isnull=False)),
        places_looked_up=Count("pk", filter=Q(latitude__isnull=False, place_checked=True)),
        placed=Count("pk", filter=Q(latitude__isnull=False, place_checked=True)
                     & (~Q(place_city="") | ~Q(place_region="") | ~Q(place_country=""))),
        text_read=Count("pk", filter=Q(ocr_status=Photo.OcrStatus.DONE)),
        text_skipped=Count("pk", filter=text_skipped_q()),
        text_waiting=Count("pk", filter=ready & Q(ocr_status__in=[Photo.OcrStatus.PENDING,
                                                                   Photo.OcrStatus.PROCESSING])),
        text_failed=Count("pk", filter=Q(ocr_status=Photo.OcrStatus.FAILED)),
        suggestions_scored=Count("pk", filter=ready & Q(suggestions_model=settings.SEARCH_MODEL)),
        embedded=Count("pk", filter=ready),
    )
    progress = {family_id: MetadataProgress(**dict.fromkeys(MetadataProgress.__dataclass_fields__, 0))
                for family_id in family_ids}
    for row in rows:
        family_id = row.pop("family_id")
        progress[family_id] = MetadataProgress(**row)
    return progress


@dataclass(frozen=True)
class KeptModel:
    """A previous model whose embeddings a family keeps after switching (search.models.ModelSwitch)."""

    name: str
    covered_at: datetime  # when the active model covered the family
    keep_until: datetime  # when the sweep deletes them unless an admin confirms sooner
    confirmed: bool


def kept_models(*, family_id: int) -> list[KeptModel]:
    return families_kept_models(family_ids=[family_id])[family_id]


def families_kept_models(*, family_ids: list[int]) -> dict[int, list[KeptModel]]:
    """kept_models of several families, in one statement."""
    keep = timedelta(days=settings.MODEL_SWITCH_KEEP_DAYS)
    kept: dict[int, list[KeptModel]] = {family_id: [] for family_id in family_ids}
    switches = ModelSwitch.objects.filter(family_id__in=family_ids, model_name=settings.SEARCH_MODEL, removed_at=None)
    for s in switches.order_by("covered_at", "pk"):
        kept[s.family_id].append(KeptModel(s.previous_model, s.covered_at, s.covered_at + keep,
                                           s.confirmed_at is not None))
    return kept


def indexed_percent(*, ready: int, total: int) -> int:
    """The share of a family's photos that are indexed, in whole percent, rounded down: 221 of 222 is 99%, not a
    full bar that reads "100%" while a photo is still pending or failed. 100 for no photos."""
    return 100 if not total else 100 * ready // total


@dataclass
class FamilyIndexStatus:
    family: Family
    counts: dict[str, int]
    total: int
    search_model: str
    active_model: str
    active_covered: int
    metadata: MetadataProgress | None = None
    kept: list[KeptModel] = field(default_factory=list)  # previous models kept after a completed switch
    is_admin: bool = False

    @property
    def done(self) -> int:
        return self.counts["ready"] + self.counts["failed"]

    @property
    def remaining(self) -> int:
        return self.counts["pending"] + self.counts["processing"]

    @property
    def percent(self) -> int:
        # During a model switch the photos read "ready" by the previous model until the sweep queues them: the bar
        # shows how far the model now set has read them, as the "N of M done" beside it does.
        ready = min(self.active_covered, self.counts["ready"]) if self.switching else self.counts["ready"]
        return indexed_percent(ready=ready, total=self.total)

    @property
    def switching(self) -> bool:
        return self.search_model != self.active_model


def index_status(*, user: AbstractBaseUser) -> list[FamilyIndexStatus]:
    """Each of the user's families' indexing, every count for all the families at once (grouped by family): the
    page polls every 2 s while it works, and asked six statements per family."""
    families = list(family_list(user=user))
    ids = [family.pk for family in families]
    active = settings.SEARCH_MODEL
    counts = {family_id: dict.fromkeys(Photo.Status.values, 0) for family_id in ids}
    for family_id, status, n in (Photo.objects.filter(family_id__in=ids).order_by().values("family_id", "status")
                                 .annotate(n=Count("*")).values_list("family_id", "status", "n")):
        counts[family_id][status] = n
    covered = dict(PhotoEmbedding.objects.filter(family_id__in=ids, model_name=active).order_by()
                   .values("family_id").annotate(n=Count("*")).values_list("family_id", "n"))
    metadata = families_metadata_progress(family_ids=ids)
    kept = families_kept_models(family_ids=ids)
    admin_of = admin_family_ids(user)
    other_models = PhotoEmbedding.objects.filter(Q(model_name__lt=active) | Q(model_name__gt=active)).exists()
    return [FamilyIndexStatus(
        family=family, counts=counts[family.pk], total=sum(counts[family.pk].values()),
        search_model=family_search_model(family_id=family.pk, other_models=other_models), active_model=active,
        active_covered=covered.get(family.pk, 0), metadata=metadata[family.pk], kept=kept[family.pk],
        is_admin=family.pk in admin_of,
    ) for family in families]


def _failed(text: bool) -> Q:
    """Photos that could not be indexed (the model's reading), or whose text could not be read (`text`: OCR)."""
    return Q(ocr_status=Photo.OcrStatus.FAILED) if text else Q(status=Photo.Status.FAILED)


def failed_photos(*, user: AbstractBaseUser, limit: int = 200, text: bool = False):
    """The user's photos that could not be indexed (`text`: whose text could not be read), latest first."""
    return (
        Photo.objects.filter(_failed(text), family__memberships__user=user)
        .select_related("family")
        .order_by(*(("-id",) if text else ("-status_changed_at", "-id")))[:limit]
    )


def family_most_judged(*, user: AbstractBaseUser) -> Family | None:
    """The user's family with the most judgments that speak for it (its members' now: family_judgments, as its
    quality page counts them), then the first by name: the quality page to open."""
    judged = family_judgments().filter(family_id=OuterRef("pk"))
    return (Family.objects.filter(memberships__user=user).annotate(judged=rows_count(judged))
            .order_by("-judged", "name", "pk").first())


# Beyond this many, "more than N": the count reads at most this many rows of the status index.
INDEXING_SHOWN = 1000


def photos_indexing_count(*, family_ids: list[int], search_models: dict[int, str] | None = None) -> int:
    """How many photos of these families image search does not see yet, up to INDEXING_SHOWN + 1 (the search page
    says so). A family searched with the active model (`search_models`: family id → the model it is searched with;
    the active one for a family not in it): its photos the worker has still to embed (waiting or being read).
    Mid-switch, a family searched with the previous model: its photos that model never embedded (uploaded during
    the switch, whether the new model has read them or not); those waiting for the new model are still found."""
    by_model: dict[str, list[int]] = defaultdict(list)
    for family_id in family_ids:
        by_model[(search_models or {}).get(family_id, settings.SEARCH_MODEL)].append(family_id)
    unseen = Q(family_id__in=by_model.pop(settings.SEARCH_MODEL, []),
               status__in=[Photo.Status.PENDING, Photo.Status.PROCESSING])
    for model_name, ids in by_model.items():
        unseen |= Q(family_id__in=ids) & ~Q(status=Photo.Status.FAILED) & ~Exists(
            PhotoEmbedding.objects.filter(photo=OuterRef("pk"), model_name=model_name))
    return Photo.objects.filter(unseen).values("pk")[:INDEXING_SHOWN + 1].count()


def families_have_photos(*, family_ids) -> bool:
    """Whether these families hold any photo outside the trash (a search that found nothing in families without
    one says there is nothing to search yet, not to try other words)."""
    return Photo.objects.filter(family_id__in=list(family_ids)).exists()


def failed_photo_ids(*, user: AbstractBaseUser, photo_ids: list[int] | None = None,
                     family_id: int | None = None, text: bool = False) -> list[int]:
    """Ids of the user's failed photos (`text`: whose text could not be read), optionally only among `photo_ids` or
    of one family."""
    qs = Photo.objects.filter(_failed(text), family__memberships__user=user)
    if photo_ids is not None:
        qs = qs.filter(pk__in=photo_ids)
    if family_id is not None:
        qs = qs.filter(family_id=family_id)
    return list(qs.values_list("pk", flat=True))


def text_skipped_q() -> Q:
    """The photos whose text the OCR gate skipped: the one definition the Index page counts ("Read the N skipped
    photos") and its button reads (search.ocr_requests.family_skipped_read). Embedded or not: a model switch puts
    embedded photos back to pending with their text still skipped, and one asked for is queued once embedded
    (search.ocr.ocr_after_embedding)."""
    return Q(ocr_status=Photo.OcrStatus.SKIPPED)


def skipped_text_count(*, user: AbstractBaseUser, family_id: int) -> int:
    """How many photos of one of the user's families the OCR gate skipped (text_skipped_q; 0 for a family that isn't
    the user's): what the Index page's "Read the N skipped photos" reads."""
    return Photo.objects.filter(text_skipped_q(), family_id=family_id, family__memberships__user=user).count()


@dataclass(frozen=True)
class RefinePhoto:
    """One photo a refine names (search.engine._refined), as the search sees it."""

    family_id: int
    indexed: bool  # it has an embedding of its family's search model (never, for a family not searched)
    vector: object = None  # that embedding, when asked for
    failed: bool = False  # its indexing failed (the Index page's Retry queues it again)


def refine_photos(*, photo_ids: list[int], family_ids: list[int], search_models: dict[int, str],
                  vectors: bool = True) -> dict[int, RefinePhoto]:
    """The photos of a refine's like/unlike that the user may see, in one read: of `family_ids` (the user's), not in
    the trash, each with its family, whether (with `vectors`, with what) it is indexed under its family's search
    model (`search_models`: each family searched → its model; a family not searched is indexed under none), and
    whether its indexing failed (_failed, as failed_photo_ids: nothing will index it until a Retry). A photo
    left out of the answer is another family's, in the trash or deleted: the caller learns nothing more of it."""
    if not photo_ids or not family_ids:
        return {}
    model = (Case(*(When(family_id=f, then=Value(m)) for f, m in search_models.items()), output_field=CharField())
             if search_models else Value(None, output_field=CharField()))
    # The embedding as search reads it (search.vector_index): of the family's search model, not marked as trashed.
    embedding = PhotoEmbedding.objects.filter(photo_id=OuterRef("pk"), model_name=model, trashed=False)
    # (Photo.objects: not in the trash)
    # Failed as the Index page's Retry list has it (failed_photo_ids).
    rows = (Photo.objects.filter(pk__in=photo_ids, family_id__in=family_ids).order_by()
            .annotate(failed=ExpressionWrapper(_failed(text=False), output_field=BooleanField())))
    if vectors:
        rows = rows.annotate(vector=Subquery(embedding.values("vector")[:1])).values_list(
            "pk", "family_id", "vector", "failed")
        return {pk: RefinePhoto(family_id, vector is not None, vector, failed)
                for pk, family_id, vector, failed in rows}
    rows = rows.annotate(indexed=Exists(embedding)).values_list("pk", "family_id", "indexed", "failed")
    return {pk: RefinePhoto(family_id, indexed, failed=failed) for pk, family_id, indexed, failed in rows}
