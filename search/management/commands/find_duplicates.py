from __future__ import annotations

from django.core.management.base import BaseCommand

from gallery.management.families import family_from_option
from search.duplicate_finder import duplicates_scan


class Command(BaseCommand):
    help = ("Look for near-duplicates among every photo (or one family's): for photos stored before the worker "
            "looked for them after embedding, or after changing DUPLICATE_HASH_DISTANCE / DUPLICATE_COSINE.")

    def add_arguments(self, parser):
        parser.add_argument("--family", help="the family (name or id; default: every family)")

    def handle(self, *args, family=None, **options):
        seen = duplicates_scan(family_id=family_from_option(family).pk if family is not None else None)
        self.stdout.write(f"Looked for near-duplicates of {seen} photos.")
