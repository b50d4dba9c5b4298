"""A real django-q2 cluster is killed mid-batch and restarted: every photo still ends ready, once. Under `serve`,
the site stays up meanwhile, the worker comes back by itself, and nothing of the killed cluster lives on."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from django.utils import timezone

from gallery.models import Photo
from search.models import PhotoEmbedding
from tests.memory import child_env
from tests.processes import free_port, stop_process_group

ROOT = Path(__file__).resolve().parents[2]
PHOTOS = 60


def _env(toy_model: str, **overrides: str) -> dict:
    """The environment of a process that works on this test's database and media with the toy model."""
    return child_env(**{
        "SEARCH_MODEL": toy_model,
        "SEARCH_DTYPE": "float32",  # as the toy_model fixture has it here: no bf16 compile at each start
        "SEARCH_COMPILE": "off",
        "SEARCH_BATCH_SIZE": "2",
        "EMBED_TASK_SIZE": "8",
        "Q_WORKERS": "1",
        "Q_TIMEOUT": "3",  # a task may run 3 s; a delivered-but-unacknowledged one comes back after 4 s
        "Q_RETRY": "4",
        "LEASE_SECONDS": "3",  # a killed worker's photos are claimable again 3 s after its last heartbeat
        **overrides,
    })


def _start_cluster(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"], cwd=ROOT, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _one_task_of(toy_model: str, add_shape, count: int) -> tuple[dict, list[Photo]]:
    """`count` photos queued as one embedding task (as the sweep queues a few hundred waiting photos), and the
    environment of a worker that embeds them one by one, with time to spare."""
    from django_q.models import OrmQ
    from django_q.tasks import async_task

    photos = [add_shape(("red", "blue", "green")[i % 3], ("circle", "square")[i % 2]) for i in range(count)]
    OrmQ.objects.all().delete()  # (the tasks each add queued)
    async_task("search.tasks.embed_photos_task", [p.pk for p in photos], q_options={"timeout": 300})
    return _env(toy_model, SEARCH_BATCH_SIZE="1", Q_TIMEOUT="300", Q_RETRY="400", LEASE_SECONDS="60"), photos


def _start_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.mark.django_db(transaction=True)
def test_killing_the_worker_mid_batch_loses_nothing_and_duplicates_nothing(toy_model, add_shape, tmp_path):
    # Each add commits on its own, so the search app queues one task per photo, as for uploads.
    photos = [add_shape(("red", "blue", "green")[i % 3], ("circle", "square")[i % 2]) for i in range(PHOTOS)]

    env = _env(toy_model)
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
        stop_process_group(cluster)

    assert PhotoEmbedding.objects.count() == PHOTOS
    assert set(PhotoEmbedding.objects.values_list("photo_id", flat=True)) == {p.pk for p in photos}


@pytest.mark.django_db(transaction=True)
def test_a_killed_worker_counts_a_try_only_for_the_photos_it_was_embedding(toy_model, add_shape):
    """A task claims up to EMBED_TASK_SIZE photos (64) at once, and a try was counted for each when it was claimed:
    a worker killed (kill -9, the kernel's OOM killer, serve's kill after 25 s) during its first batch counted one for
    all 64, and three such kills failed photos the model had never seen ("The worker stopped while embedding this
    photo, 3 times"). A try is counted for a batch when the worker starts on it (decoding it, then the model)."""
    env, photos = _one_task_of(toy_model, add_shape, 30)
    ready = lambda: Photo.objects.filter(status=Photo.Status.READY).count()  # noqa: E731

    worker = _start_worker(env)
    try:
        _wait_for(lambda: ready() >= 2, 120, "the first photos to be embedded")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)  # no goodbye
        worker.wait()

    waiting = Photo.objects.exclude(status=Photo.Status.READY)
    assert waiting.count() > 4, "the worker embedded nearly every photo before it was killed; the test proves nothing"
    # The batch being embedded and the one being decoded beside it (a batch is one photo here): no more.
    assert waiting.filter(embed_attempts__gt=0).count() <= 2
    assert not waiting.filter(embed_attempts__gt=1).exists()


@pytest.mark.django_db(transaction=True)
def test_a_started_worker_sweeps_at_once_not_at_the_sweeps_next_turn(toy_model, add_shape, tmp_path):
    """After a model switch (SEARCH_MODEL changed, the worker restarted), or photos stored while no worker ran and
    their tasks lost, the photos wait for the embedding sweep: up to 5 minutes after the start. A worker that starts
    now runs the sweep at once: not at its cluster's first scheduler turn either, 30 s after its start (django-q2's
    guard loop), which was all the worker's "at once" had meant."""
    from django_q.models import OrmQ, Schedule

    photo = add_shape("red", "circle")
    Photo.objects.filter(pk=photo.pk).update(status=Photo.Status.READY)  # embedded by a model that was switched off
    OrmQ.objects.all().delete()  # (and no task queued for it)
    # (made as migration search 0002 makes it: a transactional test before this one emptied the table, and then no
    # sweep ran at all, whatever the worker did: the test failed after any other of this file's)
    Schedule.objects.update_or_create(name="search: embed missing photos", defaults={
        "func": "search.tasks.embed_missing_task", "schedule_type": "I", "minutes": 5, "repeats": -1,
        "next_run": timezone.now() + timedelta(minutes=5)})

    env = _env(toy_model, Q_TIMEOUT="60", Q_RETRY="90")  # (the sweep loads the model: more than 3 s on 2 cores)
    worker = _start_worker(env)
    try:
        # The sweep's first step marks the photo as waiting for the model in force and queues it (embedding it then
        # takes the model's load, a minute on a busy machine: not waited for).
        _wait_for(lambda: Photo.objects.get(pk=photo.pk).status != Photo.Status.READY
                  or PhotoEmbedding.objects.filter(photo=photo, model_name=toy_model).exists(), 25,
                  "the started worker's sweep to take up the photo")
    finally:
        stop_process_group(worker)


@pytest.mark.django_db(transaction=True)
def test_a_started_worker_shares_no_database_connection_with_its_cluster(toy_model, tmp_path):
    """The sweep's schedule was set to "now" through a connection the main process opened after closing its own, so
    every forked process of the cluster inherited that socket; the first one to close it closed it for the main
    process too: its first heartbeat failed ("server closed the connection unexpectedly", a traceback in the log at
    every start) and /health/ counted no worker until the next beat."""
    from search.models import WorkerHeartbeat

    log = tmp_path / "worker.log"
    env = _env(toy_model, WORKER_HEARTBEAT_SECONDS="30")  # a failed first beat is not made good within the test
    with open(log, "wb") as out:
        worker = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "worker"], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    beat = lambda: WorkerHeartbeat.objects.filter(pid=worker.pid).exists()  # noqa: E731
    try:
        deadline = time.monotonic() + 25
        while not beat() and "heartbeat failed" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)  # (the cluster's processes have started and made connections of their own)
        beaten = beat()
    finally:
        stop_process_group(worker)  # (a worker that stops forgets its heartbeat)
    assert "heartbeat failed" not in log.read_text(), log.read_text()[-3000:]
    assert beaten


# --- under `manage.py serve` -------------------------------------------------------------------------

SERVE_PHOTOS = 48


def _web_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def _alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _child_of(serve: subprocess.Popen, *names: str) -> psutil.Process | None:
    """serve's child running one of these programs (a dead one waiting to be reaped does not count)."""
    for child in psutil.Process(serve.pid).children():
        try:
            if set(names) & set(child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            pass
    return None


def _start_serve(toy_model: str, port: int, log_path: Path) -> subprocess.Popen:
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port), "--web-workers", "1"],
            cwd=ROOT, env=_env(toy_model), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )


def _kill_leftovers(processes: list[psutil.Process]) -> None:
    """Whatever a failed run left behind must not take tasks from the next test's database."""
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass


@pytest.mark.django_db(transaction=True)
def test_serve_keeps_the_site_up_when_its_worker_is_killed_restarts_it_and_leaves_no_orphan(
    toy_model, add_shape, tmp_path
):
    photos = [add_shape(("red", "blue", "green")[i % 3], ("circle", "square")[i % 2]) for i in range(SERVE_PHOTOS)]
    ready = lambda: Photo.objects.filter(status=Photo.Status.READY).count()  # noqa: E731
    port = free_port()
    log_path = tmp_path / "serve.log"
    serve = _start_serve(toy_model, port, log_path)
    seen = []  # every process of serve's tree this test saw, to check (and clean up) at the end
    try:
        # Killed as soon as it has embedded its first photos, whether or not the web server answers yet: its warm-up
        # (the model loaded in each web process) ran beside the embedding, and when the kill waited for it (33 s on a
        # busy machine) the cluster had embedded 32 of the 48 photos, or all of them ("finished before it could be
        # killed").
        _wait_for(lambda: ready() >= 2, 60, "the first photos to be embedded")
        killed = _child_of(serve, "worker", "qcluster")
        cluster = [killed, *killed.children(recursive=True)]  # its sentinel, pusher, monitor and workers
        web = _child_of(serve, "gunicorn")
        seen += psutil.Process(serve.pid).children(recursive=True)
        assert len(cluster) >= 4, [p.cmdline() for p in cluster]

        killed.send_signal(signal.SIGKILL)  # the cluster's main process only: its children are orphaned
        _wait_for(lambda: not any(_alive(p) for p in cluster), 10, "every process of the killed cluster to go")
        assert ready() < SERVE_PHOTOS, "the cluster finished before it could be killed; the test proves nothing"
        _wait_for(lambda: _web_answers(port), 60, "the web server")
        assert getattr(_child_of(serve, "gunicorn"), "pid", None) == web.pid, "the site went down with the worker"
        _wait_for(lambda: (_child_of(serve, "worker", "qcluster") or killed).pid != killed.pid, 30, "serve to start a new worker")

        _wait_for(lambda: ready() == SERVE_PHOTOS, 60, "every photo to be ready after the restart")
        assert _web_answers(port) and serve.poll() is None
        seen += psutil.Process(serve.pid).children(recursive=True)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=45)
        left = [p.cmdline() for p in seen if _alive(p)]
    finally:
        _kill_leftovers([*seen, psutil.Process(serve.pid)] if serve.poll() is None else seen)
        serve.wait()
        print(log_path.read_text())

    assert serve.returncode == 0
    assert not left, f"stopping serve left processes behind: {left}"
    assert "The worker process exited with code -9" in log_path.read_text()
    assert PhotoEmbedding.objects.count() == SERVE_PHOTOS
    assert set(PhotoEmbedding.objects.values_list("photo_id", flat=True)) == {p.pk for p in photos}


def _idle_task_worker(worker: psutil.Process) -> psutil.Process:
    """The django-q2 worker process of `manage.py worker` (qcluster → sentinel → workers, monitor, pusher): the
    sentinel spawns its pool first, so with Q_WORKERS=1 it is the sentinel's oldest child."""
    (sentinel,) = worker.children()
    return min(sentinel.children(), key=lambda p: (p.create_time(), p.pid))


@pytest.mark.django_db(transaction=True)
def test_serve_keeps_embedding_after_an_idle_task_worker_of_the_cluster_is_killed(toy_model, add_shape, tmp_path):
    # A django-q2 worker waiting for a task holds the task queue's lock (multiprocessing.Queue.get); killed there, it
    # takes the lock with it, and the worker django-q2 starts in its place waits for that lock forever: the cluster
    # looks alive and never runs a task again (django-q2 issue #23). Found by QA: `kill -9` of the idle worker
    # under `serve`, then an upload that stayed "pending".
    first = [add_shape("red", "circle"), add_shape("blue", "square")]
    ready = lambda: Photo.objects.filter(status=Photo.Status.READY).count()  # noqa: E731
    port = free_port()
    log_path = tmp_path / "serve.log"
    serve = _start_serve(toy_model, port, log_path)
    seen = []
    try:
        _wait_for(lambda: ready() == len(first), 90, "the first photos to be embedded")
        time.sleep(1)  # the worker is back in the queue's get(), holding its lock
        worker = _child_of(serve, "worker", "qcluster")
        seen += psutil.Process(serve.pid).children(recursive=True)
        _idle_task_worker(worker).send_signal(signal.SIGKILL)

        later = [add_shape("green", "circle"), add_shape("red", "square")]
        _wait_for(lambda: ready() == len(first) + len(later), 60, "photos uploaded after the kill to be embedded")
        assert _web_answers(port) and serve.poll() is None
        seen += psutil.Process(serve.pid).children(recursive=True)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=45)
    finally:
        _kill_leftovers([*seen, psutil.Process(serve.pid)] if serve.poll() is None else seen)
        serve.wait()
        print(log_path.read_text())
    assert serve.returncode == 0
    assert set(PhotoEmbedding.objects.values_list("photo_id", flat=True)) == {p.pk for p in first + later}


@pytest.mark.django_db(transaction=True)
def test_a_killed_web_server_comes_back_and_when_serve_itself_is_killed_nothing_it_started_lives_on(toy_model, tmp_path):
    port = free_port()
    log_path = tmp_path / "serve.log"
    serve = _start_serve(toy_model, port, log_path)
    tree = []
    try:
        _wait_for(lambda: _web_answers(port), 60, "the web server")
        web = _child_of(serve, "gunicorn")
        tree += [web, *web.children()]
        web.kill()
        _wait_for(lambda: (_child_of(serve, "gunicorn") or web).pid != web.pid and _web_answers(port), 30, "the web server to come back")
        assert not any(_alive(p) for p in tree), "the killed web server's workers live on"

        # gunicorn and its worker; the cluster: qcluster, sentinel, pusher, monitor, one worker
        _wait_for(lambda: len(psutil.Process(serve.pid).children(recursive=True)) >= 7, 30, "the whole tree")
        tree += psutil.Process(serve.pid).children(recursive=True)
        serve.kill()  # no chance to clean up: the kernel must take the children down
        serve.wait()
        _wait_for(lambda: not any(_alive(p) for p in tree), 20, "every process serve started to go")
    finally:
        _kill_leftovers([*tree, psutil.Process(serve.pid)] if serve.poll() is None else tree)
        serve.wait()
        print(log_path.read_text())


@pytest.mark.django_db(transaction=True)
def test_serve_stops_with_a_plain_message_when_the_web_server_cannot_start(toy_model):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        serve = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "serve", "--port", str(port), "--no-worker"],
            cwd=ROOT, env=_env(toy_model), capture_output=True, text=True, timeout=60,
        )
    assert serve.returncode == 1
    # Said before anything starts (it was "The web process could not start (exit code 1)", after gunicorn's retries).
    assert f"Port {port} on 127.0.0.1 is already in use: is MediaSearch (or another program) already running" \
        in serve.stderr
    assert "is running at" not in serve.stdout


@pytest.mark.django_db(transaction=True)
def test_the_readmes_worker_units_stop_the_worker_by_its_main_process(toy_model):
    """systemd's default KillMode (control-group) sends the stop signal to every process of a unit at once. A
    cluster's sentinel killed by it while holding the stop event's lock left `manage.py worker` waiting on that lock
    for ever (measured: still running 90 s after a SIGTERM to its whole process group; 3 s after one to it alone), so
    every `systemctl stop` or `restart` of the README's worker units took TimeoutStopSec and ended in SIGKILL. They
    say KillMode=mixed, as the serve unit does: SIGTERM to the main process, which stops the cluster in order."""
    import re

    blocks = re.findall(r"```ini\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    units = [unit for block in blocks for unit in re.split(r"\n(?=# /etc/systemd/system/)", block)]
    supervising = [unit for unit in units if "manage.py %i" in unit or "manage.py serve" in unit]
    assert len(supervising) == 2
    for unit in supervising:
        assert re.search(r"^KillMode=mixed$", unit, re.M), unit

    worker = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "worker"], cwd=ROOT, env=_env(toy_model),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for(lambda: len(psutil.Process(worker.pid).children(recursive=True)) >= 4, 60, "the cluster to start")
        worker.send_signal(signal.SIGTERM)  # what KillMode=mixed sends
        worker.wait(timeout=30)
        _wait_for(lambda: not [p for p in psutil.process_iter(["pid"]) if _in_group(p, worker.pid)], 10,
                  "the cluster's processes to end")
    finally:
        stop_process_group(worker)



@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("command", ["worker", "ocr_worker"])
def test_a_sigterm_to_the_workers_whole_process_group_stops_it_within_seconds(toy_model, command):
    """A SIGTERM to every process of the worker at once (systemd's default KillMode, `kill -TERM -PGID`, a container
    stopping) killed the cluster's sentinel (its SIGTERM is the default action) while it waited on the stop event, as
    it does between its rounds, while the main process's handler set that event: setting it waits for the sleepers it
    wakes to say so, and a dead one never does. `manage.py worker` hung there for ever (a systemd stop took
    TimeoutStopSec, then SIGKILL). It ends within seconds now, leaving no process behind, whichever way it is asked."""
    worker = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), command], cwd=ROOT, env=_env(toy_model),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for(lambda: len(psutil.Process(worker.pid).children(recursive=True)) >= 4, 60, "the cluster to start")
        time.sleep(1)  # the sentinel in its guard loop, waiting on the stop event between rounds
        started = time.monotonic()
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"manage.py {command} still runs 10 s after a SIGTERM to its process group") from None
        _wait_for(lambda: not [p for p in psutil.process_iter(["pid"]) if _in_group(p, worker.pid)], 5,
                  "the cluster's processes to end")
        assert time.monotonic() - started < 10
    finally:
        stop_process_group(worker, grace=1)


@pytest.mark.django_db(transaction=True)
def test_a_stopped_worker_stops_between_batches_and_hands_back_the_photos_it_had_not_embedded(toy_model, add_shape):
    """Ctrl-C on `make run` while the worker embedded a few hundred photos: the cluster ran the whole task it had
    taken (64 photos), then the one in its task queue and the one its pusher held, before it stopped, so the stop took
    minutes with a real model and ended in "the cluster did not stop within 25 s; killing it", leaving the photo
    batch being embedded "processing", with a try counted, until its leases ran out. Now a stop asked for ends the
    task after the batch being embedded: the rest go back to waiting, no try counted, and come back on the next
    start."""
    from search.models import WorkLease

    env, photos = _one_task_of(toy_model, add_shape, 40)
    ready = lambda: Photo.objects.filter(status=Photo.Status.READY).count()  # noqa: E731

    worker = _start_worker(env)
    try:
        _wait_for(lambda: ready() >= 2, 120, "the first photos to be embedded")
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)  # as serve and the README's units stop it
        worker.wait(timeout=60)
        took = time.monotonic() - started
    finally:
        stop_process_group(worker, grace=1)

    assert took < 10, f"the worker took {took:.1f} s to stop"
    assert ready() < len(photos), "the worker embedded every photo of its task before it stopped"
    assert not Photo.objects.filter(status=Photo.Status.PROCESSING).exists()
    assert set(Photo.objects.exclude(status=Photo.Status.READY).values_list("status", "embed_attempts")) == {
        (Photo.Status.PENDING, 0)}
    assert not WorkLease.objects.exists()

    worker = _start_worker(env)
    try:
        _wait_for(lambda: ready() == len(photos), 120, "the photos handed back to be embedded on the next start")
    finally:
        stop_process_group(worker)
    assert PhotoEmbedding.objects.count() == len(photos)


@pytest.mark.django_db(transaction=True)
def test_a_worker_stopped_while_it_compiles_the_model_leaves_no_photo_half_done(toy_model, add_shape):
    """The first batch a worker embeds compiles the vision tower (SEARCH_COMPILE, bf16 CPUs): about 40 s for the toy
    model on 2 busy cores without inductor's cache, minutes for a real one, and nothing stops a compile half way. Its
    photos were claimed before it (processing, a try counted), so a stop then ended in the kill after 25 s with them
    left so until their leases ran out, a try lost each time. The model is compiled before any photo is claimed now:
    a stop or kill meanwhile leaves them waiting, no try counted."""
    from django_q.models import OrmQ
    from django_q.tasks import async_task

    from search.models import WorkLease

    photos = [add_shape("red", "circle") for _ in range(4)]
    OrmQ.objects.all().delete()
    async_task("search.tasks.embed_photos_task", [p.pk for p in photos], q_options={"timeout": 300})
    env = _env(toy_model, SEARCH_DTYPE="bfloat16", SEARCH_COMPILE="on", Q_TIMEOUT="300", Q_RETRY="400",
               LEASE_SECONDS="120", TORCHINDUCTOR_FORCE_DISABLE_CACHES="1")  # a first compile, as on a new machine
    worker = _start_worker(env)
    try:
        _wait_for(lambda: OrmQ.objects.filter(lock__isnull=False).exists(), 120, "the worker to take the task")
        time.sleep(10)  # loading the model (a few seconds), then compiling it
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    finally:
        stop_process_group(worker, grace=1)

    from django_q.models import Task

    assert not Task.objects.filter(success=False).exists(), "the task failed"
    assert not Photo.objects.filter(status=Photo.Status.READY).exists(), "compiled before the stop: proves nothing"
    assert set(Photo.objects.values_list("status", "embed_attempts")) == {(Photo.Status.PENDING, 0)}
    assert not WorkLease.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_stopped_ocr_worker_waiting_for_embedding_stops_within_seconds(toy_model, add_shape):
    """The OCR worker gives way while photos wait to be embedded, up to 120 s before each photo it reads. Stopped
    then (Ctrl-C on `make run` with photos still embedding), its cluster sat out that wait and was killed after 25 s.
    It stops within seconds now; the photo it had not read yet waits for it."""
    from django_q.models import OrmQ

    from search.ocr import OCR_QUEUED, ocr_readers_start

    to_read, waiting = add_shape("red", "circle"), add_shape("blue", "square")
    OrmQ.objects.all().delete()
    Photo.objects.filter(pk=to_read.pk).update(status=Photo.Status.READY, ocr_status=Photo.OcrStatus.PENDING,
                                               ocr_reason=OCR_QUEUED)
    Photo.objects.filter(pk=waiting.pk).update(status=Photo.Status.PENDING)  # no embedding worker runs
    assert ocr_readers_start() == 1
    env = _env(toy_model, OCR_GATE="off", Q_TIMEOUT="300", Q_RETRY="400")
    worker = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "ocr_worker"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for(lambda: OrmQ.objects.filter(lock__isnull=False).exists(), 120, "the OCR worker to take the task")
        time.sleep(2)  # giving way to the embedding
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        took = time.monotonic() - started
    finally:
        stop_process_group(worker, grace=1)

    assert took < 10, f"the OCR worker took {took:.1f} s to stop"
    assert Photo.objects.get(pk=to_read.pk).ocr_status == Photo.OcrStatus.PENDING


def _in_group(process, group: int) -> bool:
    try:
        return os.getpgid(process.pid) == group
    except (ProcessLookupError, psutil.Error):
        return False


def test_a_sigterm_that_make_passes_on_is_not_a_second_stop(monkeypatch):
    """`make run` passes a SIGTERM sent to its process group (`kill -TERM -- -PGID`, a shell's `kill %1`) on to serve
    (GNU make kills its children with the signal it got), so serve got the same stop twice within moments; when the two
    did not merge, the second was taken for an impatient second Ctrl-C and killed the web server and the worker at once
    instead of letting them finish (up to 30 s). A SIGTERM within a second of the first is that same stop; a later one,
    or a Ctrl-C (SIGINT), still skips the wait."""
    from mediasearch.management.commands import serve

    monkeypatch.setattr(serve, "_first_sigterm_at", None)
    with pytest.raises(KeyboardInterrupt):
        serve._raise_keyboard_interrupt(signal.SIGTERM, None)
    serve._raise_keyboard_interrupt(signal.SIGTERM, None)  # make's copy of it: nothing more
    with pytest.raises(KeyboardInterrupt):
        serve._raise_keyboard_interrupt(signal.SIGINT, None)  # a Ctrl-C
    time.sleep(serve.SIGTERM_ECHO_SECONDS + 0.1)
    with pytest.raises(KeyboardInterrupt):
        serve._raise_keyboard_interrupt(signal.SIGTERM, None)  # asked again, later: kill now


def test_a_sigterm_before_the_cluster_has_a_sentinel_stops_it_once_it_has(monkeypatch):
    """A SIGTERM landing in `manage.py worker` before its cluster's start() made the sentinel: the stop thread found
    none to stop (it failed on None), start() brought the cluster up all the same, and 25 s later kill_if_overdue
    killed it mid-task. The stop asked for is made, in order, once the sentinel runs. (No process: django-q2's
    Cluster is stood in for.)"""
    from django_q import cluster

    from mediasearch.cluster import BoundedStopCluster

    class Sentinel:
        pid = 4242

        def is_alive(self) -> bool:
            return True

    stopped = []

    def stop(self) -> bool:
        stopped.append(self.sentinel.pid)  # as django-q2's: self.sentinel.is_alive() first
        return True

    monkeypatch.setattr(cluster.Cluster, "__init__", lambda self, broker=None: setattr(self, "sentinel", None))
    monkeypatch.setattr(cluster.Cluster, "start", lambda self: setattr(self, "sentinel", Sentinel()) or 1)
    monkeypatch.setattr(cluster.Cluster, "stop", stop)
    q = BoundedStopCluster()
    q.sig_handler(signal.SIGTERM, None)  # before start(): no sentinel yet
    time.sleep(0.2)  # the stop thread, as it was, ran and failed here
    q.start()
    deadline = time.monotonic() + 5
    while not stopped and time.monotonic() < deadline:
        time.sleep(0.01)
    assert stopped == [4242]
    q.sig_handler(signal.SIGTERM, None)  # a second signal is the same stop
    time.sleep(0.2)
    assert stopped == [4242]
