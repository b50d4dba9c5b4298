from __future__ import annotations

import json
import sys
from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.contrib.auth import get_user_model

from gallery.management.families import family_from_option
from gallery.models import Family
from search.judgment_selectors import judgments_export_rows
from search.judgment_services import ImportReport, judgments_import, lines_bounded
from search.model_comparison import previous_model
from search.selectors import family_search_model


IMPORT_DESCRIPTION = (
    "An import records each row as its own judge's, also when they are not a member of the family now (they left, or "
    "are not added back yet) if the row was given in that family (its id; with --family, its id or name): kept as the "
    "judgments of a member who leaves are, out of the family's figures and fits until they join it again, so these are "
    "the same after an export and an import. A row whose judge has no account here is skipped. Rows judged with "
    "another model are imported: the figures and fits score every judgment afresh with the model the family's search "
    "uses. A row already here as the file gives it (with --recompute: its verdict, with the score components the "
    "search gives it now) is left unchanged, so importing a file again changes nothing. The summary says all of this, "
    "with counts.")


class Command(BaseCommand):
    help = ("Export or import search judgments (right/wrong verdicts) as JSON lines, so a family keeps its labelled "
            "set across model switches and reinstalls. `judgments export [--family F] [--user U] [-o FILE]`; "
            "`judgments import FILE [--family F] [--user U] [--recompute]` (FILE - reads standard input). "
            + IMPORT_DESCRIPTION)

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="write judgments as JSON lines")
        export.add_argument("--family", help="only this family's (name or id)")
        export.add_argument("--user", help="only this user's (username)")
        export.add_argument("-o", "--output", help="file to write (default: standard output)")
        load = sub.add_parser("import", help="read judgments from JSON lines", description=IMPORT_DESCRIPTION)
        load.add_argument("file", help="a file written by export, or - for standard input")
        load.add_argument("--family", help="put every row in this family (name or id) instead of the row's own")
        load.add_argument("--user", help="record every row as this user's (username; a member of the family) instead "
                                         "of the row's own")
        load.add_argument("--recompute", action="store_true",
                          help="compute each result's score components afresh with the current model (a row held "
                               "already with its verdict and those components is left as it is)")

    def handle(self, *args, action, **options):
        family = family_from_option(options["family"]) if options.get("family") is not None else None
        user = None
        if options.get("user"):
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"There is no user called “{options['user']}”.")
        if action == "export":
            self._export(options, family_id=family.pk if family else None)
        else:
            self._import(options["file"], family=family, user=user, recompute=options["recompute"])

    def _export(self, options, *, family_id: int | None) -> None:
        rows = judgments_export_rows(family_id=family_id, username=options.get("user"))
        try:
            out = open(options["output"], "w", encoding="utf-8") if options.get("output") else self.stdout
        except OSError as exc:
            raise CommandError(f"Could not write {options['output']}: {exc.strerror}.") from None
        count = 0
        try:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        finally:
            if out is not self.stdout:
                out.close()
        self.stderr.write(f"Exported {count} judgment{'s' if count != 1 else ''}.")

    def _import(self, path: str, **kwargs) -> None:
        try:
            # Bytes that are no UTF-8 are kept as such (surrogateescape), for the import to name their line and skip it
            # rather than record its text with "�" in it, or stop with a traceback.
            if path == "-" and hasattr(sys.stdin, "reconfigure"):  # (a test's StringIO holds text already)
                sys.stdin.reconfigure(encoding="utf-8", errors="surrogateescape")
            source = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            raise CommandError(f"Could not read {path}: {exc.strerror}.") from None
        with source:
            report = judgments_import(lines=lines_bounded(source), **kwargs)
        for problem in report.skipped:
            self.stderr.write(f"Skipped {problem}")
        for repeat in report.repeated:
            self.stderr.write(f"Written again: {repeat}")
        counts, *said = import_summary(report)
        self.stdout.write(self.style.SUCCESS(counts))
        for line in said:
            self.stdout.write(line)


def import_summary(report: ImportReport) -> list[str]:
    """What the import did, in sentences: the counts, then per family the models its rows were judged with and what its
    figures make of them, the judgments kept of people not in it now, and the people the file names who have no
    account here."""
    written = report.created + report.updated
    held = ("with the file's verdicts and the score components the search gives them now" if report.recomputed
            else "as the file gives them")
    unchanged = f"; {report.unchanged} unchanged (already here {held})" if report.unchanged else ""
    repeated = (f"; {len(report.repeated)} line{'s' if len(report.repeated) != 1 else ''} repeated earlier ones"
                if report.repeated else "")
    lines = [f"Imported {report.created} new and {report.updated} updated judgment{'s' if written != 1 else ''}"
             f"{unchanged}{repeated}; skipped {len(report.skipped)}.{'' if report.written else ' Nothing changed.'}"]
    names = dict(Family.objects.filter(pk__in=report.models()).values_list("pk", "name"))
    name = lambda family_id: names.get(family_id, f"family {family_id}")  # noqa: E731 (deleted meanwhile)
    for family_id, models in sorted(report.models().items(), key=lambda item: (name(item[0]), item[0])):
        lines.append(_models_line(name(family_id), family_id, models))
    kept = report.components_kept_in()
    for family_id, people in sorted(report.outsiders().items(), key=lambda item: (name(item[0]), item[0])):
        lines.append(_outsiders_line(name(family_id), people, components_kept=family_id in kept))
    if report.no_account:
        count, people = sum(report.no_account.values()), len(report.no_account)
        lines.append(f"{count} judgment{'s name' if count != 1 else ' names'} {people} "
                     f"{'people' if people != 1 else 'person'} with no account here ({_listed(report.no_account)}): "
                     f"skipped. Create {'their accounts' if people != 1 else 'the account'} (and make "
                     f"{'them members' if people != 1 else 'them a member'}) and import the file again: what is here "
                     "already stays as it is.")
    return lines


def _models_line(family_name: str, family_id: int, models: Counter) -> str:
    """"Smiths: 2 judged with A, 1 with B (the model its search uses now). Its quality figures and fits score …"."""
    searching = family_search_model(family_id=family_id)
    counted = [f"{n} with {name or 'no model (judged before the photo was indexed)'}"
               f"{' (the model its search uses now)' if name == searching else ''}"
               for name, n in sorted(models.items(), key=lambda item: (-item[1], item[0]))]
    counted[0] = counted[0].replace(" with ", " judged with ", 1)
    now = "" if searching in models else " (the model its search uses now)"
    line = (f"{family_name}: {', '.join(counted)}. Its quality figures and fits score every judgment of its members "
            f"afresh with {searching}{now}, whichever model it was judged with.")
    if previous := previous_model(family_id=family_id):  # a switch: another model's embeddings are still here
        other = previous if searching == settings.SEARCH_MODEL else settings.SEARCH_MODEL
        line += (f" During the model switch, `manage.py evaluate --family {family_id} --compare` compares {searching} "
                 f"and {other} on them.")
    return line


def _outsiders_line(family_name: str, people: Counter, *, components_kept: bool) -> str:
    count, many = sum(people.values()), len(people) != 1
    who = "when their judge joins it again" if many else f"if {next(iter(people))} joins it again"
    kept = (f" They are kept with the score components the file records: --recompute runs each search as its judge, "
            f"who can't search {family_name} now." if components_kept else "")
    return (f"Kept {count} judgment{'s' if count != 1 else ''} of {len(people)} {'people' if many else 'person'} who "
            f"{'are not members' if many else 'is not a member'} of {family_name} now ({_listed(people)}): "
            f"{'they count' if count != 1 else 'it counts'} in its figures and fits again {who}.{kept}")


def _listed(names: Counter, most: int = 10) -> str:
    shown = sorted(names)[:most]
    return ", ".join(shown) + (f" and {len(names) - most} more" if len(names) > most else "")
