# A file's name loses its control characters and invisible marks (direction overrides and isolates, a byte-order mark,
# a zero-width space) and has its accents composed since e253975 (gallery.services.upload_filename, the one place a
# name is made the one stored), but a name stored before kept them: pages show it isolated (the `isolated` filter),
# never cleaned, so "IMG<U+202E>gpj.exe.jpg" still read turned around where a page can't isolate it. Every stored name
# goes through upload_filename itself here (a name is cleaned by the rule new names are: the point is that the two
# agree), the photos in the trash too. A title made from the name (nobody's: its marks are the name's) follows it; a
# title someone wrote stays. The search documents of the photos changed go, for the sweep to build them again
# (documents_outdated_refresh).

import os

from django.db import migrations


def file_names_cleaned(apps, schema_editor):
    from gallery.services import _title_from_filename, upload_filename
    from gallery.text import text_from_file

    Photo = apps.get_model("gallery", "Photo")
    PhotoDocument = apps.get_model("search", "PhotoDocument")
    photos = Photo._base_manager  # those in the trash too
    changed = []
    for pk, name, title, title_source in photos.order_by("pk").values_list(
            "pk", "original_filename", "title", "title_source").iterator(chunk_size=2000):
        clean = upload_filename(name)
        if clean == name:
            continue
        update = {"original_filename": clean}
        named = _title_from_filename(os.path.splitext(clean)[0])
        if title_source == "" and title and " ".join(text_from_file(title).split()) == named:
            update["title"] = named  # (the name's title, its marks gone with the name's)
        photos.filter(pk=pk).update(**update)
        changed.append(pk)
    PhotoDocument.objects.filter(photo_id__in=changed).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0044_direction_codes_stored_before"),
    ]

    operations = [
        migrations.RunPython(file_names_cleaned, migrations.RunPython.noop),
    ]
