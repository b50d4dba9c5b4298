"""Settings for the test suite (pytest.ini): the real ones, plus what a test run needs and a site must not have."""

import os

# A fixed key for tests, set in the environment so that the processes tests start (workers, `serve`) share it.
os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz")

from mediasearch.settings import *  # noqa: E402,F403

# Tests (and the browser tests' live server) read static files from the source folders: no collectstatic step.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True

# A commit of the test process's own connection does not wait for its WAL to reach the disk (about 5 ms saved per
# commit: transactional tests commit thousands of times). Only durability after a crash of the server changes, and no
# test crashes the server this connection uses; what a commit wrote is seen by every other session at once all the
# same. The processes tests start (workers, serve) connect through DATABASE_URL and keep the server's default.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"  # noqa: F405
