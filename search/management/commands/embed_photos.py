from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from gallery.management.backfill import progress_bar

from gallery.management.families import family_from_option
from gallery.models import Photo
from search.embedder import ModelUnavailable
from search.services import active_model_name, embed_photos, load_embedder


class Command(BaseCommand):
    help = "Embed photos with the active model right here (not through the queue), with a progress bar."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--missing", action="store_true", help="photos without an embedding of the active model (default)")
        which.add_argument("--failed", action="store_true", help="only photos that failed before")
        which.add_argument("--all", action="store_true", help="every photo, replacing existing embeddings")
        parser.add_argument("--family", help="only this family (name or id)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, missing, failed, all, family, no_progress, **options):
        photos = Photo.objects.all()
        if family is not None:  # checked before the model loads: a typo costs no model load
            photos = photos.filter(family=family_from_option(family))
        try:
            embedder = load_embedder()
        except ModelUnavailable as exc:
            raise CommandError(str(exc)) from None
        if failed:
            photos = photos.filter(status=Photo.Status.FAILED)
        elif not all:
            photos = photos.filter(~Q(embeddings__model_name=active_model_name()) | Q(status=Photo.Status.PENDING))
            photos = photos.exclude(status=Photo.Status.FAILED)
        ids = list(photos.order_by("pk").values_list("pk", flat=True).distinct())
        # Make them claimable (a --failed or --all run re-does photos in any state).
        Photo.objects.filter(pk__in=ids).update(status=Photo.Status.PENDING, embed_attempts=0)
        ready = failed_count = 0
        step = embedder.batch_size * 4
        with progress_bar(self, len(ids), no_progress=no_progress) as bar:
            for start in range(0, len(ids), step):
                report = embed_photos(photo_ids=ids[start:start + step], fill_to=0)
                ready += report.ready
                failed_count += report.failed
                for pk, reason in report.failures:
                    bar.write(f"photo {pk} failed: {reason}")
                bar.update(len(ids[start:start + step]))
        self.stdout.write(self.style.SUCCESS(
            f"Embedded {ready} photo(s) with {embedder.model_name}; {failed_count} failed."
        ))
