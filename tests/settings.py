"""Settings for the test suite (pytest.ini): the real ones, plus what a test run needs and a site must not have."""

import os

# A fixed key for tests, set in the environment so that the processes tests start (workers, `serve`) share it.
os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret-0123456789-abcdefghijklmnopqrstuvwxyz")

from mediasearch.settings import *  # noqa: E402,F403

# Tests (and the browser tests' live server) read static files from the source folders: no collectstatic step.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
WHITENOISE_USE_FINDERS = True
