"""`manage.py evaluate --family F [--compare]`: the active model's P@k, nDCG@10 and ECE on the family's judged
queries and, with --compare, the previous model's on the same ones (during a model switch)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gallery.management.families import family_from_option
from search.model_comparison import compare_models, comparison_lines, previous_model


class Command(BaseCommand):
    help = (
        "Evaluate search on a family's own judgments: P@1/5/10, nDCG@10 and ECE of the active model's calibrated "
        "semantic probability over the judged queries; with --compare, the previous model's too (its embeddings are "
        "kept after a switch until a family admin confirms it or MODEL_SWITCH_KEEP_DAYS pass)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--family", required=True, help="the family (name or id)")
        parser.add_argument("--compare", action="store_true", help="also evaluate the previous model")

    def handle(self, *args, family, compare, **options):
        found = family_from_option(family)
        models = [settings.SEARCH_MODEL]
        if compare:
            previous = previous_model(family_id=found.pk)
            if previous is None:
                raise CommandError(f"{found.name} has no embeddings of a previous model to compare with: they are "
                                   "kept after a model switch until an admin confirms it or MODEL_SWITCH_KEEP_DAYS pass.")
            models.append(previous)
        self.stdout.write("\n".join(comparison_lines(compare_models(family=found, model_names=models))))
