# Direction overrides (U+202D, U+202E) and direction codes opened and not closed, or closing nothing, are refused in
# typed text since ffb0d63 (gallery.text.direction_codes_loose). Text stored before with them showed reversed in its
# own edit field (a form input can't be isolated), and saving that form was refused until the member found and took
# out an invisible code. Here they go from every field the rule covers: family, album and tag names, titles,
# descriptions, invitation and share notes, and the names of removed and suggested tags (search 0026 does the
# synonyms and suggestion concepts). Closed isolates and embeddings and the marks stay: people type them. A name left
# with nothing shown is named as 0040 named them ("Family 12"; such a tag goes, such a title is empty); two tags of a
# family that become one name are one tag (its photos move to the one there, as 0020 merged names with commas), as
# are a photo's removed and suggested tags. The search documents of the photos changed go, for the sweep to build
# them again (documents_outdated_refresh).

from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Lower

# gallery.text's rule as it was when this was written (direction_codes_loose), kept here as a migration keeps it.
OVERRIDES = "\u202d\u202e"
OPENERS = {"\u202a": "\u202c", "\u202b": "\u202c", "\u2066": "\u2069", "\u2067": "\u2069", "\u2068": "\u2069"}
CODES = OVERRIDES + "".join(OPENERS) + "\u202c\u2069"
PARAGRAPH_ENDS = "\n\r\x1c\x1d\x1e\x85\u2029"
HOLDS_A_CODE = f"[{CODES}]"
INVISIBLE_IN_FILES = "\ufeff\u200b\u2060\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def loose_positions(value: str) -> set[int]:
    """The positions of the overrides and of the codes not closed where they open, or closing nothing."""
    loose, open_ = set(), []
    for i, ch in enumerate(value):
        if ch in PARAGRAPH_ENDS:
            loose.update(open_)
            open_ = []
        elif ch in OVERRIDES:
            loose.add(i)
        elif ch in OPENERS:
            open_.append(i)
        elif ch in CODES:
            if open_ and OPENERS[value[open_[-1]]] == ch:
                open_.pop()
            else:
                loose.add(i)
    return loose | set(open_)


def without_loose_codes(value: str, *, multiline: bool = False) -> str:
    """`value` without what the rule refuses; a one-line text (a name, a title) with its spaces as one_line keeps
    them, and "" when it shows nothing (nothing but invisible marks)."""
    loose = loose_positions(value)
    text = "".join(ch for i, ch in enumerate(value) if i not in loose)
    if multiline:
        return text
    line = " ".join(text.split())
    return line if line.strip(INVISIBLE_IN_FILES + " ") else ""


def _cleaned(queryset, field: str, *, multiline: bool = False):
    """(row, its text cleaned) for each row whose `field` holds a code the rule refuses."""
    for row in queryset.filter(**{f"{field}__regex": HOLDS_A_CODE}).order_by("pk"):
        text = without_loose_codes(getattr(row, field), multiline=multiline)
        if text != getattr(row, field):
            yield row, text


def _rename_or_drop(model, field: str, *, within: str) -> set[int]:
    """A removed or suggested tag's name (`model`, unique by name, any case, within `within`): cleaned, or gone when
    it shows nothing or its photo has one of that name already. The photos changed (a suggestion's open name is in
    its photo's search document)."""
    changed = set()
    for row, name in _cleaned(model.objects, field):
        changed.add(row.photo_id)
        twin = (model.objects.filter(**{within: getattr(row, within)}).exclude(pk=row.pk)
                .annotate(key=Lower(field)).filter(key=Lower(Value(name))))
        if not name or twin.exists():
            row.delete()
        else:
            model.objects.filter(pk=row.pk).update(**{field: name})
    return changed


def _tags(Tag, PhotoTag) -> set[int]:
    changed = set()
    for tag, name in _cleaned(Tag.objects, "name"):
        changed.update(PhotoTag.objects.filter(tag=tag).values_list("photo_id", flat=True))
        same = (Tag.objects.filter(family_id=tag.family_id).exclude(pk=tag.pk).annotate(key=Lower("name"))
                .filter(key=Lower(Value(name))).order_by("pk").first()) if name else None
        if not name:
            tag.delete()
        elif same is None:
            Tag.objects.filter(pk=tag.pk).update(name=name)
        else:
            have = set(PhotoTag.objects.filter(tag=same).values_list("photo_id", flat=True))
            PhotoTag.objects.filter(tag=tag).exclude(photo_id__in=have).update(tag=same)
            tag.delete()
    return changed


def _photos(Photo) -> set[int]:
    changed = set()
    photos = Photo._base_manager  # those in the trash too
    for photo, title in _cleaned(photos, "title"):
        changed.add(photo.pk)
        photos.filter(pk=photo.pk).update(title=title, **({} if title else {"title_source": ""}))
    for photo, description in _cleaned(photos, "description", multiline=True):
        changed.add(photo.pk)
        photos.filter(pk=photo.pk).update(description=description,
                                          **({} if description.strip() else {"description_source": ""}))
    return changed


def direction_codes_out(apps, schema_editor):
    Family, Album = apps.get_model("gallery", "Family"), apps.get_model("gallery", "Album")
    Invite, AlbumShare = apps.get_model("gallery", "Invite"), apps.get_model("gallery", "AlbumShare")
    Tag, PhotoTag = apps.get_model("gallery", "Tag"), apps.get_model("gallery", "PhotoTag")
    PhotoDocument = apps.get_model("search", "PhotoDocument")
    for model, word in ((Family, "Family"), (Album, "Album")):
        for row, name in _cleaned(model._base_manager, "name"):
            model._base_manager.filter(pk=row.pk).update(name=name or f"{word} {row.pk}")
    for album, description in _cleaned(Album._base_manager, "description", multiline=True):
        Album._base_manager.filter(pk=album.pk).update(description=description)
    for model in (Invite, AlbumShare):
        for row, note in _cleaned(model._base_manager, "note"):
            model._base_manager.filter(pk=row.pk).update(note=note)
    changed = _tags(Tag, PhotoTag) | _photos(apps.get_model("gallery", "Photo"))
    _rename_or_drop(apps.get_model("gallery", "RemovedTag"), "name", within="photo_id")
    changed |= _rename_or_drop(apps.get_model("gallery", "TagSuggestion"), "name", within="photo_id")
    PhotoDocument.objects.filter(photo_id__in=changed).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0043_xmp_sidecars_by_path"),
        ("search", "0025_judged_queries_as_read_now"),
    ]

    operations = [
        migrations.RunPython(direction_codes_out, migrations.RunPython.noop),
    ]
