from django.db import migrations, models
from django.utils import timezone

RECOVER = "search: recover photos of stopped workers"


def create_schedule(apps, schema_editor):
    # Every minute (django-q2's shortest interval): photos whose worker died are retried about a lease after.
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=RECOVER,
        defaults={
            "func": "search.tasks.photos_recover_task",
            "schedule_type": "I",  # minutes
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=RECOVER).delete()


class Migration(migrations.Migration):
    """Leases on work items (search.leases), and the task that re-queues photos whose lease ran out."""

    dependencies = [
        ("search", "0008_synonym_updated_at"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [
        migrations.CreateModel(
            name="WorkLease",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(help_text="What the work is, e.g. 'embed'.", max_length=32)),
                ("object_id", models.BigIntegerField(help_text="The id of the row the work is about (a photo, for 'embed').")),
                ("owner", models.CharField(help_text="The task run holding it: host:pid:random.", max_length=255)),
                ("expires_at", models.DateTimeField()),
            ],
            options={
                "indexes": [models.Index(fields=["owner"], name="worklease_owner")],
                "constraints": [models.UniqueConstraint(fields=("kind", "object_id"), name="one_lease_per_work_item")],
            },
        ),
        migrations.RunPython(create_schedule, delete_schedule),
    ]
