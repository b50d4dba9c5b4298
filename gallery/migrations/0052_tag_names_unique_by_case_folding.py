# A family's tag names were unique by PostgreSQL's lower(), and are unique now by their case folding (gallery.name_fold:
# NFC, casefold), so "Straße" and "STRASSE", "ΟΔΟΣ" and "οδος", "Café" written whole and with a combining accent, are
# one tag. Tags of one family that were two names before and fold alike now are merged first, as the admin's merge
# does it in substance: the oldest tag (lowest id, the first spelling made) stays with its name, every photo that
# carried one of the others carries it instead, each keeping its photo-tag row's source, who added it and when (a
# photo that carried two of them keeps one row, of the most deliberate source: a member's over a suggestion's over a
# file's), and the others are deleted. A photo's suggestions folding alike (two to lower()) are one, as a merge keeps
# them (suggestions_folding_alike_collapsed); search migration 0034 merges the vocabulary's twin concepts and synonyms.
# Nothing else needs moving: smart albums' tag filters and removed tags hold names, compared folded since this
# version; search's documents are rebuilt by its DOCUMENT_VERSION. A tag taken off a photo is remembered by its folded key, which can be longer than
# its name ("ß" is "ss"). The fold is one SQL function, mediasearch_fold(text), created first with the body this
# server can run (gallery.name_fold: casefold() on PostgreSQL 18 and later, an approximation from lower() on 15 to 17),
# chosen once, here: a server upgraded in place to 18 keeps the body it had. Backwards: the unique index by lower()
# comes back, the function is dropped; merged tags stay merged; removed tags are keyed by lower() again, as 0051's
# code compares them (removed_tags_keyed_by_lower), those that cannot be are forgotten; search migration 0034, reversed
# first, marks the search documents to be built again, which 0051's code would not do (stop the worker first).
# Reversible rather than irreversible: what is lost (merged tags' other spellings, a few removals of tags gone) is
# what a member would redo, and refusing would leave an upgrade that went wrong no way back but a backup.

from collections import defaultdict

from django.db import connection, migrations, models
from django.db.models import Case, Count, Exists, OuterRef, Value, When
from django.db.models.functions import Lower

# gallery.services._SOURCE_RANK as it stands at this migration: which source a merged photo-tag row keeps.
SOURCE_RANK = {"member": 3, "suggestion": 2, "embedded": 1, "sidecar": 1}


# The fold as this migration makes it, written out here, not imported from gallery.name_fold: a migration stays what it
# is whatever the app's code becomes (a later change of the rule is a later migration). The Python side of the rule,
# gallery.name_fold.name_folded, is what each body is measured against (gallery/tests/test_fold_function.py,
# tests/test_fold_postgresql15.py, which create the bodies by these functions).
FOLD_FUNCTION = "mediasearch_fold"
# PostgreSQL 18's server_version_num: casefold() and the "pg_unicode_fast" collation; 17's: the "pg_c_utf8" collation.
CASEFOLD_SINCE = 180000
PG_C_UTF8_SINCE = 170000

# The fallback body's letter-for-letter mappings, after lower(): what str.casefold maps otherwise than lower-casing
# (Unicode's CaseFolding.txt "C" lines that lower() leaves), Cherokee's small letters to its capitals included.
_FOLDED_LETTERS = {"ς": "σ", "ϐ": "β", "ϑ": "θ", "ϕ": "φ", "ϖ": "π", "ϰ": "κ", "ϱ": "ρ", "ϵ": "ε", "µ": "μ", "ſ": "s",
                   "ẛ": "ṡ", "ᲀ": "в", "ᲁ": "д", "ᲂ": "о", "ᲃ": "с", "ᲄ": "т", "ᲅ": "т", "ᲆ": "ъ", "ᲇ": "ѣ",
                   "ᲈ": "ꙋ",
                   **{chr(0xAB70 + n): chr(0x13A0 + n) for n in range(80)},
                   **{chr(0x13F8 + n): chr(0x13F0 + n) for n in range(6)}}
# ... and its expansions: one letter folded to several that NFC does not write whole again ("ǰ", "ΐ", "ΰ", "ẖ", "ẗ",
# "ẘ", "ẙ" fold to a letter and its combining marks, which the NFC after folding writes whole again, as lower() left it).
_EXPANDED_LETTERS = {"ß": "ss", "ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st",
                     "ŉ": "\u02bcn", "ẚ": "a\u02be", "և": "եւ", "ﬓ": "մն", "ﬔ": "մե", "ﬕ": "մի", "ﬖ": "վն", "ﬗ": "մխ"}

# What str.casefold writes for "İ", a dotted capital I, read as a plain "i" (the lower() rule before this one).
_DOTTED_I_FOLDED = "i\u0307"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def fold_body_sql(server_version_num: int) -> str:
    """SQL: name_folded of the function's argument ($1) on a server of that version (gallery.name_fold's docstring)."""
    if server_version_num >= CASEFOLD_SINCE:
        folded = 'casefold(normalize($1, NFC) COLLATE "pg_unicode_fast")'
    else:
        collation = ' COLLATE "pg_c_utf8"' if server_version_num >= PG_C_UTF8_SINCE else ""
        folded = (f"translate(lower(normalize($1, NFC){collation}), {_literal(''.join(_FOLDED_LETTERS))}, "
                  f"{_literal(''.join(_FOLDED_LETTERS.values()))})")
        for letter, expanded in _EXPANDED_LETTERS.items():
            folded = f"replace({folded}, {_literal(letter)}, {_literal(expanded)})"
    return f"normalize(replace({folded}, {_literal(_DOTTED_I_FOLDED)}, 'i'), NFC)"


def fold_function_sql(server_version_num: int, *, name: str = FOLD_FUNCTION) -> str:
    """SQL creating the function `name`(text) that folds as name_folded does, its body for that server version. A
    standard SQL body (RETURN), parsed once where it is created: it reads the same whatever a session's search_path."""
    return (f"CREATE OR REPLACE FUNCTION {name}(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
            f"RETURN {fold_body_sql(server_version_num)}")


def _folded(field: str) -> models.Func:
    """mediasearch_fold of a column, as the unique index writes it (gallery.name_fold.name_folded_index_key)."""
    return models.Func(models.F(field), function=FOLD_FUNCTION, output_field=models.TextField())


def fold_function_created(apps, schema_editor):
    schema_editor.execute(fold_function_sql(schema_editor.connection.pg_version))


def fold_function_dropped(apps, schema_editor):
    schema_editor.execute(f"DROP FUNCTION {FOLD_FUNCTION}(text)")


def tags_folding_alike_merged(apps, schema_editor):
    Tag = apps.get_model("gallery", "Tag")
    PhotoTag = apps.get_model("gallery", "PhotoTag")
    folded = Tag.objects.annotate(key=_folded("name"))
    twins = folded.values("family_id", "key").annotate(n=Count("pk")).filter(n__gt=1)
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for family_id, key, pk in (folded.filter(family_id__in=twins.values("family_id"))
                               .order_by("pk").values_list("family_id", "key", "pk")):
        groups[(family_id, key)].append(pk)
    for kept, *others in (pks for pks in groups.values() if len(pks) > 1):
        _merged_into(PhotoTag, kept=kept, others=others)
        Tag.objects.filter(pk__in=others).delete()
    # The deferred foreign-key checks of the rows deleted run now: PostgreSQL refuses to build an index on a table
    # with pending trigger events, which the unique index below is, in this same transaction.
    with (schema_editor.connection if schema_editor else connection).cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def suggestions_folding_alike_collapsed(apps, schema_editor):
    """A photo's suggestions were one a name by lower() (one_suggestion_per_photo_tag_ci) and are one by the fold now
    (gallery.suggestions keeps one open suggestion a key): of those folding alike the first as a merge ranks them
    (gallery.services._suggestions_merged: accepted, dismissed, then the likeliest open) stays, the other open ones
    go (decided ones stay, a record); so does an open one of a name the photo carries as a tag."""
    TagSuggestion = apps.get_model("gallery", "TagSuggestion")
    PhotoTag = apps.get_model("gallery", "PhotoTag")
    decided_first = Case(When(state="accepted", then=Value(0)), When(state="dismissed", then=Value(1)),
                         default=Value(2))
    suggested = TagSuggestion.objects.annotate(key=_folded("name"))
    twins = suggested.values("photo_id", "key").annotate(n=Count("pk")).filter(n__gt=1)
    first: set[tuple[int, str]] = set()
    dropped: list[int] = []
    for pk, photo_id, key, state in (suggested.filter(photo_id__in=twins.values("photo_id"))
                                     .annotate(decided_first=decided_first)
                                     .order_by("photo_id", "key", "decided_first", "-probability", "pk")
                                     .values_list("pk", "photo_id", "key", "state")):
        if (photo_id, key) in first and state == "open":
            dropped.append(pk)
        first.add((photo_id, key))
    TagSuggestion.objects.filter(pk__in=dropped).delete()
    carried = PhotoTag.objects.filter(photo_id=OuterRef("photo_id")).annotate(key=_folded("tag__name")).filter(
        key=OuterRef("key"))
    suggested.filter(state="open").filter(Exists(carried)).delete()


def removed_tags_keyed_by_lower(apps, schema_editor):
    """Backwards: RemovedTag.name as 0051's code keys and compares it, lower() of the name (64 characters at most, a
    name's): a removed tag the photo's family still has, by lower() of its name ("große straße", not "grosse
    strasse", which it would never find); one it no longer has, by lower() of its key where that fits, else forgotten
    (its name is not known: reading the file again may put it back)."""
    RemovedTag = apps.get_model("gallery", "RemovedTag")
    Tag = apps.get_model("gallery", "Tag")
    removed = list(RemovedTag.objects.annotate(key=_folded("name"), lowered=Lower("name"))
                   .values_list("pk", "photo_id", "photo__family_id", "key", "name", "lowered"))
    lowered_of = {(family_id, key): lowered for family_id, key, lowered in Tag.objects.filter(
        family_id__in={row[2] for row in removed}).annotate(key=_folded("name"), lowered=Lower("name"))
        .values_list("family_id", "key", "lowered")}
    renamed, dropped, kept = {}, [], set()
    for pk, photo_id, family_id, key, name, lowered in removed:
        new = lowered_of.get((family_id, key), lowered)
        if len(new) > 64 or (photo_id, new) in kept:
            dropped.append(pk)
            continue
        kept.add((photo_id, new))
        if new != name:
            renamed[pk] = new
    RemovedTag.objects.filter(pk__in=dropped).delete()
    for pk, new in renamed.items():
        RemovedTag.objects.filter(pk=pk).update(name=new)


def _merged_into(PhotoTag, *, kept: int, others: list[int]) -> None:
    """The photo-tag rows of `others` moved to the tag `kept`, one per photo, the most deliberate source's."""
    rows = {row.photo_id: row for row in PhotoTag.objects.filter(tag_id=kept)}
    for row in PhotoTag.objects.filter(tag_id__in=others).order_by("pk"):
        have = rows.get(row.photo_id)
        if have is None:
            PhotoTag.objects.filter(pk=row.pk).update(tag_id=kept)
            rows[row.photo_id] = row
            continue
        if SOURCE_RANK.get(row.source, 0) > SOURCE_RANK.get(have.source, 0):
            have.source, have.added_by_id, have.added_at = row.source, row.added_by_id, row.added_at
            PhotoTag.objects.filter(pk=have.pk).update(source=row.source, added_by_id=row.added_by_id,
                                                       added_at=row.added_at)
        PhotoTag.objects.filter(pk=row.pk).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("gallery", "0051_album_share_link_name"),
    ]

    operations = [
        # Before anything calls it: the merge below and the unique index.
        migrations.RunPython(fold_function_created, fold_function_dropped),
        migrations.RunPython(tags_folding_alike_merged, migrations.RunPython.noop),
        migrations.RunPython(suggestions_folding_alike_collapsed, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="tag", name="unique_tag_per_family_ci"),
        # A removed tag is remembered by its folded key, which can be longer than the name ("ß" is "ss").
        migrations.AlterField(model_name="removedtag", name="name",
                              field=models.CharField(help_text="The tag's name, case-folded.", max_length=192)),
        # (Backwards, before the field is 64 characters again.)
        migrations.RunPython(migrations.RunPython.noop, removed_tags_keyed_by_lower),
        migrations.AddConstraint(
            model_name="tag",
            constraint=models.UniqueConstraint(_folded("name"), models.F("family"), name="unique_tag_per_family_folded"),
        ),
    ]
