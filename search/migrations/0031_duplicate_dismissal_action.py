"""Each "Not duplicates: keep all" names its rows (`DuplicateDismissal.action`): the finder keeps apart every two
photos of one action, where it kept apart every photo joined by a chain of dismissed pairs (A~B kept, then B~C kept,
kept A and C apart too, copies of each other nobody looked at together).

The rows stored before carry no action: those one click stored (one bulk insert: one family, one member, moments
apart, pairs of one group) are told by their time and their photos. Of each family's rows by one member, in the
order stored, a row more than CLICK_SECONDS after the previous one starts another click; of one click's rows, those
not joined by a chain of pairs are other actions (two quick clicks, or a script keeping groups in a loop: two groups
kept within CLICK_SECONDS were two chains before, free to pair with each other, and stay so). Reversing it drops the
column."""

import uuid
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import connection as default_connection
from django.db import migrations, models

# Rows of one click are stored by one bulk insert, each stamped as it is built: microseconds apart.
CLICK_SECONDS = 2
# Rows named per UPDATE statement (one statement for many actions, not one per action).
UPDATE_ROWS = 5000


def dismissal_actions_named(apps, schema_editor):
    dismissal = apps.get_model("search", "DuplicateDismissal")
    rows = dismissal.objects.order_by("family_id", "dismissed_by_id", "dismissed_at", "pk").values_list(
        "pk", "family_id", "dismissed_by_id", "dismissed_at", "photo_a_id", "photo_b_id")
    named: list[tuple[int, uuid.UUID]] = []
    click: list[tuple[int, int, int]] = []
    previous = None
    for pk, family_id, user_id, at, a, b in rows.iterator(chunk_size=5000):
        if previous is not None and (previous[:2] != (family_id, user_id)
                                     or at - previous[2] > timedelta(seconds=CLICK_SECONDS)):
            named += _actions_of(click)
            click = []
        click.append((pk, a, b))
        previous = (family_id, user_id, at)
    named += _actions_of(click)
    table = dismissal._meta.db_table
    connection = schema_editor.connection if schema_editor else default_connection  # (None: a test calling it)
    with connection.cursor() as cursor:
        for start in range(0, len(named), UPDATE_ROWS):
            chunk = named[start:start + UPDATE_ROWS]
            cursor.execute(
                f'UPDATE "{table}" SET action = named.action '
                'FROM unnest(%s::bigint[], %s::uuid[]) AS named(id, action) '
                f'WHERE "{table}".id = named.id',
                [[pk for pk, _ in chunk], [str(action) for _, action in chunk]])


def _actions_of(click: list[tuple[int, int, int]]) -> list[tuple[int, uuid.UUID]]:
    """Each row of one click with its action: one per chain of its pairs."""
    labels = _connected((a, b) for _, a, b in click)
    actions: dict[int, uuid.UUID] = {}
    return [(pk, actions.setdefault(labels[a], uuid.uuid4())) for pk, a, _ in click]


def _connected(pairs: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Each photo of these pairs labelled by its connected component (union-find): a frozen copy of
    search.duplicates._connected, as a migration must not import code that may change."""
    parent: dict[int, int] = {}

    def root(pk: int) -> int:
        while parent.setdefault(pk, pk) != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    for a, b in pairs:
        parent[root(a)] = root(b)
    return {pk: root(pk) for pk in parent}


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0051_album_share_link_name'),
        ('search', '0030_duplicate_pairs_bounded'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='duplicatedismissal',
            name='action',
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
        migrations.RunPython(dismissal_actions_named, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='duplicatedismissal',
            index=models.Index(fields=['action'], name='duplicatedismissal_action'),
        ),
    ]
