from django.db import migrations
from django.utils import timezone

NAME = "gallery: purge the trash"


def create_schedule(apps, schema_editor):
    # Photos in the trash longer than TRASH_DAYS are deleted for good (their files after their rows).
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "gallery.tasks.trash_purge_task",
            "schedule_type": "H",  # hourly
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0011_trash_favourites"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
