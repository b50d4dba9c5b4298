# A file's name loses its control characters and invisible marks (direction overrides and isolates, a byte-order mark,
# a zero-width space) and has its accents composed since e253975 (gallery.services.upload_filename, the one place a
# name is made the one stored), but a name stored before kept them: pages show it isolated (the `isolated` filter),
# never cleaned, so "IMG<U+202E>gpj.exe.jpg" still read turned around where a page can't isolate it. Every stored name
# goes through upload_filename's rule here (a name is cleaned by the rule new names are: the point is that the two
# agree), the photos in the trash too. A title made from the name (nobody's: its marks are the name's) follows it; a
# title someone wrote stays. The search documents of the photos changed go, for the sweep to build them again
# (documents_outdated_refresh). Photos are read, changed and their documents deleted 2,000 at a time.

import os
import re
import unicodedata

from django.db import migrations

CHUNK = 2000

# gallery.services.upload_filename and _title_from_filename, with the gallery.text functions they use, as they were
# when this was written (aa7d5ca), kept here as a migration keeps it: a later change to them must not change what this
# did, nor break it.
INVISIBLE_IN_FILES = "\ufeff\u200b\u2060\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
UNNAMED_FILE = "upload"  # (gallery.upload_limits)
NAME_MAX = 255  # (Photo.original_filename's and Photo.title's max_length)


def without_controls(value: str) -> str:
    """gallery.text.without_controls (one line): without the control characters but whitespace, without NUL."""
    return "".join(ch for ch in value if ch.isspace() or unicodedata.category(ch) != "Cc")


def text_from_file(value: str) -> str:
    """gallery.text.text_from_file (one line): without control characters and invisible marks, accents composed."""
    return unicodedata.normalize("NFC", "".join(ch for ch in without_controls(value) if ch not in INVISIBLE_IN_FILES))


def one_line(value: str) -> str:
    """gallery.text.one_line: whitespace runs one space, no NUL, ends trimmed; "" when nothing but invisible marks."""
    line = " ".join(value.replace("\x00", "").split())
    return line if line.strip(INVISIBLE_IN_FILES + " ") else ""


def upload_filename(filename: str) -> str:
    """gallery.services.upload_filename: the name an uploaded or imported file is stored under."""
    name = os.path.basename(filename or "").encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    name = re.sub(r"[\t\n\r\v\f]", " ", name)
    return text_from_file(name).strip()[:NAME_MAX] or UNNAMED_FILE


def title_from_filename(stem: str) -> str:
    """gallery.services._title_from_filename: the title a photo is given from its file's name."""
    title = without_controls(stem.replace("_", " ").replace("-", " "))
    return " ".join(title.split())[:NAME_MAX].strip()


def _chunks(rows):
    chunk = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def file_names_cleaned(apps, schema_editor):
    Photo = apps.get_model("gallery", "Photo")
    PhotoDocument = apps.get_model("search", "PhotoDocument")
    photos = Photo._base_manager  # those in the trash too
    rows = photos.order_by("pk").values_list("pk", "original_filename", "title", "title_source")
    for chunk in _chunks(rows.iterator(chunk_size=CHUNK)):
        changed = []
        for pk, name, title, title_source in chunk:
            clean = upload_filename(name)
            if clean == name:
                continue
            named = title_from_filename(os.path.splitext(clean)[0])
            if title_source == "" and title and one_line(text_from_file(title)) == named:
                title = named  # (the name's title, its marks gone with the name's)
            changed.append(Photo(pk=pk, original_filename=clean, title=title))
        if changed:
            photos.bulk_update(changed, ["original_filename", "title"])
            PhotoDocument.objects.filter(photo_id__in=[photo.pk for photo in changed]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0044_direction_codes_stored_before"),
    ]

    operations = [
        migrations.RunPython(file_names_cleaned, migrations.RunPython.noop),
    ]
