"""A real django-q2 cluster is killed mid-batch and restarted: every photo still ends ready, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection

from gallery.models import Photo
from mediasearch.db import database_url
from search.models import PhotoEmbedding

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = 120


def _start_cluster(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _stop(cluster: subprocess.Popen) -> None:
    cluster.terminate()  # the cluster's own graceful shutdown
    try:
        cluster.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(cluster.pid, signal.SIGKILL)  # and nothing of it outlives the test
    except ProcessLookupError:
        pass
    cluster.wait()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.django_db(transaction=True)
def test_killing_the_worker_mid_batch_loses_nothing_and_duplicates_nothing(toy_model, add_shape, tmp_path):
    # Each add commits on its own, so the search app queues one task per photo, as for uploads.
    photos = [add_shape(("red", "blue", "green")[i % 3], ("circle", "square")[i % 2]) for i in range(PHOTOS)]

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": database_url(socket_dir=db["HOST"], name=db["NAME"]),
        "MEDIA_ROOT": str(django_settings.STORAGES["default"]["OPTIONS"]["location"]),
        "SEARCH_MODEL": toy_model,
        "SEARCH_BATCH_SIZE": "2",
        "EMBED_TASK_SIZE": "8",
        "Q_WORKERS": "1",
        "Q_TIMEOUT": "3",  # a task may run 3 s; a delivered-but-unacknowledged one comes back after 4 s
        "Q_RETRY": "4",
    }
    ready = lambda: Photo.objects.filter(status=Photo.Status.READY).count()  # noqa: E731

    cluster = _start_cluster(env)
    try:
        _wait_for(lambda: ready() >= 4, 60, "the first photos to be embedded")
    finally:
        os.killpg(cluster.pid, signal.SIGKILL)  # no goodbye: worker and its children die mid-task
        cluster.wait()
    assert ready() < PHOTOS, "the cluster finished before it could be killed; the test proves nothing"

    cluster = _start_cluster(env)
    try:
        _wait_for(lambda: ready() == PHOTOS, 120, "every photo to be ready after the restart")
    finally:
        _stop(cluster)

    assert PhotoEmbedding.objects.count() == PHOTOS
    assert set(PhotoEmbedding.objects.values_list("photo_id", flat=True)) == {p.pk for p in photos}
