"""Each "Not duplicates: keep all" names its rows (`DuplicateDismissal.action`): the finder keeps apart every two
photos of one action, where it kept apart every photo joined by a chain of dismissed pairs (A~B kept, then B~C kept,
kept A and C apart too, copies of each other nobody looked at together).

The rows stored before carry no action: those one click stored (one bulk insert: one family, one member, moments
apart) are told by their time. Of each family's rows by one member, in the order stored, a row more than
CLICK_SECONDS after the previous one starts another action; two clicks of one member within CLICK_SECONDS stay one
action, as all their rows were one chain before. Reversing it drops the column."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import migrations, models

# Rows of one click are stored by one bulk insert, each stamped as it is built: microseconds apart.
CLICK_SECONDS = 2


def dismissal_actions_named(apps, schema_editor):
    dismissal = apps.get_model("search", "DuplicateDismissal")
    rows = dismissal.objects.order_by("family_id", "dismissed_by_id", "dismissed_at", "pk").values_list(
        "pk", "family_id", "dismissed_by_id", "dismissed_at")
    actions: dict[uuid.UUID, list[int]] = {}
    previous, action = None, None
    for pk, family_id, user_id, at in rows.iterator(chunk_size=5000):
        if previous is None or previous[:2] != (family_id, user_id) or at - previous[2] > timedelta(
                seconds=CLICK_SECONDS):
            action = uuid.uuid4()
        actions.setdefault(action, []).append(pk)
        previous = (family_id, user_id, at)
    for action, pks in actions.items():
        dismissal.objects.filter(pk__in=pks).update(action=action)


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
