from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gallery.models import Family
from gallery.services import RenditionReport, photos_display_fill, photos_lacking_display


class Command(BaseCommand):
    help = (
        "Give every photo that lacks one its display rendition (the upright JPEG the photo page shows), "
        "decoding originals with bounded memory and at most DECODE_CONCURRENCY at a time across all processes. "
        "Each rendition is saved as soon as it is made, so an interrupted run resumes where it stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--family", help="only this family (name)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")

    def handle(self, *args, family, no_progress, **options):
        photos = photos_lacking_display()
        if family:
            family_obj = Family.objects.filter(name__iexact=family).first()
            if family_obj is None:
                raise CommandError(f"No family called “{family}”.")
            photos = photos.filter(family=family_obj)
        ids = list(photos.values_list("pk", flat=True))
        made, failed = 0, 0
        with tqdm(total=len(ids), unit="photo", disable=no_progress, file=self.stderr._out) as bar:
            for pk in ids:
                photo = photos.filter(pk=pk).first()  # None when deleted, or given one by someone else meanwhile
                if photo is not None:
                    report = self._fill(photo)
                    made += report.made
                    for failed_pk, reason in report.failures:
                        failed += 1
                        bar.write(f"photo {failed_pk}: {reason}")
                bar.update(1)
        self.stdout.write(self.style.SUCCESS(f"Made {made} display rendition(s); {failed} photo(s) could not be read."))

    def _fill(self, photo) -> RenditionReport:
        while True:
            report = photos_display_fill(photos=[photo])
            if not report.busy:
                return report
            time.sleep(1)  # every decode slot is taken (uploads): let them go first, then carry on
