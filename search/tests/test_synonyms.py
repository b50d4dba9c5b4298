"""Synonym entries: edited in the admin, picked up by every process's query expansion at once."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from search.expansion import expand
from search.models import Synonym

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123"))
    return client


def texts(query, family):
    return [term.text for term in expand(query, family_ids=[family.pk])]


def test_an_entry_added_edited_and_deleted_in_the_admin_changes_the_next_expansion(admin_client, family):
    assert texts("zorbly hat", family) == ["zorbly hat"]  # warms this process's cache of the groups

    response = admin_client.post(reverse("admin:search_synonym_add"), {
        "family": family.pk, "term": "  zorbly ", "related": "wibble,  flumph , Wibble, ",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    entry = Synonym.objects.get(family=family, term="zorbly")
    assert entry.related == ["wibble", "flumph"]
    assert texts("zorbly hat", family) == ["zorbly hat", "wibble hat", "flumph hat"]

    response = admin_client.post(reverse("admin:search_synonym_change", args=[entry.pk]), {
        "family": family.pk, "term": "zorbly", "related": "flumph",
    })
    assert response.status_code == 302
    assert texts("zorbly hat", family) == ["zorbly hat", "flumph hat"]
    assert texts("flumph", family) == ["flumph", "zorbly"]  # two-way

    admin_client.post(reverse("admin:search_synonym_delete", args=[entry.pk]), {"post": "yes"})
    assert texts("zorbly hat", family) == ["zorbly hat"]


def test_the_admin_lists_global_and_family_entries_and_refuses_a_duplicate(admin_client, family):
    Synonym.objects.create(family=family, term="grandad", related=["grandpa"])
    page = admin_client.get(reverse("admin:search_synonym_changelist"), {"q": "grand"}).content.decode()
    assert "grandad" in page and "Smiths" in page
    assert "every family" in admin_client.get(reverse("admin:search_synonym_changelist"), {"q": "dog"}).content.decode()

    response = admin_client.post(reverse("admin:search_synonym_add"), {"family": family.pk, "term": "Grandad",
                                                                        "related": "gramps"})
    assert response.status_code == 200 and "already an entry" in response.content.decode()
    response = admin_client.post(reverse("admin:search_synonym_add"), {"family": "", "term": "dog", "related": "hound"})
    assert response.status_code == 200 and "already an entry" in response.content.decode()
    response = admin_client.post(reverse("admin:search_synonym_add"), {"family": "", "term": "zorbly", "related": " , "})
    assert response.status_code == 200 and "at least one related term" in response.content.decode()


def test_another_familys_entries_never_expand_my_queries(family, other_family):
    Synonym.objects.create(family=other_family, term="zorbly", related=["wibble"])
    assert texts("zorbly", family) == ["zorbly"]
    assert texts("zorbly", other_family) == ["zorbly", "wibble"]
