"""Leases: a photo whose worker died is retried about a lease after; a photo a live worker holds is never taken."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from gallery.models import Photo
from search import leases
from search.models import PhotoEmbedding, WorkLease
from search.services import embed_missing, photos_claim, photos_recover
from tests.queue import run_queued_tasks


def _expire(owner: str) -> None:
    """What time does to a dead worker's leases: nobody renews them."""
    WorkLease.objects.filter(owner=owner).update(expires_at=timezone.now() - timedelta(seconds=1))


@pytest.mark.django_db
def test_a_photo_a_live_worker_elsewhere_holds_is_never_taken_however_long_it_runs(toy_model, add_shape):
    photo = add_shape("red", "circle")
    other_machine = "elsewhere:4242:abc"
    assert photos_claim(photo_ids=[photo.pk], owner=other_machine) == [photo]
    # Its task has run for a day (far beyond Q_TIMEOUT) but still renews its lease: it is alive.
    Photo.objects.filter(pk=photo.pk).update(status_changed_at=timezone.now() - timedelta(days=1))

    assert photos_claim(photo_ids=[photo.pk], owner="here:1:def", fill_to=10) == []
    assert photos_recover() == 0
    embed_missing()

    photo.refresh_from_db()
    assert photo.status == Photo.Status.PROCESSING
    assert WorkLease.objects.get(kind=leases.EMBED, object_id=photo.pk).owner == other_machine


@pytest.mark.django_db
def test_a_dead_workers_photo_is_requeued_once_its_lease_runs_out_and_then_embedded_once(
    toy_model, add_shape, django_capture_on_commit_callbacks
):
    photo = add_shape("blue", "square")
    dead = "crashed:99:abc"
    photos_claim(photo_ids=[photo.pk], owner=dead)
    assert photos_recover() == 0, "its lease still runs: the worker may be alive"

    _expire(dead)
    assert photos_claim(photo_ids=[], owner="other:1:x", fill_to=0) == []  # nothing asked for, nothing taken
    with django_capture_on_commit_callbacks(execute=True):
        assert photos_recover() == 1
    photo.refresh_from_db()
    assert photo.status == Photo.Status.PENDING
    assert not WorkLease.objects.filter(object_id=photo.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        assert photos_recover() == 0  # nothing is queued twice
    assert run_queued_tasks() == 1
    photo.refresh_from_db()
    assert photo.status == Photo.Status.READY
    assert PhotoEmbedding.objects.filter(photo=photo).count() == 1
    assert not WorkLease.objects.exists(), "a finished task releases its leases"


@pytest.mark.django_db
def test_an_expired_lease_is_claimable_by_the_next_task_right_away(add_shape):
    photo = add_shape("green", "circle")
    photos_claim(photo_ids=[photo.pk], owner="crashed:99:abc")
    _expire("crashed:99:abc")

    assert photos_claim(photo_ids=[], owner="next:1:x", fill_to=4) == [photo]
    assert WorkLease.objects.get(object_id=photo.pk).owner == "next:1:x"
    assert leases.leases_held(kind=leases.EMBED, object_ids=[photo.pk], owner="crashed:99:abc") == set()


@pytest.mark.django_db
def test_a_photo_that_keeps_killing_its_worker_ends_failed_with_a_reason(add_shape, settings):
    photo = add_shape("red", "square")
    for attempt in range(settings.EMBED_MAX_ATTEMPTS):
        assert photos_claim(photo_ids=[photo.pk], owner=f"crashed:{attempt}:abc") == [photo]
        _expire(f"crashed:{attempt}:abc")
    photos_recover()
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED
    assert "worker stopped while embedding" in photo.status_reason


@pytest.mark.django_db
def test_a_photo_that_killed_its_worker_as_often_as_allowed_is_not_claimed_again_but_failed(add_shape, settings):
    """A photo that crashes the process embedding it (a decoder's segfault, memory) was taken again by the next task
    once its lease ran out, its try counted past EMBED_MAX_ATTEMPTS, as long as a task came before the every-minute
    recovery: the worker went down with it again and again. Past the limit only the recovery takes it, to fail it."""
    photo = add_shape("red", "square")
    for attempt in range(settings.EMBED_MAX_ATTEMPTS):
        assert photos_claim(photo_ids=[photo.pk], owner=f"crashed:{attempt}:abc") == [photo]
        _expire(f"crashed:{attempt}:abc")

    assert photos_claim(photo_ids=[photo.pk], owner="next:1:x", fill_to=4) == []
    photo.refresh_from_db()
    assert photo.embed_attempts == settings.EMBED_MAX_ATTEMPTS
    photos_recover()
    photo.refresh_from_db()
    assert photo.status == Photo.Status.FAILED


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_keeps_a_running_tasks_leases_alive_then_releases_them():
    owner = leases.lease_owner()
    assert leases.leases_acquire(kind="test", object_ids=[1, 2], owner=owner, seconds=1) == {1, 2}
    with leases.LeaseHeartbeat(owner=owner, seconds=1):
        time.sleep(2.5)  # more than twice the lease
        assert leases.leases_acquire(kind="test", object_ids=[1, 2, 3], owner="intruder", seconds=1) == {3}
    assert set(WorkLease.objects.values_list("owner", flat=True)) == {"intruder"}


@pytest.mark.django_db
def test_the_recovery_runs_every_minute():
    schedule = Schedule.objects.get(func="search.tasks.photos_recover_task")
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)


@pytest.mark.django_db
def test_the_admin_lists_who_holds_what(admin_client, add_shape):
    photo = add_shape("red", "circle")
    photos_claim(photo_ids=[photo.pk], owner="elsewhere:4242:abc")
    response = admin_client.get(reverse("admin:search_worklease_changelist"))
    assert response.status_code == 200
    assert "elsewhere:4242:abc" in response.content.decode()


@pytest.mark.django_db
def test_a_photo_a_killed_ocr_worker_was_reading_is_queued_again_by_the_every_minute_recovery(
        add_shape, settings, django_capture_on_commit_callbacks):
    """It stayed "processing" until the next sweep (up to 5 minutes), and the photos queued behind it in the dead
    worker's task longer still; now it is back within a minute of its lease running out, like an embedding."""
    from django_q.models import OrmQ

    from search.ocr import OCR_QUEUED, _claim
    from search.tasks import photos_recover_task

    settings.OCR_ENABLED = True
    photo = add_shape("red", "circle")
    Photo.objects.filter(pk=photo.pk).update(status=Photo.Status.READY, ocr_reason=OCR_QUEUED)
    dead = "killed:98:ocr"
    assert _claim(photo_id=photo.pk, owner=dead) is not None
    with django_capture_on_commit_callbacks(execute=True):
        photos_recover_task()
    assert Photo.objects.get(pk=photo.pk).ocr_status == Photo.OcrStatus.PROCESSING  # its lease still runs

    _expire(dead)
    OrmQ.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        photos_recover_task()

    assert Photo.objects.get(pk=photo.pk).ocr_status == Photo.OcrStatus.PENDING
    assert OrmQ.objects.filter(key=settings.OCR_CLUSTER).count() == 1  # read again now, not at the next sweep
