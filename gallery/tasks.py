"""django-q2 tasks of the gallery: thin wrappers that call services."""

from __future__ import annotations


def trash_purge_task() -> int:
    """Delete for good the photos in the trash longer than TRASH_DAYS (the hourly schedule)."""
    from gallery.trash_services import trash_purge_expired

    return trash_purge_expired()


def orphan_files_remove_task() -> int:
    """Delete stored files no photo points at, older than a day (the daily schedule; `remove_orphan_files` does the
    same on demand): what a process killed between writing a photo's files and committing its row left behind."""
    from datetime import timedelta

    from gallery.files import files_remove, orphan_files

    names = list(orphan_files(older_than=timedelta(hours=24)))
    files_remove(names=names)  # what storage refuses waits in the removal queue
    return len(names)


def sessions_clear_task() -> None:
    """Delete the expired sessions (the daily schedule: Django's `clearsessions`): Django deletes one only when its
    browser comes back, so every sign-in never seen again kept its row for good."""
    from django.core.management import call_command

    call_command("clearsessions")


# How long one run of a family's deletion goes on before it queues the rest: a worker asked to stop (a restart)
# finishes the task it runs first, and must do so within its stop time (mediasearch.cluster.STOP_SECONDS).
FAMILY_DELETE_SLICE_SECONDS = 15


def family_delete_task(family_id: int, requeue: bool = True) -> bool:
    """Delete a family marked for deletion, a batch of photos at a time, for FAMILY_DELETE_SLICE_SECONDS (at most
    half the task timeout); queued again with what is left. True while some is left."""
    from django.conf import settings

    from gallery.services import family_delete_continue, family_delete_later

    seconds = min(FAMILY_DELETE_SLICE_SECONDS, settings.Q_CLUSTER["timeout"] / 2)
    done = family_delete_continue(family_id=family_id, seconds=seconds)
    if not done and requeue:
        family_delete_later(family_id=family_id)
    return not done
