"""gunicorn settings for `manage.py serve` (and for running gunicorn by hand: `-c python:mediasearch.gunicorn_conf`)."""

from __future__ import annotations


def post_worker_init(worker) -> None:
    """Each worker loads the search model after it forks and before it accepts a request (see search/warmup.py)."""
    import sys

    from mediasearch.health import code_migrations
    from search.warmup import static_files_problem, warm_up

    # This code's migrations, read now: an upgrade's `git pull` puts the next version's files on disk while this
    # process still serves, and /health/ would count them as its own, not applied yet.
    code_migrations()
    if problem := static_files_problem():
        # Every page would be a 500 (their stylesheets have no hashed name): stop, and say why. A worker that fails
        # to boot stops gunicorn itself (exit code 3), so the service manager shows this line.
        worker.log.error(problem)
        sys.exit(3)
    warm_up()


# gunicorn's control socket (for `gunicornc`) defaults to one path per machine ($XDG_RUNTIME_DIR/gunicorn.ctl), shared
# by every gunicorn on it; serve supervises the web server itself and needs none.
control_socket_disable = True

# gunicorn's largest request line (the default is 4094 bytes): a search URL carries the query percent-encoded (up to
# 12 bytes per character) beside its filters and refine ids (search/tests/test_odd_queries.py checks the longest).
limit_request_line = 8190

# Request bodies: gunicorn has no size limit of its own. gallery/upload_limits.py refuses a body over
# UPLOAD_MAX_REQUEST_BYTES by its Content-Length before reading a byte, and caps each file while it streams; gunicorn
# then drains at most 64 KiB of what was left unread before it closes the connection. Behind nginx, keep
# client_max_body_size at least UPLOAD_MAX_REQUEST_BYTES so the refusal is ours, in plain words.

# Seconds an idle keep-alive connection stays open (gunicorn's default is 2). A client that reuses a connection just
# as the server closes it sees it reset (HTTP/1.1 lets either side close an idle connection at any time); the
# margin between this and clients' own idle limits (browsers ~ 5 s or more, bench/load.py 1 s) makes that rarer on
# a busy machine, where the server may close late or early by a second. Behind nginx, its upstream keepalive_timeout
# should stay below this.
keepalive = 5
