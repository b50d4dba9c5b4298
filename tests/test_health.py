"""/health/: real database, real storage, a real worker process; the database-down case in a real process whose
DATABASE_URL points at a closed port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from unittest import mock
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from mediasearch.db import database_url
from mediasearch.health import health_forget
from search.models import EmbeddingModel, WorkerHeartbeat

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _fresh_answers(settings):
    settings.HEALTH_CACHE_SECONDS = 0
    settings.OCR_ENABLED = False
    health_forget()
    yield
    health_forget()


def _get(client):
    response = client.get("/health/")
    return response, json.loads(response.content)


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.django_db
def test_anyone_gets_it_before_the_first_account_without_a_cookie_and_no_worker_means_degraded(client, tmp_path):
    EmbeddingModel.objects.create(name=django_settings.SEARCH_MODEL, available=True, dim=768)

    response, body = _get(client)

    assert response.status_code == 200  # not the first-run redirect, and no sign-in
    assert response["Content-Type"] == "application/json"
    assert not response.cookies  # no session, no CSRF cookie
    assert "no-cache" in response["Cache-Control"]
    assert body["status"] == "degraded"
    assert set(body["checks"]) == {"database", "worker", "model", "storage"}
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["storage"]["status"] == "ok"
    assert body["checks"]["model"]["status"] == "ok"
    assert body["checks"]["worker"] == {"status": "down", "detail": body["checks"]["worker"]["detail"]}
    assert "main queue: none running" in body["checks"]["worker"]["detail"]
    assert client.head("/health/").status_code == 200  # probes that only look at the status
    assert client.post("/health/").status_code == 405
    # The storage probe left nothing behind.
    media = Path(django_settings.STORAGES["default"]["OPTIONS"]["location"])
    assert not any(path.is_file() for path in media.rglob("*"))


@pytest.mark.django_db
def test_migrations_not_applied_yet_degrade_the_database_check(client):
    with connection.cursor() as cursor:  # as when new code runs before `migrate` (rolled back with the test)
        cursor.execute("DELETE FROM django_migrations WHERE app = 'search' AND name = '0019_worker_heartbeat'")

    response, body = _get(client)

    assert response.status_code == 200
    assert body["checks"]["database"]["status"] == "degraded"
    assert "1 migration(s) of this version not applied yet" in body["checks"]["database"]["detail"]
    assert body["status"] == "degraded"


@pytest.mark.django_db
def test_migrations_not_applied_yet_still_tell_the_worker_and_the_model(client):
    """Between an upgrade's pull and its `migrate` the database answers: the worker and model checks said "cannot tell
    without the database" (unknown), as if it did not, however many workers beat meanwhile."""
    EmbeddingModel.objects.create(name=django_settings.SEARCH_MODEL, available=True, dim=768)
    WorkerHeartbeat.objects.create(cluster=django_settings.Q_CLUSTER["name"], host="elsewhere", pid=1,
                                   started_at=timezone.now(), seen_at=timezone.now())
    with connection.cursor() as cursor:  # as when new code runs before `migrate` (rolled back with the test)
        cursor.execute("DELETE FROM django_migrations WHERE app = 'gallery' AND name = '0032_date_from_the_file_name'")

    response, body = _get(client)

    assert body["checks"]["database"]["status"] == "degraded"
    assert body["checks"]["worker"] == {"status": "ok", "detail": "main queue: 1 running"}
    assert body["checks"]["model"] == {"status": "ok", "detail": "loads (768 dimensions)"}
    assert response.status_code == 200 and body["status"] == "degraded"


@pytest.mark.django_db
def test_behind_https_a_plain_http_probe_is_answered_not_redirected(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/accounts/login/").status_code == 301  # (what every other page does)
    response = client.get("/health/")
    assert response.status_code == 200 and json.loads(response.content)["checks"]["database"]["status"] == "ok"


def test_a_write_to_it_is_a_405_naming_what_it_answers(db):
    """POST /health/ was a 403 (the CSRF check, before the view): a monitor misconfigured to POST read it as "forbidden"."""
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/health/")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"


@pytest.mark.django_db
def test_a_model_that_cannot_be_loaded_degrades_it_without_saying_why_in_detail(client):
    EmbeddingModel.objects.create(name=django_settings.SEARCH_MODEL, available=False,
                                  error="/home/secret/path: not a checkpoint")

    response, body = _get(client)

    assert response.status_code == 200
    assert body["checks"]["model"]["status"] == "down"
    assert "/home/secret" not in response.content.decode()


@pytest.mark.django_db
def test_storage_that_cannot_be_written_is_down_with_503(client, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the media folder should be")
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": blocker / "media"}}}

    response, body = _get(client)

    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["checks"]["storage"]["status"] == "down"
    assert str(tmp_path) not in response.content.decode()


@pytest.mark.django_db
def test_the_answer_is_cached_for_a_few_seconds(client, settings):
    settings.HEALTH_CACHE_SECONDS = 60
    _, first = _get(client)
    EmbeddingModel.objects.create(name=settings.SEARCH_MODEL, available=False)
    _, second = _get(client)
    assert second == first
    health_forget()
    _, third = _get(client)
    assert third["checks"]["model"]["status"] == "down"


def _worker_env(**overrides: str) -> dict:
    db = connection.settings_dict
    return {**os.environ,
            "DATABASE_URL": database_url(db),
            "MEDIA_ROOT": str(django_settings.STORAGES["default"]["OPTIONS"]["location"]),
            "WORKER_HEARTBEAT_SECONDS": "1", "Q_WORKERS": "1", **overrides}


def _start(command: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), command], cwd=ROOT, env=_worker_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.mark.django_db(transaction=True)
def test_a_running_worker_is_ok_and_one_killed_without_goodbye_is_down_within_a_few_beats(client, settings):
    settings.WORKER_HEARTBEAT_SECONDS = 1
    EmbeddingModel.objects.create(name=settings.SEARCH_MODEL, available=True, dim=768)
    assert _get(client)[1]["checks"]["worker"]["status"] == "down"

    workers = [_start("worker")]
    try:
        body = _wait_for(lambda: (b := _get(client)[1])["checks"]["worker"]["status"] == "ok" and b, 60,
                         "the worker's heartbeat")
        assert body["status"] == "ok"
        assert body["checks"]["worker"]["detail"] == "main queue: 1 running"
        # With OCR on and no OCR worker: degraded, and it says which queue lacks one.
        settings.OCR_ENABLED = True
        response, body = _get(client)
        assert response.status_code == 200
        assert body["checks"]["worker"]["status"] == "degraded"
        assert body["checks"]["worker"]["detail"] == "main queue: 1 running; OCR queue: none running"
        workers.append(_start("ocr_worker"))  # the OCR queue's own cluster, as `serve` runs it
        body = _wait_for(lambda: (b := _get(client)[1])["checks"]["worker"]["status"] == "ok" and b, 60,
                         "the OCR worker's heartbeat")
        assert body["checks"]["worker"]["detail"] == "main queue: 1 running; OCR queue: 1 running"
    finally:
        for worker in workers:
            os.killpg(worker.pid, signal.SIGKILL)  # no goodbye: their rows stay, and go stale
            worker.wait()
    assert WorkerHeartbeat.objects.count() == 2
    dead = "main queue: none running; OCR queue: none running"
    body = _wait_for(lambda: (b := _get(client)[1])["checks"]["worker"]["detail"].startswith(dead) and b, 10,
                     "the dead workers to be noticed")
    assert body["checks"]["worker"]["status"] == "down" and body["status"] == "degraded"


@pytest.mark.django_db(transaction=True)
def test_a_worker_stopped_properly_removes_its_heartbeat(client, settings):
    settings.WORKER_HEARTBEAT_SECONDS = 1
    worker = _start("worker")
    try:
        _wait_for(lambda: WorkerHeartbeat.objects.exists(), 60, "the worker's heartbeat")
        worker.terminate()
        worker.wait(timeout=40)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
    assert not WorkerHeartbeat.objects.exists()


PROBE = """
import json, django
django.setup()
from django.test import Client
response = Client(HTTP_HOST="localhost").get("/health/")
print(json.dumps({"code": response.status_code, "body": response.content.decode(), "cookies": list(response.cookies)}))
"""


def test_a_database_that_does_not_answer_gives_503_down_and_no_500(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"postgres://someone:hunter2@127.0.0.1:{port}/gallery",
           "SECRET_KEY": "x" * 50, "MEDIA_ROOT": str(tmp_path / "media"), "MEDIASEARCH_VAR_DIR": str(tmp_path / "var")}
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    answer = json.loads(out.stdout.strip().splitlines()[-1])

    assert answer["code"] == 503
    assert answer["cookies"] == []
    body = json.loads(answer["body"])
    assert body["status"] == "down"
    assert body["checks"]["database"]["status"] == "down"
    assert body["checks"]["storage"]["status"] == "ok"
    assert body["checks"]["worker"]["status"] == "unknown"
    for secret in ("hunter2", "someone", str(port)):
        assert secret not in answer["body"]
    # Settings create nothing: with DATABASE_URL (and the key given) the process made no data folder at all.
    assert not (tmp_path / "var").exists()


@pytest.mark.django_db
def test_a_web_process_knows_its_own_migrations_from_its_start_not_from_its_first_probe(client):
    """An upgrade's `git pull` puts the new code's migration files on disk while the old web processes still serve
    (README, Upgrades). One whose first /health/ came after the pull read them as its own: the old version, which has
    nothing left to migrate, said "degraded: 1 migration(s) of this version not applied yet". A web process reads
    them as it boots, before it takes a request."""
    from django.db.migrations.loader import MigrationLoader

    from mediasearch import gunicorn_conf
    from mediasearch.health import code_migrations

    code_migrations.cache_clear()
    worker = type("Worker", (), {"log": None})()
    with mock.patch("search.warmup.warm_up"), mock.patch("search.warmup.static_files_problem", return_value=None):
        gunicorn_conf.post_worker_init(worker)
    pulled = {*MigrationLoader(None, ignore_no_migrations=True).graph.nodes, ("gallery", "9999_from_the_pull")}
    try:
        with mock.patch("mediasearch.health.MigrationLoader") as loader:  # the files on disk after the pull
            loader.return_value.graph.nodes = pulled
            response, body = _get(client)
    finally:
        code_migrations.cache_clear()

    assert body["checks"]["database"]["status"] == "ok", body
