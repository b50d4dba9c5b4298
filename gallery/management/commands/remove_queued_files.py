from django.core.management.base import BaseCommand

from gallery.files import file_removals_process
from gallery.models import FileRemoval


class Command(BaseCommand):
    help = (
        "Delete the files queued for removal: files of deleted photos that storage refused to delete at the time. "
        "The periodic sweep does this too; this is for doing it now, e.g. after fixing the storage."
    )

    def handle(self, *args, **options):
        removed = file_removals_process(limit=None)
        left = FileRemoval.objects.order_by("-last_attempt_at")
        self.stdout.write(f"Removed {removed} queued file(s); {left.count()} still queued.")
        for row in left[:20]:
            self.stdout.write(f"  {row.storage_name}: {row.attempts} tries, last error: {row.last_error}")
