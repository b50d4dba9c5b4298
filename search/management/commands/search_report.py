"""`manage.py search_report "QUERY" --user U [--family F]`: what the search does with a query, as text."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from gallery.selectors import family_list
from gallery.text import id_from_text
from search.reports import search_report, search_report_lines


class Command(BaseCommand):
    help = (
        "Print what a search does with QUERY for a user, over one of their families: the expanded terms, each term's "
        "cosine and calibrated probability over every indexed photo (terminal histograms), the calibration in force "
        "(the model's own, or the family's fit), and the top results with every score component."
    )

    def add_arguments(self, parser):
        parser.add_argument("query")
        parser.add_argument("--user", required=True, help="the user searching (username)")
        parser.add_argument("--family", help="one of the user's families (name or id); needed if they have several")

    def handle(self, *args, query, user, family, **options):
        account = get_user_model().objects.filter(username=user).first()
        if account is None:
            raise CommandError(f"No user called “{user}”.")
        if not " ".join(query.split()):
            raise CommandError("The query is empty.")
        report = search_report(user=account, query=query, family_id=self._family_id(account, family))
        self.stdout.write("\n".join(search_report_lines(report)))

    def _family_id(self, user, name: str | None) -> int:
        families = list(family_list(user=user))
        if not families:
            raise CommandError(f"{user.username} is not in any family.")
        if name is None:
            if len(families) > 1:
                raise CommandError(f"{user.username} is in {len(families)} families "
                                   f"({', '.join(f.name for f in families)}): pick one with --family.")
            return families[0].pk
        found = [f for f in families if f.pk == id_from_text(name.strip()) or f.name.lower() == name.strip().lower()]
        if not found:
            raise CommandError(f"{user.username} is not in a family called “{name}”.")
        return found[0].pk
