"""After gallery 0023 renamed countries to their everyday names: the family place lists take the photos' names, and
the search documents of photos in those countries are rebuilt by the sweep (their place words change)."""

from django.db import migrations

CODES = ["KR", "KP", "RU", "IR", "SY", "LA", "MD", "TZ", "VA", "FM", "CD", "LY", "FK", "VG", "VI", "CI", "BN", "MK"]


def follow(apps, schema_editor):
    FamilyPlace = apps.get_model("search", "FamilyPlace")
    PhotoDocument = apps.get_model("search", "PhotoDocument")
    Photo = apps.get_model("gallery", "Photo")
    named = (Photo._base_manager.filter(place_country_code__in=CODES).exclude(place_country="")
             .values_list("family_id", "place_city", "place_region", "place_country_code", "place_country").distinct())
    for family_id, city, region, code, country in named:
        FamilyPlace.objects.filter(family_id=family_id, city=city, region=region, country_code=code).update(
            country=country)
    PhotoDocument.objects.filter(photo__place_country_code__in=CODES).update(version=0)


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0023_everyday_country_names"),
        ("search", "0020_page_indexes"),
    ]

    operations = [
        migrations.RunPython(follow, migrations.RunPython.noop),
    ]
