"""Files that name their country in another language ("Deutschland") left photos without a country code before
gallery.places knew those names: the sweep reads their files again (photos_embedded_sweep), which gives them the
code, the English name and, through the usual hooks, a new search document."""

from django.db import migrations


def reread(apps, schema_editor):
    Photo = apps.get_model("gallery", "Photo")
    Photo._base_manager.filter(place_source="embedded", place_country_code="").exclude(place_country="").update(
        embedded_checked=False)


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0023_everyday_country_names"),
    ]

    operations = [
        migrations.RunPython(reread, migrations.RunPython.noop),
    ]
