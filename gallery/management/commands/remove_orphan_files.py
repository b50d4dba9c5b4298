from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError

from gallery.files import files_remove, orphan_files

MAX_HOURS = 24 * 365 * 100


class Command(BaseCommand):
    help = (
        "Delete stored photo files that no photo points at (what a process killed in the middle of storing a "
        "photo leaves behind), older than --hours. Works on the file system and on an S3 store alike; lists "
        "every stored file, so run it now and then, not often."
    )

    def add_arguments(self, parser):
        parser.add_argument("--hours", type=float, default=24.0,
                            help="leave files younger than this many hours (an upload in progress): default 24")
        parser.add_argument("--dry-run", action="store_true", help="list them, delete nothing")

    def handle(self, *args, hours: float, dry_run: bool, **options):
        if not hours >= 1:  # also NaN
            raise CommandError("--hours must be at least 1: younger files may belong to an upload in progress.")
        if hours > MAX_HOURS:
            raise CommandError(f"--hours must be at most {MAX_HOURS} (a century).")
        names = list(orphan_files(older_than=timedelta(hours=hours)))
        for name in names:
            self.stdout.write(f"  {name}")
        if dry_run:
            self.stdout.write(f"{len(names)} orphan file(s) found; nothing deleted (--dry-run).")
            return
        files_remove(names=names)  # what storage refuses waits in the removal queue
        self.stdout.write(f"Removed {len(names)} orphan file(s).")
