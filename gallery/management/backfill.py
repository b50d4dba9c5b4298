"""What the commands that fill something in for stored photos share: a --family choice and a progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db.models import QuerySet
from tqdm import tqdm

from gallery.management.families import family_from_option


class PhotoBackfillCommand(BaseCommand):
    """Subclasses pick the photos that lack something, narrow them with `of_family` and walk them with `progress`."""

    def add_arguments(self, parser):
        parser.add_argument("--family", help="only this family (name or id)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")

    def of_family(self, photos: QuerySet, family: str | None) -> QuerySet:
        if family is None:
            return photos
        return photos.filter(family=family_from_option(family))

    def progress(self, total: int, *, no_progress: bool) -> tqdm:
        return tqdm(total=total, unit="photo", disable=no_progress, file=self.stderr._out)
