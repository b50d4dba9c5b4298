# Synonyms and suggestion concepts hold the rule of every name at model level (gallery.text): the admin's forms refused
# direction overrides and unclosed direction codes, what a shell or another form saved did not. Those stored before
# ffb0d63 lose them, as gallery 0044 takes them out of the gallery's text (with its step): a term, a related term, a
# concept's name. An entry whose term becomes one already there (any case, same family or every family) is merged into
# it, its related terms added after the others; a concept whose name does is left to the one there (the suggestions it
# made were renamed by gallery 0044); what shows nothing goes, as does an entry with no related term left. Entries
# changed are marked changed (updated_at), so every process builds its groups again (search.expansion).

import importlib

from django.db import migrations, models
from django.db.models import Q, Value
from django.db.models.functions import Lower
from django.utils import timezone

import gallery.text

GALLERY_0044 = importlib.import_module("gallery.migrations.0044_direction_codes_stored_before")
RELATED_MAX = 20  # (search.admin.SYNONYM_MAX_RELATED)


def _related_cleaned(related: list) -> list[str]:
    cleaned, seen = [], set()
    for text in map(GALLERY_0044.without_loose_codes, map(str, related)):
        if text and text.lower() not in seen:
            seen.add(text.lower())
            cleaned.append(text)
    return cleaned


def _synonyms(Synonym, now) -> None:
    for entry in Synonym.objects.order_by("pk"):
        term, related = GALLERY_0044.without_loose_codes(entry.term), _related_cleaned(entry.related)
        if (term, related) == (entry.term, entry.related):
            continue
        twin = (Synonym.objects.filter(family_id=entry.family_id, term__iexact=term).exclude(pk=entry.pk)
                .order_by("pk").first()) if term != entry.term else None
        if not term or not related or twin:
            entry.delete()
        if twin:
            merged = _related_cleaned([*twin.related, *related])[:RELATED_MAX]
            Synonym.objects.filter(pk=twin.pk).update(related=merged, updated_at=now)
        elif term and related:
            Synonym.objects.filter(pk=entry.pk).update(term=term, related=related, updated_at=now)


def _concepts(TagConcept, now) -> None:
    for concept, name in GALLERY_0044._cleaned(TagConcept.objects, "name"):
        same_scope = Q(family_id=concept.family_id) if concept.family_id else Q(family=None)
        twin = (TagConcept.objects.filter(same_scope).exclude(pk=concept.pk).annotate(key=Lower("name"))
                .filter(key=Lower(Value(name))).exists())
        if not name or twin:
            concept.delete()
        else:
            TagConcept.objects.filter(pk=concept.pk).update(name=name, updated_at=now)


def direction_codes_out(apps, schema_editor):
    now = timezone.now()
    _synonyms(apps.get_model("search", "Synonym"), now)
    _concepts(apps.get_model("search", "TagConcept"), now)


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0025_judged_queries_as_read_now"),
        ("gallery", "0044_direction_codes_stored_before"),
    ]

    operations = [
        migrations.RunPython(direction_codes_out, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="synonym",
            name="related",
            field=models.JSONField(default=list, help_text="Related terms, most similar first.",
                                   validators=[gallery.text.EachNoControlCharacters("A related term")]),
        ),
        migrations.AlterField(
            model_name="synonym",
            name="term",
            field=models.CharField(max_length=100, validators=[gallery.text.NoControlCharacters("A term")]),
        ),
        migrations.AlterField(
            model_name="tagconcept",
            name="name",
            field=models.CharField(help_text="The tag it suggests, as members should see it.", max_length=64,
                                   validators=[gallery.text.NoControlCharacters("A tag name")]),
        ),
    ]
