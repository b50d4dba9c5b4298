"""After gallery 0023 renamed countries to their everyday names: the family place lists follow, and the search
documents of photos in those countries are rebuilt by the sweep (their place words change)."""

from importlib import import_module

from django.db import migrations

RENAMED = import_module("gallery.migrations.0023_everyday_country_names").RENAMED  # code → (formal, everyday)


def follow(apps, schema_editor):
    FamilyPlace = apps.get_model("search", "FamilyPlace")
    PhotoDocument = apps.get_model("search", "PhotoDocument")
    for code, (formal, everyday) in RENAMED.items():
        FamilyPlace.objects.filter(country_code=code, country=formal).update(country=everyday)
    PhotoDocument.objects.filter(photo__place_country_code__in=list(RENAMED)).update(version=0)


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0023_everyday_country_names"),
        ("search", "0020_page_indexes"),
    ]

    operations = [
        migrations.RunPython(follow, migrations.RunPython.noop),
    ]
