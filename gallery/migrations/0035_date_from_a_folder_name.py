# Dates a folder's name tells (import_photos): the day, the month or the year, each its own source so the pages, search
# and "on this day" know how precise the date is. Longer values than the column held: varchar(10) -> varchar(12), which
# PostgreSQL does in its catalogue alone (no table rewrite), safe while the old version keeps serving.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0034_family_photos_version'),
    ]

    operations = [
        migrations.AlterField(
            model_name='photo',
            name='taken_at_source',
            field=models.CharField(choices=[('exif', 'EXIF date taken'), ('filename', 'Date in the file name'), ('upload', 'Upload time'), ('file', "File's modified time"), ('sidecar', "Google Takeout's record"), ('google', 'Added to Google Photos'), ('member', 'Edited by a member'), ('folder_day', "Day in the folder's name"), ('folder_month', "Month in the folder's name"), ('folder_year', "Year in the folder's name")], max_length=12),
        ),
    ]
