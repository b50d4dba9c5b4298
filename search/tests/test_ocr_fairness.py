"""The OCR worker serves families fairly: one family's "Read the N skipped photos" (hours of the worker's time) does
not hold back another family's new uploads, and several families' bulk asks take turns. Run as the worker runs the
OCR queue: its tasks one at a time, first queued first."""

from __future__ import annotations

import pytest
from django.utils.module_loading import import_string
from django_q.models import OrmQ
from django_q.signing import SignedPackage

from gallery.models import Photo
from search.ocr import ocr_after_embedding
from search.ocr_requests import family_skipped_read
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ocr_on(settings):
    settings.OCR_ENABLED = True
    settings.OCR_GATE = False  # every embedded photo is read (the toy model knows no signs)
    settings.OCR_TASK_SIZE = 2
    return settings


def skipped_in_bulk(family, user, n: int) -> list[int]:
    """n embedded photos whose text the gate skipped, made in one INSERT (copies of one factory photo, its files)."""
    first = photo_factory(family=family, user=user)
    Photo.objects.filter(pk=first.pk).update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.SKIPPED)
    copies = []
    for i in range(n - 1):
        photo = Photo.objects.get(pk=first.pk)
        photo.pk = photo.id = None
        photo.sha256 = f"{family.pk:08x}{i:056x}"
        copies.append(photo)
    Photo.objects.bulk_create(copies, batch_size=2000)
    return sorted([first.pk, *(p.pk for p in copies)])


def run_next_ocr_task(settings) -> bool:
    """What the OCR worker does next: take the first task queued on its queue and run it; False when none waits."""
    row = OrmQ.objects.filter(key=settings.OCR_CLUSTER).order_by("id").first()
    if row is None:
        return False
    task = SignedPackage.loads(row.payload)
    row.delete()
    import_string(task["func"])(*task["args"], **task["kwargs"])
    return True


def text_read(photo_ids) -> int:
    return Photo.objects.filter(pk__in=list(photo_ids), ocr_status=Photo.OcrStatus.DONE).count()


def test_a_new_upload_is_read_within_a_chunk_or_two_of_another_familys_bulk_ask(
        ocr_on, family, alice, other_family, mallory, django_capture_on_commit_callbacks):
    asked = skipped_in_bulk(family, alice, 2000)
    with django_capture_on_commit_callbacks(execute=True):
        assert family_skipped_read(family_id=family.pk) == 2000
    assert run_next_ocr_task(ocr_on)  # the worker starts on the Smiths' ask

    uploaded = photo_factory(family=other_family, user=mallory)  # then the Joneses upload a photo, embedded
    Photo.objects.filter(pk=uploaded.pk).update(status=Photo.Status.READY)
    with django_capture_on_commit_callbacks(execute=True):
        ocr_after_embedding([uploaded.pk])

    for _ in range(2):
        assert run_next_ocr_task(ocr_on)
    assert Photo.objects.get(pk=uploaded.pk).ocr_status == Photo.OcrStatus.DONE
    assert text_read(asked) <= 3 * ocr_on.OCR_TASK_SIZE  # the Smiths' 2,000 were not read first


def test_bulk_asks_of_several_families_take_turns_and_a_killed_reader_loses_nothing_and_reads_nothing_twice(
        ocr_on, family, alice, other_family, mallory, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from search.models import TextReading, WorkLease
    from search.ocr import _claim_next
    from search.tasks import photos_recover_task
    from tests.queue import run_queued_tasks

    ocr_on.OCR_TASK_SIZE = 4
    smiths, joneses = skipped_in_bulk(family, alice, 5), skipped_in_bulk(other_family, mallory, 4)
    with django_capture_on_commit_callbacks(execute=True):
        family_skipped_read(family_id=family.pk)
        family_skipped_read(family_id=other_family.pk)
    held = _claim_next(owner="killed:1:ocr", photo_ids=None, tried=set())  # a worker took one, then was killed
    assert held.pk == smiths[0]
    # Its lease runs out (till then the Smiths count as being read: the Joneses' turn), the recovery not run yet.
    WorkLease.objects.filter(owner="killed:1:ocr").update(expires_at=timezone.now() - timedelta(seconds=1))

    assert run_next_ocr_task(ocr_on)  # one reader: 4 photos, the families taking turns
    turns = list(TextReading.objects.order_by("pk").values_list("family_id", flat=True))
    assert turns in ([other_family.pk, family.pk] * 2, [family.pk, other_family.pk] * 2), turns

    with django_capture_on_commit_callbacks(execute=True):
        photos_recover_task()  # the every-minute recovery
    run_queued_tasks(cluster=ocr_on.OCR_CLUSTER)
    assert text_read(smiths + joneses) == 9
    readings = list(TextReading.objects.values_list("photo_id", flat=True))
    assert sorted(readings) == sorted(smiths + joneses)  # each read once, the killed worker's photo too


def test_a_familys_many_photos_asked_for_through_the_bar_do_not_starve_another_familys_family_wide_ask(
        ocr_on, family, alice, other_family, mallory, django_capture_on_commit_callbacks):
    """The selection bar (and its API) asks for photos one by one (OCR_REQUESTED, as new uploads), 500 a press: the
    Smiths ticking all their skipped photos, press after press, held back the Joneses' "Read the N skipped photos"
    for as long as they kept pressing. Families take turns first; the kind of ask orders a family's own photos."""
    from search.ocr import photos_text_ask

    smiths = skipped_in_bulk(family, alice, 12)
    joneses = skipped_in_bulk(other_family, mallory, 1)
    with django_capture_on_commit_callbacks(execute=True):
        photos_text_ask(photo_ids=smiths, again=False)  # what the bar's "Read text" does with the ticked photos
        family_skipped_read(family_id=other_family.pk)
    while Photo.objects.get(pk=joneses[0]).ocr_status != Photo.OcrStatus.DONE and run_next_ocr_task(ocr_on):
        pass
    assert text_read(joneses) == 1
    assert text_read(smiths) <= 1, f"the Joneses' photo waited for {text_read(smiths)} of the Smiths'"


def test_a_familys_new_upload_is_read_before_the_rest_of_its_own_family_wide_ask(
        ocr_on, family, alice, django_capture_on_commit_callbacks):
    from search.models import TextReading

    asked = skipped_in_bulk(family, alice, 10)
    with django_capture_on_commit_callbacks(execute=True):
        family_skipped_read(family_id=family.pk)
    assert run_next_ocr_task(ocr_on)  # the worker starts on the ask

    uploaded = photo_factory(family=family, user=alice)  # then the Smiths upload a photo, embedded
    Photo.objects.filter(pk=uploaded.pk).update(status=Photo.Status.READY)
    with django_capture_on_commit_callbacks(execute=True):
        ocr_after_embedding([uploaded.pk])
    assert run_next_ocr_task(ocr_on)

    read = list(TextReading.objects.order_by("pk").values_list("photo_id", flat=True))
    assert read[:ocr_on.OCR_TASK_SIZE] == asked[:ocr_on.OCR_TASK_SIZE]
    assert read[ocr_on.OCR_TASK_SIZE] == uploaded.pk  # the next reader's first photo


def test_the_sweep_keeps_the_newest_readings_only(ocr_on, family):
    from search.models import TextReading
    from search.ocr import ocr_missing
    from search.read_estimates import READINGS_KEPT

    TextReading.objects.bulk_create([TextReading(photo_id=n, family_id=family.pk, seconds=n)
                                     for n in range(READINGS_KEPT + 2)])
    ocr_missing()
    assert sorted(TextReading.objects.values_list("seconds", flat=True)) == list(range(2, READINGS_KEPT + 2))


def test_a_photo_that_killed_its_worker_max_times_is_not_claimed_again_but_marked_failed_by_the_recovery(
        ocr_on, family, alice, django_capture_on_commit_callbacks):
    """Readers took a photo whose reader died (its lease ran out) without counting its tries, before the every-minute
    recovery could mark it failed: a photo that kills its worker was read, and killed it, without end."""
    from datetime import timedelta

    from django.utils import timezone

    from search.leases import OCR
    from search.models import WorkLease
    from search.ocr import OCR_QUEUED, _claim_next
    from search.tasks import photos_recover_task

    photo = photo_factory(family=family, user=alice)
    Photo.objects.filter(pk=photo.pk).update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PROCESSING,
                                             ocr_reason=OCR_QUEUED, ocr_attempts=ocr_on.OCR_MAX_ATTEMPTS)
    WorkLease.objects.create(kind=OCR, object_id=photo.pk, owner="killed:1:ocr",
                             expires_at=timezone.now() - timedelta(seconds=1))

    claimed = _claim_next(owner="next:2:ocr", photo_ids=None, tried=set())
    assert claimed is None, f"claimed again, try {claimed.ocr_attempts} of {ocr_on.OCR_MAX_ATTEMPTS}"
    with django_capture_on_commit_callbacks(execute=True):
        photos_recover_task()
    assert Photo.objects.get(pk=photo.pk).ocr_status == Photo.OcrStatus.FAILED


def test_a_reader_queued_by_the_previous_version_reads_the_photos_it_carries(ocr_on, family, alice,
                                                                              django_capture_on_commit_callbacks):
    """The previous version left the photos the gate passed pending without a reason and queued
    read_text_task([ids]); after the upgrade that task runs, and the photos it carries are read, not left pending."""
    from search.tasks import read_text_task

    photo = photo_factory(family=family, user=alice)
    skipped = photo_factory(family=family, user=alice)
    Photo.objects.filter(pk=photo.pk).update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PENDING,
                                             ocr_reason="")
    Photo.objects.filter(pk=skipped.pk).update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.SKIPPED)

    with django_capture_on_commit_callbacks(execute=True):
        read_text_task([photo.pk, skipped.pk])  # the old task, redelivered after the upgrade

    assert Photo.objects.get(pk=photo.pk).ocr_status == Photo.OcrStatus.DONE
    assert Photo.objects.get(pk=skipped.pk).ocr_status == Photo.OcrStatus.SKIPPED  # only those waiting are read
