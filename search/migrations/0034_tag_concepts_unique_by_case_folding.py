# The tag-suggestion vocabulary's concepts were one a name by lower() ("Straße" and "STRASSE" two), the synonyms one a
# term exactly ("Dog" and "dog" two), while their admin forms and the suggestions compare names by the fold of tag
# names (gallery migration 0052, mediasearch_fold): the twins made before could be edited no more ("There is already a
# concept of this name here"). Twins of one family (or of the entries every family shares) are merged into the oldest
# (lowest id), as 0052 merges a family's tags: a concept stays as it is (its name, prompt, ticked or not), a synonym
# takes the related terms of the others after its own (each once, at most SYNONYM_MAX_RELATED); then both unique
# constraints compare by the fold. The expression is Django's Func of the function by name, written out here, not
# imported: the migration stays what it is whatever the app's code becomes.
#
# Reversing gallery 0052 reverses this first. Backwards: the constraints by lower() (concepts) and by the exact term
# (synonyms) come back, merged entries stay merged; and the search documents built since the fold
# (search.metadata.DOCUMENT_VERSION 13, their words folded) are marked to be built again (version 0), as the code
# before it, at version 12, rebuilds only documents of a layout older than its own and would keep these. Stop the
# worker before migrating back, so that the folding code does not build them at 13 again.

import unicodedata
from collections import defaultdict

from django.db import connection, migrations, models

# search.metadata.DOCUMENT_VERSION when the fold came: documents built by it or later.
FOLDED_DOCUMENT_VERSION = 13
# search.admin.SYNONYM_MAX_RELATED as it stands at this migration.
SYNONYM_MAX_RELATED = 20


def _folded(field: str) -> models.Func:
    return models.Func(models.F(field), function="mediasearch_fold", output_field=models.TextField())


def concepts_and_synonyms_folding_alike_merged(apps, schema_editor):
    TagConcept = apps.get_model("search", "TagConcept")
    Synonym = apps.get_model("search", "Synonym")
    for kept, *others in _twins(TagConcept, "name"):
        TagConcept.objects.filter(pk__in=[other.pk for other in others]).delete()
    for kept, *others in _twins(Synonym, "term"):
        related, seen = [], set()
        for text in (text for synonym in (kept, *others) for text in synonym.related):
            if unicodedata.normalize("NFC", text).casefold() not in seen:
                seen.add(unicodedata.normalize("NFC", text).casefold())
                related.append(text)
        Synonym.objects.filter(pk__in=[other.pk for other in others]).delete()
        Synonym.objects.filter(pk=kept.pk).update(related=related[:SYNONYM_MAX_RELATED])
    # The deferred foreign-key checks of the rows written run now: PostgreSQL builds no index on a table with pending
    # trigger events, which the unique indexes below are, in this same transaction.
    with schema_editor.connection.cursor() if schema_editor else connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _twins(model, field: str) -> list[list]:
    """The rows of `model` whose `field` folds alike within one family (or among the shared ones), oldest first."""
    rows = model.objects.annotate(key=_folded(field))
    twins = rows.values("family_id", "key").annotate(n=models.Count("pk")).filter(n__gt=1)
    groups: dict[tuple, list] = defaultdict(list)
    for row in rows.filter(key__in=twins.values("key")).order_by("pk"):
        groups[(row.family_id, row.key)].append(row)
    return [group for group in groups.values() if len(group) > 1]


def documents_marked_outdated(apps, schema_editor):
    PhotoDocument = apps.get_model("search", "PhotoDocument")
    PhotoDocument.objects.filter(version__gte=FOLDED_DOCUMENT_VERSION).update(version=0)


class Migration(migrations.Migration):

    dependencies = [
        ("search", "0033_duplicate_colour_and_pending"),
        ("gallery", "0052_tag_names_unique_by_case_folding"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, documents_marked_outdated),
        migrations.RunPython(concepts_and_synonyms_folding_alike_merged, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="synonym", name="unique_global_synonym"),
        migrations.RemoveConstraint(model_name="synonym", name="unique_family_synonym"),
        migrations.RemoveConstraint(model_name="tagconcept", name="unique_global_tag_concept"),
        migrations.RemoveConstraint(model_name="tagconcept", name="unique_family_tag_concept"),
        migrations.AddConstraint(
            model_name="synonym",
            constraint=models.UniqueConstraint(_folded("term"), condition=models.Q(family=None),
                                               name="unique_global_synonym"),
        ),
        migrations.AddConstraint(
            model_name="synonym",
            constraint=models.UniqueConstraint(_folded("term"), models.F("family"), name="unique_family_synonym"),
        ),
        migrations.AddConstraint(
            model_name="tagconcept",
            constraint=models.UniqueConstraint(_folded("name"), condition=models.Q(family=None),
                                               name="unique_global_tag_concept"),
        ),
        migrations.AddConstraint(
            model_name="tagconcept",
            constraint=models.UniqueConstraint(_folded("name"), models.F("family"), name="unique_family_tag_concept"),
        ),
    ]
