"""`manage.py suggest_tags`: score photos against the tag vocabulary again, now, in this process."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError

from gallery.management.backfill import PhotoBackfillCommand
from gallery.management.families import family_from_option
from search.embedder import ModelUnavailable, get_embedder
from search.models import PhotoEmbedding
from search.suggestions import suggestions_recompute


class Command(PhotoBackfillCommand):
    help = (
        "Score every embedded photo (or one family's, --family) against the tag-suggestion vocabulary with the active "
        "model, from the stored embeddings (no image is read): open suggestions follow the vocabulary, accepted and "
        "dismissed ones stay decided. The worker does this by itself after embedding and when the vocabulary "
        "changes; this is for a change made outside the admin, or to see it done."
    )

    def handle(self, *args, family, no_progress, **options):
        if not settings.TAG_SUGGESTIONS_ENABLED:
            raise CommandError("Tag suggestions are off (TAG_SUGGESTIONS_ENABLED).")
        family_id = None
        if family is not None:
            family_id = family_from_option(family).pk
        try:
            embedder = get_embedder(allow_download=True)
        except ModelUnavailable as exc:
            raise CommandError(str(exc)) from None
        photos = PhotoEmbedding.objects.filter(model_name=embedder.model_name)
        total = (photos.filter(family_id=family_id) if family_id else photos).count()
        with self.progress(total, no_progress=no_progress) as bar:
            scored = suggestions_recompute(family_id=family_id, progress=bar.update)
        self.stdout.write(self.style.SUCCESS(f"Scored {scored} photo(s) against the tag vocabulary."))
