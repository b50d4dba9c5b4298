"""What the commands that fill something in for stored photos share: a --family choice and a progress bar."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet
from tqdm import tqdm

from gallery.models import Family


class PhotoBackfillCommand(BaseCommand):
    """Subclasses pick the photos that lack something, narrow them with `of_family` and walk them with `progress`."""

    def add_arguments(self, parser):
        parser.add_argument("--family", help="only this family (name)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")

    def of_family(self, photos: QuerySet, family: str | None) -> QuerySet:
        if not family:
            return photos
        family_obj = Family.objects.filter(name__iexact=family).first()
        if family_obj is None:
            raise CommandError(f"No family called “{family}”.")
        return photos.filter(family=family_obj)

    def progress(self, total: int, *, no_progress: bool) -> tqdm:
        return tqdm(total=total, unit="photo", disable=no_progress, file=self.stderr._out)
