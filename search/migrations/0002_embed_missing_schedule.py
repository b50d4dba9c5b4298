from django.db import migrations
from django.utils import timezone


def create_schedule(apps, schema_editor):
    # The sweep that guarantees no photo is stranded, whatever happened to its task.
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.update_or_create(
        name="search: embed missing photos",
        defaults={
            "func": "search.tasks.embed_missing_task",
            "schedule_type": "I",  # minutes
            "minutes": 5,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="search: embed missing photos").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("search", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
