# A tag a member took off a photo was remembered (RemovedTag.name) under Python's str.lower() before 7be6577, and is
# looked up since under the database's lower(), the key of the family's unique index of tag names: the two differ for a
# dotted capital İ (Python: "i̇", i and a combining dot; PostgreSQL: "i") and a final capital Σ (Python: "ς";
# PostgreSQL: "σ"), so "İstanbul" or "ΟΔΟΣ" taken off came back at the file's next reading. Each row whose name is
# not the database's key of the name it was made from gets a row under that key; the old row stays (harmless: it is
# what a name lowered so by the database would have been). The name it was made from is rebuilt as Python lowered it
# ("i̇" was "İ", "ς" was "Σ"), unless the photo's family has a tag whose key is the row's name as it stands: that tag
# is the one taken off ("οδος" taken off where the tag is "Οδος" is no removal of "ΟΔΟΣ", another tag to the index).
# One statement: the rows are read once (a sequential scan of RemovedTag, a few rows per photo at most) and the few
# changed are written; a family's tag is found by the unique index. Backwards: nothing to undo.

from django.db import connection, migrations

# Python's str.lower() of "İ" and of a final "Σ", each put back as it was.
REBUILT = "lower(replace(replace(removed.name, 'i\u0307', '\u0130'), '\u03c2', '\u03a3'))"


def removals_by_the_databases_key(apps, schema_editor):
    RemovedTag = apps.get_model("gallery", "RemovedTag")
    Photo = apps.get_model("gallery", "Photo")
    Tag = apps.get_model("gallery", "Tag")
    removed_table, photo_table, tag_table = (model._meta.db_table for model in (RemovedTag, Photo, Tag))
    with (schema_editor.connection if schema_editor else connection).cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {removed_table} (photo_id, name, removed_at)
                SELECT removed.photo_id, {REBUILT}, removed.removed_at
                FROM {removed_table} AS removed JOIN {photo_table} AS photo ON photo.id = removed.photo_id
                WHERE {REBUILT} <> removed.name
                  AND NOT EXISTS (SELECT 1 FROM {tag_table} AS tag
                                  WHERE tag.family_id = photo.family_id AND lower(tag.name) = removed.name)
                ON CONFLICT DO NOTHING""")


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0046_picasa_said_and_album_removals"),
    ]

    operations = [
        migrations.RunPython(removals_by_the_databases_key, migrations.RunPython.noop),
    ]
