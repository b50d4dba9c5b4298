from django.db import migrations
from django.utils import timezone

NAME = "gallery: remove orphan files"


def create_schedule(apps, schema_editor):
    # Files no photo points at (a process killed between writing a photo's files and its row), older than a day.
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "gallery.tasks.orphan_files_remove_task",
            "schedule_type": "D",  # daily: it lists every stored file
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0016_apitoken"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
