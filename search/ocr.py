"""Text in photos (OCR): which photos to read (the gate), reading them as tasks on their own queue, and the
sweep's share of that work.

A photo's OCR state (Photo.ocr_status): pending (not looked at yet, or waiting to be read) → skipped (the gate
saw no text-bearing concept in it), or processing → done (text_in_photo set, "" when nothing was found) or,
after OCR_MAX_ATTEMPTS failures, failed. Only embedded photos are looked at, after their embedding is stored:
the gate needs the embedding, and OCR (seconds per photo on a CPU) must never delay embedding. The OCR tasks
go to their own django-q2 cluster (settings.OCR_CLUSTER) and, before each photo, give way while photos wait
to be embedded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from gallery.files import StorageUnavailable, photo_image
from gallery.models import Photo
from gallery.selectors import photos_of_families_being_deleted, photos_worked_on
from mediasearch.cluster import cluster_stopping
from search import leases
from search.embedder import ModelUnavailable, get_embedder
from search.metadata import documents_refresh
from search.models import PhotoEmbedding
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


# The reason of a photo a member asked to have read ("Read text", `manage.py read_text`) while it waits: a pending
# photo with a reason (this one, or a failed try's) is to be read whatever the gate says. Only a pending photo
# without one was never looked at.
OCR_REQUESTED = "Asked for by a member: waiting to be read."
# The reason of a photo asked for with its family's skipped photos (the Index page's button) and not queued yet: the
# one task that queues them (ocr_enqueue_asked) takes only these and sets OCR_REQUESTED on those it queued, so a
# second press queues only what the first did not.
OCR_REQUESTED_NOT_QUEUED = "Asked for by a member with the family's skipped photos: waiting to be read."
# What every way of asking to read a photo's text (page, index page, API, `manage.py read_text`) answers with
# OCR_ENABLED off: no OCR worker runs, so queueing would promise what never happens.
OCR_OFF = "Reading text in photos is switched off on this server (OCR_ENABLED)."


def ocr_after_embedding(photo_ids: Sequence[int]) -> int:
    """The embedded photos whose text is not read yet: those asked for or already tried are queued, the others go
    through the gate (skipped when it turns them away, else queued). Returns how many photos were queued. Called
    once their embeddings are committed, and by the sweep."""
    if not settings.OCR_ENABLED or not photo_ids:
        return 0
    waiting = list(Photo.objects.filter(pk__in=list(photo_ids), status=Photo.Status.READY,
                                        ocr_status=Photo.OcrStatus.PENDING).values_list("pk", "ocr_reason"))
    if not waiting:
        return 0
    decided = [pk for pk, reason in waiting if reason]
    if any(reason == OCR_REQUESTED_NOT_QUEUED for _, reason in waiting):  # queued here, not by ocr_enqueue_asked
        Photo.objects.filter(pk__in=decided, ocr_reason=OCR_REQUESTED_NOT_QUEUED).update(ocr_reason=OCR_REQUESTED)
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
    ocr_enqueue(read + decided)
    return len(read) + len(decided)


# --- queueing ------------------------------------------------------------------------------------


def ocr_enqueue(photo_ids: Sequence[int]) -> int:
    """Queue OCR tasks on the OCR cluster's own queue, OCR_TASK_SIZE photos each; returns how many tasks."""
    from mediasearch.task_queue import enqueue

    ids, chunk = list(photo_ids), settings.OCR_TASK_SIZE
    for start in range(0, len(ids), chunk):
        enqueue("search.tasks.read_text_task", ids[start:start + chunk],
                q_options={"group": "ocr", "cluster": settings.OCR_CLUSTER, "timeout": settings.Q_CLUSTER["timeout"]})
    return (len(ids) + chunk - 1) // chunk


# Ids read a page at a time by ocr_enqueue_asked (so many OCR_TASK_SIZE chunks; a family may have 100,000s).
ASKED_PAGE = 2000


def ocr_enqueue_asked(*, family_id: int) -> int:
    """The worker's share of the Index page's "Read the N skipped photos" (read_asked_text_task): queue the family's
    embedded photos asked for and not queued yet (OCR_REQUESTED_NOT_QUEUED), OCR_TASK_SIZE a task, a page of ids at a
    time, each page marked queued (OCR_REQUESTED) as it is; returns how many tasks. Photos not embedded keep the mark
    and are queued once embedded (ocr_after_embedding)."""
    tasks = 0
    while page := _asked_page_take(family_id=family_id):
        tasks += ocr_enqueue(page)
    return tasks


@transaction.atomic
def _asked_page_take(*, family_id: int) -> list[int]:
    """ASKED_PAGE ids of the family's embedded photos asked for and not queued yet, marked queued (OCR_REQUESTED);
    rows another task holds are skipped, so two such tasks at once queue each photo once."""
    page = list(photos_worked_on().select_for_update(skip_locked=True).filter(
        family_id=family_id, status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PENDING,
        ocr_reason=OCR_REQUESTED_NOT_QUEUED).order_by("pk").values_list("pk", flat=True)[:ASKED_PAGE])
    Photo.objects.filter(pk__in=page).update(ocr_reason=OCR_REQUESTED)
    return page


def ocr_enqueue_asked_later(family_id: int) -> None:
    """Queue one task on the OCR queue that queues the family's photos asked for (ocr_enqueue_asked): a web request
    marks 100,000s of photos in one UPDATE but can't insert their task rows in time."""
    from mediasearch.task_queue import enqueue

    enqueue("search.tasks.read_asked_text_task", family_id,
            q_options={"group": "ocr", "cluster": settings.OCR_CLUSTER, "timeout": settings.Q_CLUSTER["timeout"]})


def ocr_queue_size() -> int:
    from django_q.brokers import get_broker

    return get_broker(settings.OCR_CLUSTER).queue_size()


@dataclass(frozen=True)
class TextAsked:
    """What a request to read photos' text did with each photo (photos_text_ask)."""

    queued: list[int]  # queued now (OCR_TASK_SIZE photos a task, on the OCR queue)
    waiting: list[int]  # waiting to be read already, or being read now: not queued a second time
    read_already: list[int]  # their text was read, and reading it again was not asked for


@transaction.atomic
def photos_text_ask(*, photo_ids: Sequence[int], again: bool, waiting_again: bool = False) -> TextAsked:
    """Read these photos' text whatever the gate said (skipped, failed; `again`: read ones too). A photo being read
    now is never queued again, nor, unless `waiting_again`, one waiting to be read already (pending), so a request
    sent twice (two tabs, a double click, a script retried) queues each photo once; a pending one the gate has not
    looked at yet is marked as asked for, so the gate won't skip it. `waiting_again` (a member's ask on one photo:
    its task may be lost, or it waits for a retry) queues a pending photo again, its attempts back to 0. A photo not
    embedded (a model switch, a failed embedding) is marked and queued once embedded (ocr_after_embedding): the
    worker reads only embedded photos."""
    rows = {pk: (state, status) for pk, state, status in Photo.objects.select_for_update().filter(
        pk__in=list(photo_ids)).order_by("pk").values_list("pk", "ocr_status", "status")}
    busy = [Photo.OcrStatus.PROCESSING] if waiting_again else [Photo.OcrStatus.PENDING, Photo.OcrStatus.PROCESSING]
    waiting = [pk for pk, (state, _) in rows.items() if state in busy]
    read_already = [] if again else [pk for pk, (state, _) in rows.items() if state == Photo.OcrStatus.DONE]
    ids = [pk for pk in rows if pk not in waiting and pk not in read_already]
    Photo.objects.filter(pk__in=waiting, ocr_status=Photo.OcrStatus.PENDING, ocr_reason="").update(
        ocr_reason=OCR_REQUESTED)
    Photo.objects.filter(pk__in=ids).update(ocr_status=Photo.OcrStatus.PENDING, ocr_attempts=0,
                                            ocr_reason=OCR_REQUESTED)
    embedded = [pk for pk in ids if rows[pk][1] == Photo.Status.READY]
    if embedded:
        transaction.on_commit(lambda: ocr_enqueue(embedded))
    return TextAsked(queued=ids, waiting=waiting, read_already=read_already)


def photos_text_request(*, photo_ids: Sequence[int]) -> int:
    """Read these photos' text whatever the gate said, read ones too and waiting ones again (the photo page's "Read
    text", `manage.py read_text`: a member asking for one photo again, whose task may be lost); returns how many
    were queued (photos_text_ask)."""
    return len(photos_text_ask(photo_ids=photo_ids, again=True, waiting_again=True).queued)


# --- reading -------------------------------------------------------------------------------------


def photos_read_text(*, photo_ids: Sequence[int]) -> OcrReport:
    """Read the text of these photos, one at a time, each under a lease (kind "ocr"); before each, give way
    while photos wait to be embedded. A failure is retried (the photo goes back to pending for the sweep) up
    to OCR_MAX_ATTEMPTS, then the photo is marked failed; either way the other photos go on."""
    report = OcrReport()
    if not settings.OCR_ENABLED:
        return report
    owner = leases.lease_owner()
    # Waiting for embedding must not run the task into django-q's timeout: past this, the photos left stay
    # pending and the sweep queues them again.
    stop_at = time.monotonic() + 0.8 * settings.Q_CLUSTER["timeout"]
    with leases.LeaseHeartbeat(owner=owner, seconds=settings.LEASE_SECONDS):
        for photo_id in photo_ids:
            _yield_to_embedding()
            if time.monotonic() > stop_at or cluster_stopping():  # the rest stay pending: the sweep queues them
                break
            photo = _claim(photo_id=photo_id, owner=owner)
            if photo is None:
                continue  # read already, being read by another worker, or gone
            try:
                image = photo_image(photo, max_side=settings.OCR_MAX_SIDE, for_text=True)
                text = read_text(image, min_confidence=settings.OCR_MIN_CONFIDENCE)
            except StorageUnavailable as exc:  # the photo is fine: it waits for the sweep, no attempt counted
                _wait(photo, str(exc), owner=owner)
                break  # the others would only wait for the same store
            except Exception as exc:  # noqa: BLE001 - any failure fails this photo only
                logger.warning("photo %s: OCR failed: %s", photo.pk, exc)
                _failed(photo, f"{type(exc).__name__}: {str(exc)[:200]}", report, owner=owner)
                continue
            if _store(photo, text, owner=owner):
                report.done += 1
                report.texts[photo.pk] = text
            leases.leases_release(owner=owner, kind=leases.OCR, object_ids=[photo.pk])
    return report


def _embedding_waits() -> bool:
    # Not a family's being deleted: its photos are never embedded (search.services._claimable), so never stop waiting.
    return photos_worked_on().filter(status__in=[Photo.Status.PENDING, Photo.Status.PROCESSING]).exists()


def _yield_to_embedding() -> None:
    deadline = time.monotonic() + YIELD_SECONDS
    while time.monotonic() < deadline and _embedding_waits() and not cluster_stopping():
        time.sleep(YIELD_POLL)


def _claimable() -> Q:
    return Q(status=Photo.Status.READY) & ~photos_of_families_being_deleted() & (
        Q(ocr_status=Photo.OcrStatus.PENDING)
        | (Q(ocr_status=Photo.OcrStatus.PROCESSING) & ~leases.live_lease(leases.OCR)))


@transaction.atomic
def _claim(*, photo_id: int, owner: str) -> Photo | None:
    photo = Photo.objects.select_for_update(skip_locked=True).filter(_claimable(), pk=photo_id).first()
    if photo is None or not leases.leases_acquire(kind=leases.OCR, object_ids=[photo.pk], owner=owner,
                                                  seconds=settings.LEASE_SECONDS):
        return None
    Photo.objects.filter(pk=photo.pk).update(ocr_status=Photo.OcrStatus.PROCESSING, ocr_attempts=F("ocr_attempts") + 1)
    photo.ocr_attempts += 1
    return photo


@transaction.atomic
def _store(photo: Photo, text: str, *, owner: str) -> bool:
    """Write the text if `owner` still holds the photo, and re-index its search document."""
    if not Photo.objects.select_for_update().filter(pk=photo.pk).exists():
        return False
    if not leases.leases_held(kind=leases.OCR, owner=owner, object_ids=[photo.pk]):
        return False  # its lease ran out and another worker took it: that worker's result counts
    Photo.objects.filter(pk=photo.pk).update(text_in_photo=text, ocr_status=Photo.OcrStatus.DONE, ocr_reason="")
    documents_refresh([photo.pk])
    return True


def _wait(photo: Photo, reason: str, *, owner: str) -> None:
    with transaction.atomic():
        if leases.leases_held(kind=leases.OCR, owner=owner, object_ids=[photo.pk]):
            Photo.objects.filter(pk=photo.pk).update(ocr_status=Photo.OcrStatus.PENDING, ocr_reason=reason,
                                                     ocr_attempts=F("ocr_attempts") - 1)
        leases.leases_release(owner=owner, kind=leases.OCR, object_ids=[photo.pk])


def _failed(photo: Photo, reason: str, report: OcrReport, *, owner: str) -> None:
    with transaction.atomic():
        held = leases.leases_held(kind=leases.OCR, owner=owner, object_ids=[photo.pk])
        if held and photo.ocr_attempts >= settings.OCR_MAX_ATTEMPTS:
            Photo.objects.filter(pk=photo.pk).update(ocr_status=Photo.OcrStatus.FAILED,
                                                     ocr_reason=f"Could not read the text: {reason}")
            report.failed += 1
        elif held:
            Photo.objects.filter(pk=photo.pk).update(ocr_status=Photo.OcrStatus.PENDING,
                                                     ocr_reason=f"Reading the text failed, will retry: {reason}")
            report.retry += 1
        leases.leases_release(owner=owner, kind=leases.OCR, object_ids=[photo.pk])


# --- the sweep -----------------------------------------------------------------------------------


def ocr_missing() -> int:
    """The sweep's share: photos a dead OCR worker left "being read" go back to pending (or to failed after
    OCR_MAX_ATTEMPTS), embedded photos not looked at yet go through the gate, and, when the OCR queue is
    empty, photos still waiting to be read are queued again (not while it holds work: a backlog of hours
    would otherwise be queued again at every sweep). Returns how many photos were queued."""
    if not settings.OCR_ENABLED:
        return 0
    _release_abandoned()
    waiting = list(photos_worked_on().filter(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PENDING)
                   .order_by("pk").values_list("pk", flat=True)[: settings.EMBED_SWEEP_LIMIT])
    if not waiting or ocr_queue_size():
        return 0
    return ocr_after_embedding(waiting)


def ocr_recover() -> int:
    """The every-minute share (with the embeddings' recovery): photos a dead OCR worker left "being read" go back to
    pending and are queued again at once, not at the next sweep; returns how many."""
    if not settings.OCR_ENABLED:
        return 0
    released = _release_abandoned()
    transaction.on_commit(lambda: ocr_enqueue(released))
    return len(released)


@transaction.atomic
def _release_abandoned() -> list[int]:
    """Photos whose OCR worker died (their lease ran out) back to pending, or failed after OCR_MAX_ATTEMPTS; returns
    the ids now pending."""
    stuck = leases.leases_abandoned(photos_worked_on().filter(ocr_status=Photo.OcrStatus.PROCESSING), kind=leases.OCR,
                                    attempts="ocr_attempts")
    retry = [pk for pk, n in stuck if n < settings.OCR_MAX_ATTEMPTS]
    Photo.objects.filter(pk__in=retry).update(ocr_status=Photo.OcrStatus.PENDING)
    Photo.objects.filter(pk__in=[pk for pk, n in stuck if n >= settings.OCR_MAX_ATTEMPTS]).update(
        ocr_status=Photo.OcrStatus.FAILED,
        ocr_reason=f"The worker stopped while reading this photo's text, {settings.OCR_MAX_ATTEMPTS} times.")
    return retry
