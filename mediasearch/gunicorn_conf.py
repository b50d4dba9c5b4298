"""gunicorn settings for `manage.py serve` (and for running gunicorn by hand: `-c python:mediasearch.gunicorn_conf`)."""

from __future__ import annotations


def post_worker_init(worker) -> None:
    """Each worker loads the search model after it forks and before it accepts a request (see search/warmup.py)."""
    from search.warmup import warm_up

    warm_up()
