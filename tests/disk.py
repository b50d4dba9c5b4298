"""A disk that fills up, for the test process itself."""

from __future__ import annotations

import resource
import signal
from contextlib import contextmanager


@contextmanager
def disk_full_past(limit: int):
    """Every file this process writes stops at `limit` bytes with a real write error from the kernel (EFBIG), as on
    a disk that fills up in the middle of a file; PostgreSQL, another process, is not limited."""
    previous_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write error, not the default kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, previous_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, previous_limit)
        signal.signal(signal.SIGXFSZ, previous_handler)
