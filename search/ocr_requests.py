"""Members asking for text to be read in many photos at once: the selection bar's "Read text" (gallery.bulk's action
"read_text", which search registers here: gallery can't import search), the Index page's "Read the N skipped photos",
and their API. Reading costs the OCR worker seconds a photo (as it measures: search.read_estimates), so every one of
them says what it costs, in words, and the Index page asks to confirm a request past CONFIRM_SECONDS before
it queues anything.

Any member may ask, as on the photo page: the bar lets any member queue BULK_MAX_PHOTOS at a time anyway, so keeping
the family's "all of them" to its admins would only make members press the bar again and again. What keeps the cost
in check: reading runs on its own queue and gives way to embedding (search.ocr), a family's "all of them" is read
after its photos asked for otherwise, families taking turns whatever they asked for (so it holds back nobody
else's), a photo waiting already is never queued twice, and a large request is confirmed with its cost in front of
the member.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction

from gallery.bulk import BulkInput, BulkResult, bulk_action
from gallery.models import Family, Photo
from gallery.selectors import family_get, photo_list
from gallery.services import member_family_ids_hold
from search.ocr import OCR_ASKED_WITH_FAMILY, OCR_OFF, ocr_readers_start, photos_text_ask
from search.read_estimates import ReadEstimate, worker_seconds, worker_time_words
from search.selectors import skipped_text_count, text_skipped_q

# The bar's answers for photos it had nothing to do with (ok: counted apart from the photos queued).
READ_ALREADY = "Its text was read already (tick “read ones too” to read it again)."
WAITING_ALREADY = "It is waiting to be read already."


def reading_switched_on() -> None:
    """ValidationError(OCR_OFF) with OCR_ENABLED off: no OCR worker runs, so queueing would promise what never
    happens (every way of asking says so instead)."""
    if not settings.OCR_ENABLED:
        raise ValidationError(OCR_OFF)


def _worker_time_note(queued: int) -> str:
    """What the bar's summary adds after "Text of 3 photos queued to be read."."""
    return f"That is {worker_time_words(worker_seconds(queued))} of the worker’s time." if queued else ""


def _read_text(*, user: AbstractBaseUser, data: BulkInput) -> list[BulkResult]:
    """The selection bar's "Read text": the ticked photos of the user's families (another family's id answers
    NOT_FOUND, as a missing one) are queued to have their text read whatever the gate said; one read already is
    left alone unless `again` was ticked, one waiting already is not queued twice. The user's memberships are held
    as by gallery.bulk's other actions (member_family_ids_hold): one removed meanwhile asks for nothing."""
    reading_switched_on()
    families = member_family_ids_hold(user=user, photo_ids=data.photo_ids)
    ids = list(photo_list(user=user).filter(pk__in=data.photo_ids, family_id__in=families)
               .values_list("pk", flat=True))
    asked = photos_text_ask(photo_ids=ids, again=data.again)
    return ([BulkResult(pk, True) for pk in asked.queued]
            + [BulkResult(pk, True, WAITING_ALREADY) for pk in asked.waiting]
            + [BulkResult(pk, True, READ_ALREADY) for pk in asked.read_already])


def read_text_action_register() -> None:
    """Offer "read_text" to gallery.bulk's selection bar and API (search.apps calls it at start-up)."""
    bulk_action("read_text", label="Text of {photos} queued to be read.", note=_worker_time_note)(_read_text)


@transaction.atomic
def family_skipped_read(*, family_id: int) -> int:
    """The Index page's "Read the N skipped photos" (and its API): mark the photos of the family (the caller checked
    the user is a member) the gate skipped as asked for with the family's (OCR_ASKED_WITH_FAMILY), in one UPDATE (a
    family may have 100,000s), and queue readers: they take these photos after the family's photos asked for
    otherwise, families taking turns. Returns how many were asked for; pressed twice, the second finds none skipped
    (its UPDATE waits on the first's rows)."""
    reading_switched_on()
    asked = Photo.objects.filter(text_skipped_q(), family_id=family_id).update(
        ocr_status=Photo.OcrStatus.PENDING, ocr_attempts=0, ocr_reason=OCR_ASKED_WITH_FAMILY)
    if asked:
        transaction.on_commit(ocr_readers_start)
    return asked


@dataclass(frozen=True)
class SkippedReadOutcome:
    """What asking for a family's skipped photos to be read did (family_skipped_read_ask)."""

    family: Family
    estimate: ReadEstimate  # the photos skipped when asked, and what reading them costs the worker
    asked: int  # photos asked for now: 0 when none is left, or when it waits to be confirmed
    to_confirm: bool  # past CONFIRM_SECONDS and not confirmed for this many photos: nothing asked for yet


def family_skipped_read_ask(*, user: AbstractBaseUser, family_id: int, confirmed: int | None) -> SkippedReadOutcome:
    """The Index page's "Read the N skipped photos" (any member; another family's id is Http404 as a missing one;
    ValidationError(OCR_OFF) with reading switched off). `confirmed`: the number of photos the member confirmed on
    the confirmation page (0 none yet: past CONFIRM_SECONDS it asks first; more skipped since asks again); None asks
    for no confirmation (the API, whose GET is the estimate)."""
    family = family_get(user=user, family_id=family_id)
    reading_switched_on()
    estimate = ReadEstimate(skipped_text_count(user=user, family_id=family.pk))
    if confirmed is not None and estimate.needs_confirming and confirmed < estimate.photos:
        return SkippedReadOutcome(family=family, estimate=estimate, asked=0, to_confirm=True)
    asked = family_skipped_read(family_id=family.pk) if estimate.photos else 0
    return SkippedReadOutcome(family=family, estimate=estimate, asked=asked, to_confirm=False)
