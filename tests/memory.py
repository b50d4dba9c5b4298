"""Peak memory of real code, measured in child processes so that nothing of the test process (pytest, other
tests' leftovers) blurs the figure. Linux only: /proc/self/status and /proc/self/clear_refs.

A child runs PRELUDE (Django set up against the test database, every import and the database connection
warmed by one small decode), then the test's code, which calls `measure(fn)` for the peak RSS growth of
`fn()` and `report(**values)` to hand results back as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.db import connection

from mediasearch.db import database_url

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024

PRELUDE = r'''
import json, os, sys
import django
django.setup()
from gallery.images import inspect_image
from tests.images import jpeg
inspect_image(jpeg())  # warm: imports, Pillow plugins, the database connection


def status(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024


def measure(fn):
    """(fn(), peak RSS growth in bytes while it ran)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # VmHWM := VmRSS
    base = status("VmRSS")
    result = fn()
    return result, status("VmHWM") - base


def report(**values):
    print("RESULT " + json.dumps(values), flush=True)
'''


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a child that works on the test database and the test's media folder."""
    db = connection.settings_dict
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "mediasearch.settings",
        "DATABASE_URL": database_url(db),
        "MEDIA_ROOT": str(settings.STORAGES["default"]["OPTIONS"]["location"]),
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def run_child(code: str, *, env: dict[str, str] | None = None, timeout: float = 300) -> dict:
    """Run PRELUDE + `code` in a fresh interpreter; return what it report()ed."""
    done = subprocess.run([sys.executable, "-c", PRELUDE + code], cwd=ROOT, env=env or child_env(),
                          capture_output=True, text=True, timeout=timeout)
    return _result(done.stdout, done.stderr)


def _result(stdout: str, stderr: str) -> dict:
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise AssertionError(f"the child reported nothing:\n{stdout[-2000:]}\n{stderr[-4000:]}")


def rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def run_together(codes: list[str], *, env: dict[str, str] | None = None, timeout: float = 300) -> tuple[int, list[dict]]:
    """Start one child per code, let each warm up, then set them all off at once and sample their memory.

    Returns (the peak of their summed RSS growth over their warmed-up RSS, sampled every 5 ms, in bytes;
    what each reported)."""
    go = "\nsys.stdin.readline()\n"
    children = [subprocess.Popen([sys.executable, "-c", PRELUDE + "report(ready=True)" + go + code], cwd=ROOT,
                                 env=env or child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for code in codes]
    try:
        for child in children:
            assert child.stdout.readline().startswith("RESULT "), child.stderr.read()[-4000:]
        base = {child.pid: rss(child.pid) or 0 for child in children}
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        peak, deadline = 0, time.monotonic() + timeout
        while any(child.poll() is None for child in children) and time.monotonic() < deadline:
            total = sum(max(0, (rss(pid) or base[pid]) - base[pid]) for pid in base)
            peak = max(peak, total)
            time.sleep(0.005)
        results = [_result(*child.communicate(timeout=30)) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    return peak, results
