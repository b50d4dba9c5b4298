"""`manage.py backup DIR`: the database (pg_dump) and every media file, with a manifest (mediasearch.backup)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from mediasearch.backup import BackupError, backup_create


class Command(BaseCommand):
    help = ("Back up the whole installation into the new folder DIR (readable by you only): a consistent pg_dump "
            "of the database, every file of the media storage, and manifest.json with versions, migrations, counts "
            "and each file's sha256. `manage.py restore DIR` puts it back.")

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path, help="a new (or empty) folder to write the backup into")

    def handle(self, *args, directory: Path, **options):
        try:
            summary = backup_create(target=directory.resolve(), progress=self.stdout.write)
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        photos = summary.counts.get("gallery.Photo", 0)
        self.stdout.write(self.style.SUCCESS(
            f"Backed up {photos} photo(s): the database and {summary.files} media file(s), "
            f"{summary.bytes / 1e6:.1f} MB, into {summary.path}"))
        if summary.missing:
            self.stdout.write(self.style.WARNING(
                f"{len(summary.missing)} file(s) were deleted while the backup ran (listed in the manifest)."))
