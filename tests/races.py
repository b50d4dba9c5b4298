"""Two connections at once, for the tests of races: these need a transactional test (real commits), because the
races only exist between separate database sessions."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from django.db import connection, transaction


def in_threads(count: int, work) -> list:
    """Run work(i) in `count` threads released together; each returns its value or the exception it raised."""
    barrier = threading.Barrier(count)

    def run(i):
        try:
            barrier.wait()
            return work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread met
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


@dataclass
class Interleaving:
    first: Any  # what first() returned, or the exception it (or its commit) raised
    second: Any
    second_waited: bool  # the second session waited on a lock the first one held


def first_holds_then_second(first: Callable[[], Any], second: Callable[[], Any], *,
                            then: Callable[[], Any] | None = None, timeout: float = 30) -> Interleaving:
    """One exact interleaving, decided by the database rather than by timing: first() runs in a transaction that
    stays open; then second() runs on its own connection; the first transaction commits as soon as the second
    session is blocked by one of its locks (or has finished without waiting). With `then`, the first transaction
    goes on with then() at that moment (its result is the first's) before it commits: a transaction that took one
    lock, then wants more while the second waits for it (where two orders of locking deadlock). Each side's
    exception is its result."""
    first_ran, release, second_started = threading.Event(), threading.Event(), threading.Event()
    results: dict[str, Any] = {}
    pids: dict[str, int] = {}

    def run_first():
        try:
            with transaction.atomic():
                connection.ensure_connection()
                pids["first"] = connection.connection.info.backend_pid
                results["first"] = first()
                first_ran.set()
                release.wait(timeout)
                if then is not None:
                    results["first"] = then()
        except Exception as exc:  # noqa: BLE001
            results["first"] = exc
        finally:
            first_ran.set()
            connection.close()

    def run_second():
        try:
            connection.ensure_connection()
            pids["second"] = connection.connection.info.backend_pid
            second_started.set()
            results["second"] = second()
        except Exception as exc:  # noqa: BLE001
            results["second"] = exc
        finally:
            second_started.set()
            connection.close()

    threads = [threading.Thread(target=run_first)]
    threads[0].start()
    first_ran.wait(timeout)
    waited = False
    if isinstance(results.get("first"), Exception):  # first() itself raised: nothing to hold
        release.set()
    else:
        threads.append(threading.Thread(target=run_second))
        threads[1].start()
        second_started.wait(timeout)
        waited = _until_blocked_or_done(threads[1], pids.get("second"), pids["first"], timeout)
        release.set()
    for thread in threads:
        thread.join(timeout)
    return Interleaving(results.get("first"), results.get("second"), waited)


def _until_blocked_or_done(thread: threading.Thread, pid: int | None, blocker: int, timeout: float) -> bool:
    """Poll (from this thread's own session, in autocommit) until session `pid` waits on `blocker`'s locks."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while thread.is_alive() and pid is not None and time.monotonic() < deadline:
            cursor.execute("SELECT %s = ANY(pg_blocking_pids(%s))", [blocker, pid])
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.01)
    return False
