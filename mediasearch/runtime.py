"""What a process needs on disk before Django starts: the runtime folder and, on a single machine, the generated
secret key. Settings only read (importing them writes nothing, starts nothing); the programs' entry points
(manage.py, wsgi.py, asgi.py) call `ensure_secret_key_file()` first, so a fresh install needs no manual step."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY_FILE = "secret_key"


def var_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """Runtime state (embedded database, media, generated secret key) lives here unless overridden."""
    return Path(environ.get("MEDIASEARCH_VAR_DIR", BASE_DIR / "var")).resolve()


def secret_key(environ: Mapping[str, str] = os.environ) -> str:
    """SECRET_KEY from the environment, or (single machine, embedded database) from the generated key file.

    With DATABASE_URL set the site may run on several machines, whose web and worker processes must all sign with
    the same key (sessions, CSRF, share links, password resets): a key generated per machine would silently break
    them, so the key is then required."""
    if key := environ.get("SECRET_KEY", "").strip():
        return key
    if environ.get("DATABASE_URL"):
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DATABASE_URL set, MediaSearch may run on several machines, and every web "
            "and worker process must sign sessions, share links and password resets with the same key, so it is "
            "not generated per machine. Set SECRET_KEY to one long random value everywhere, e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`."
        )
    path = var_dir(environ) / SECRET_KEY_FILE
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if not key:
        raise ImproperlyConfigured(
            f"SECRET_KEY is not set and {path} does not exist yet. Any `python manage.py` command (e.g. "
            "`manage.py serve` or `manage.py migrate`) generates that file on a single machine; or set SECRET_KEY."
        )
    return key


def ensure_secret_key_file(environ: Mapping[str, str] = os.environ) -> None:
    """On a single machine (no SECRET_KEY, no DATABASE_URL), generate the key file once, readable only by us.

    Safe when several processes start at once: the key is written to a file of its own, then linked into place,
    which fails if another process linked first (so every process reads the same, complete key)."""
    if environ.get("SECRET_KEY", "").strip() or environ.get("DATABASE_URL"):
        return
    folder = var_dir(environ)
    path = folder / SECRET_KEY_FILE
    if path.exists():
        return
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    draft = folder / f".{SECRET_KEY_FILE}.{os.getpid()}"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w") as stream:
            stream.write(secrets.token_urlsafe(50))
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process was first: its key is the key
    finally:
        draft.unlink(missing_ok=True)
