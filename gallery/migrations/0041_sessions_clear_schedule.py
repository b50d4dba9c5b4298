from django.db import migrations
from django.utils import timezone

NAME = "gallery: clear expired sessions"


def create_schedule(apps, schema_editor):
    # Django deletes an expired session only when its browser comes back: the others' rows stayed for good.
    apps.get_model("django_q", "Schedule").objects.update_or_create(
        name=NAME,
        defaults={
            "func": "gallery.tasks.sessions_clear_task",
            "schedule_type": "D",  # daily
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def delete_schedule(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0040_name_invisible_names"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(create_schedule, delete_schedule)]
