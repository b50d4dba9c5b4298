"""The file-system storage of photos: a file whose write fails half way (a disk that fills up, a quota) is removed,
never left under its name.

Django's FileSystemStorage creates the file (O_EXCL) and then writes it; when a write fails, the part already
written stays on disk, under a name no row points at, where only `remove_orphan_files` would find it."""

from __future__ import annotations

import logging
import os
import threading

from django.core.files.storage import FileSystemStorage

logger = logging.getLogger(__name__)


class MediaFileSystemStorage(FileSystemStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._attempt = threading.local()  # the name the current save (in this thread) writes to

    def get_available_name(self, name, max_length=None):
        # Also called by _save when another writer took the name first: the file is then written under this one.
        name = super().get_available_name(name, max_length=max_length)
        self._attempt.name = name
        return name

    def _save(self, name, content):
        self._attempt.name = name
        try:
            return super()._save(name, content)
        except BaseException:
            self._remove_partial(self._attempt.name)
            raise

    def _remove_partial(self, name: str) -> None:
        """The file this save created under `name` (O_EXCL: no one else's), if it got that far."""
        try:
            os.remove(self.path(name))
        except FileNotFoundError:
            pass
        except OSError as exc:
            logger.warning("could not remove the partly written %s: %s", name, exc)
        else:
            logger.warning("removed the partly written %s", name)
