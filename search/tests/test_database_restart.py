"""After the database drops every connection (a restart, a failover, an idle timeout on a proxy), the web server's
next requests succeed: no request is handed a dead connection from the pool.

Runs the real web server (`manage.py serve --no-worker`: gunicorn, threads, Django's psycopg pool as serve configures
it) against the test database, and drops its connections on the real server with pg_terminate_backend, which is what
a fast restart does to them (bench/load.py --faults restarts the whole server)."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from tests.memory import child_env
from tests.processes import free_port, stop_process_group, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
THREADS = 4  # serve's threads per web worker, and so its pool size


def _status(url: str, cookie: str) -> int:
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _drop_every_other_connection() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_requests_right_after_the_database_dropped_every_connection_succeed(toy_model, alice):
    client = Client()
    client.force_login(alice)
    cookie = f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    port = free_port()
    env = child_env(SEARCH_MODEL=toy_model, SEARCH_DTYPE="float32", SECRET_KEY=django_settings.SECRET_KEY)
    env.pop("DATABASE_POOL", None)  # serve's own default: a pool of one connection per thread
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "serve", "--no-worker", "--port", str(port), "--web-workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/search/?q=red+circle"
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/accounts/login/", server, timeout=120)
        with ThreadPoolExecutor(THREADS * 2) as pool:
            # Every thread busy at once: the pool opens a connection for each.
            assert set(pool.map(lambda _: _status(url, cookie), range(THREADS * 4))) == {200}
            dropped = _drop_every_other_connection()
            assert dropped >= 2, f"the pool held {dropped} connection(s); the test proves nothing"
            after = list(pool.map(lambda _: _status(url, cookie), range(THREADS * 4)))
    finally:
        stop_process_group(server, grace=30)
    assert after == [200] * len(after), f"statuses after the connections were dropped: {after}"


@pytest.fixture
def database_gone(transactional_db):
    """While it is in effect, this process's database connection points at a server that is not there (a port
    nobody listens on: a socket file that does not exist): what a request meets while the database restarts."""
    connection.close()
    port = connection.settings_dict["PORT"]
    connection.settings_dict["PORT"] = "1"
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/search/?q=red", "/api/v1/search/?q=red", "/"])
def test_while_the_database_is_unreachable_pages_and_the_api_answer_503_with_retry_after(alice, path, request):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    request.getfixturevalue("database_gone")
    response = client.get(path)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    text = response.content.decode()
    assert "database" in text and "try again" in text
    if path.startswith("/api/"):
        assert response.headers["Content-Type"] == "application/json"
        assert response.json()["detail"].startswith("The database")
