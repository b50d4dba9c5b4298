"""What the commands that fill something in for stored photos share: a --family choice and a progress bar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import BaseCommand
from django.db.models import QuerySet
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

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

    def progress(self, total: int, *, no_progress: bool):
        return progress_bar(self, total, no_progress=no_progress)


@contextmanager
def progress_bar(command: BaseCommand, total: int, *, no_progress: bool, unit: str = "photo",
                 **options) -> Iterator[tqdm]:
    """A command's progress bar on its stderr; log lines written meanwhile (a worker's, a warning about one photo)
    come out on their own lines above it, not glued onto it."""
    with tqdm(total=total, unit=unit, disable=no_progress, file=command.stderr._out, **options) as bar, \
            logging_redirect_tqdm(tqdm_class=tqdm):
        yield bar
