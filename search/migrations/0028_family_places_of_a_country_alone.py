# A photo placed by a country alone (no city nor region: a place set by hand, a file's IPTC country, a position far
# from any town) counts as placed since b3222bc (search.family_places.PLACED): its words name that country's holidays,
# so the search page's note that a family "has no country set, nor places on its photos" must not be said of its
# family. Photos placed so before it never entered their family's place list, and nothing rebuilds a list that lacks
# a place (the sweep prunes only places no photo has any more): each gets its row here. One statement over the photos
# with a country alone (a few, if any); the unique index answers the conflicts. Backwards: nothing to undo (the rows
# are the photos' own places).

from django.db import connection, migrations


def places_of_a_country_alone(apps, schema_editor):
    FamilyPlace = apps.get_model("search", "FamilyPlace")
    Photo = apps.get_model("gallery", "Photo")
    with (schema_editor.connection if schema_editor else connection).cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {FamilyPlace._meta.db_table} (family_id, city, region, country, country_code)
                SELECT DISTINCT family_id, place_city, place_region, place_country, place_country_code
                FROM {Photo._meta.db_table}
                WHERE place_city = '' AND place_region = '' AND place_country_code <> ''
                ON CONFLICT (family_id, city, region, country_code) DO NOTHING""")


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0027_tag_concept_prompt_checked"),
    ]

    operations = [
        migrations.RunPython(places_of_a_country_alone, migrations.RunPython.noop),
    ]
