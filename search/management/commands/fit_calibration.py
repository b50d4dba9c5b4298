"""`manage.py fit_calibration`: fit families' search calibration from their judgments, now, in this process."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from gallery.management.families import family_from_option
from gallery.models import Family
from search.quality import (IMPROVEMENT, NotEnoughJudgments, calibration_fit, calibration_rollback,
                            calibrations_fit_due, log_loss_text)


class Command(BaseCommand):
    help = (
        "Fit a family's search calibration (image match a', b'; metadata per kind of match; suggested weights) from "
        "its members' judgments, cross-validated by query, and apply it if it lowers held-out log-loss. Without "
        "--family: every family with judgments newer than its latest fit (what the worker does nightly). "
        "--rollback withdraws the family's calibration in force instead (the one before it, or the defaults, "
        "is used again)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--family", help="family id or name")
        parser.add_argument("--rollback", action="store_true", help="withdraw the family's calibration in force")

    def handle(self, *args, family=None, rollback=False, **options):
        if rollback and family is None:
            raise CommandError("--rollback needs --family.")
        family_ids = [family_from_option(family).pk] if family is not None else calibrations_fit_due()
        if rollback:
            withdrawn = calibration_rollback(family_id=family_ids[0])
            self.stdout.write("Nothing to roll back: the defaults are in force." if withdrawn is None
                              else f"Withdrew the calibration of {withdrawn.created_at:%Y-%m-%d %H:%M}.")
            return
        if not family_ids:
            self.stdout.write("No family has new judgments to fit.")
        for family_id in family_ids:
            name = Family.objects.get(pk=family_id).name
            try:
                fitted = calibration_fit(family_id=family_id)
            except NotEnoughJudgments as exc:
                if family is not None:  # the one family asked for: an error, with its reason
                    raise CommandError(f"{name}: {exc}") from None
                self.stdout.write(f"{name}: {exc}")
                continue
            # The figures at the default weights: what decides whether a fit applies (as the quality page says); the
            # suggested weights are each member's to apply, with their own figure.
            before, after = fitted.metrics["before"], fitted.metrics["after_default_weights"]
            weights = fitted.suggested_weights
            self.stdout.write(
                f"{name}: {fitted.judgments} judgments on {fitted.judged_queries} queries; held-out log-loss "
                f"{log_loss_text(before['log_loss'])} → {log_loss_text(after['log_loss'])}, "
                f"ECE {before['ece']:.3f} → {after['ece']:.3f}, "
                f"nDCG@10 {before['ndcg_at_10']:.3f} → {after['ndcg_at_10']:.3f}; "
                + ("applied" if fitted.applied
                   else f"not applied (not {IMPROVEMENT:.0%} lower than with the calibration in force)")
                + (f"; suggested weights {weights[0]:.2f}/{weights[1]:.2f} (held-out log-loss "
                   f"{log_loss_text(fitted.metrics['after']['log_loss'])} with them)"
                   # Only the fit in force suggests weights on the quality page and the API.
                   + ("" if fitted.applied else ", not offered: this fit is not in force") if weights else ""))
