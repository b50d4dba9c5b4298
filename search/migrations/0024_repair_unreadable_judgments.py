# Judgments imported before 6bfe3ea and 4390219 could hold what PostgreSQL stores and nothing reads back: a
# created_at of year 0 or 10000 in UTC ("0001-01-01T00:00:00+05:00" in a JSONL file), which psycopg can't read, and a
# score in components too large for a float (a 400-digit number), which every reader of a score turns into one. Such
# a row kept `judgments export`, GET /api/v1/search/judgments/, the admin's list and the photo's report failing. The
# row is dated by its import (updated_at), and the components nothing can read are dropped; the verdict stays.

from django.db import migrations

OUT_OF_RANGE = "created_at < '0001-01-01 00:00:00+00' OR created_at >= '10000-01-01 00:00:00+00'"
TOO_LARGE = """jsonb_path_exists(components, '$.** ? (@.type() == "number" && (@ > 1e308 || @ < -1e308))')"""


def repair(apps, schema_editor):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE search_judgment SET created_at = updated_at WHERE {OUT_OF_RANGE}")
        cursor.execute(f"UPDATE search_judgment SET components = '{{}}'::jsonb WHERE {TOO_LARGE}")


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0023_fit_judges_and_straight_queries"),
    ]

    operations = [
        migrations.RunPython(repair, migrations.RunPython.noop),
    ]
