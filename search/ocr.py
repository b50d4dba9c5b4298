"""Text in photos (OCR): which photos to read (the gate), reading them as tasks on their own queue, and the
sweep's share of that work.

A photo's OCR state (Photo.ocr_status): pending (not looked at yet, or waiting to be read) → skipped (the gate
saw no text-bearing concept in it), or processing → done (text_in_photo set, "" when nothing was found) or,
after OCR_MAX_ATTEMPTS failures, failed. Only embedded photos are looked at, after their embedding is stored:
the gate needs the embedding, and OCR (seconds per photo on a CPU) must never delay embedding.

The database is the queue: a pending photo with a reason waits to be read (photos_to_read). The OCR queue (its own
django-q2 cluster, settings.OCR_CLUSTER) holds a few interchangeable readers (ocr_readers_start), each taking the
next photos in a fair order when it gets to them (_next_to_read), since django-q2 has no priorities: a family's
"Read the 20,000 skipped photos" queued first would otherwise hold back every other family's new photos for hours.
Before each photo a reader gives way while photos wait to be embedded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.db.models.functions import Now

from gallery.files import StorageUnavailable, photo_image
from gallery.models import Photo
from gallery.selectors import photos_of_families_being_deleted, photos_worked_on
from mediasearch.cluster import cluster_stopping
from search import leases
from search.embedder import ModelUnavailable, get_embedder
from search.metadata import documents_refresh
from search.models import PhotoEmbedding, TextReading, WorkLease
from search.read_estimates import READINGS_KEPT
from search.text_embeddings import term_vectors
from vision.ocr import read_text

logger = logging.getLogger(__name__)

# What a photo holding text looks like to SigLIP. Each goes through the search prompt templates, as query terms do.
TEXT_CONCEPTS = ("a sign", "a document", "a receipt", "a screenshot", "a poster", "handwriting", "text")
# An OCR task gives way to embedding at most this long before each photo, then reads it anyway (embedding that
# never finishes, e.g. the model is missing, must not stop OCR for good).
YIELD_SECONDS = 120.0
YIELD_POLL = 1.0


@dataclass
class OcrReport:
    done: int = 0
    failed: int = 0
    retry: int = 0
    texts: dict[int, str] = field(default_factory=dict)
    storage_down: bool = False  # the media storage did not answer: the photos wait for the sweep


# --- the gate ------------------------------------------------------------------------------------


def text_probabilities(photo_ids: Sequence[int]) -> dict[int, float]:
    """For each photo with an embedding of the active model: max over TEXT_CONCEPTS of the model's calibrated
    probability sigmoid(a·cos + b). Costs one cached text embedding per concept and a dot product."""
    embedder = get_embedder()
    concepts, _ = term_vectors(embedder, list(TEXT_CONCEPTS))
    rows = list(PhotoEmbedding.objects.filter(photo_id__in=list(photo_ids), model_name=embedder.model_name)
                .values_list("photo_id", "vector"))
    if not rows:
        return {}
    vectors = np.stack([np.asarray(vector, dtype=np.float32) for _, vector in rows])
    best = embedder.probability(vectors @ concepts.T).max(axis=1)
    return {photo_id: float(p) for (photo_id, _), p in zip(rows, best)}


def photos_text_gate(photo_ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """(to read, to skip) among these photos; with OCR_GATE off every photo is read."""
    ids = sorted(set(photo_ids))
    if not settings.OCR_GATE:
        return ids, []
    probabilities = text_probabilities(ids)
    read = [pk for pk in ids if probabilities.get(pk, 0.0) >= settings.OCR_GATE_THRESHOLD]
    skip = [pk for pk in ids if pk in probabilities and pk not in read]  # no embedding yet: decide later
    return read, skip


# Why a pending photo is waiting to be read. A pending photo with a reason (one of these, or a failed try's, or the
# storage's that kept it waiting) is to be read whatever the gate says: the OCR worker's readers take exactly those
# (photos_to_read). Only a pending photo without one was never looked at, and goes through the gate first.
OCR_QUEUED = "Waiting to be read."  # the gate expects text in it
OCR_REQUESTED = "Asked for by a member: waiting to be read."  # "Read text" (page, bar, API), `manage.py read_text`
# Asked for with the family's skipped photos (the Index page's button, its API): read after the family's photos asked
# for otherwise, families taking turns whatever they asked for (_next_to_read), so hours of one family's ask delay no
# other family's photos. (The words are those stored by versions that queued these photos apart.)
OCR_ASKED_WITH_FAMILY = "Asked for by a member with the family's skipped photos: waiting to be read."
# What every way of asking to read a photo's text (page, index page, API, `manage.py read_text`) answers with
# OCR_ENABLED off: no OCR worker runs, so queueing would promise what never happens.
OCR_OFF = "Reading text in photos is switched off on this server (OCR_ENABLED)."


def ocr_after_embedding(photo_ids: Sequence[int]) -> int:
    """The embedded photos whose text is not read yet: those never looked at go through the gate (skipped when it
    turns them away, else marked OCR_QUEUED), and readers are queued for them and those asked for or tried already.
    Returns how many of these photos wait to be read. Called once their embeddings are committed, and by the sweep."""
    if not settings.OCR_ENABLED or not photo_ids:
        return 0
    waiting = list(Photo.objects.filter(pk__in=list(photo_ids), status=Photo.Status.READY,
                                        ocr_status=Photo.OcrStatus.PENDING).values_list("pk", "ocr_reason"))
    if not waiting:
        return 0
    decided = [pk for pk, reason in waiting if reason]
    undecided = [pk for pk, reason in waiting if not reason]
    read, skip = [], []
    if undecided:
        try:
            read, skip = photos_text_gate(undecided)
        except ModelUnavailable:
            pass  # the gate needs the model: the sweep tries again
    Photo.objects.filter(pk__in=skip, ocr_status=Photo.OcrStatus.PENDING, ocr_reason="").update(
        ocr_status=Photo.OcrStatus.SKIPPED,
        ocr_reason="The image model saw no sign, document, receipt, screenshot, poster or handwriting in it.")
    Photo.objects.filter(pk__in=read, ocr_status=Photo.OcrStatus.PENDING, ocr_reason="").update(ocr_reason=OCR_QUEUED)
    if read or decided:
        ocr_readers_start()
    return len(read) + len(decided)


def photos_queued_before(photo_ids: Sequence[int]) -> int:
    """Mark as waiting to be read (OCR_QUEUED) the photos an earlier version's read_text_task carries, still pending
    without a reason: that version queued the photos its gate passed by id, leaving them so, and readers take only
    photos with a reason (photos_to_read). Returns how many were marked."""
    if not photo_ids:
        return 0
    return Photo.objects.filter(pk__in=list(photo_ids), ocr_status=Photo.OcrStatus.PENDING, ocr_reason="").update(
        ocr_reason=OCR_QUEUED)


# --- the queue: readers that take the next photos from the database --------------------------------------------

# Readers kept waiting on the OCR queue while photos wait: each reads OCR_TASK_SIZE photos, then queues the next
# ones (ocr_readers_start), so the queue holds a few interchangeable tasks, never one per photo or chunk, and what
# to read next is decided when a reader gets to it, not when it was asked for. Two keep a second machine's OCR
# worker busy from the start; more machines join as the readers running queue the next ones.
READERS_AHEAD = 2


def photos_to_read() -> QuerySet[Photo]:
    """The photos a reader may take: embedded, waiting with a reason (OCR_QUEUED, asked for, a failed try's); none of
    a family being deleted. Not a photo left "being read" by a worker that died (its lease ran out): the recovery
    (_release_abandoned) puts it back to pending, or marks it failed after OCR_MAX_ATTEMPTS, so a photo that kills its
    worker is not taken again without end. (The claim's filter fits the partial index ocr_waiting_family,
    search migration 0032.)"""
    return Photo.objects.filter(ocr_status=Photo.OcrStatus.PENDING, status=Photo.Status.READY).exclude(
        ocr_reason="").exclude(photos_of_families_being_deleted())


def ocr_readers_start() -> int:
    """Queue readers on the OCR queue (its own cluster) until READERS_AHEAD wait there, or as many as the photos
    waiting to be read fill (OCR_TASK_SIZE each); returns how many were queued. Called wherever photos start to wait
    and by each reader as it ends, so a reader lost with its worker is replaced (recovery, the sweep)."""
    from mediasearch.task_queue import enqueue, queue_size

    if not settings.OCR_ENABLED:
        return 0
    queued = queue_size(settings.OCR_CLUSTER)
    if queued is None:  # the broker does not answer (Redis down): the photos wait, marked, for the sweep
        return 0
    size = settings.OCR_TASK_SIZE
    waiting = photos_to_read()[: READERS_AHEAD * size].count()
    wanted = min(READERS_AHEAD, (waiting + size - 1) // size) - queued
    for _ in range(wanted):
        enqueue("search.tasks.read_text_task",
                q_options={"group": "ocr", "cluster": settings.OCR_CLUSTER, "timeout": settings.Q_CLUSTER["timeout"]})
    return max(wanted, 0)


def _next_to_read(photo_ids: Sequence[int] | None, tried: set[int]) -> Iterator[int]:
    """The photos to read next, in a fair order: families take turns, the family served longest ago first (its last
    reading, TextReading; a family whose photo another reader is reading counts as served now, its turn recorded
    only when that reading ends), one photo a family at a time (the caller claims one, reads it, and asks again);
    within a family, those asked for one by one or by the gate (its new uploads) before those asked for with its skipped
    photos. Families first, as any way of asking queues many photos (the selection bar 500 a press, an import
    thousands through the gate): no kind of ask may hold back another family's photos.
    `photo_ids`: only among these (a benchmark's photos); never those `tried` (by this reader already)."""
    to_read = photos_to_read().exclude(pk__in=list(tried))
    if photo_ids is not None:
        to_read = to_read.filter(pk__in=list(photo_ids))
    with_family = Q(ocr_reason=OCR_ASKED_WITH_FAMILY)
    families = set(to_read.order_by().values_list("family_id", flat=True).distinct())
    asked_otherwise = set(to_read.exclude(with_family).order_by().values_list("family_id", flat=True).distinct())
    served = dict(TextReading.objects.filter(family_id__in=families).values("family_id")
                  .annotate(last=Max("read_at")).values_list("family_id", "last"))
    # From the live leases (a few rows), not the families' photos (a family may have 100,000s).
    leased = WorkLease.objects.filter(kind=leases.OCR, expires_at__gt=Now()).values("object_id")
    being_read = set(Photo.all_objects.filter(pk__in=leased, family_id__in=families,
                                              ocr_status=Photo.OcrStatus.PROCESSING)
                     .values_list("family_id", flat=True).distinct())
    for family_id in sorted(families, key=lambda family: (family in being_read, served.get(family) is not None,
                                                           served.get(family), family)):
        photos = to_read.filter(family_id=family_id)
        kinds = (photos.exclude(with_family), photos.filter(with_family)) if family_id in asked_otherwise else (photos,)
        for kind in kinds:
            yield from kind.order_by("pk").values_list("pk", flat=True)[:NEXT_TRIES]


# Photos of one family tried before the next family's: a claim fails only when another reader took the photo since.
NEXT_TRIES = 4


@dataclass(frozen=True)
class TextAsked:
    """What a request to read photos' text did with each photo (photos_text_ask)."""

    queued: list[int]  # waiting to be read now (readers take them from the database)
    waiting: list[int]  # waiting to be read already, or being read now: not queued a second time
    read_already: list[int]  # their text was read, and reading it again was not asked for


@transaction.atomic
def photos_text_ask(*, photo_ids: Sequence[int], again: bool, waiting_again: bool = False) -> TextAsked:
    """Read these photos' text whatever the gate said (skipped, failed; `again`: read ones too). A photo being read
    now is never queued again, nor, unless `waiting_again`, one waiting to be read already (pending), so a request
    sent twice (two tabs, a double click, a script retried) queues each photo once; a pending one the gate has not
    looked at yet is marked as asked for, so the gate won't skip it. `waiting_again` (a member's ask on one photo:
    it waits for a retry, or its family's turn) marks a pending photo as asked for one by one, its attempts back to
    0. A photo not embedded (a model switch, a failed embedding) waits, marked, and is read once embedded: the
    readers take only embedded photos."""
    rows = {pk: (state, status, reason) for pk, state, status, reason in Photo.objects.select_for_update().filter(
        pk__in=list(photo_ids)).order_by("pk").values_list("pk", "ocr_status", "status", "ocr_reason")}
    busy = [Photo.OcrStatus.PROCESSING] if waiting_again else [Photo.OcrStatus.PENDING, Photo.OcrStatus.PROCESSING]
    waiting = [pk for pk, (state, _, _) in rows.items() if state in busy]
    read_already = [] if again else [pk for pk, (state, _, _) in rows.items() if state == Photo.OcrStatus.DONE]
    ids = [pk for pk in rows if pk not in waiting and pk not in read_already]
    not_looked_at = [pk for pk in waiting if rows[pk][0] == Photo.OcrStatus.PENDING and not rows[pk][2]]
    Photo.objects.filter(pk__in=not_looked_at).update(ocr_reason=OCR_REQUESTED)
    Photo.objects.filter(pk__in=ids).update(ocr_status=Photo.OcrStatus.PENDING, ocr_attempts=0,
                                            ocr_reason=OCR_REQUESTED)
    # An embedded photo the gate had not looked at waits to be read from now on, as those queued: readers for them.
    if any(rows[pk][1] == Photo.Status.READY for pk in ids + not_looked_at):
        transaction.on_commit(ocr_readers_start)
    return TextAsked(queued=ids, waiting=waiting, read_already=read_already)


def photos_text_request(*, photo_ids: Sequence[int]) -> int:
    """Read these photos' text whatever the gate said, read ones too and waiting ones again (the photo page's "Read
    text", `manage.py read_text`: a member asking for one photo again, whose task may be lost); returns how many
    were queued (photos_text_ask)."""
    return len(photos_text_ask(photo_ids=photo_ids, again=True, waiting_again=True).queued)


# --- reading -------------------------------------------------------------------------------------


def photos_read_text(*, photo_ids: Sequence[int] | None = None) -> OcrReport:
    """A reader's run (read_text_task): read the text of the next OCR_TASK_SIZE photos waiting (_next_to_read:
    families taking turns, each one's new photos first), one at a time, each claimed under a lease (kind "ocr") just
    before it is read, so a photo waiting meanwhile is read next and a worker killed holds one photo only (recovered
    once its lease runs out). Before each, give way while photos wait to be embedded. Each reading's time is recorded
    (TextReading). A failure is retried (the photo goes back to pending) up to OCR_MAX_ATTEMPTS, then the photo is
    marked failed; either way the other photos go on. `photo_ids`: read only these, as many as given (a benchmark's,
    a test's)."""
    report = OcrReport()
    if not settings.OCR_ENABLED:
        return report
    owner = leases.lease_owner()
    # Waiting for embedding must not run the task into django-q's timeout: past this, the photos left wait for the
    # next reader.
    stop_at = time.monotonic() + 0.8 * settings.Q_CLUSTER["timeout"]
    tried: set[int] = set()  # a photo whose reading failed waits for another reader's try, not this one's next
    with leases.LeaseHeartbeat(owner=owner, seconds=settings.LEASE_SECONDS):
        for _ in range(settings.OCR_TASK_SIZE if photo_ids is None else len(photo_ids)):
            _yield_to_embedding()
            if time.monotonic() > stop_at or cluster_stopping():  # the rest wait for the next reader
                break
            photo = _claim_next(owner=owner, photo_ids=photo_ids, tried=tried)
            if photo is None:
                break  # none waits (or every one is being read by another worker)
            tried.add(photo.pk)
            started = time.monotonic()
            try:
                image = photo_image(photo, max_side=settings.OCR_MAX_SIDE, for_text=True)
                text = read_text(image, min_confidence=settings.OCR_MIN_CONFIDENCE)
            except StorageUnavailable as exc:  # the photo is fine: it waits for the sweep, no attempt counted
                _wait(photo, str(exc), owner=owner)
                report.storage_down = True
                break  # the others would only wait for the same store
            except Exception as exc:  # noqa: BLE001 - any failure fails this photo only
                logger.warning("photo %s: OCR failed: %s", photo.pk, exc)
                _reading_record(photo, time.monotonic() - started, succeeded=False)
                _failed(photo, f"{type(exc).__name__}: {str(exc)[:200]}", report, owner=owner)
                continue
            _reading_record(photo, time.monotonic() - started)
            if _store(photo, text, owner=owner):
                report.done += 1
                report.texts[photo.pk] = text
            leases.leases_release(owner=owner, kind=leases.OCR, object_ids=[photo.pk])
    return report


def _reading_record(photo: Photo, seconds: float, *, succeeded: bool = True) -> None:
    TextReading.objects.create(photo_id=photo.pk, family_id=photo.family_id, seconds=seconds, succeeded=succeeded)


def _embedding_waits() -> bool:
    # Not a family's being deleted: its photos are never embedded (search.services._claimable), so never stop waiting.
    return photos_worked_on().filter(status__in=[Photo.Status.PENDING, Photo.Status.PROCESSING]).exists()


def _yield_to_embedding() -> None:
    deadline = time.monotonic() + YIELD_SECONDS
    while time.monotonic() < deadline and _embedding_waits() and not cluster_stopping():
        time.sleep(YIELD_POLL)


def _claim_next(*, owner: str, photo_ids: Sequence[int] | None, tried: set[int]) -> Photo | None:
    """The next photo to read (_next_to_read) but those `tried`, claimed for `owner`; None when none waits that
    nobody holds."""
    for photo_id in _next_to_read(photo_ids, tried):
        if photo := _claim(photo_id=photo_id, owner=owner):
            return photo
    return None


@transaction.atomic
def _claim(*, photo_id: int, owner: str) -> Photo | None:
    """The photo, leased to `owner` and marked being read (a try counted), if it still waits to be read and no other
    worker holds it."""
    photo = photos_to_read().select_for_update(skip_locked=True).filter(pk=photo_id).first()
    if photo is None or not leases.leases_acquire(kind=leases.OCR, object_ids=[photo.pk], owner=owner,
                                                  seconds=settings.LEASE_SECONDS):
        return None
    Photo.objects.filter(pk=photo.pk).update(ocr_status=Photo.OcrStatus.PROCESSING, ocr_attempts=F("ocr_attempts") + 1)
    photo.ocr_attempts += 1
    return photo


@transaction.atomic
def _store(photo: Photo, text: str, *, owner: str) -> bool:
    """Write the text if `owner` still holds the photo, and re-index its search document. A photo trashed while it
    was read keeps its text (all_objects), as the trash keeps the rest of it; its document comes back with it."""
    if not Photo.all_objects.select_for_update().filter(pk=photo.pk).exists():
        return False  # deleted for good meanwhile
    if not leases.leases_held(kind=leases.OCR, owner=owner, object_ids=[photo.pk]):
        return False  # its lease ran out and another worker took it: that worker's result counts
    Photo.all_objects.filter(pk=photo.pk).update(text_in_photo=text, ocr_status=Photo.OcrStatus.DONE, ocr_reason="")
    documents_refresh([photo.pk])
    return True


def _wait(photo: Photo, reason: str, *, owner: str) -> None:
    # _wait and _failed write through all_objects: a photo trashed while it was read waits in the trash (pending),
    # never left "being read" with no lease, which the recovery would count as a worker killed on it once restored.
    with transaction.atomic():
        if leases.leases_held(kind=leases.OCR, owner=owner, object_ids=[photo.pk]):
            Photo.all_objects.filter(pk=photo.pk).update(ocr_status=Photo.OcrStatus.PENDING, ocr_reason=reason,
                                                         ocr_attempts=F("ocr_attempts") - 1)
        leases.leases_release(owner=owner, kind=leases.OCR, object_ids=[photo.pk])


def _failed(photo: Photo, reason: str, report: OcrReport, *, owner: str) -> None:
    with transaction.atomic():
        held = leases.leases_held(kind=leases.OCR, owner=owner, object_ids=[photo.pk])
        if held and photo.ocr_attempts >= settings.OCR_MAX_ATTEMPTS:
            Photo.all_objects.filter(pk=photo.pk).update(ocr_status=Photo.OcrStatus.FAILED,
                                                         ocr_reason=f"Could not read the text: {reason}")
            report.failed += 1
        elif held:
            Photo.all_objects.filter(pk=photo.pk).update(ocr_status=Photo.OcrStatus.PENDING,
                                                         ocr_reason=f"Reading the text failed, will retry: {reason}")
            report.retry += 1
        leases.leases_release(owner=owner, kind=leases.OCR, object_ids=[photo.pk])


# --- the sweep -----------------------------------------------------------------------------------


def ocr_missing() -> int:
    """The sweep's share: photos a dead OCR worker left "being read" go back to pending (or to failed after
    OCR_MAX_ATTEMPTS), embedded photos not looked at yet go through the gate, and readers are queued while photos
    wait (a reader lost with its task, Redis's queue emptied); the readings but the newest READINGS_KEPT go. Returns
    how many photos the gate sent to be read."""
    if not settings.OCR_ENABLED:
        return 0
    _readings_prune()
    _release_abandoned()
    never_looked_at = list(photos_worked_on().filter(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PENDING,
                                                     ocr_reason="")
                           .order_by("pk").values_list("pk", flat=True)[: settings.EMBED_SWEEP_LIMIT])
    sent = ocr_after_embedding(never_looked_at)
    ocr_readers_start()
    return sent


def ocr_recover() -> int:
    """The every-minute share (with the embeddings' recovery): photos a dead OCR worker left "being read" go back to
    pending and readers are queued for them at once, not at the next sweep; returns how many went back."""
    if not settings.OCR_ENABLED:
        return 0
    released = _release_abandoned()
    transaction.on_commit(ocr_readers_start)
    return len(released)


def _readings_prune() -> int:
    """Delete the readings older than the newest READINGS_KEPT; returns how many went. (Rows are written as the
    reading ends, so their ids run in the order of their times.)"""
    older = TextReading.objects.order_by("-pk").values_list("pk", flat=True)[READINGS_KEPT:READINGS_KEPT + 1]
    return TextReading.objects.filter(pk__lte=older[0]).delete()[0] if older else 0


@transaction.atomic
def _release_abandoned() -> list[int]:
    """Photos whose OCR worker died (their lease ran out) back to pending, or failed after OCR_MAX_ATTEMPTS; returns
    the ids now pending."""
    abandoned = leases.leases_abandoned(photos_worked_on().filter(ocr_status=Photo.OcrStatus.PROCESSING),
                                        kind=leases.OCR, attempts="ocr_attempts",
                                        max_attempts=settings.OCR_MAX_ATTEMPTS)
    Photo.objects.filter(pk__in=abandoned.retry).update(ocr_status=Photo.OcrStatus.PENDING)
    Photo.objects.filter(pk__in=abandoned.give_up).update(
        ocr_status=Photo.OcrStatus.FAILED,
        ocr_reason=f"The worker stopped while reading this photo's text, {settings.OCR_MAX_ATTEMPTS} times.")
    return abandoned.retry
