#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediasearch.settings")
    from mediasearch.runtime import ensure_secret_key_file

    ensure_secret_key_file()  # single machine: generated once (settings only read it)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
