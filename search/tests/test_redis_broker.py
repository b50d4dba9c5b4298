"""The task queue on Redis (Q_BROKER=redis://…) instead of the database: photos imported by one process are
embedded by a real worker cluster that takes its tasks from a real redis-server, become searchable, and their OCR
goes through the OCR cluster's own Redis queue to the OCR worker. Nothing passes through the ORM queue."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django_q.models import OrmQ

from gallery.models import Photo
from search.engine import SearchParams, search_photos
from search.models import PhotoEmbedding
from search.tests.conftest import shape_png
from tests.memory import child_env
from tests.processes import free_port, stop_process_group

ROOT = Path(__file__).resolve().parents[2]
REDIS_SERVER = shutil.which("redis-server")
SHAPES = [("red", "circle"), ("blue", "square"), ("green", "circle"), ("red", "square")]


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def redis_url(tmp_path):
    """A redis-server of this test's own, on a free port, keeping nothing on disk."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (Debian package redis-server; .ci/run and "
                    "`scripts/setup.sh dev` install it when run as root)")
    import redis

    port = free_port()
    server = subprocess.Popen([REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
                               "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)

    def answers() -> bool:
        try:
            return client.ping()
        except redis.ConnectionError:
            return False

    try:
        _wait_for(answers, 20, "redis-server to answer")
        yield url
    finally:
        client.close()
        server.terminate()
        server.wait(timeout=10)


def _env(toy_model: str, redis_url: str) -> dict[str, str]:
    """A process on this test's database and media with the toy model, its tasks on Redis: a machine of a
    multi-machine site (DATABASE_URL, so SECRET_KEY too: the tests' own, from the environment)."""
    return child_env(
        Q_BROKER=redis_url, SEARCH_MODEL=toy_model, SEARCH_DTYPE="float32", SEARCH_COMPILE="off",
        OCR_GATE="off",  # every photo is read: the OCR queue gets work whatever SigLIP thinks of shapes
    )


def _start(command: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("w") as stream:
        return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), command], cwd=ROOT, env=env,
                                stdout=stream, stderr=subprocess.STDOUT, start_new_session=True)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_photos_are_embedded_searchable_and_read_through_redis_queues(toy_model, redis_url, family, alice, tmp_path):
    import redis

    queue = redis.Redis.from_url(redis_url)
    folder = tmp_path / "import"
    folder.mkdir()
    for n, (colour, shape) in enumerate(SHAPES):
        (folder / f"IMG_{n:04d}.png").write_bytes(shape_png(colour, shape, seed=n))
    env = _env(toy_model, redis_url)

    imported = subprocess.run([sys.executable, str(ROOT / "manage.py"), "import_photos", str(folder), "--family",
                               family.name, "--user", alice.username, "--no-progress"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert imported.returncode == 0, imported.stderr
    assert Photo.objects.filter(status=Photo.Status.PENDING).count() == len(SHAPES)
    assert queue.llen("django_q:mediasearch:q") >= 1, "the embedding tasks are not on Redis"
    assert not OrmQ.objects.exists(), "a task went through the database queue"

    logs = {name: tmp_path / f"{name}.log" for name in ("worker", "ocr_worker")}
    workers = [_start(name, env, log) for name, log in logs.items()]
    try:
        _wait_for(lambda: Photo.objects.filter(status=Photo.Status.READY).count() == len(SHAPES), 120,
                  "every photo to be embedded")
        _wait_for(lambda: Photo.objects.filter(ocr_status=Photo.OcrStatus.DONE).count() == len(SHAPES), 120,
                  "every photo's text to be read by the OCR worker")
    except AssertionError:
        for name, log in logs.items():
            print(f"--- {name}\n{log.read_text()}")
        raise
    finally:
        for worker in workers:
            stop_process_group(worker)

    assert PhotoEmbedding.objects.filter(model_name=toy_model).count() == len(SHAPES)
    assert queue.llen("django_q:mediasearch:q") == 0 and queue.llen("django_q:mediasearch-ocr:q") == 0
    assert not OrmQ.objects.exists()
    results = search_photos(user=alice, params=SearchParams(query="a red circle", min_score=0.0)).results
    assert results and results[0].photo.original_filename == "IMG_0000.png"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_with_redis_a_killed_workers_lost_tasks_are_recovered_by_the_sweep_nothing_lost_or_doubled(toy_model, redis_url, family, alice,
                                                                                  tmp_path):
    """Redis has no delivery receipts: the tasks a killed worker had taken off the queue (running, or fetched ahead
    by its pusher) are gone. Their photos come back through the sweep the schedule runs, which re-queues the photos
    left processing once their leases expire and those still pending (run here as soon as the leases expire)."""
    import redis
    from django_q.signing import SignedPackage

    queue = redis.Redis.from_url(redis_url)
    folder = tmp_path / "import"
    folder.mkdir()
    count = 24
    for n in range(count):
        colour, shape = SHAPES[n % len(SHAPES)]
        (folder / f"IMG_{n:04d}.png").write_bytes(shape_png(colour, shape, seed=n))
    env = {**_env(toy_model, redis_url), "OCR_ENABLED": "off", "EMBED_TASK_SIZE": "4", "SEARCH_BATCH_SIZE": "2",
           "LEASE_SECONDS": "3", "Q_WORKERS": "1"}
    imported = subprocess.run([sys.executable, str(ROOT / "manage.py"), "import_photos", str(folder), "--family",
                               family.name, "--user", alice.username, "--no-progress"],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert imported.returncode == 0, imported.stderr
    ready = lambda: Photo.objects.filter(status=Photo.Status.READY).count()  # noqa: E731

    worker = _start("worker", env, tmp_path / "worker.log")
    try:
        _wait_for(lambda: ready() >= 2, 90, "the first photos to be embedded")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # no goodbye: the tasks it had taken from Redis are lost
        worker.wait()
    assert ready() < count, "the worker finished before it could be killed; the test proves nothing"

    queued = {pk for payload in queue.lrange("django_q:mediasearch:q", 0, -1)
              for pk in SignedPackage.loads(payload)["args"][0]}
    lost = set(Photo.objects.exclude(status=Photo.Status.READY).values_list("pk", flat=True)) - queued
    assert lost, "every unfinished photo still has its task on Redis; the test proves nothing"
    time.sleep(4)  # the killed worker's leases expire
    # What the schedules run (every minute: recovery; every five: the sweep, which also recovers), run now.
    swept = subprocess.run([sys.executable, str(ROOT / "manage.py"), "shell", "-c",
                            "from search.tasks import embed_missing_task; embed_missing_task()"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert swept.returncode == 0, swept.stderr
    worker = _start("worker", env, tmp_path / "worker2.log")
    try:
        _wait_for(lambda: ready() == count, 120, "every photo to be ready after the recovery")
    finally:
        stop_process_group(worker)

    assert PhotoEmbedding.objects.count() == count
    assert not OrmQ.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_upload_while_redis_does_not_answer_is_stored_and_waits_for_the_sweep(toy_model, family, alice, tmp_path):
    """Redis restarted (or down) under a running site: every upload was a 500 (the photos stored all the same,
    queuing their embedding raised on commit), and so was anything else that queues a task. The upload now succeeds,
    the photo waits (pending) and the sweep queues it once Redis answers."""
    from tests.memory import run_child

    dead = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    code = f"""
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from search.tests.conftest import shape_png
client = Client(HTTP_HOST="localhost")
client.force_login(get_user_model().objects.get(username={alice.username!r}))
response = client.post("/upload/", {{"family": {family.pk}, "files": [
    SimpleUploadedFile("IMG_0001.png", shape_png("red", "circle", seed=1), content_type="image/png")]}})
api = client.post("/api/v1/photos/", {{"family": {family.pk}, "file":
    SimpleUploadedFile("IMG_0002.png", shape_png("blue", "square", seed=2), content_type="image/png")}})
report(page=response.status_code, api=api.status_code)
"""
    result = run_child(code, env=_env(toy_model, dead))
    assert result == {"page": 200, "api": 201}
    assert Photo.objects.filter(status=Photo.Status.PENDING).count() == 2


@pytest.mark.django_db(transaction=True)
def test_asking_for_text_while_redis_does_not_answer_is_kept_for_the_sweep(toy_model, family, alice):
    """Asking for text queues readers once the photos are marked, after asking the broker how many wait: a Redis
    that does not answer must not make the page a 500 (the photos wait, marked, and the sweep queues readers)."""
    from tests.factories import photo_factory
    from tests.memory import run_child

    photos = [photo_factory(family=family, user=alice) for _ in range(2)]
    Photo.objects.filter(pk__in=[p.pk for p in photos]).update(status=Photo.Status.READY,
                                                                ocr_status=Photo.OcrStatus.SKIPPED)
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    code = f"""
from django.contrib.auth import get_user_model
from django.test import Client
client = Client(HTTP_HOST="localhost")
client.force_login(get_user_model().objects.get(username={alice.username!r}))
one = client.post("/photos/{photos[0].pk}/read-text/")
family = client.post("/indexing/read-skipped/", {{"family": {family.pk}}})
report(one=one.status_code, family=family.status_code)
"""
    assert run_child(code, env={**_env(toy_model, dead), "OCR_ENABLED": "on"}) == {"one": 302, "family": 302}
    assert set(Photo.objects.values_list("ocr_status", flat=True)) == {Photo.OcrStatus.PENDING}


@pytest.mark.django_db(transaction=True)
def test_a_reader_ending_while_redis_does_not_answer_reads_its_photos_and_leaves_the_rest_for_the_sweep(
        toy_model, add_shape):
    """A reader queues the readers still needed as it ends, after asking the broker how many wait: Redis gone down
    meanwhile must not fail the task after its photos were read (django-q would retry it) nor lose the photos left."""
    from search.ocr import OCR_QUEUED
    from tests.memory import run_child

    photos = [add_shape(colour, "square") for colour in ("red", "blue", "green")]
    Photo.objects.update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PENDING, ocr_reason=OCR_QUEUED)
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nobody listens there
    code = """
from search.tasks import read_text_task
report(**read_text_task())
"""
    env = {**_env(toy_model, dead), "OCR_ENABLED": "on", "OCR_TASK_SIZE": "2"}
    assert run_child(code, env=env) == {"done": 2, "failed": 0, "retry": 0}
    waiting = Photo.objects.filter(pk__in=[p.pk for p in photos], ocr_status=Photo.OcrStatus.PENDING)
    assert list(waiting.values_list("ocr_reason", flat=True)) == [OCR_QUEUED]  # the sweep's readers take it


@pytest.mark.django_db(transaction=True)
def test_a_worker_started_while_redis_does_not_answer_says_so_in_one_line(toy_model, tmp_path):
    """It ended in two tracebacks (the cluster's sentinel's and "RuntimeError: Q Cluster … failed to start") under
    django-q2's "Can not connect to Redis server.", at every restart while Redis was down."""
    dead = f"redis://127.0.0.1:{free_port()}/0"
    done = subprocess.run([sys.executable, str(ROOT / "manage.py"), "worker"], cwd=ROOT, env=_env(toy_model, dead),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "the task queue's Redis server (Q_BROKER) does not answer" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
