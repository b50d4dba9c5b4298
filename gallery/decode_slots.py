"""A counting semaphore over every process that decodes originals (web workers, the task worker, commands,
on any number of machines): at most DECODE_CONCURRENCY full decodes run at once, so their memory adds up
to at most that many decode budgets (DECODE_MAX_MEMORY) however many uploads arrive together.

The slots are PostgreSQL session-level advisory locks (key DECODE_LOCK_CLASS, slot number), so they need
nothing but the database every process already shares, and a process that dies releases its slot with
its connection.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator

from django.conf import settings
from django.db import connection

# The first key of the two-key advisory lock form; the second is the slot number. (Other advisory locks
# in the project use the one-bigint form, a separate key space.)
DECODE_LOCK_CLASS = 0x4D534443  # "MSDC"


class DecodeSlotsBusy(Exception):
    """Every decode slot stayed taken for the whole wait."""


@contextlib.contextmanager
def decode_slot(*, wait: float | None = None) -> Iterator[int]:
    """Hold one of the DECODE_CONCURRENCY slots while the block runs; yields the slot number.

    Waits up to `wait` seconds (DECODE_WAIT_SECONDS by default) for a free slot, then raises
    DecodeSlotsBusy. Slots are session locks, so they hold across transactions and are taken and
    released outside of them: the block may run inside a transaction or not."""
    slots = max(1, settings.DECODE_CONCURRENCY)
    deadline = time.monotonic() + (settings.DECODE_WAIT_SECONDS if wait is None else wait)
    slot = _try_any(slots)
    pause = 0.02
    while slot is None:
        if time.monotonic() >= deadline:
            raise DecodeSlotsBusy(f"all {slots} decode slots are in use")
        # Jitter keeps the waiting processes from polling in step.
        time.sleep(min(pause * random.uniform(0.5, 1.5), max(0.0, deadline - time.monotonic())))
        pause = min(pause * 2, 0.5)
        slot = _try_any(slots)
    try:
        yield slot
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [DECODE_LOCK_CLASS, slot])


def _try_any(slots: int) -> int | None:
    """Take the first free slot, starting at a random one so that waiting processes spread out."""
    start = random.randrange(slots)
    with connection.cursor() as cursor:
        for offset in range(slots):
            slot = (start + offset) % slots
            cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [DECODE_LOCK_CLASS, slot])
            if cursor.fetchone()[0]:
                return slot
    return None
