"""Photo.tags gets a through model, PhotoTag, on the table the plain many-to-many already had
(gallery_photo_tags, unique on photo_id + tag_id): the state learns the model, the database only gains the
columns saying where each tag came from. Existing tags were typed by members."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('gallery', '0007_invite'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='PhotoTag',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('photo', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='gallery.photo')),
                        ('tag', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to='gallery.tag')),
                    ],
                    options={
                        'db_table': 'gallery_photo_tags',
                        'unique_together': {('photo', 'tag')},
                    },
                ),
                migrations.AlterField(
                    model_name='photo',
                    name='tags',
                    field=models.ManyToManyField(blank=True, related_name='photos', through='gallery.PhotoTag', to='gallery.tag'),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name='phototag',
            name='source',
            field=models.CharField(choices=[('member', 'Typed by a member'), ('embedded', 'From the file'), ('suggestion', 'Accepted suggestion')], default='member', max_length=12),
        ),
        migrations.AddField(
            model_name='phototag',
            name='added_at',
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name='phototag',
            name='added_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
    ]
