"""Worker liveness that does not depend on the broker or the cache: each worker's main process keeps a row in
WorkerHeartbeat fresh while its django-q2 cluster runs (see mediasearch/management/commands/worker.py), and
`/health/` counts the fresh rows per cluster. Every time is the database's clock."""

from __future__ import annotations

import logging
import multiprocessing
import os
import socket
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.db.models.functions import Now

from search.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

MISSED_BEATS = 3  # a worker is counted dead after this many beats without a sign of life
FORGET_AFTER = timedelta(days=1)  # rows of workers that died without saying so are deleted after this


def heartbeat_beat(*, cluster: str, host: str, pid: int) -> None:
    """Say that the worker `host:pid` on `cluster` is alive now (the first beat also records when it started)."""
    updated = WorkerHeartbeat.objects.filter(host=host, pid=pid).update(cluster=cluster, seen_at=Now())
    if not updated:
        # Only this process beats for host:pid, so nothing can have made its row since.
        WorkerHeartbeat.objects.create(cluster=cluster, host=host, pid=pid, seen_at=Now(), started_at=Now())
        WorkerHeartbeat.objects.filter(seen_at__lt=Now() - FORGET_AFTER).delete()


def heartbeat_forget(*, host: str, pid: int) -> None:
    """The worker `host:pid` stopped: it is no longer counted."""
    WorkerHeartbeat.objects.filter(host=host, pid=pid).delete()


def workers_alive(cluster: str | None = None) -> int:
    """How many worker processes (on any machine) took part in `cluster` (or any) within the last few beats."""
    window = timedelta(seconds=MISSED_BEATS * settings.WORKER_HEARTBEAT_SECONDS)
    alive = WorkerHeartbeat.objects.filter(seen_at__gte=Now() - window)
    return (alive if cluster is None else alive.filter(cluster=cluster)).count()


def beat_while_cluster_runs(cluster: str, *, tick: Callable[[], None] | None = None) -> None:
    """Run in a worker's main process once its cluster has started: beat every WORKER_HEARTBEAT_SECONDS for as long
    as the cluster's sentinel (this process's child) lives, then forget this worker. A failed beat (the database
    restarting) is logged and tried again at the next one. `tick` is called at every turn (twice a second at most)."""
    host, pid = socket.gethostname(), os.getpid()
    interval = settings.WORKER_HEARTBEAT_SECONDS
    next_beat = 0.0
    try:
        while multiprocessing.active_children():
            if time.monotonic() >= next_beat:
                next_beat = time.monotonic() + interval
                try:
                    heartbeat_beat(cluster=cluster, host=host, pid=pid)
                except Exception:  # noqa: BLE001 - a database blip must not stop the worker
                    logger.warning("worker heartbeat failed; trying again in %s s", interval, exc_info=True)
                    connections.close_all()
            if tick is not None:
                tick()
            time.sleep(min(0.5, interval))
    finally:
        try:
            heartbeat_forget(host=host, pid=pid)
        except Exception:  # noqa: BLE001 - it goes stale by itself
            logger.warning("could not remove this worker's heartbeat", exc_info=True)
        connections.close_all()
