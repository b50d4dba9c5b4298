from django.db import migrations, models


class Migration(migrations.Migration):
    """Family names need not be unique across the site: two households may both be "The Smiths", and a name
    refused as taken would tell a stranger that the family exists."""

    dependencies = [
        ('gallery', '0014_photo_corrections'),
    ]

    operations = [
        migrations.AlterField(
            model_name='family',
            name='name',
            field=models.CharField(max_length=100),
        ),
    ]
