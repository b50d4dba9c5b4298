"""Starting up: importing settings writes nothing and starts nothing (the embedded database starts with the first
connection), the secret key is required where machines must share it, the connection pool survives a database
restart, and static files get content-hashed names."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from mediasearch.db import database_url

ROOT = Path(__file__).resolve().parents[1]


def _env(var_dir: Path | None = None, *, drop: tuple[str, ...] = (), **extra: str) -> dict[str, str]:
    """A child's environment with the real settings (not the tests'), a runtime folder of its own, no key."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"SECRET_KEY", "DATABASE_URL", "DATABASE_POOL", "Q_BROKER", *drop}}
    env["DJANGO_SETTINGS_MODULE"] = "mediasearch.settings"
    env["LOG_LEVEL"] = "WARNING"
    if var_dir is not None:
        env["MEDIASEARCH_VAR_DIR"] = str(var_dir)
    return {**env, **extra}


def _python(code: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def _postmaster_pid(pgdata: Path) -> int | None:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
        return None
    return pid


def _postgres_processes_for(pgdata: Path) -> list[str]:
    import psutil

    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info["cmdline"] or []
        if cmdline and "postgres" in Path(cmdline[0]).name and str(pgdata) in cmdline:
            found.append(" ".join(cmdline))
    return found


SETUP_THEN_QUERY = """
import os, sys
from pathlib import Path
import django
django.setup()
var_dir = Path(os.environ["MEDIASEARCH_VAR_DIR"])
print("after setup:", var_dir.exists(), flush=True)
sys.stdin.readline()  # the test looks for a postgres process now
from django.db import connection
with connection._nodb_cursor() as cursor:  # as the test runner does first: a copy of the settings, to "postgres"
    cursor.execute("SELECT 1")
assert connection.settings_dict["HOST"], "the configured settings do not know the server's socket folder"
with connection.cursor() as cursor:
    cursor.execute("SELECT 1")
print("queried:", (var_dir / "pgdata" / "postmaster.pid").exists(), flush=True)
"""


def test_importing_settings_creates_nothing_and_starts_no_database_until_the_first_query(server_tmp):
    var_dir = server_tmp / "fresh-var"
    child = subprocess.Popen([sys.executable, "-c", SETUP_THEN_QUERY], cwd=ROOT, env=_env(var_dir, SECRET_KEY="k" * 50),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "after setup: False", child.stderr.read()
        assert not var_dir.exists(), "django.setup() created the runtime folder"
        assert not _postgres_processes_for(var_dir / "pgdata"), "django.setup() started PostgreSQL"
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "queried: True", child.stderr.read()
        assert child.wait(timeout=60) == 0
        deadline = time.monotonic() + 30  # the last (only) process using it exited: the server stops
        while _postmaster_pid(var_dir / "pgdata") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _postmaster_pid(var_dir / "pgdata")
    finally:
        child.kill()
        child.wait()
        if pid := _postmaster_pid(var_dir / "pgdata"):
            os.kill(pid, signal.SIGKILL)


def test_an_embedded_server_that_will_not_start_is_said_in_one_line_with_its_log(server_tmp):
    """An embedded PostgreSQL that fails to start (here a setting it refuses; in CI once a start under heavy load
    that outlasted pg_ctl's 10 s wait) ended `manage.py` in the package's traceback, and when the server wrote no
    log, in a FileNotFoundError of the log the package then tried to show. Tried again a few times (a slow start
    is joined by the next try), it is then one line: the data folder, what failed, where the log is."""
    var_dir = server_tmp / "var"
    env = _env(var_dir, SECRET_KEY="k" * 50)
    first = subprocess.run([sys.executable, "manage.py", "check", "--database", "default"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr[-3000:]
    pgdata = var_dir / "pgdata"
    with open(pgdata / "postgresql.conf", "a") as conf:
        conf.write("\nshared_buffers = 'plenty'\n")
    result = subprocess.run([sys.executable, "manage.py", "migrate"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    said = result.stderr.strip().splitlines()[-1]
    assert said.startswith(f"manage.py: the embedded PostgreSQL server in {pgdata} did not start"), said
    assert 'pg_ctl exited with status 1; LOG: invalid value for parameter "shared_buffers": "plenty"' in said
    assert f"its log: {pgdata / 'log'}" in said and "DATABASE_URL" in said
    assert not _postmaster_pid(pgdata)


def test_a_start_that_wrote_no_log_is_said_as_pg_ctls_failure_not_the_missing_log(server_tmp):
    """The package, handling pg_ctl's timeout, read the log the server never wrote: that FileNotFoundError is not
    what went wrong."""
    from mediasearch.db import _start_failure

    try:
        try:
            raise subprocess.TimeoutExpired(["pg_ctl", "start"], 10)
        except subprocess.TimeoutExpired:
            (server_tmp / "pgdata" / "log").read_text()
    except FileNotFoundError as error:
        assert _start_failure(error) == "pg_ctl did not finish within 10 s"


def test_with_database_url_start_up_refuses_to_run_without_a_secret_key(tmp_path):
    env = _env(tmp_path / "var", DATABASE_URL="postgres://mediasearch@db.example/mediasearch")
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode != 0
    assert "SECRET_KEY is not set. With DATABASE_URL set" in done.stderr
    assert "Set SECRET_KEY to one long random value everywhere" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr  # said as a sentence, not 40 lines of Python's import machinery
    assert not (tmp_path / "var").exists(), "no key file may be generated when machines must share the key"

    env["SECRET_KEY"] = "s" * 50
    assert subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                          timeout=120).returncode == 0


def test_on_one_machine_the_key_is_generated_once_by_manage_py_and_settings_only_read_it(tmp_path):
    var_dir = tmp_path / "var"
    setup = "import django; django.setup(); from django.conf import settings; print(settings.SECRET_KEY)"
    refused = _python(setup, _env(var_dir))
    assert refused.returncode != 0
    assert f"SECRET_KEY is not set and {var_dir / 'secret_key'} does not exist yet" in refused.stderr
    assert not var_dir.exists()

    for _ in range(2):
        done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=_env(var_dir),
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    key_file = var_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(key_file.read_text()) >= 50
    assert sorted(p.name for p in var_dir.iterdir()) == ["secret_key"]  # no draft left, nothing else made
    assert _python(setup, _env(var_dir)).stdout.strip() == key_file.read_text().strip()


POOL_AFTER_RESTART = """
import django
django.setup()
from django.db import connection, connections
import psycopg
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_backend_pid()")
    pid = cursor.fetchone()[0]
connections.close_all()  # back to the pool, still open
# What a database restart does to every open connection: the server ends it.
with psycopg.connect(URL, autocommit=True) as admin:
    admin.execute("SELECT pg_terminate_backend(%s)", [pid])
for _ in range(3):  # each request borrows a connection: none may be the dead one
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
    connections.close_all()
print("ok")
"""


@pytest.mark.django_db
def test_the_connection_pool_hands_out_no_dead_connection_after_a_database_restart():
    url = database_url(connection.settings_dict)
    env = _env(DATABASE_URL=url, SECRET_KEY="s" * 50, DATABASE_POOL="2")
    done = _python(f"URL = {url!r}\n" + POOL_AFTER_RESTART, env)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-3000:]


def test_static_files_are_served_under_content_hashed_names_after_collectstatic(settings, tmp_path, client, alice):
    import re

    from django.core.management import call_command

    from mediasearch import settings as site_settings

    # The site's own settings (the tests read the source folders instead, with no collectstatic step).
    assert site_settings.STORAGES["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert not hasattr(site_settings, "WHITENOISE_USE_FINDERS")  # WhiteNoise's default: finders only with DEBUG
    settings.STORAGES = {**settings.STORAGES, "staticfiles": site_settings.STORAGES["staticfiles"]}
    settings.STATIC_ROOT = tmp_path / "static"
    settings.WHITENOISE_USE_FINDERS = False
    call_command("collectstatic", interactive=False, verbosity=0)  # as `serve` does before it starts gunicorn

    page = client.get("/accounts/login/")
    assert page.status_code == 200
    css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page.content.decode())
    assert css, "the page links the stylesheet by its hashed name"
    response = client.get(css.group(1), HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"  # compressed once, at collectstatic
    assert "immutable" in response["Cache-Control"]  # a new version gets a new name: cached for ever
    b"".join(response.streaming_content)


def test_gunicorn_started_by_itself_before_collectstatic_refuses_to_start_and_says_why(tmp_path):
    """The separate systemd units run gunicorn themselves (serve collects the static files first; gunicorn does not):
    started before `collectstatic`, every page was a 500 ("Missing staticfiles manifest entry") while /health/ said
    the web server was fine, so a load balancer kept sending people to it. It now stops at once and says what to do."""
    from tests.processes import free_port

    var_dir = tmp_path / "var"
    env = _env(var_dir, SECRET_KEY="startup-test-" * 5, DEBUG="off")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "mediasearch.wsgi:application", "-c", "python:mediasearch.gunicorn_conf",
         "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = server.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.communicate()
        pytest.fail("gunicorn kept running without the static files' manifest")
    assert server.returncode != 0
    assert "the static files were not collected" in stderr and "manage.py collectstatic --noinput" in stderr
    assert not (var_dir / "pgdata").exists()  # said before anything else started


BROKER = """
import django
django.setup()
from django.conf import settings
from django_q.brokers import get_broker
print(sorted(k for k in ("orm", "redis") if k in settings.Q_CLUSTER), settings.Q_CLUSTER.get("redis"),
      type(get_broker()).__name__)
"""


@pytest.mark.django_db
def test_q_broker_picks_the_database_queue_by_default_a_redis_url_or_refuses_anything_else(tmp_path):
    url = database_url(connection.settings_dict)
    env = _env(tmp_path / "var", SECRET_KEY="s" * 50, DATABASE_URL=url)  # (the ORM broker connects at once)
    done = _python(BROKER, env)
    assert done.stdout.split() == ["['orm']", "None", "ORM"], done.stderr[-3000:]
    done = _python(BROKER, {**env, "Q_BROKER": "redis://cache.internal:6379/2"})
    assert done.stdout.split() == ["['redis']", "redis://cache.internal:6379/2", "Redis"], done.stderr[-2000:]
    refused = _python(BROKER, {**env, "Q_BROKER": "rabbitmq://queue"})
    assert refused.returncode != 0
    assert "Q_BROKER='rabbitmq://queue' is not understood: use `orm`" in refused.stderr


SETTINGS = "import json, mediasearch.settings as s; print(json.dumps([s.SEARCH_PROMPT_TEMPLATES, s.MEDIA_ACCEL]))"


@pytest.mark.parametrize("templates", ["photo", "a photo of {}.|", "a photo of {name}", "{} and {}", "a {photo of {}"])
def test_prompt_templates_that_would_not_hold_the_query_stop_start_up(tmp_path, templates):
    """SEARCH_PROMPT_TEMPLATES=photo made every query the same text ("photo": every search ranked alike), a trailing
    "|" averaged an empty text into every query, and "{name}" made every search a 500: each template must hold the
    words once, as {}."""
    refused = _python(SETTINGS, _env(tmp_path / "var", SECRET_KEY="s" * 50, SEARCH_PROMPT_TEMPLATES=templates))
    assert refused.returncode != 0
    assert "SEARCH_PROMPT_TEMPLATES" in refused.stderr and "{}" in refused.stderr


@pytest.mark.parametrize("accel", ["nginx", "x_accel", "xsendfile"])
def test_a_media_accel_the_code_does_not_know_stops_start_up(tmp_path, accel):
    """MEDIA_ACCEL=nginx (or x_accel) was taken as "stream the files through Django", saying nothing, while its writer
    believed nginx sent them."""
    refused = _python(SETTINGS, _env(tmp_path / "var", SECRET_KEY="s" * 50, MEDIA_ACCEL=accel))
    assert refused.returncode != 0
    assert f"MEDIA_ACCEL={accel!r} is not understood" in refused.stderr


def test_the_documented_prompt_templates_and_media_accel_values_start(tmp_path):
    for templates, accel in [("a photo of {}.|{}", "x-accel"), ("{}|a picture of {}|{{literal}} {}", "X-Sendfile"),
                             ("a photo of {}.|{}", "")]:
        done = _python(SETTINGS, _env(tmp_path / "var", SECRET_KEY="s" * 50, SEARCH_PROMPT_TEMPLATES=templates,
                                            MEDIA_ACCEL=accel))
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout.strip().splitlines()[-1]) == [templates.split("|"), accel.lower()]


@pytest.mark.parametrize(("host", "allowed", "warned"), [
    ("0.0.0.0", ["localhost", "127.0.0.1", "[::1]"], True),  # the default ALLOWED_HOSTS
    ("::", ["localhost"], True),
    ("0.0.0.0", ["localhost", "192.168.1.20"], False),
    ("0.0.0.0", ["*"], False),
    ("127.0.0.1", ["localhost", "127.0.0.1", "[::1]"], False),
    ("192.168.1.20", ["localhost", "127.0.0.1"], True),
])
def test_serve_says_when_other_devices_would_get_bad_request(host, allowed, warned):
    """HOST=0.0.0.0 make run, to open the gallery on a phone on the same network: the phone got "Bad request" for
    every page (ALLOWED_HOSTS, by default, names only this machine), and only the server's log said why. serve now
    says it as it starts, with what to set."""
    from mediasearch.management.commands.serve import other_devices_refused

    said = other_devices_refused(host, allowed)
    assert bool(said) == warned
    if warned:
        assert "ALLOWED_HOSTS" in said and "Bad request" in said


def test_serve_on_a_port_another_server_holds_says_so_and_starts_nothing(monkeypatch):
    """`make run` again while the gallery still runs (to restart a worker someone thought dead): the new serve
    started its worker against the same database, printed "MediaSearch is running at http://localhost:8852/"
    (the other server had answered its probe) and only then stopped with "The web process could not start (exit
    code 1)", the reason in gunicorn's log lines above (QA). It now says the port is taken before it starts
    anything."""
    import socket

    from django.core.management import call_command
    from django.core.management.base import CommandError

    from mediasearch.management.commands import serve

    started = []
    monkeypatch.setattr(serve.Child, "start", lambda child: started.append(child.name))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(CommandError) as refused:
            call_command("serve", "--host", "127.0.0.1", "--port", str(port))
    assert str(refused.value) == (
        f"Port {port} on 127.0.0.1 is already in use: is MediaSearch (or another program) already running there? "
        "Stop it first, or set PORT to another port.")
    assert started == []


def test_log_level_reads_any_case_and_names_a_level_it_does_not_know(tmp_path):
    """LOG_LEVEL=debug (as most write it) stopped every start with "ValueError: Unable to configure root logger",
    naming neither the variable nor the levels."""
    probe = "import django; django.setup(); import logging; print(logging.getLevelName(logging.getLogger().level))"
    env = _env(tmp_path / "var", SECRET_KEY="s" * 50)
    done = _python(probe, {**env, "LOG_LEVEL": "debug"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "DEBUG"
    refused = _python(probe, {**env, "LOG_LEVEL": "verbose"})
    assert refused.returncode != 0
    assert "LOG_LEVEL='verbose' is not a level" in refused.stderr


@pytest.mark.parametrize(("variable", "value", "said"), [
    ("UPLOAD_MAX_BYTES", "50MB", "UPLOAD_MAX_BYTES='50MB' is not a whole number"),
    ("TRASH_DAYS", "30 days", "TRASH_DAYS='30 days' is not a whole number"),
    ("DUPLICATE_COSINE", "high", "DUPLICATE_COSINE='high' is not a number"),
    ("MEDIA_FILE_MODE", "rw-r-----", "MEDIA_FILE_MODE='rw-r-----' is not an octal mode"),
])
def test_a_number_that_is_not_one_stops_start_up_naming_the_variable(tmp_path, variable, value, said):
    """UPLOAD_MAX_BYTES=50MB stopped start-up with "invalid literal for int() with base 10: '50MB'", a traceback
    through the settings that named no variable; the number variables now say which one and what they take."""
    refused = _python("import mediasearch.settings", _env(tmp_path / "var", SECRET_KEY="s" * 50, **{variable: value}))
    assert refused.returncode != 0
    assert said in refused.stderr


NO_EXTENSIONS_DB = f"{connection.settings_dict['TEST']['NAME']}_no_extensions"
NO_EXTENSIONS_ROLE = "mediasearch_not_superuser"


@pytest.fixture
def database_without_extensions():
    """A database owned by a role that is no superuser, with none of the extensions: as a PostgreSQL of one's own
    whose administrator did not create them (or whose server lacks pgvector, which only a superuser may create)."""
    import psycopg

    admin_url = database_url(connection.settings_dict, name="postgres")
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{NO_EXTENSIONS_DB}" WITH (FORCE)')
        admin.execute(f"DROP ROLE IF EXISTS {NO_EXTENSIONS_ROLE}")
        admin.execute(f"CREATE ROLE {NO_EXTENSIONS_ROLE} LOGIN PASSWORD '{NO_EXTENSIONS_ROLE}'")  # (a server of one's
        admin.execute(f'CREATE DATABASE "{NO_EXTENSIONS_DB}" OWNER {NO_EXTENSIONS_ROLE}')  # own asks for one)
    yield database_url(connection.settings_dict, name=NO_EXTENSIONS_DB, user=NO_EXTENSIONS_ROLE,
                       password=NO_EXTENSIONS_ROLE)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{NO_EXTENSIONS_DB}" WITH (FORCE)')
        admin.execute(f"DROP ROLE IF EXISTS {NO_EXTENSIONS_ROLE}")


@pytest.mark.django_db
def test_an_extension_the_server_lacks_or_has_too_old_is_named_with_what_to_install():
    from mediasearch.checks import extension_problems

    with connection.cursor() as cursor:
        missing = extension_problems(cursor, {"no_such_extension": ("pgfoo", None)})
        old = extension_problems(cursor, {"vector": ("pgvector", (99, 0))})
        fine = extension_problems(cursor)
    assert len(missing) == 1
    assert "pgfoo (“no_such_extension”) is not installed on the PostgreSQL server" in missing[0]
    assert old == [f"pgvector {old[0].split()[1]} is too old: 99.0 or newer is needed"]
    assert fine == []


@pytest.mark.django_db
def test_a_missing_extension_is_named_with_where_debian_has_it():
    """On Debian 12 (PostgreSQL 15) the message said to install "the postgresql-<major version>-pgvector package":
    Debian 12 has none (apt: "Unable to locate package postgresql-15-pgvector"), and pg_trgm and unaccent come with
    the server's own package, never one of their own."""
    from mediasearch.checks import extension_problems

    with connection.cursor() as cursor:
        (pgvector,) = extension_problems(cursor, {"no_such_extension": ("pgvector", (0, 8))})
        (trigrams,) = extension_problems(cursor, {"no_such_extension": ("pg_trgm", None)})
    assert "Debian 13 or newer: apt-get install postgresql-<major version>-pgvector" in pgvector
    assert "Debian 12 and Ubuntu" in pgvector and "PGDG" in pgvector
    assert "CREATE EXTENSION IF NOT EXISTS no_such_extension;" in pgvector  # (only a superuser may: the next step)
    assert "postgresql-<major version>-pg_trgm" not in trigrams and "postgresql-contrib" in trigrams


def test_migrate_and_serve_on_a_database_without_pgvector_say_so_instead_of_a_traceback(
        tmp_path, database_without_extensions):
    """`migrate` (and `serve`, which migrates first) on a PostgreSQL without pgvector, or where only a superuser may
    create it, stopped in a traceback ending in PostgreSQL's 'extension "vector" is not available' (or 'permission
    denied'). A system check says what is missing and what to run, before any migration."""
    env = _env(tmp_path, DATABASE_URL=database_without_extensions, SECRET_KEY="startup-test-" * 5)
    for command in (["migrate"], ["serve", "--port", "8899", "--no-worker"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 1, result.stdout[-2000:]
        assert "Traceback" not in result.stderr, result.stderr[-3000:]
        assert "(mediasearch.E001)" in result.stderr
        assert "only a superuser may create the extension “vector”" in result.stderr
        assert "CREATE EXTENSION IF NOT EXISTS vector;" in result.stderr


@pytest.mark.parametrize("command", ["worker", "ocr_worker"])
def test_a_worker_started_on_a_database_not_migrated_yet_says_to_migrate_first(tmp_path, command):
    """The README's separate units: a worker started before the first `manage migrate` (or with new code between an
    upgrade's pull and its migrate) logged tracebacks ('relation "django_q_ormq" does not exist', the heartbeat's
    table, …) and ended when its pusher gave up. It says to migrate first, and starts nothing."""
    env = _env(tmp_path / "var")
    result = subprocess.run([sys.executable, "manage.py", command], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert "migration(s) of this code are not applied to the database yet: run `manage.py migrate`" in result.stderr


def test_serve_asks_a_warming_web_server_once_whether_it_answers_not_every_poll(monkeypatch):
    """The first `make run` printed 29 lines of `"GET /accounts/login/ HTTP/1.1" 302` at once, just before
    "MediaSearch is running at …" (QA): gunicorn listens at once, but its workers take a request only once they
    have loaded the model (30 s), and serve asked every 0.2 s with a 1 s timeout, each request it gave up on left in
    the listen queue and answered (and logged) when a worker was ready. It now waits for one answer."""
    import io
    import socket
    import threading

    from django.core.management import call_command

    from mediasearch.management.commands import serve

    requests: list[bytes] = []
    listening = threading.Event()
    warm_up = 2.0  # seconds before the "web server" takes its first request (a model loading)

    def web_server(sock: socket.socket) -> None:
        sock.listen(64)
        listening.set()
        time.sleep(warm_up)
        sock.settimeout(1.5)  # then takes every request queued meanwhile, as gunicorn's workers do
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(1)
                try:
                    data = conn.recv(4096)
                except OSError:
                    data = b""
                if data:
                    requests.append(data)
                    try:
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                    except OSError:
                        pass

    out = io.StringIO()
    real_sleep = time.sleep
    announced_at: list[float] = []

    class _Time:  # serve's clock, with a sleep that ends the loop a while after it says it is running
        monotonic = staticmethod(time.monotonic)

        @staticmethod
        def sleep(seconds: float) -> None:
            if "is running at" in out.getvalue():
                announced_at.append(announced_at[0] if announced_at else time.monotonic())
                if time.monotonic() - announced_at[0] > 2.0:  # late requests, if any, have been answered by now
                    raise KeyboardInterrupt
            real_sleep(seconds)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = threading.Thread(target=web_server, args=(sock,), daemon=True)
        server.start()
        listening.wait(5)
        monkeypatch.setattr(serve, "port_taken", lambda host, port: "")
        monkeypatch.setattr(serve, "call_command", lambda *args, **kwargs: None)  # no migrate, no collectstatic
        monkeypatch.setattr(serve.Child, "start", lambda child: None)
        monkeypatch.setattr(serve.Command, "_supervise", lambda self, child: None)
        monkeypatch.setattr(serve.Command, "_stop", lambda self, children: None)
        monkeypatch.setattr(serve, "time", _Time)
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        try:
            call_command("serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker", stdout=out)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
    assert "MediaSearch is running at" in out.getvalue()
    assert len(requests) == 1, f"{len(requests)} requests reached the web server"


def test_serve_takes_a_blank_port_as_the_default_and_names_a_port_that_is_no_number(tmp_path):
    """README: "A blank value is the default". `PORT= manage.py serve` (an environment file's empty line) and
    `PORT=80a` ended in a ValueError traceback from serve's argument parser; WEB_WORKERS the same."""
    for name in ("PORT", "WEB_WORKERS"):
        done = subprocess.run([sys.executable, "manage.py", "serve", "--help"], cwd=ROOT,
                              env=_env(tmp_path / "var", **{name: ""}), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        done = subprocess.run([sys.executable, "manage.py", "serve", "--help"], cwd=ROOT,
                              env=_env(tmp_path / "var", **{name: "80a"}), capture_output=True, text=True, timeout=120)
        assert done.returncode != 0
        assert f"{name}='80a' is not a whole number" in done.stderr, done.stderr
        assert "ValueError" not in done.stderr and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize("allowed", [["photos.example.org"], ["photos.example.org", "localhost", "127.0.0.1"]])
def test_serves_ready_probe_is_answered_behind_the_readmes_https_settings(live_server, settings, allowed):
    """serve says "MediaSearch is running at …" once its web server answers a request of its own. With the README's
    production settings that request was refused: ALLOWED_HOSTS=photos.example.org answered it 400 and logged an
    error with a traceback at every start ("You may need to add '127.0.0.1' to ALLOWED_HOSTS"), and with 127.0.0.1
    added, as the Health section suggests, HTTPS=on redirected it to https on a plain HTTP port: the probe asked again
    five times a second for as long as serve ran and the line never came. It asks /health/ (never redirected) by a
    name the site answers."""
    from mediasearch.management.commands.serve import ReadyProbe

    settings.ALLOWED_HOSTS = allowed
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    host, port = live_server.url.removeprefix("http://").split(":")
    probe = ReadyProbe.of_server(host, int(port))
    deadline = time.monotonic() + 20
    while not probe.answered() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert probe.answered(), "the probe is still asking"
    assert probe.status == 200
