# Names typed before a6083cb could be nothing but invisible marks (a zero-width space pasted alone, a byte-order mark,
# a direction override: gallery.text.INVISIBLE_IN_FILES), which one_line now makes blank. Such a family or album
# showed as nothing, and a family's "type its name to confirm" could not be typed, so it could not be deleted. They are
# named by their number ("Family 12", "Album 7"), to be renamed by their members; such a tag goes (it showed as an
# empty chip), and such a title is empty (the photo shows its file name). The search documents of the photos changed
# go, for the sweep to build them again (documents_outdated_refresh).

from django.db import migrations

INVISIBLE_IN_FILES = "\ufeff\u200b\u2060\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
NOTHING_SHOWN = f"^[ {INVISIBLE_IN_FILES}]*$"  # (names are stored on one line: a space is their only whitespace)


def name_invisible_names(apps, schema_editor):
    Family = apps.get_model("gallery", "Family")
    Album = apps.get_model("gallery", "Album")
    Tag = apps.get_model("gallery", "Tag")
    Photo = apps.get_model("gallery", "Photo")
    PhotoTag = apps.get_model("gallery", "PhotoTag")
    PhotoDocument = apps.get_model("search", "PhotoDocument")
    for model, word in ((Family, "Family"), (Album, "Album")):
        for pk in model._base_manager.filter(name__regex=NOTHING_SHOWN).values_list("pk", flat=True):
            model._base_manager.filter(pk=pk).update(name=f"{word} {pk}")
    tags = list(Tag.objects.filter(name__regex=NOTHING_SHOWN).values_list("pk", flat=True))
    changed = set(PhotoTag.objects.filter(tag_id__in=tags).values_list("photo_id", flat=True))
    Tag.objects.filter(pk__in=tags).delete()
    titled = Photo._base_manager.filter(title__regex=NOTHING_SHOWN).exclude(title="")
    changed.update(titled.values_list("pk", flat=True))
    titled.update(title="", title_source="")
    PhotoDocument.objects.filter(photo_id__in=changed).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0039_undate_impossible_dates"),
    ]

    operations = [
        migrations.RunPython(name_invisible_names, migrations.RunPython.noop),
    ]
