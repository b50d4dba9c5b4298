# Photos stored before 77c876e with the first day of a clock that counts from the Unix epoch and was never set (a
# phone's, an action camera's, a dashcam's: EXIF 1970:01:01 00:00:00, or 31 December 1969 where it runs behind UTC; an
# XMP or Takeout date the same) stood on the timeline in 1970 and were searched as 1970, winter and New Year. A file
# tells no such date now (gallery.images.possible_date): these are dated as an upload dates them, by the day and time
# their file's name tells (gallery.filename_dates), read in the zone they were taken in, else by their upload. A
# member's date, and a name's, stay. Their search documents go, for the sweep to build them again.

from django.db import migrations

EPOCH_DAYS = ("1969-12-31", "1970-01-01")  # gallery.images.UNIX_EPOCH_DAYS
TOLD_BY_FILES = ("exif", "xmp", "sidecar", "google")  # the date sources possible_date guards


def undate_epoch_clocks(apps, schema_editor):
    from gallery.filename_dates import date_in_filename
    from gallery.timezones import aware, local

    Photo = apps.get_model("gallery", "Photo")
    PhotoDocument = apps.get_model("search", "PhotoDocument")
    rows = list(Photo._base_manager.filter(taken_day__in=EPOCH_DAYS, taken_at_source__in=TOLD_BY_FILES)
                .values_list("pk", "original_filename", "uploaded_at", "taken_tz"))
    for pk, filename, uploaded_at, zone in rows:
        named = date_in_filename(filename)
        taken_at, source = (aware(named.when, zone), "filename") if named is not None else (uploaded_at, "upload")
        Photo._base_manager.filter(pk=pk).update(taken_at=taken_at, taken_at_source=source,
                                                 taken_day=local(taken_at, zone).date())
    PhotoDocument.objects.filter(photo_id__in=[pk for pk, _, _, _ in rows]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0041_sessions_clear_schedule"),
        ("search", "0024_repair_unreadable_judgments"),
    ]

    operations = [
        migrations.RunPython(undate_epoch_clocks, migrations.RunPython.noop),
    ]
