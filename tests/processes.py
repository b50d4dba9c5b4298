"""Child processes that tests start (a worker cluster, serve): stopped as a whole, whatever they started."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request


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


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float) -> None:
    """Wait until `url` answers with a success, failing at once if the server `process` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the web server exited while starting"
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the web server did not start")
