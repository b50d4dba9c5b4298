"""Run the whole gallery: database (embedded unless DATABASE_URL), migrations, static files, web server and worker.

`serve` supervises two children, each in its own session (so, its own process group): the web server (gunicorn)
and the worker (`manage.py worker`, the django-q2 cluster). When one dies, whatever is left of its process group
(e.g. the cluster's orphaned workers) is killed and it is started again after a back-off: 1 s, doubling up to
60 s, back to 1 s once it has run steadily for a minute. The other keeps running, so a worker crash never takes
the site down. A child that fails (exit code above 0) on its very first run stops `serve`: a port in use or a
bad setting will not fix itself.

Ctrl-C or SIGTERM stops both: each is asked politely, and after a grace period its whole group is killed (a second
Ctrl-C, or a SIGTERM more than a second after the first, kills them at once; make's copy of a SIGTERM does not). If
`serve` itself is killed, the kernel kills its children (PR_SET_PDEATHSIG), and the worker's processes die with
their parents in turn. The embedded database stops when the last process using it exits.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from mediasearch.processes import death_signal_setter, has_exited, kill_group

BACKOFF_FIRST = 1.0  # seconds before the first restart
BACKOFF_MAX = 60.0
STEADY_AFTER = 60.0  # a child that ran this long was fine: its next restart is quick again
STOP_GRACE = 30.0  # seconds between asking the children to stop and killing their groups
POLL = 0.2
READY_WAIT = 600.0  # seconds one readiness probe waits for its answer (each web worker loads the model first)


@dataclass
class Child:
    """One supervised program: how to start it, ask it to stop, and what the kernel sends it if `serve` dies."""

    name: str
    command: list[str]
    stop_signal: signal.Signals
    death_signal: signal.Signals
    env: dict[str, str] | None = None  # None: serve's own environment
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    runs: int = 0
    delay: float = BACKOFF_FIRST
    restart_at: float = 0.0

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, cwd=settings.BASE_DIR, env=self.env, start_new_session=True,
                                        preexec_fn=death_signal_setter(self.death_signal))
        self.started_at = time.monotonic()
        self.runs += 1

    @property
    def running(self) -> bool:
        return self.process is not None


WEB_THREADS = 4  # per gunicorn worker


class Command(BaseCommand):
    help = ("Migrate, then run the web server (gunicorn) and the django-q2 worker together until Ctrl-C, "
            "restarting either if it dies.")

    def add_arguments(self, parser):
        parser.add_argument("--host", default=settings.SERVE_HOST)
        parser.add_argument("--port", type=int, default=settings.SERVE_PORT)
        parser.add_argument("--web-workers", type=int, default=settings.WEB_WORKERS)
        parser.add_argument("--no-worker", action="store_true", help="web server only (run `manage.py worker` elsewhere)")

    def handle(self, *args, host, port, web_workers, no_worker, **options):
        if taken := port_taken(host, port):
            raise CommandError(taken)  # before anything starts: a second worker, a probe the other server answers
        # Its connection starts the embedded database; with the system checks, as `manage.py migrate` runs them (a
        # database without pgvector is said so, rather than in a traceback from the first migration).
        call_command("migrate", interactive=False, verbosity=0, skip_checks=False)
        # Static files under content-hashed names for WhiteNoise (about 2 s when nothing changed).
        call_command("collectstatic", interactive=False, verbosity=0)
        connections.close_all()  # the supervisor itself needs no database connection
        children = self._children(host=host, port=port, web_workers=web_workers, no_worker=no_worker)
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # `kill` stops it as cleanly as Ctrl-C
        signal.signal(signal.SIGINT, _raise_keyboard_interrupt)  # also when started in the background (SIGINT ignored)
        if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:  # and a closed terminal, unless run by nohup
            signal.signal(signal.SIGHUP, _raise_keyboard_interrupt)
        try:
            for child in children:
                child.start()
            shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
            url = f"http://{shown}:{port}/"
            self.stdout.write(f"Starting at {url}: each web process loads the search model first…")
            if refused := other_devices_refused(host, settings.ALLOWED_HOSTS):
                self.stdout.write(self.style.WARNING(refused))
            announced = False
            probe = ReadyProbe.of_server(host, port)
            while True:
                for child in children:
                    self._supervise(child)
                if not announced and probe.answered():
                    announced = True
                    self.stdout.write(self.style.SUCCESS(f"MediaSearch is running at {url}  (Ctrl-C to stop)"))
                time.sleep(POLL)
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            self._stop(children)
            self.stdout.write("Stopped.")

    def _children(self, *, host: str, port: int, web_workers: int, no_worker: bool) -> list[Child]:
        python = sys.executable
        children = [Child(
            name="web",
            command=[python, "-m", "gunicorn", "mediasearch.wsgi:application",
                     "--config", "python:mediasearch.gunicorn_conf",  # each worker warms up before it serves
                     "--bind", f"{host}:{port}", "--workers", str(web_workers), "--threads", str(WEB_THREADS),
                     "--timeout", "120", "--access-logfile", "-", "--graceful-timeout", "10"],
            stop_signal=signal.SIGTERM, death_signal=signal.SIGTERM,  # gunicorn stops its own workers
            # Each web worker's threads share a pool of warm database connections (one per thread at most).
            env={**os.environ, "DATABASE_POOL": os.environ.get("DATABASE_POOL", str(WEB_THREADS))},
        )]
        if not no_worker:
            children.append(Child(
                name="worker", command=[python, str(settings.BASE_DIR / "manage.py"), "worker"],
                stop_signal=signal.SIGTERM, death_signal=signal.SIGKILL,  # its processes follow (manage.py worker)
            ))
            if settings.OCR_ENABLED:  # OCR on its own queue, at low CPU priority: it never delays embedding
                children.append(Child(
                    name="OCR worker", command=[python, str(settings.BASE_DIR / "manage.py"), "ocr_worker"],
                    stop_signal=signal.SIGTERM, death_signal=signal.SIGKILL,
                    env={**os.environ, "Q_CLUSTER_NAME": settings.OCR_CLUSTER},
                ))
        return children

    def _supervise(self, child: Child) -> None:
        """Notice a child's death (clearing away its group), and start it again when its back-off is over."""
        if child.running and has_exited(child.process.pid):
            # Kill the group before reaping the leader: its id cannot have been reused yet.
            leftovers = kill_group(child.process.pid)
            code = child.process.wait()
            ran = time.monotonic() - child.started_at
            if child.runs == 1 and code > 0 and ran < STEADY_AFTER:
                raise CommandError(f"The {child.name} process could not start (exit code {code}); stopping.")
            if ran >= STEADY_AFTER:
                child.delay = BACKOFF_FIRST
            child.process = None
            child.restart_at = time.monotonic() + child.delay
            self.stderr.write(
                f"The {child.name} process exited with code {code}"
                + ("; killed what was left of its process group" if leftovers else "")
                + f"; restarting it in {child.delay:g} s."
            )
            child.delay = min(child.delay * 2, BACKOFF_MAX)
        if not child.running and time.monotonic() >= child.restart_at:
            child.start()
            if child.runs > 1:
                self.stderr.write(f"Restarted the {child.name} process (pid {child.process.pid}).")

    def _stop(self, children: list[Child]) -> None:
        """Ask each running child to stop, wait up to the grace period, then kill every group (a second Ctrl-C
        skips the wait)."""
        running = [child for child in children if child.running]
        try:
            for child in running:
                try:
                    child.process.send_signal(child.stop_signal)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + STOP_GRACE
            while time.monotonic() < deadline and not all(has_exited(child.process.pid) for child in running):
                time.sleep(POLL)
        except KeyboardInterrupt:
            self.stdout.write("Killing the web server and the worker now.")
        finally:
            for child in running:
                kill_group(child.process.pid)  # stragglers of a clean exit too
                child.process.wait()
                child.process = None


LOOPBACK_NAMES = {"localhost", "127.0.0.1", "[::1]", "::1"}


def other_devices_refused(host: str, allowed_hosts: list[str]) -> str:
    """What to tell someone who opened the server to other devices (HOST=0.0.0.0, to look at it on a phone) while
    ALLOWED_HOSTS names only this machine: every page they open from elsewhere is a 400. Empty when nothing is."""
    if host in ("127.0.0.1", "localhost", "::1") or "*" in allowed_hosts:
        return ""
    if any(name not in LOOPBACK_NAMES for name in allowed_hosts):
        return ""  # a name or address of its own is listed: the owner chose what other devices use
    return ("Listening for other devices too, but ALLOWED_HOSTS names only this machine: from a phone or another "
            "computer every page would be \"Bad request\". Add the name or address they use, e.g. "
            "ALLOWED_HOSTS=localhost,192.168.1.20 (this machine's address on your network).")


def port_taken(host: str, port: int) -> str:
    """What to say when another program (often this gallery, started before) listens on host:port; empty when the
    web server can have it. Bound as gunicorn binds (SO_REUSEADDR), so a port left in TIME_WAIT counts as free."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return ""  # another problem (an address this machine lacks): gunicorn says what it is
            return (f"Port {port} on {host} is already in use: is MediaSearch (or another program) already running "
                    "there? Stop it first, or set PORT to another port.")
    return ""


class ReadyProbe:
    """Whether the web server has answered yet, asked from a thread of its own with one request at a time that waits
    for its answer. gunicorn listens at once but its workers take a request only once they have loaded the model: a
    probe with a short timeout gave up on a request every poll, and each one left in the listen queue was answered
    (and logged, a screenful of `GET /accounts/login/`) once a worker was ready."""

    def __init__(self, url: str, *, host_header: str) -> None:
        self._answered = threading.Event()
        self.status: int | None = None  # the HTTP status of the answer
        request = urllib.request.Request(url, headers={"Host": host_header})
        threading.Thread(target=self._ask, args=(request,), name="serve-ready-probe", daemon=True).start()

    @classmethod
    def of_server(cls, host: str, port: int) -> ReadyProbe:
        """A probe of the web server at host:port. It asks /health/, which HTTPS=on never redirects (a redirect to
        https on this plain HTTP port was never answered), by a name ALLOWED_HOSTS lists (any other is refused, and
        logged as an error telling the administrator to list 127.0.0.1)."""
        address = "127.0.0.1" if host == "0.0.0.0" else host
        return cls(f"http://{address}:{port}/health/", host_header=_allowed_host_name(settings.ALLOWED_HOSTS, port))

    def answered(self) -> bool:
        return self._answered.is_set()

    def _ask(self, request: urllib.request.Request) -> None:
        # None: refused (not listening yet, a restart): ask again soon
        while (status := _answer_status(request, timeout=READY_WAIT)) is None:
            time.sleep(POLL)
        self.status = status
        self._answered.set()


def _allowed_host_name(allowed_hosts: list[str], port: int) -> str:
    """A Host header the site answers: the first name ALLOWED_HOSTS lists (".example.org" matches "example.org",
    "*" anything)."""
    name = next((entry.lstrip(".") for entry in allowed_hosts if entry.lstrip(".") not in ("", "*")), "localhost")
    return f"{name}:{port}"


def _answer_status(request: urllib.request.Request, *, timeout: float) -> int | None:
    """The status the web server answers a request with within `timeout` seconds; None when it does not."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code  # an answer all the same (503: /health/ finds the database or the storage down)
    except (OSError, ValueError):
        return None


# `make run` passes a SIGTERM sent to its whole process group on to serve (GNU make kills its children with the
# signal it got): the same stop arrives twice within moments. Only a later SIGTERM, or a Ctrl-C, asks again (and
# skips the grace period).
SIGTERM_ECHO_SECONDS = 1.0
_first_sigterm_at: float | None = None


def _raise_keyboard_interrupt(signum, frame):
    global _first_sigterm_at
    if signum == signal.SIGTERM:
        now = time.monotonic()
        if _first_sigterm_at is not None and now - _first_sigterm_at < SIGTERM_ECHO_SECONDS:
            return  # make's copy of the stop already under way
        if _first_sigterm_at is None:
            _first_sigterm_at = now
    raise KeyboardInterrupt
