"""Filters of the site's log (settings.LOGGING)."""

from __future__ import annotations

import logging


class RefusalWithoutTraceback(logging.Filter):
    """django.request logs a 403 (a PermissionDenied the site raises on purpose: a member on an admin's form, someone
    else's album to share) with the exception's whole traceback, at WARNING: twenty lines for a refusal the site means,
    in the log where an administrator looks for tracebacks to find what broke. So does django.security.* a request it
    refuses as suspicious (a 400: a Host not in ALLOWED_HOSTS, which every scanner asking by the server's address
    sends), at ERROR. The line stays, without them; an error of the site (a 500) keeps its traceback. On the handler
    as well as on django.request: a logger's filter does not see its children's records (django.security.*)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        refused = record.levelno < logging.ERROR and status == 403
        suspicious = record.name.startswith("django.security.") and status == 400
        if refused or suspicious:
            record.exc_info, record.exc_text = None, None
        return True
