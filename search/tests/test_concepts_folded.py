"""The tag-suggestion vocabulary's concepts and the synonyms are one a name by the fold of tag names (gallery.name_fold),
as their admin forms check (UniqueInFamilyForm): search migration 0034 merges the twins made before, when the
constraints compared concepts by lower() and synonyms' terms exactly ("Straße" and "STRASSE", "Zebu" and "zebu", after
which the admin could edit neither: "There is already a concept of this name here")."""

from __future__ import annotations

import importlib

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from search.admin import SynonymForm, TagConceptForm
from search.models import Synonym, TagConcept

pytestmark = pytest.mark.django_db

MIGRATION = "0034_tag_concepts_unique_by_case_folding"


@pytest.mark.parametrize("first, typed", [("Straße", "STRASSE"), ("ΟΔΟΣ", "οδος"), ("İstanbul", "istanbul")])
def test_the_database_refuses_two_concepts_or_synonyms_folding_alike(family, other_family, first, typed):
    for family_or_none in (family, None):
        TagConcept.objects.create(family=family_or_none, name=first)
        Synonym.objects.create(family=family_or_none, term=first, related=["x"])
        with pytest.raises(IntegrityError), transaction.atomic():
            TagConcept.objects.create(family=family_or_none, name=typed)
        with pytest.raises(IntegrityError), transaction.atomic():
            Synonym.objects.create(family=family_or_none, term=typed, related=["y"])
    TagConcept.objects.create(family=other_family, name=typed)  # (another family's: its own)
    Synonym.objects.create(family=other_family, term=typed, related=["y"])


def test_the_migration_merges_twin_concepts_and_synonyms_into_the_oldest(family, other_family):
    """The oldest stays as it is (its name, prompt, ticked or not), as 0052 keeps a family's oldest tag; a synonym
    keeps the related terms of all, its own first. Then each admin form edits what is left."""
    constraints = [(model, constraint) for model in (TagConcept, Synonym) for constraint in model._meta.constraints
                   if constraint.name.startswith("unique_")]
    with connection.schema_editor() as editor:
        for model, constraint in constraints:
            editor.remove_constraint(model, constraint)
    street = TagConcept.objects.create(family=family, name="Straße", prompt="a street", enabled=False)
    TagConcept.objects.create(family=family, name="STRASSE", prompt="", enabled=True)
    road = TagConcept.objects.create(family=None, name="ΟΔΟΣ")
    TagConcept.objects.create(family=None, name="οδος")
    theirs = TagConcept.objects.create(family=other_family, name="STRASSE")
    dog = Synonym.objects.create(family=family, term="zebu", related=["puppy", "hound"])
    Synonym.objects.create(family=family, term="Zebu", related=["Hound", "doggy"])
    gasse = Synonym.objects.create(family=None, term="Straße", related=["Gasse"])
    Synonym.objects.create(family=None, term="STRASSE", related=["road"])
    their_dog = Synonym.objects.create(family=other_family, term="Zebu", related=["cur"])

    executor = MigrationExecutor(connection)
    migration = executor.loader.get_migration("search", MIGRATION)
    apps = executor.loader.project_state(("search", MIGRATION), at_end=False).apps
    importlib.import_module(migration.__module__).concepts_and_synonyms_folding_alike_merged(apps, None)

    made = {"Straße", "STRASSE", "ΟΔΟΣ", "οδος"}  # (beside the shared vocabulary's own concepts)
    assert set(TagConcept.objects.filter(name__in=made).values_list("pk", "name", "prompt", "enabled")) == {
        (street.pk, "Straße", "a street", False), (road.pk, "ΟΔΟΣ", "", True), (theirs.pk, "STRASSE", "", True)}
    assert set(Synonym.objects.filter(term__in={"zebu", "Zebu", "Straße", "STRASSE"}).values_list("pk", "term")) == {(dog.pk, "zebu"), (gasse.pk, "Straße"),
                                                              (their_dog.pk, "Zebu")}
    dog.refresh_from_db()
    gasse.refresh_from_db()
    assert (dog.related, gasse.related) == (["puppy", "hound", "doggy"], ["Gasse", "road"])
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # (the test's rows' checks, pending: no index is made then)
    with connection.schema_editor() as editor:
        for model, constraint in constraints:
            editor.add_constraint(model, constraint)  # (no two left to break them)
    form = TagConceptForm(data={"family": family.pk, "name": "Straße", "prompt": "", "enabled": "on",
                                "merged_into": ""}, instance=street)
    assert form.is_valid(), form.errors
    form = SynonymForm(data={"family": family.pk, "term": "Zebu", "related": "puppy"}, instance=dog)
    assert form.is_valid(), form.errors
