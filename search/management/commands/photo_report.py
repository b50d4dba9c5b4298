"""`manage.py photo_report ID`: one photo's semantic profile, metadata fields and judged queries, as text."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gallery.models import Membership, Photo
from search.reports import photo_report, photo_report_lines
from search.templatetags.search_tags import possessive


class Command(BaseCommand):
    help = (
        "Print a photo's semantic profile (the tag vocabulary's concepts and the synonym table's terms ranked by "
        "calibrated probability), its metadata fields as search matches them, and the queries its family judged it "
        "right and wrong for."
    )

    def add_arguments(self, parser):
        parser.add_argument("photo_id", type=int)

    def handle(self, *args, photo_id, **options):
        photo = Photo.all_objects.filter(pk=photo_id).select_related("family").first()
        if photo is None:
            raise CommandError(f"No photo {photo_id}.")
        if photo.trashed_at is not None:  # no search shows it, so it has no profile; it is not gone either
            raise CommandError(f"Photo {photo_id} is in {possessive(photo.family.name)} trash: restore it (its "
                               "family's trash page) to see its profile.")
        # An operator's command: read as a member of the photo's family would (the report's selector checks that).
        membership = Membership.objects.filter(family_id=photo.family_id).select_related("user").order_by("pk").first()
        if membership is None:
            raise CommandError(f"Photo {photo_id}'s family has no members to read it as.")
        self.stdout.write("\n".join(photo_report_lines(photo_report(user=membership.user, photo_id=photo_id))))
