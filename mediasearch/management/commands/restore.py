"""`manage.py restore DIR`: a backup made by `manage.py backup` into an empty installation (mediasearch.backup)."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from mediasearch.backup import BackupError, backup_restore
from mediasearch.health import unapplied_migrations


class Command(BaseCommand):
    help = ("Restore the backup in DIR into this installation, which must hold no photos yet (a new database and "
            "media storage). Every file's checksum is verified first; then pg_restore, the media files through "
            "the storage, and `migrate` for a backup from an older version. Stop the web server and workers first.")

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="a folder written by `manage.py backup`")
        parser.add_argument("--force", action="store_true",
                            help="restore even though this installation has photos: its data is replaced")

    def handle(self, *args, directory: Path, force: bool, **options):
        # One connection of our own, not a pool (DATABASE_POOL in an env file shared with the web unit): the restore
        # refuses while other connections to the database are open, and a pool's spare ones would count. (Nothing has
        # connected yet: the pool is made at the first connection.)
        connection.settings_dict.get("OPTIONS", {}).pop("pool", None)
        try:
            summary = backup_restore(source=directory.resolve(), force=force, progress=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        if unapplied_migrations():  # a backup from an older version catches up
            self.stdout.write("applying this version's newer migrations")
            call_command("migrate", interactive=False, verbosity=0)
        photos = summary.counts.get("gallery.Photo", 0)
        self.stdout.write(self.style.SUCCESS(
            f"Restored {photos} photo(s) and {summary.files} media file(s) from {directory}."))
