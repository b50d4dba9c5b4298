import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """When a synonym entry last changed: processes cache the synonym groups until then (search.expansion)."""

    dependencies = [("search", "0007_document_family_vocabulary")]

    operations = [
        migrations.AddField(
            model_name="synonym",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, default=django.utils.timezone.now),
            preserve_default=False,
        ),
    ]
