"""`manage.py search_report "QUERY" --user U [--family F] [--all-families]`: what the search does with a query, as
text."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from gallery.selectors import family_list
from gallery.text import id_from_text
from search.reports import search_report, search_report_lines
from search.templatetags.search_tags import possessive


class Command(BaseCommand):
    help = (
        "Print what a search does with QUERY for a user, over one of their families: the expanded terms, each term's "
        "cosine and calibrated probability over every indexed photo (terminal histograms), the calibration in force "
        "(the model's own, or the family's fit), and the top results with every score component. With "
        "--all-families, the search of all their families (the search page's without a family filter), scored as it "
        "runs: its top results from each (each naming its family), with the figures of --family, else of the family "
        "whose photos lead the results."
    )

    def add_arguments(self, parser):
        parser.add_argument("query")
        parser.add_argument("--user", required=True, help="the user searching (username)")
        parser.add_argument("--family", help="one of the user's families (name or id); needed if they have several, "
                                             "unless --all-families")
        parser.add_argument("--all-families", action="store_true",
                            help="search all the user's families, as the search page does without a family filter")

    def handle(self, *args, query, user, family, all_families, **options):
        account = get_user_model().objects.filter(username=user).first()
        if account is None:
            raise CommandError(f"No user called “{user}”.")
        if not " ".join(query.split()):
            raise CommandError("The query is empty.")
        families = list(family_list(user=account))
        family_id = self._family_id(account, families, family, all_families)
        report = search_report(user=account, query=query, family_id=family_id,
                               all_families=all_families and len(families) > 1)
        self.stdout.write("\n".join(search_report_lines(report, reader=possessive(account.username))))

    def _family_id(self, user, families: list, name: str | None, all_families: bool) -> int | None:
        """The family whose figures the report shows: --family's; with --all-families and none named, the one whose
        photos lead the results (None)."""
        if not families:
            raise CommandError(f"{user.username} is not in any family.")
        if name is None:
            if len(families) > 1 and not all_families:
                raise CommandError(f"{user.username} is in {len(families)} families "
                                   f"({', '.join(f.name for f in families)}): pick one with --family, or search "
                                   "them all with --all-families.")
            return None if all_families and len(families) > 1 else families[0].pk
        found = [f for f in families if f.pk == id_from_text(name.strip()) or f.name.lower() == name.strip().lower()]
        if not found:
            raise CommandError(f"{user.username} is not in a family called “{name}”.")
        return found[0].pk
