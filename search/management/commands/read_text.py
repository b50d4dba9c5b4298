"""`manage.py read_text`: read the text in photos the OCR gate skipped (or that failed), in bulk."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from gallery.management.families import family_from_option
from gallery.models import Photo
from search.ocr import OCR_OFF, photos_text_request


class Command(BaseCommand):
    help = ("Queue OCR for photos whose text was not read: those the gate skipped and those that failed "
            "(--all: every embedded photo again). The OCR worker (`serve`) reads them.")

    def add_arguments(self, parser):
        parser.add_argument("--family", help="only this family (name or id)")
        parser.add_argument("--all", action="store_true", help="read every embedded photo again")

    def handle(self, *args, family=None, all=False, **options):
        if not settings.OCR_ENABLED:
            raise CommandError(OCR_OFF)
        photos = Photo.objects.filter(status=Photo.Status.READY)
        if family is not None:
            photos = photos.filter(family=family_from_option(family))
        if not all:
            photos = photos.filter(ocr_status__in=[Photo.OcrStatus.SKIPPED, Photo.OcrStatus.FAILED])
        with transaction.atomic():
            count = photos_text_request(photo_ids=list(photos.values_list("pk", flat=True)))
        self.stdout.write(f"Queued {count} photos for OCR.")
