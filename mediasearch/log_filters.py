"""Filters of the site's log (settings.LOGGING)."""

from __future__ import annotations

import logging


class RefusalWithoutTraceback(logging.Filter):
    """django.request logs a 403 (a PermissionDenied the site raises on purpose: a member on an admin's form, someone
    else's album to share) with the exception's whole traceback, at WARNING: twenty lines for a refusal the site means,
    in the log where an administrator looks for tracebacks to find what broke. The line stays, without them; an error
    (a 500) keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR and getattr(record, "status_code", None) == 403:
            record.exc_info, record.exc_text = None, None
        return True
