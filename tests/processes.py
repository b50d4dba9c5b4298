"""Child processes that tests start (a worker cluster, serve): stopped as a whole, whatever they started."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_process_group(process: subprocess.Popen, grace: float = 15) -> None:
    """Ask `process` (started with start_new_session=True) to stop, give it `grace` seconds for its own graceful
    shutdown, then kill its whole process group: nothing it started outlives the test."""
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()
