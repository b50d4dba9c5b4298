# Each XMP sidecar read with a photo, by its path (import_photos): a photo in two folders, each copy with a sidecar of
# its own, kept one hash and read both again on every run. A new table; a photo imported before keeps its one hash in
# Photo.xmp_sidecar_sha256, which a re-run honours (gallery.management.commands.import_photos: no data to move).

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0042_undate_epoch_clocks'),
    ]

    operations = [
        migrations.CreateModel(
            name='PhotoXmpSidecar',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('path', models.TextField()),
                ('sha256', models.CharField(max_length=64)),
                ('keywords', models.JSONField(default=None, null=True)),
                ('read_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('photo', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='gallery.photo')),
            ],
            options={
                'constraints': [models.UniqueConstraint(django.db.models.functions.text.MD5('path'), models.F('photo'), name='xmp_sidecar_once_per_photo_path')],
            },
        ),
    ]
