# The version of a family's photos that the timeline's cached month counts are kept per (gallery.timeline): a
# change shows at once in every web process, where a per-process cache could only wait for its entries to expire.
# A column with a database default: safe while the old version keeps serving.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0033_google_photos_stars_read'),
    ]

    operations = [
        migrations.AddField(
            model_name='family',
            name='photos_version',
            field=models.PositiveBigIntegerField(db_default=0, default=0, editable=False),
        ),
    ]
