"""Two members (or two tabs) asking for the same photos' text at once queue each photo once: photos_text_ask locks
the photos' rows, the Index page's button marks them in one UPDATE."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from gallery.models import Photo
from search.ocr import photos_text_ask
from search.ocr_requests import family_skipped_read
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db(transaction=True)


def at_once(first_ask, second_ask) -> dict:
    """Run first_ask in a transaction held open 1.5 s after it answered, and second_ask meanwhile; their answers."""
    asked, out = threading.Event(), {}

    def first():
        try:
            with transaction.atomic():
                out["first"] = first_ask()
                asked.set()
                time.sleep(1.5)
        finally:
            asked.set()
            connection.close()

    def second():
        try:
            asked.wait()
            out["second"] = second_ask()
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def skipped(family, user, n: int) -> list[int]:
    ids = [photo_factory(family=family, user=user).pk for _ in range(n)]
    Photo.objects.filter(pk__in=ids).update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.SKIPPED)
    return sorted(ids)


def test_the_bar_pressed_in_two_tabs_at_once_queues_each_photo_once(family, alice, settings):
    settings.OCR_ENABLED = True
    ids = skipped(family, alice, 3)
    out = at_once(lambda: photos_text_ask(photo_ids=ids, again=False),
                  lambda: photos_text_ask(photo_ids=ids, again=False))
    assert out["first"].queued == ids
    assert out["second"].queued == [] and out["second"].waiting == ids


def test_the_index_pages_button_pressed_twice_at_once_asks_for_each_photo_once(family, alice, settings):
    settings.OCR_ENABLED = True
    skipped(family, alice, 3)
    out = at_once(lambda: family_skipped_read(family_id=family.pk), lambda: family_skipped_read(family_id=family.pk))
    assert out == {"first": 3, "second": 0}
