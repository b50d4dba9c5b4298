from __future__ import annotations

import time

from gallery.management.backfill import PhotoBackfillCommand
from gallery.services import RenditionReport, photos_display_fill, photos_lacking_display


class Command(PhotoBackfillCommand):
    help = (
        "Give every photo that lacks one its display rendition (the upright JPEG the photo page shows), "
        "decoding originals with bounded memory and at most DECODE_CONCURRENCY at a time across all processes. "
        "Each rendition is saved as soon as it is made, so an interrupted run resumes where it stopped."
    )

    def handle(self, *args, family, no_progress, **options):
        photos = self.of_family(photos_lacking_display(), family)
        ids = list(photos.values_list("pk", flat=True))
        made, failed = 0, 0
        with self.progress(len(ids), no_progress=no_progress) as bar:
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
