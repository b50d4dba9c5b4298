"""Writes of the search app: embedding photos, recording model state, re-queueing work."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connections, transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.models import Schedule

from gallery.account_services import invite_links_prune
from gallery.files import StorageUnavailable, file_removals_process, photo_image
from gallery.images import ImageBusy
from gallery.models import Family, Membership, Photo
from gallery.selectors import photos_of_families_being_deleted, photos_worked_on
from gallery.services import family_deletions_resume, photos_display_sweep, photos_embedded_sweep, photos_place_sweep
from mediasearch.cluster import cluster_stopping
from search import leases
from search.duplicate_finder import duplicates_find, duplicates_pending_find
from search.embedder import Embedder, ModelUnavailable, get_embedder
from search.family_places import family_places_prune
from search.metadata import documents_outdated_refresh
from search.models import EmbeddingModel, ModelSwitch, PhotoEmbedding, SearchPreferences
from search.ocr import ocr_after_embedding, ocr_missing
from search.selectors import family_covered
from search.suggestions import suggest_after_embedding, suggestions_missing, suggestions_recompute_enqueue
from search.vector_index import drop_indexes, drop_orphaned_indexes, ensure_index

logger = logging.getLogger(__name__)

# Photos are decoded at about twice the model's input size at most: enough for its own resize.
DECODE_SIDE = 448


@dataclass
class EmbedReport:
    failed: int = 0
    model_error: str = ""
    ready_ids: list[int] = field(default_factory=list)
    failures: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ready(self) -> int:
        return len(self.ready_ids)


def active_model_name() -> str:
    return settings.SEARCH_MODEL


def max_attempts() -> int:
    return settings.EMBED_MAX_ATTEMPTS


# --- model state ---------------------------------------------------------------------------------


def load_embedder() -> Embedder:
    """The active model's embedder; records whether it loaded, so pages can say why search is off."""
    name = active_model_name()
    try:
        embedder = get_embedder(allow_download=True)  # the worker may fetch a hub model it lacks
    except ModelUnavailable as exc:
        model_state_record(name=name, error=str(exc))
        raise
    model_state_record(name=name, embedder=embedder)
    return embedder


def model_state_record(*, name: str, embedder: Embedder | None = None, error: str = "") -> EmbeddingModel:
    if embedder is not None:
        scale, bias = embedder.calibration
        defaults = {"dim": embedder.dim, "calibration_scale": scale, "calibration_bias": bias,
                    "available": True, "error": ""}
    else:
        defaults = {"available": False, "error": error}
    state, _ = EmbeddingModel.objects.update_or_create(name=name, defaults=defaults)
    return state


# --- embedding -----------------------------------------------------------------------------------


def _claimable() -> Q:
    # Waiting photos, and photos left "processing" by a worker that died: nobody renews their lease any more, unless
    # it died on them as often as a photo may kill it (then only the recovery takes them, to fail them:
    # _photos_release_abandoned). Not those of a family being deleted.
    abandoned = (Q(status=Photo.Status.PROCESSING) & ~leases.live_lease(leases.EMBED)
                 & Q(embed_attempts__lt=max_attempts()))
    waiting = Q(status=Photo.Status.PENDING) | abandoned
    return waiting & ~photos_of_families_being_deleted()


@transaction.atomic
def photos_claim(*, photo_ids: Sequence[int], owner: str, fill_to: int = 0, count_try: bool = True) -> list[Photo]:
    """Lease photos to `owner`, mark them processing (skipping rows another worker holds) and return them.

    With `fill_to`, other waiting photos join the batch, so that many small tasks still make
    full batches for the model. `count_try=False`: no try is counted yet (photos_try_count, batch by batch)."""
    claimable = Photo.objects.select_for_update(skip_locked=True).filter(_claimable())
    candidates = list(claimable.filter(pk__in=list(photo_ids)).order_by("pk"))
    if fill_to > len(candidates):
        candidates += list(claimable.exclude(pk__in=[p.pk for p in candidates])
                           .order_by("uploaded_at", "pk")[: fill_to - len(candidates)])
    # The lease decides: a photo another worker leased after this transaction's snapshot is not ours.
    won = leases.leases_acquire(kind=leases.EMBED, object_ids=[p.pk for p in candidates], owner=owner,
                                seconds=settings.LEASE_SECONDS)
    claimed = [photo for photo in candidates if photo.pk in won]
    if claimed:
        Photo.objects.filter(pk__in=[p.pk for p in claimed]).update(
            status=Photo.Status.PROCESSING, status_changed_at=timezone.now())
        if count_try:
            photos_try_count(claimed)
    return claimed


def photos_try_count(photos: list[Photo]) -> None:
    """A try counted for each photo (a worker dying on a photo three times fails it: _photos_release_abandoned)."""
    Photo.objects.filter(pk__in=[p.pk for p in photos]).update(embed_attempts=F("embed_attempts") + 1)
    for photo in photos:
        photo.embed_attempts += 1


def embed_photos(*, photo_ids: Sequence[int], fill_to: int | None = None) -> EmbedReport:
    """Embed the given photos (and, with fill_to, other waiting ones) with the active model."""
    report = EmbedReport()
    try:
        embedder = load_embedder()
    except ModelUnavailable as exc:
        # Recorded once on the model; the photos simply stay pending until the model is back.
        report.model_error = str(exc)
        return report
    embedder.compile_images()  # the first batch's compile (tens of seconds), before any photo is claimed
    if cluster_stopping():  # the worker was asked to stop meanwhile: the photos wait for its next start
        photos_enqueue(list(photo_ids))
        return report
    batch = embedder.batch_size
    owner = leases.lease_owner()
    # The heartbeat keeps this run's leases alive while it works, and releases them when it ends.
    with leases.LeaseHeartbeat(owner=owner, seconds=settings.LEASE_SECONDS):
        # A try is counted for a chunk when its decoding starts, not for the whole task when it is claimed: a
        # worker killed on its first chunk (out of memory, kill -9) fails no photo it never came to.
        claimed = photos_claim(photo_ids=photo_ids, owner=owner, fill_to=batch if fill_to is None else fill_to,
                               count_try=False)
        chunks = [claimed[i:i + batch] for i in range(0, len(claimed), batch)]
        # Decode and preprocess the next chunk while the model runs on this one (the forward pass
        # releases the GIL), so this thread does little but run the model.
        with ThreadPoolExecutor(max_workers=1) as pool:
            if chunks:
                photos_try_count(chunks[0])
                pending = pool.submit(_prepare, embedder, chunks[0])
            for index in range(len(chunks)):
                if cluster_stopping():  # the worker is stopping: the batch being embedded was the last
                    _photos_hand_back(chunks[index], [photo for chunk in chunks[index + 1:] for photo in chunk],
                                      owner=owner)
                    break
                prepared = pending.result()
                if index + 1 < len(chunks):
                    photos_try_count(chunks[index + 1])
                    pending = pool.submit(_prepare, embedder, chunks[index + 1])
                _embed_prepared(embedder, prepared, report, owner=owner)
            # Decoding an original takes a decode slot, i.e. a database session of the pool's thread: end it
            # with the thread rather than leave it to the garbage collector.
            pool.submit(connections.close_all).result()
    _after_embedding(report.ready_ids)
    return report


def _photos_hand_back(tried: list[Photo], untried: list[Photo], *, owner: str) -> None:
    """Photos claimed but not embedded, because the worker is stopping: waiting again (those `tried`, decoded, with
    their try given back), their leases released, and queued (taken up when a worker runs again)."""
    held = leases.leases_held(kind=leases.EMBED, owner=owner, object_ids=[photo.pk for photo in tried + untried])
    with transaction.atomic():
        waiting = Photo.objects.filter(pk__in=held, status=Photo.Status.PROCESSING)
        waiting.filter(pk__in=[photo.pk for photo in tried]).update(embed_attempts=F("embed_attempts") - 1)
        waiting.update(status=Photo.Status.PENDING, status_changed_at=timezone.now())
        leases.leases_release(owner=owner, kind=leases.EMBED, object_ids=held)
        transaction.on_commit(lambda: photos_enqueue(sorted(held)))
    logger.info("the worker is stopping: %d photos handed back to the queue", len(held))


def _after_embedding(photo_ids: list[int]) -> None:
    """Their embeddings are committed: score their tag suggestions (one matrix product, no image model run) and
    queue their OCR (its own queue and tasks, so it never delays this one)."""
    try:
        suggest_after_embedding(photo_ids)
    except Exception:  # noqa: BLE001 - the embeddings are stored; the sweep scores what this missed
        logger.exception("could not score the tag suggestions of %d photos", len(photo_ids))
    try:
        ocr_after_embedding(photo_ids)
    except Exception:  # noqa: BLE001 - the embeddings are stored; the sweep queues what this missed
        logger.exception("could not queue the OCR of %d photos", len(photo_ids))
    try:
        duplicates_find(photo_ids=photo_ids)
    except Exception:  # noqa: BLE001 - the embeddings are stored; `find_duplicates` finds what this missed
        logger.exception("could not look for near-duplicates of %d photos", len(photo_ids))


@dataclass
class _Prepared:
    """One chunk made ready for the model: the photos that decoded and their model inputs (or what
    preparing those inputs raised), and the photos that could not be read, with the reason."""

    good: list[Photo]
    unreadable: list[tuple[Photo, str]]
    inputs: object = None
    error: Exception | None = None


def _prepare(embedder: Embedder, photos: list[Photo]) -> _Prepared:
    """Runs in the worker thread: everything before the forward pass."""
    decoded = _decode(photos)
    good = [(photo, image) for photo, image in decoded if not isinstance(image, str)]
    prepared = _Prepared(good=[photo for photo, _ in good],
                         unreadable=[(photo, reason) for photo, reason in decoded if isinstance(reason, str)])
    if good:
        try:
            prepared.inputs = embedder.prepare_images([image for _, image in good])
        except Exception as exc:  # noqa: BLE001 - handled like a failed forward pass, in the calling thread
            prepared.error = exc
    return prepared


def _decode(photos: list[Photo]) -> list[tuple[Photo, object]]:
    """(photo, image) for each photo; image is the failure reason (str) when it can't be read.

    From the display rendition (a JPEG of at most DISPLAY_SIZE, so a cheap decode) when the photo has one;
    otherwise from the original, with the same bounded decode as an upload, in a decode slot."""
    out = []
    for photo in photos:
        try:
            out.append((photo, _decode_one(photo)))
        except FileNotFoundError:
            out.append((photo, "The original file is missing from storage."))
        except (ImageBusy, StorageUnavailable) as exc:  # the photo is fine: it waits, no attempt counted
            out.append((photo, _Busy(str(exc))))
        except Exception as exc:  # noqa: BLE001 - any decode error fails this photo only
            out.append((photo, f"Could not read the image: {str(exc)[:200]}"))
    return out


class _Busy(str):
    """A decode that found every decode slot taken, or a storage that did not answer: the photo waits for a later
    task, it is not broken."""


def _decode_one(photo: Photo):
    return photo_image(photo, max_side=DECODE_SIDE)


def _embed_prepared(embedder: Embedder, prepared: _Prepared, report: EmbedReport, *, owner: str) -> None:
    # A photo whose lease ran out and went to another worker (this one stalled) is that worker's to finish.
    held = leases.leases_held(kind=leases.EMBED, owner=owner,
                              object_ids=[p.pk for p in prepared.good] + [p.pk for p, _ in prepared.unreadable])
    busy = [(photo, reason) for photo, reason in prepared.unreadable if isinstance(reason, _Busy) and photo.pk in held]
    if busy:
        Photo.objects.filter(pk__in=[photo.pk for photo, _ in busy]).update(
            status=Photo.Status.PENDING, status_reason=busy[0][1], status_changed_at=timezone.now(),
            embed_attempts=F("embed_attempts") - 1)  # waiting is no failed attempt
    for photo, reason in prepared.unreadable:
        if photo.pk in held and not isinstance(reason, _Busy):
            _mark_failed([photo], reason, report)
    good = [photo for photo in prepared.good if photo.pk in held]
    if good:
        _embed_good(embedder, prepared, good, report, owner=owner)
    leases.leases_release(owner=owner, kind=leases.EMBED, object_ids=held)


def _embed_good(embedder: Embedder, prepared: _Prepared, good: list[Photo], report: EmbedReport, *, owner: str) -> None:
    try:
        if prepared.error is not None:
            raise prepared.error
        vectors = embedder.encode_prepared(prepared.inputs)
    except Exception as exc:  # noqa: BLE001 - the model failed on this batch; retry later, then give up
        logger.exception("embedding batch failed")
        retry = [p for p in good if p.embed_attempts < max_attempts()]
        give_up = [p for p in good if p.embed_attempts >= max_attempts()]
        Photo.objects.filter(pk__in=[p.pk for p in retry]).update(
            status=Photo.Status.PENDING, status_reason=f"Embedding failed, will retry: {str(exc)[:200]}",
            status_changed_at=timezone.now())
        _mark_failed(give_up, f"Embedding failed: {str(exc)[:200]}", report)
        return
    vector_of = {photo.pk: vector for photo, vector in zip(prepared.good, vectors)}
    _indexes_ensure(embedder.model_name, dim=len(vectors[0]), family_ids={photo.family_id for photo in good})
    stored = _store(embedder.model_name, good, [vector_of[photo.pk] for photo in good], owner=owner)
    report.ready_ids += stored


def _indexes_ensure(model_name: str, *, dim: int, family_ids: Iterable[int]) -> None:
    """Each family's HNSW index for the model, made in its own step before the batch's transaction (no DDL inside
    it: search.vector_index). A build that fails is logged and the batch stored all the same: searches read the
    family's rows without the graph (slower) until the next batch builds it."""
    for family_id in sorted(family_ids):
        try:
            ensure_index(model_name=model_name, dim=dim, family_id=family_id)
        except DatabaseError:
            logger.exception("could not build the vector index of family %s for %s; the next batch tries again",
                             family_id, model_name)


@transaction.atomic
def _store(model_name: str, photos: list[Photo], vectors, *, owner: str) -> list[int]:
    """Write the embeddings of the photos `owner` still holds and mark them ready; returns their ids."""
    # Lock the rows first (as a claim does), then look at the leases: no claim can slip in between.
    alive = set(Photo.objects.select_for_update().filter(pk__in=[p.pk for p in photos]).values_list("pk", flat=True))
    alive &= leases.leases_held(kind=leases.EMBED, owner=owner, object_ids=alive)
    rows = [PhotoEmbedding(photo_id=p.pk, family_id=p.family_id, model_name=model_name, vector=v)
            for p, v in zip(photos, vectors) if p.pk in alive]
    # Upsert: exactly one embedding per photo and model, whatever ran twice.
    PhotoEmbedding.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["photo", "model_name"], update_fields=["vector", "created_at"]
    )
    Photo.objects.filter(pk__in=alive).update(
        status=Photo.Status.READY, status_reason="", status_changed_at=timezone.now()
    )
    return [row.photo_id for row in rows]


def _mark_failed(photos: Iterable[Photo], reason: str, report: EmbedReport) -> None:
    ids = [p.pk for p in photos]
    if not ids:
        return
    Photo.objects.filter(pk__in=ids).update(status=Photo.Status.FAILED, status_reason=reason, status_changed_at=timezone.now())
    report.failed += len(ids)
    report.failures += [(pk, reason) for pk in ids]


# --- queueing ------------------------------------------------------------------------------------


def photos_enqueue(photo_ids: Sequence[int]) -> int:
    """Queue embedding tasks for these photos, in model-sized chunks. Returns the number of tasks."""
    from mediasearch.task_queue import enqueue

    chunk = settings.EMBED_TASK_SIZE
    ids = list(photo_ids)
    for start in range(0, len(ids), chunk):
        enqueue("search.tasks.embed_photos_task", ids[start:start + chunk], group="embed",
                q_options={"timeout": settings.Q_CLUSTER["timeout"]})
    return (len(ids) + chunk - 1) // chunk


def family_indexes_drop_later(*, family_id: int) -> None:
    """Queue the dropping of a deleted family's HNSW indexes for the worker (DROP INDEX CONCURRENTLY, outside any
    transaction); the sweep drops any a lost task left (vector_index.drop_orphaned_indexes)."""
    from mediasearch.task_queue import enqueue

    enqueue("search.tasks.family_indexes_drop_task", family_id, q_options={"timeout": settings.Q_CLUSTER["timeout"]})


def duplicates_find_later(photo_ids: Sequence[int]) -> None:
    """Queue a look for these photos' near-duplicates (photos restored from the trash: the finder leaves trashed
    photos out of its embedding walk, so what was uploaded meanwhile is paired with them now), in batch-sized tasks."""
    from mediasearch.task_queue import enqueue

    chunk = settings.EMBED_TASK_SIZE
    ids = sorted(photo_ids)
    for start in range(0, len(ids), chunk):
        enqueue("search.tasks.duplicates_find_task", ids[start:start + chunk],
                q_options={"timeout": settings.Q_CLUSTER["timeout"]})


@transaction.atomic
def photos_retry(*, photo_ids: Sequence[int]) -> int:
    """Give failed (or any) photos a fresh start and queue them."""
    count = Photo.objects.filter(pk__in=list(photo_ids)).update(
        status=Photo.Status.PENDING, status_reason="", embed_attempts=0, status_changed_at=timezone.now()
    )
    ids = list(photo_ids)
    transaction.on_commit(lambda: photos_enqueue(ids))
    return count


def photos_recover() -> int:
    """Re-queue the photos left "processing" by workers that died (their leases ran out); returns how many.

    Run every minute by the schedule (migration 0009), so a dead worker's photos are retried about a lease
    length after it stopped renewing, not a task timeout plus a sweep later."""
    requeued = _photos_release_abandoned()
    transaction.on_commit(lambda: photos_enqueue(requeued))
    return len(requeued)


@transaction.atomic
def _photos_release_abandoned() -> list[int]:
    """Put photos whose worker died back to pending, or to failed when dying on them is a habit (a photo that
    crashes the worker, e.g. out of memory, would otherwise loop forever). Returns the ids now pending."""
    abandoned = leases.leases_abandoned(photos_worked_on().filter(status=Photo.Status.PROCESSING), kind=leases.EMBED,
                                        attempts="embed_attempts", max_attempts=max_attempts())
    now = timezone.now()
    Photo.objects.filter(pk__in=abandoned.retry).update(status=Photo.Status.PENDING, status_changed_at=now)
    Photo.objects.filter(pk__in=abandoned.give_up).update(
        status=Photo.Status.FAILED, status_changed_at=now,
        status_reason=f"The worker stopped while embedding this photo, {max_attempts()} times.")
    if abandoned.retry or abandoned.give_up:
        logger.warning("%d photos left processing by a worker that stopped: %d re-queued, %d failed",
                       len(abandoned.retry) + len(abandoned.give_up), len(abandoned.retry), len(abandoned.give_up))
    return abandoned.retry


def embed_sweep_now() -> None:
    """Have the worker's embedding sweep (embed_missing) run at once, not at its next turn."""
    Schedule.objects.filter(func="search.tasks.embed_missing_task").update(next_run=timezone.now())


def embed_missing() -> int:
    """The periodic sweep: whatever happened to a task, every photo ends up embedded by the active model.

    Requeues photos whose worker died, marks photos lacking an embedding of the active model
    (e.g. after a model switch) as pending, and queues all pending ones; gives up to RENDITION_SWEEP_LIMIT
    photos lacking one their display rendition (which the worker then embeds from); the gallery's housekeeping rides
    along (file removals, deletions left half done, invitation links kept past INVITE_KEEP_DAYS). Returns how many
    were queued."""
    name = active_model_name()
    file_removals_process()  # the gallery's queue of files whose photos are gone: retried here too
    family_deletions_resume()  # families whose deletion a worker left (killed, or its task lost)
    invite_links_prune()  # invitation links over for longer than INVITE_KEEP_DAYS
    photos_display_sweep()  # photos stored before display renditions existed, a batch at a time
    photos_place_sweep()  # places for photos with GPS stored before places existed, a batch at a time
    photos_embedded_sweep()  # embedded keywords, title, description, zone of photos stored before they were read
    documents_outdated_refresh()
    family_places_prune()  # places whose last photo is gone stop being places to the search box
    previous_models_prune()
    try:
        drop_orphaned_indexes()
    except DatabaseError:  # e.g. a lock timeout: the next sweep tries again
        logger.exception("could not drop the vector indexes of deleted families")
    _photos_release_abandoned()
    with transaction.atomic():
        lacking = photos_worked_on().filter(status=Photo.Status.READY).exclude(embeddings__model_name=name)
        lacking.update(status=Photo.Status.PENDING, embed_attempts=0, status_changed_at=timezone.now())
    try:  # (no model needed: the hashes, and the embeddings stored)
        duplicates_pending_find()  # restored photos whose find was never queued; mean colours of photos stored before
    except Exception:  # noqa: BLE001 - near-duplicates are extra: they never stop the sweep's embedding work
        logger.exception("the near-duplicates sweep failed")
    try:
        load_embedder()  # also (re)records whether the model is usable, for the banner
    except ModelUnavailable:
        return 0  # nothing to gain from queueing work that can't run; photos wait as pending
    pending = list(
        photos_worked_on().filter(status=Photo.Status.PENDING).order_by("uploaded_at")
        .values_list("pk", flat=True)[: settings.EMBED_SWEEP_LIMIT]
    )
    photos_enqueue(pending)
    try:
        ocr_missing()
    except Exception:  # noqa: BLE001 - OCR is extra: it never stops the sweep's embedding work
        logger.exception("the OCR sweep failed")
    try:
        suggestions_missing()
    except Exception:  # noqa: BLE001 - suggestions are extra too
        logger.exception("the tag-suggestion sweep failed")
    return len(pending)


def previous_models_prune() -> int:
    """Record each model switch a family completed (the active model now covers it), and delete the embeddings of
    earlier models, and their HNSW graphs, in families whose switch a family admin confirmed or that completed
    MODEL_SWITCH_KEEP_DAYS ago; returns how many embeddings went.

    Until then they are kept to compare the two models on the family's judgments (`manage.py evaluate --compare`);
    search already uses the active model (search.selectors.family_search_model). After that they are dead weight:
    while any exist, every search has to work out which model serves each family."""
    active = active_model_name()
    stale = PhotoEmbedding.objects.exclude(model_name=active)
    deleted = 0
    for family_id in sorted(set(stale.values_list("family_id", flat=True))):
        if not family_covered(family_id=family_id, model_name=active):
            continue  # still re-embedding: the previous model may be the one serving this family
        models = set(stale.filter(family_id=family_id).values_list("model_name", flat=True))
        expired = _switches_expired(family_id=family_id, previous_models=models, model_name=active)
        if not expired:
            continue
        with transaction.atomic():
            deleted += stale.filter(family_id=family_id, model_name__in=expired).delete()[0]
            ModelSwitch.objects.filter(family_id=family_id, previous_model__in=expired, model_name=active,
                                       removed_at=None).update(removed_at=timezone.now())
        for model_name in sorted(expired):
            drop_indexes(family_id=family_id, model_name=model_name)
        logger.info("family %s: removed the embeddings of %s, now that %s covers it", family_id,
                    ", ".join(sorted(expired)), active)
    return deleted


@transaction.atomic
def _switches_expired(*, family_id: int, previous_models: set[str], model_name: str) -> list[str]:
    """Record the family's switch from each of `previous_models` (the first time it is seen complete), and return
    those whose embeddings may go now: confirmed by an admin, or complete for MODEL_SWITCH_KEEP_DAYS."""
    now = timezone.now()
    switches = {}
    for previous in sorted(previous_models):
        switch, created = ModelSwitch.objects.get_or_create(
            family_id=family_id, previous_model=previous, model_name=model_name, defaults={"covered_at": now})
        if created:
            # A switch to the previous model is over (it is the one left behind now): its record would tell
            # family_search_model that model serves, should it become the active one again before covering.
            ModelSwitch.objects.filter(family_id=family_id, model_name=previous).delete()
            # The family's search model changed: its suggestions are scored again with it, in the background.
            suggestions_recompute_enqueue(family_id=family_id)
        switches[previous] = switch
    keep = timedelta(days=settings.MODEL_SWITCH_KEEP_DAYS)
    return [previous for previous, switch in switches.items()
            if switch.confirmed_at is not None or switch.covered_at + keep <= now]


@transaction.atomic
def model_switch_confirm(*, user, family: Family) -> int:
    """A family admin confirms the family's completed switch to the active model: the previous models' embeddings
    go with the next sweep instead of after MODEL_SWITCH_KEEP_DAYS. Returns how many switches were confirmed.
    Anyone else gets a PermissionDenied."""
    if not Membership.objects.filter(user=user, family=family, role=Membership.Role.ADMIN).exists():
        raise PermissionDenied("Only an admin of the family can confirm a model switch.")
    return ModelSwitch.objects.filter(family=family, model_name=active_model_name(), confirmed_at=None,
                                      removed_at=None).update(confirmed_at=timezone.now(), confirmed_by=user)


# --- preferences ---------------------------------------------------------------------------------


@transaction.atomic
def preferences_update(*, user, semantic_weight: float, metadata_weight: float, min_score: float,
                       expansion_enabled: bool, default_sort: str) -> SearchPreferences:
    prefs = preferences_lock(user=user)
    prefs.semantic_weight = semantic_weight
    prefs.metadata_weight = metadata_weight
    prefs.min_score = min_score
    prefs.expansion_enabled = expansion_enabled
    prefs.default_sort = default_sort
    prefs.save()
    return prefs


def preferences_lock(*, user) -> SearchPreferences:
    """The user's preferences row, made with the defaults if there is none, locked until the caller's transaction
    ends: what a change of some fields reads the others from, so that two changes at once both stand."""
    return SearchPreferences.objects.select_for_update().get_or_create(user=user)[0]


@transaction.atomic
def preferences_weights_update(*, user, semantic_weight: float, metadata_weight: float) -> SearchPreferences:
    """Change only the user's two weights (e.g. to the ones their family's fit suggests)."""
    prefs = preferences_lock(user=user)
    prefs.semantic_weight, prefs.metadata_weight = semantic_weight, metadata_weight
    prefs.save(update_fields=["semantic_weight", "metadata_weight"])
    return prefs


@transaction.atomic
def preferences_reset(*, user) -> None:
    SearchPreferences.objects.filter(user=user).delete()
