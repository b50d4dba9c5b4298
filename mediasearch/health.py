"""`/health/`: what a load balancer or a container orchestrator asks. No sign-in, no session, nothing secret.

    {"status": "ok" | "degraded" | "down",
     "checks": {"database": {"status": ..., "detail": ...}, "worker": ..., "model": ..., "storage": ...}}

HTTP 503 (status "down") when the database or the media storage fails, since the site cannot work then; a worker
that is not running or a model that cannot be loaded only degrade it (pages, uploads and metadata search still
work), so the answer stays 200. Details are short plain words: never an exception text, a path or a URL (they can
carry host names and passwords). The answer is cached per process for HEALTH_CACHE_SECONDS.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

OK, DEGRADED, DOWN, UNKNOWN = "ok", "degraded", "down", "unknown"
PROBE_PREFIX = "health-probe/"

_cache_lock = threading.Lock()
_cached: tuple[float, dict] | None = None


def _check(status: str, detail: str) -> dict:
    return {"status": status, "detail": detail}


def check_database() -> dict:
    """It answers, and every migration of this code is applied (during an upgrade, until `migrate` has run, the new
    code's processes say "degraded")."""
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        answered = (time.monotonic() - started) * 1000
        unapplied = unapplied_migrations()
    except Exception:  # noqa: BLE001 - whatever the driver raises, the answer is "down", never a 500
        logger.warning("health: the database does not answer", exc_info=True)
        _drop_connection()
        return _check(DOWN, "not answering")
    if unapplied:
        return _check(DEGRADED, f"answering in {answered:.0f} ms; {unapplied} migration(s) of this version not "
                                "applied yet (manage.py migrate)")
    return _check(OK, f"answering in {answered:.0f} ms")


@functools.cache
def code_migrations() -> frozenset[tuple[str, str]]:
    """The (app, name) of every migration this code has: read from disk once, since it can't change under a
    running process."""
    return frozenset(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def unapplied_migrations() -> int:
    """How many migrations of this code the database lacks."""
    return len(code_migrations() - set(MigrationRecorder(connection).applied_migrations()))


def _drop_connection() -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - it is broken already
        pass


def check_worker() -> dict:
    from search.worker_heartbeats import workers_alive

    queues = [("main", settings.Q_CLUSTER["name"])]
    if settings.OCR_ENABLED:
        queues.append(("OCR", settings.OCR_CLUSTER))
    try:
        alive = {label: workers_alive(cluster) for label, cluster in queues}
    except Exception:  # noqa: BLE001
        _drop_connection()
        return _check(UNKNOWN, "cannot tell without the database")
    detail = "; ".join(f"{label} queue: {count} running" if count else f"{label} queue: none running"
                       for label, count in alive.items())
    if not alive["main"]:
        return _check(DOWN, detail + " (new photos wait until a worker runs)")
    if not all(alive.values()):
        return _check(DEGRADED, detail)
    return _check(OK, detail)


def check_model() -> dict:
    """Whether the search model loads, as whichever process last tried recorded it (loading it here would cost
    seconds and memory in a health probe)."""
    from search.selectors import active_model_state

    try:
        state = active_model_state()
    except Exception:  # noqa: BLE001
        _drop_connection()
        return _check(UNKNOWN, "cannot tell without the database")
    if state is None:
        return _check(UNKNOWN, "not loaded yet by any process")
    if not state.available:
        if _previous_model_serves(state.name):
            return _check(DOWN, "cannot be loaded: new photos wait; search uses the previous model's embeddings "
                                "meanwhile (the Index page says why)")
        return _check(DOWN, "cannot be loaded: semantic search is off (the Index page says why)")
    return _check(OK, f"loads ({state.dim} dimensions)")


def _previous_model_serves(active: str) -> bool:
    """Whether embeddings of another model that can load exist: family_search_model searches with them while the
    active model can't load (a switch to a model that is not there), as its _best_previous picks them."""
    from search.selectors import usable_other_embeddings

    try:
        return usable_other_embeddings(active).exists()
    except Exception:  # noqa: BLE001 - the database check says what is wrong with it
        _drop_connection()
        return False


def check_storage() -> dict:
    """Write, read back and delete a small file through the media storage (a full or read-only disk, or a bucket
    that refuses writes, fails here as uploads would)."""
    payload = uuid.uuid4().hex.encode()
    name = None
    try:
        name = default_storage.save(f"{PROBE_PREFIX}{uuid.uuid4().hex}.txt", ContentFile(payload))
        with default_storage.open(name, "rb") as stream:
            if stream.read() != payload:
                return _check(DOWN, "a file written could not be read back")
    except Exception:  # noqa: BLE001
        logger.warning("health: the media storage fails", exc_info=True)
        return _check(DOWN, "cannot write and read a file")
    finally:
        if name is not None:
            try:
                default_storage.delete(name)
            except Exception:  # noqa: BLE001
                logger.warning("health: could not delete the probe file %s", name, exc_info=True)
    return _check(OK, "writable")


def health_report() -> dict:
    """Every check, and the overall status they make. Cached for HEALTH_CACHE_SECONDS."""
    global _cached
    with _cache_lock:
        now = time.monotonic()
        if _cached is not None and now - _cached[0] < settings.HEALTH_CACHE_SECONDS:
            return _cached[1]
        database = check_database()
        answers = database["status"] != DOWN  # (degraded: it answers, with migrations of this code not applied yet)
        checks = {
            "database": database,
            "worker": check_worker() if answers else _check(UNKNOWN, "cannot tell without the database"),
            "model": check_model() if answers else _check(UNKNOWN, "cannot tell without the database"),
            "storage": check_storage(),
        }
        if DOWN in (checks["database"]["status"], checks["storage"]["status"]):
            status = DOWN
        elif any(check["status"] in (DOWN, DEGRADED) for check in checks.values()):
            status = DEGRADED
        else:
            status = OK
        report = {"status": status, "checks": checks}
        _cached = (time.monotonic(), report)
        return report


def health_forget() -> None:
    """Drop the cached answer (tests, and after settings change)."""
    global _cached
    with _cache_lock:
        _cached = None


@csrf_exempt  # it changes nothing: a POST is told 405 by require_safe, not 403 by the CSRF check
@never_cache
@require_safe  # GET, and HEAD for probes that only look at the status
def health(request):
    report = health_report()
    return JsonResponse(report, status=503 if report["status"] == DOWN else 200)
