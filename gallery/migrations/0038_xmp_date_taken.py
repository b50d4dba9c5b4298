# A new value of Photo.taken_at_source, xmp: the date taken in the XMP metadata (the file's or its sidecar's). The
# choices only: no SQL (the column holds 12 characters since 0035).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0037_xmp_sidecar_read'),
    ]

    operations = [
        migrations.AlterField(
            model_name='photo',
            name='taken_at_source',
            field=models.CharField(choices=[('exif', 'EXIF date taken'), ('xmp', 'Date taken in the XMP metadata'), ('filename', 'Date in the file name'), ('upload', 'Upload time'), ('file', "File's modified time"), ('sidecar', "Google Takeout's record"), ('google', 'Added to Google Photos'), ('member', 'Edited by a member'), ('folder_day', "Day in the folder's name"), ('folder_month', "Month in the folder's name"), ('folder_year', "Year in the folder's name")], max_length=12),
        ),
    ]
