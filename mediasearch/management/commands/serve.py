"""Run the whole gallery: database (embedded unless DATABASE_URL), migrations, web server and worker.

Ctrl-C stops the web server and the worker; the embedded database stops when the last process using it exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


WEB_THREADS = 4  # per gunicorn worker


class Command(BaseCommand):
    help = "Migrate, then run the web server (gunicorn) and the django-q2 worker together until Ctrl-C."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("WEB_WORKERS", "2")))
        parser.add_argument("--no-worker", action="store_true", help="web server only (run qcluster elsewhere)")

    def handle(self, *args, host, port, web_workers, no_worker, **options):
        call_command("migrate", interactive=False, verbosity=0)
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        commands = {
            "web": [python, "-m", "gunicorn", "mediasearch.wsgi:application", "--config", "python:mediasearch.gunicorn_conf",
                    "--bind", f"{host}:{port}",
                    "--workers", str(web_workers), "--threads", str(WEB_THREADS), "--timeout", "120",
                    "--access-logfile", "-", "--graceful-timeout", "10"],
        }
        if not no_worker:
            commands["worker"] = [python, manage, "qcluster"]
        # Each web worker's threads share a pool of warm connections (one per thread at most).
        env = {"web": {**os.environ, "DATABASE_POOL": os.environ.get("DATABASE_POOL", str(WEB_THREADS))}}
        children = {name: subprocess.Popen(cmd, cwd=settings.BASE_DIR, env=env.get(name)) for name, cmd in commands.items()}
        shown = "localhost" if host in ("127.0.0.1", "0.0.0.0") else host
        self.stdout.write(self.style.SUCCESS(f"MediaSearch is running at http://{shown}:{port}/  (Ctrl-C to stop)"))
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)  # `kill` stops it as cleanly as Ctrl-C
        try:
            while True:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"The {name} process exited with code {child.returncode}; stopping.")
                        raise KeyboardInterrupt
                time.sleep(0.5)
        except KeyboardInterrupt:
            self.stdout.write("Stopping…")
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.send_signal(signal.SIGINT if child is children.get("worker") else signal.SIGTERM)
            deadline = time.monotonic() + 30
            for child in children.values():
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            self.stdout.write("Stopped.")


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt
