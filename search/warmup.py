"""Warm a web process up before it takes requests, so the first search is as quick as any other.

Loading torch, transformers and the model takes seconds (about 4 s for the toy model, 10-13 s for SigLIP-B/16 on
2 cores), and the first forward pass pays for lazy initialisation on top; so do the first rendering of each template
and the first run of the engine's statements. Without this, the first query each web process answers carries all of
it. The web server calls `warm_up()` in each worker process after it forks (gunicorn's `post_worker_init`, see
mediasearch/gunicorn_conf.py): loading in the master and forking could hang in torch's thread pools and would share
the master's database socket between processes.
"""

from __future__ import annotations

import logging
import secrets
import time
from importlib import import_module
from urllib.parse import urlencode

from django.conf import settings
from django.db import connections, transaction
from django.http import HttpRequest, QueryDict
from django.urls import resolve, reverse
from django_htmx.middleware import HtmxDetails

from search.embedder import ModelUnavailable, get_embedder
from search.expansion import MAX_TERMS

logger = logging.getLogger(__name__)


def warm_up() -> None:
    """Load the search model and run it in the batch shapes queries use, then render the search page once as a
    member would see it (results thrown away). Never raises: a model that can't load is reported on every page
    instead, and the process serves without it."""
    started = time.monotonic()
    try:
        _run_model()
        _render_search_page()
    except Exception:  # noqa: BLE001 - a failed warm-up must not keep the web server from starting
        logger.exception("warming up the web process failed")
    finally:
        connections.close_all()  # connections belong to request threads, not to this start-up step
    logger.info("web process ready in %.1f s", time.monotonic() - started)


def static_files_problem() -> str | None:
    """Why this process can't draw a page: the static files' manifest (manage.py collectstatic, which `serve` runs
    before it starts gunicorn) was missing when it started. None when it can (or needs none: DEBUG, other storages)."""
    from django.contrib.staticfiles.storage import ManifestFilesMixin
    from django.core.files.storage import storages

    storage = storages["staticfiles"]  # what the pages use; it read the manifest when it was made
    if settings.DEBUG or not isinstance(storage, ManifestFilesMixin) or storage.hashed_files:
        return None
    return (f"the static files were not collected into {settings.STATIC_ROOT}, so every page would fail: run "
            "`manage.py collectstatic --noinput` (with this server's environment), then start it again. "
            "(`manage.py serve` does it at every start; gunicorn run by itself does not.)")


def _run_model() -> None:
    try:
        embedder = get_embedder()
    except ModelUnavailable as exc:
        logger.warning("search model not loaded at start: %s", exc.reason)
        return
    # The first forward passes are slow (thread pools, allocator, oneDNN kernels chosen per batch shape): run every
    # shape a query makes, from one term to a fully expanded query, each term through every prompt template.
    for terms in range(1, MAX_TERMS + 1):
        embedder.encode_texts([template.format("warm-up") for template in settings.SEARCH_PROMPT_TEMPLATES] * terms)


def _render_search_page() -> None:
    """The search view, called as the first member (no middleware, nothing stored): imports the views,
    compiles the templates and the engine's statements, and brings the tables and indexes a search reads into the
    database's cache after a restart."""
    from gallery.models import Membership

    member = Membership.objects.select_related("user").order_by("pk").first()
    if member is None:
        return  # a new installation: nothing to search yet
    path = reverse("search:search")
    request = HttpRequest()
    request.method, request.path, request.path_info = "GET", path, path
    # A query new to this process and to the database, so the search takes the path of every new query (the
    # model, storing the term embeddings), inside a transaction rolled back at the end: nothing is kept.
    request.GET = QueryDict(urlencode({"q": f"warm-up {secrets.token_hex(4)}"}))
    request.META = {"SERVER_NAME": settings.ALLOWED_HOSTS[0] if settings.ALLOWED_HOSTS else "localhost",
                    "SERVER_PORT": "80", "REQUEST_METHOD": "GET"}
    request.user = member.user
    # An empty session of the configured engine, never saved (no middleware saves it): the page reads it (the
    # selection bar's refusal kept for it), as it reads any member's.
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    request.htmx = HtmxDetails(request)
    match = resolve(path)
    with transaction.atomic():
        match.func(request, *match.args, **match.kwargs)
        transaction.set_rollback(True)
