#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediasearch.settings")
    from mediasearch.runtime import ensure_secret_key_file

    ensure_secret_key_file()  # single machine: generated once (settings only read it)
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - the settings read the environment here
    except ImproperlyConfigured as exc:
        # A setting the environment gives that can't be used (SECRET_KEY missing beside DATABASE_URL, PORT=80a, ...):
        # its message says which and what to do; the traceback of the settings' import would only bury it.
        sys.exit(f"manage.py: {exc}")
    from mediasearch.db import EmbeddedServerError

    try:
        execute_from_command_line(sys.argv)
    except EmbeddedServerError as exc:
        sys.exit(f"manage.py: {exc}")  # (what PostgreSQL said is logged above it, from its log)
