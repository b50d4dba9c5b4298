# Photos stored with a date no photo can have (before 2b2eb2e a camera's date was stored whatever its year: a clock
# never set writes 0001 or 9999) are dated by their upload, as an upload dates such a file now
# (gallery.images.possible_date). Their rows broke pages: the year 10000 in UTC is one PostgreSQL holds and psycopg
# can't read back. Their search documents go, for the sweep to build them again (documents_outdated_refresh).

from datetime import timedelta

from django.db import migrations
from django.db.models import Q
from django.utils import timezone

EARLIEST_TAKEN = "1826-01-01 00:00:00+00"  # gallery.images.EARLIEST_TAKEN
MAX_CLOCK_ERROR = timedelta(days=100 * 366)  # gallery.images.MAX_CLOCK_ERROR


def undate_impossible(apps, schema_editor):
    from gallery.timezones import local

    Photo = apps.get_model("gallery", "Photo")
    PhotoDocument = apps.get_model("search", "PhotoDocument")
    impossible = Q(taken_at__lt=EARLIEST_TAKEN) | Q(taken_at__gt=timezone.now() + MAX_CLOCK_ERROR)
    # (Their taken_at is not read: psycopg can't read the year 10000 back. Few photos: one statement each.)
    rows = list(Photo._base_manager.filter(impossible).values_list("pk", "uploaded_at", "taken_tz"))
    for pk, uploaded_at, zone in rows:
        Photo._base_manager.filter(pk=pk).update(taken_at=uploaded_at, taken_at_source="upload",
                                                 taken_day=local(uploaded_at, zone).date())
    PhotoDocument.objects.filter(photo_id__in=[pk for pk, _, _ in rows]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0038_xmp_date_taken"),
        ("search", "0023_fit_judges_and_straight_queries"),
    ]

    operations = [
        migrations.RunPython(undate_impossible, migrations.RunPython.noop),
    ]
