from django.db import migrations, models

BATCH = 2000


def fill_taken_days(apps, schema_editor):
    """Each photo's local day: taken_at in the zone it was taken in (blank: TIME_ZONE), as Photo.save keeps it."""
    from gallery.timezones import local

    Photo = apps.get_model("gallery", "Photo")
    rows = Photo.objects.order_by("pk").values_list("pk", "taken_at", "taken_tz")
    last = 0
    while batch := list(rows.filter(pk__gt=last)[:BATCH]):
        Photo.objects.bulk_update([Photo(pk=pk, taken_day=local(taken_at, tz).date()) for pk, taken_at, tz in batch],
                                  ["taken_day"])
        last = batch[-1][0]


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0017_orphan_files_schedule"),
    ]

    operations = [
        migrations.AddField(
            model_name="photo",
            name="taken_day",
            field=models.DateField(editable=False, null=True, verbose_name="day taken (local)"),
        ),
        migrations.RunPython(fill_taken_days, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="photo",
            name="taken_day",
            field=models.DateField(editable=False, verbose_name="day taken (local)"),
        ),
        migrations.AddIndex(
            model_name="photo",
            index=models.Index(fields=["family", "-taken_day", "-taken_at", "-id"], name="photo_family_days"),
        ),
        migrations.AddIndex(
            model_name="photo",
            index=models.Index(fields=["-taken_day", "-taken_at", "-id"], name="photo_days"),
        ),
    ]
