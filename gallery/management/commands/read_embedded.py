from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError

from gallery.management.backfill import PhotoBackfillCommand
from gallery.selectors import TagKeys
from gallery.services import photo_embedded_read, photos_lacking_embedded


class Command(PhotoBackfillCommand):
    help = (
        "Read the embedded metadata (XMP, IPTC, EXIF keywords, title, description, location, time zone) of every "
        "photo stored before it was read, as an upload does: keywords become tags from the file, title and "
        "description fill fields nobody wrote, never a member's edit (nor a tag a member removed); a tag from the file "
        "that the file no longer gives is taken off (not on a photo whose XMP sidecar was read: it may be the "
        "sidecar's). Each photo is saved as it is done, so an "
        "interrupted run resumes where it stopped; --all reads every photo again (idempotent). The periodic "
        "sweep does the same a batch at a time (EMBEDDED_SWEEP_LIMIT)."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--all", action="store_true", help="read photos already read too")

    def handle(self, *args, family, no_progress, all, **options):
        if not settings.EMBEDDED_METADATA:
            raise CommandError("EMBEDDED_METADATA is off: turn it on to read embedded metadata.")
        from gallery.models import Photo

        photos = self.of_family(Photo.objects.order_by("pk") if all else photos_lacking_embedded(), family)
        ids = list(photos.values_list("pk", flat=True))
        done = 0
        tag_keys = TagKeys()  # (the keys of their tag names: each read once for the run)
        with self.progress(len(ids), no_progress=no_progress) as bar:
            for pk in ids:
                # Re-read one at a time: photos deleted meanwhile drop out.
                photo = Photo.objects.filter(pk=pk).only("pk", "original", "original_filename").first()
                if photo is not None:
                    photo_embedded_read(photo=photo, tag_keys=tag_keys)
                    done += 1
                bar.update(1)
        self.stdout.write(self.style.SUCCESS(f"Read the embedded metadata of {done} photo(s)."))
