"""The concepts admin's reads: which of the reader's families replace a shared concept by an entry of their own."""

from __future__ import annotations

import pytest

from search.concept_selectors import shared_concepts_replaced_in
from search.models import TagConcept
from tests.factories import FamilyFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_shared_concept_names_the_readers_families_with_an_entry_of_its_name_and_no_other(
        family, other_family, alice, django_assert_num_queries):
    shared = TagConcept.objects.create(family=None, name="Hound")
    untouched = TagConcept.objects.create(family=None, name="kennel")
    TagConcept.objects.create(family=family, name="hound", enabled=False, merged_into="dog")
    TagConcept.objects.create(family=other_family, name="HOUND", enabled=False)  # (not alice's family)
    aardvarks = FamilyFactory(name="Aardvarks")
    MembershipFactory(family=aardvarks, user=alice)
    TagConcept.objects.create(family=aardvarks, name="hound")

    with django_assert_num_queries(1):
        found = shared_concepts_replaced_in(user=alice, concept_ids=[shared.pk, untouched.pk])
    assert found == {shared.pk: ["Aardvarks", "Smiths"]}
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert shared_concepts_replaced_in(user=root, concept_ids=[shared.pk]) == {
        shared.pk: ["Aardvarks", "Joneses", "Smiths"]}
    with django_assert_num_queries(0):
        assert shared_concepts_replaced_in(user=alice, concept_ids=[]) == {}
