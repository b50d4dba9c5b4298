# What a sidecar said of each photo, kept beside its fingerprint (PhotoXmpSidecar.description, .albums, and the names
# Picasa's contacts.xml gave its faces, .contact_names), and the photos
# members took out of albums (RemovedAlbumPhoto): a caption changed or taken off in Picasa (an XMP sidecar's
# dc:description) replaces or clears the description it wrote, and a Picasa album a photo joined since its first reading
# takes it in, unless a member took it out. Three nullable columns and a new table: safe while the old version serves.
# Rows read before hold None (not known): nothing is cleared nor joined for them until their file is read again.

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0045_file_names_stored_before_cleaned'),
    ]

    operations = [
        migrations.AddField(
            model_name='photoxmpsidecar',
            name='albums',
            field=models.JSONField(default=None, null=True),
        ),
        migrations.AddField(
            model_name='photoxmpsidecar',
            name='description',
            field=models.TextField(default=None, null=True),
        ),
        migrations.AddField(
            model_name='photoxmpsidecar',
            name='contact_names',
            field=models.JSONField(default=None, null=True),
        ),
        migrations.CreateModel(
            name='RemovedAlbumPhoto',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('removed_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('album', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='gallery.album')),
                ('photo', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='gallery.photo')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('album', 'photo'), name='removed_album_photo_once')],
            },
        ),
    ]
