# The XMP sidecar last read with each photo (import_photos): a re-run reads no sidecar that did not change. A column
# with a constant default, which PostgreSQL adds in its catalogue alone (no table rewrite), safe while the old version
# keeps serving (it writes no value: the database's default fills it).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0036_family_deleting_since'),
    ]

    operations = [
        migrations.AddField(
            model_name='photo',
            name='xmp_sidecar_sha256',
            field=models.CharField(blank=True, db_default='', default='', editable=False, max_length=64),
        ),
    ]
