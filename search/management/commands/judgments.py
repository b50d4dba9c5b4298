from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.contrib.auth import get_user_model

from gallery.management.families import family_from_option
from search.judgment_selectors import judgments_export_rows
from search.judgment_services import judgments_import, lines_bounded


class Command(BaseCommand):
    help = ("Export or import search judgments (right/wrong verdicts) as JSON lines, so a family keeps its labelled "
            "set across model switches and reinstalls. `judgments export [--family F] [--user U] [-o FILE]`; "
            "`judgments import FILE [--family F] [--user U] [--recompute]` (FILE - reads standard input).")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="write judgments as JSON lines")
        export.add_argument("--family", help="only this family's (name or id)")
        export.add_argument("--user", help="only this user's (username)")
        export.add_argument("-o", "--output", help="file to write (default: standard output)")
        load = sub.add_parser("import", help="read judgments from JSON lines")
        load.add_argument("file", help="a file written by export, or - for standard input")
        load.add_argument("--family", help="put every row in this family (name or id) instead of the row's own")
        load.add_argument("--user", help="record every row as this user's (username) instead of the row's own")
        load.add_argument("--recompute", action="store_true",
                          help="compute each result's score components afresh with the current model")

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
        repeated = (f"; {len(report.repeated)} line{'s' if len(report.repeated) != 1 else ''} repeated earlier ones"
                    if report.repeated else "")
        self.stdout.write(self.style.SUCCESS(
            f"Imported {report.created} new and {report.updated} updated judgment"
            f"{'s' if report.created + report.updated != 1 else ''}{repeated}; skipped {len(report.skipped)}."))
