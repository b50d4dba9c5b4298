"""Two steps of one stop, in one migration:

- A fit records whose judgments it was made from (`judges`): one stored after any of them left the family is kept
  but not applied (search.quality._calibration_store), and a member's leaving withdraws only the fits made with their
  judgments. Fits made before this have none (null): a leaver who judged in the family withdraws them, as before.
- Judged queries stored before judgments kept the query as the query parser reads it (search.models.judgment_query,
  by search.query_parser.tokenize) still hold a phone's curled quotes: “red square” and "red square" were two judged
  queries of one search. They are stored as the parser reads them; where that makes two verdicts of one member on one
  photo for one query, the newest is kept.
"""

from collections import defaultdict

import django.contrib.postgres.fields
from django.db import migrations, models


def queries_straighten(apps, schema_editor):
    from search.models import judgment_query  # the normalisation judgments are matched by from now on

    Judgment = apps.get_model("search", "Judgment")
    rows = Judgment.objects.order_by().values_list("pk", "user_id", "photo_id", "query", "updated_at")
    by_key: dict[tuple, list[tuple]] = defaultdict(list)  # (user, photo, query as read) → its judgments
    for pk, user_id, photo_id, query, updated_at in rows.iterator(chunk_size=2000):
        by_key[(user_id, photo_id, judgment_query(query))].append((updated_at, pk, query))
    stale, renamed = [], []
    for (_, _, query), judgments in by_key.items():
        if not query or all(old == query for _, _, old in judgments):
            continue  # as read already (or nothing left to read: left as it was)
        judgments.sort()
        *older, (_, newest, old) = judgments
        stale += [pk for _, pk, _ in older]
        if old != query:
            renamed.append((newest, query))
    for start in range(0, len(stale), 2000):
        Judgment.objects.filter(pk__in=stale[start:start + 2000]).delete()
    for pk, query in renamed:  # (the older verdicts are gone: no two rows of one user, photo and query)
        Judgment.objects.filter(pk=pk).update(query=query)


class Migration(migrations.Migration):

    dependencies = [
        ('search', '0022_duplicate_dismissals'),
    ]

    # The judgments' queries first: the new column's ACCESS EXCLUSIVE lock on the fits (which every search reads) is
    # then held only from its ALTER to the commit, not through the data step.
    operations = [
        migrations.RunPython(queries_straighten, migrations.RunPython.noop, elidable=True),
        migrations.AddField(
            model_name='searchcalibration',
            name='judges',
            field=django.contrib.postgres.fields.ArrayField(base_field=models.BigIntegerField(), blank=True, help_text='The users whose judgments it was made from (null: fitted before this was kept).', null=True, size=None),
        ),
    ]
