"""django-q2 tasks of the gallery: thin wrappers that call services."""

from __future__ import annotations


def trash_purge_task() -> int:
    """Delete for good the photos in the trash longer than TRASH_DAYS (the hourly schedule)."""
    from gallery.trash_services import trash_purge_expired

    return trash_purge_expired()
