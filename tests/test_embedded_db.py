"""The embedded PostgreSQL stops with the last process using it, even after another one was killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOLD = """
import sys, time
from pathlib import Path
from mediasearch.db import embedded_database_url
embedded_database_url(Path(sys.argv[1]))
print("up", flush=True)
if sys.argv[2] == "hold":
    time.sleep(120)
"""


def _postmaster_running(pgdata: Path) -> bool:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    try:
        os.kill(int(pid_file.read_text().split()[0]), 0)
    except (ProcessLookupError, ValueError, IndexError):
        return False
    return True


def _user(pgdata: Path, mode: str) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(pgdata), mode], cwd=ROOT, stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    assert process.stdout.readline().strip() == "up"
    return process


def test_the_server_stops_with_the_last_process_even_after_one_was_killed(server_tmp):
    pgdata = server_tmp / "pgdata"
    killed = _user(pgdata, "hold")  # e.g. a worker that gets SIGKILLed: it never says goodbye
    try:
        assert _postmaster_running(pgdata)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        last = _user(pgdata, "exit")  # the last process using it exits normally
        last.wait(timeout=60)
        deadline = time.monotonic() + 30
        while _postmaster_running(pgdata) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _postmaster_running(pgdata), "the embedded server outlived every process that used it"
    finally:
        if _postmaster_running(pgdata):
            os.kill(int((pgdata / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)
