"""Judged queries stored before judgment_query read them as it does now: "red circle." apart from "red circle" (the
punctuation a query ends with as a sentence does), and "réd" typed with a combining accent apart from "réd" (queries
are read composed). They are stored as judgment_query reads them; where that makes two verdicts of one member on one
photo for one query, the newest is kept (as search 0023 did for curled quotes, with the same step).
"""

import importlib

from django.db import migrations


def queries_as_read_now(apps, schema_editor):
    importlib.import_module("search.migrations.0023_fit_judges_and_straight_queries").queries_straighten(
        apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0024_repair_unreadable_judgments"),
    ]

    operations = [
        migrations.RunPython(queries_as_read_now, migrations.RunPython.noop, elidable=True),
    ]
