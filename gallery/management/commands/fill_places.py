from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from gallery.models import Family
from gallery.services import photos_lacking_place, photos_place_fill

BATCH = 500


class Command(BaseCommand):
    help = (
        "Name the place (city, region, country) of every photo with a GPS position that has none yet, offline "
        "from GeoNames data. Each batch is saved as it is done, so an interrupted run resumes where it stopped; "
        "the periodic sweep does the same a batch at a time (PLACE_SWEEP_LIMIT)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--family", help="only this family (name)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")

    def handle(self, *args, family, no_progress, **options):
        photos = photos_lacking_place()
        if family:
            family_obj = Family.objects.filter(name__iexact=family).first()
            if family_obj is None:
                raise CommandError(f"No family called “{family}”.")
            photos = photos.filter(family=family_obj)
        ids = list(photos.values_list("pk", flat=True))
        done = 0
        with tqdm(total=len(ids), unit="photo", disable=no_progress, file=self.stderr._out) as bar:
            for start in range(0, len(ids), BATCH):
                chunk = ids[start:start + BATCH]
                # Re-read: photos deleted or filled by the sweep meanwhile drop out.
                done += photos_place_fill(photos=list(photos.filter(pk__in=chunk).only("pk", "latitude", "longitude")))
                bar.update(len(chunk))
        self.stdout.write(self.style.SUCCESS(f"Named the place of {done} photo(s)."))
