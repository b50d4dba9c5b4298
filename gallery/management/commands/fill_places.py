from __future__ import annotations

from gallery.management.backfill import PhotoBackfillCommand
from gallery.services import photos_lacking_place, photos_place_fill

BATCH = 500


class Command(PhotoBackfillCommand):
    help = (
        "Name the place (city, region, country) of every photo with a GPS position that has none yet, offline "
        "from GeoNames data. Each batch is saved as it is done, so an interrupted run resumes where it stopped; "
        "the periodic sweep does the same a batch at a time (PLACE_SWEEP_LIMIT)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--again", action="store_true",
                            help="also look up again the photos with a position that name no place (far from any town: "
                                 "versions before this one named none, now they are named by their country)")

    def handle(self, *args, family, no_progress, again, **options):
        photos = self.of_family(photos_lacking_place(again=again), family)
        ids = list(photos.values_list("pk", flat=True))
        done = 0
        with self.progress(len(ids), no_progress=no_progress) as bar:
            for start in range(0, len(ids), BATCH):
                chunk = ids[start:start + BATCH]
                # Re-read: photos deleted or filled by the sweep meanwhile drop out.
                done += photos_place_fill(photos=list(photos.filter(pk__in=chunk).only("pk", "latitude", "longitude", "place_source")))
                bar.update(len(chunk))
        self.stdout.write(self.style.SUCCESS(f"Named the place of {done} photo(s)."))
