"""Synonym entries: edited in the admin, picked up by every process's query expansion at once."""

from __future__ import annotations

import re

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


def test_the_admin_refuses_a_synonym_with_a_control_character_or_a_direction_override(admin_client, family):
    """A term or related term is shown on the search page ("also searched as") and in the search's report: it follows
    the rule of every name (gallery.text), refused with the code named."""
    for term, related in (("zor\u202ebly", "wibble"), ("zorbly", "wib\x07ble"), ("zorbly", "ok, \u2067flumph")):
        response = admin_client.post(reverse("admin:search_synonym_add"), {"family": family.pk, "term": term,
                                                                            "related": related})
        assert response.status_code == 200 and "U+" in response.content.decode(), (term, related)
    assert not Synonym.objects.filter(term__startswith="zor").exists()


REFUSED_DIRECTION = ("can&#x27;t contain direction overrides, nor direction codes opened and not closed (invisible "
                     "codes that turn letters around on the page; here U+202E). Remove them and try again.")


def test_synonyms_and_concepts_hold_the_rule_in_the_model_as_the_admin_says_it(admin_client, family):
    """Synonym and TagConcept had no validators of their own: only the admin's forms refused, so what a shell, a script
    or any other form built on the models saved (full_clean) could hold what the pages refuse. The fields hold the rule
    now (gallery.text), and the admin says it in the words of the pages."""
    from django.core.exceptions import ValidationError

    from search.models import TagConcept

    for entry, field in ((Synonym(family=family, term="zor\u202ebly", related=["wibble"]), "term"),
                         (Synonym(family=family, term="zorbly", related=["ok", "\u2067flumph"]), "related"),
                         (Synonym(family=family, term="zorbly", related=["wib\x07ble"]), "related"),
                         (TagConcept(family=family, name="\u202ehcaeb"), "name")):
        with pytest.raises(ValidationError) as refused:
            entry.full_clean()
        assert list(refused.value.message_dict) == [field] and "U+" in str(refused.value), (entry, field)
    Synonym(family=family, term="zorbly", related=["\u2067דוד\u2069", "wibble"]).full_clean()  # closed: kept

    response = admin_client.post(reverse("admin:search_synonym_add"),
                                 {"family": family.pk, "term": "zor\u202ebly", "related": "wibble"})
    assert response.status_code == 200 and f"A term {REFUSED_DIRECTION}" in response.content.decode()
    response = admin_client.post(reverse("admin:search_tagconcept_add"),
                                 {"family": family.pk, "name": "\u202ehcaeb", "prompt": "", "enabled": "on"})
    assert response.status_code == 200 and f"A tag name {REFUSED_DIRECTION}" in response.content.decode()
    assert not Synonym.objects.filter(term__contains="\u202e").exists()
    assert not TagConcept.objects.filter(name__contains="\u202e").exists()


def test_synonyms_and_concepts_stored_with_direction_codes_before_lose_them(family, other_family):
    """Search 0026, after gallery 0044: a term, related term or concept name stored with an override or an unclosed
    code before they were refused loses them; an entry that becomes one already there is merged into it (its related
    terms added), a concept that does is left to the one there, and what shows nothing goes."""
    import importlib

    from django.apps import apps

    from search.models import TagConcept

    dog = Synonym.objects.create(family=family, term="zdog", related=["puppy"])
    Synonym.objects.create(family=family, term="\u202ezdog", related=["hound", "\u202ePuppy"])
    cat = Synonym.objects.create(family=other_family, term="zcat\u2066", related=["kitty\u202c", "\u2067חתול\u2069"])
    Synonym.objects.create(family=family, term="zbird", related=["\u202e", " \u2069"])
    beach = TagConcept.objects.create(family=family, name="zbeach", prompt="a beach")
    TagConcept.objects.create(family=family, name="\u202eZbeach", prompt="a hcaeb")
    sunset = TagConcept.objects.create(family=None, name="zsunset\u202e", prompt="the sun going down")
    before = dog.updated_at

    importlib.import_module("search.migrations.0026_direction_codes_stored_before").direction_codes_out(apps, None)

    assert sorted(Synonym.objects.exclude(family=None).values_list("term", "related")) == [
        ("zcat", ["kitty", "\u2067חתול\u2069"]), ("zdog", ["puppy", "hound"])]
    assert Synonym.objects.get(pk=dog.pk).updated_at > before  # every process builds its groups again
    assert Synonym.objects.get(pk=cat.pk).family == other_family
    assert sorted(TagConcept.objects.filter(name__istartswith="zbeach").values_list("pk", "name", "prompt")) == [
        (beach.pk, "zbeach", "a beach")]
    assert sorted(TagConcept.objects.filter(family=None, name__startswith="z").values_list("pk", "name", "prompt")) == [
        (sunset.pk, "zsunset", "the sun going down")]
    for entry in Synonym.objects.all():
        entry.full_clean()
    for concept in TagConcept.objects.all():
        concept.full_clean()


def test_concept_prompts_stored_with_codes_before_lose_them(family):
    """Search 0027: a concept's prompt became checked at model level (typed text's rule), and one stored before with a
    control character or an override could not be saved again in the admin (refused for a code nobody can see). The
    migration cleans them as 0026 cleaned names: controls become spaces, overrides and unclosed codes go, closed
    isolates stay; a prompt that shows nothing becomes empty (the tag name is asked, as for an empty prompt)."""
    import importlib

    from django.apps import apps

    from search.models import TagConcept

    bad = TagConcept.objects.create(family=family, name="zpup", prompt="a \u202egod\x07 on\tgrass")
    hebrew = TagConcept.objects.create(family=family, name="zcohen", prompt="a \u2067כלב\u2069 dog")
    blank = TagConcept.objects.create(family=None, name="zblank", prompt="\u202e\x1b")
    clean = TagConcept.objects.create(family=None, name="zclean", prompt="a clean prompt")
    before = clean.updated_at

    importlib.import_module("search.migrations.0027_tag_concept_prompt_checked").prompts_cleaned(apps, None)

    assert TagConcept.objects.get(pk=bad.pk).prompt == "a god on grass"
    assert TagConcept.objects.get(pk=hebrew.pk).prompt == "a \u2067כלב\u2069 dog"
    assert TagConcept.objects.get(pk=blank.pk).prompt == ""
    assert TagConcept.objects.get(pk=clean.pk).updated_at == before
    for concept in TagConcept.objects.filter(name__startswith="z"):
        concept.full_clean()


def test_another_familys_entries_never_expand_my_queries(family, other_family):
    Synonym.objects.create(family=other_family, term="zorbly", related=["wibble"])
    assert texts("zorbly", family) == ["zorbly"]
    assert texts("zorbly", other_family) == ["zorbly", "wibble"]


# "also searched as" on the search page: each expansion term is the whole query with a word or two swapped, so
# listing the terms repeated a long query up to seven times, and a word used twice ("beach beach", "Dog, dog")
# gave the same swap more than once.
LONG_QUERIES = [
    "kids playing with the dog on the beach at sunset with grandma and grandpa",
    "Dog, dog and DOG! on the beach beach at the sea near the ocean",
    "an old photo of my family at home in the living room by the sofa and the couch",
    "red car parked near the old stone bridge over a quiet river in autumn",
    "zorbly quibble wamp flonk dreeble snorf plim gorp",  # nothing to expand
]


@pytest.fixture
def family_synonyms(family):
    """The family's own entries for the words of LONG_QUERIES (the seeded ones may have been flushed by a
    transaction test run before)."""
    for term, related in {"dog": ["puppy", "canine", "pet", "hound"], "beach": ["seaside", "shore", "coast"],
                          "sea": ["ocean", "waves"], "sunset": ["dusk"], "grandma": ["grandmother"],
                          "grandpa": ["grandfather", "granddad"], "kids": ["children", "child"],
                          "living room": ["lounge", "sofa", "couch"], "home": ["house"], "river": ["stream"],
                          "bridge": ["viaduct"], "autumn": ["fall"], "red": ["crimson"]}.items():
        Synonym.objects.create(family=family, term=term, related=related)
    return family


@pytest.mark.parametrize("query", LONG_QUERIES)
def test_also_searched_as_names_each_swap_once_never_the_query_and_is_capped(family_synonyms, query):
    family = family_synonyms
    from search.expansion import MAX_SHOWN, also_searched_as

    terms = expand(query, family_ids=[family.pk])
    shown = also_searched_as(terms)
    keys = [(swap.replacement, swap.original) for swap in shown.swaps]
    assert len(keys) == len(set(keys))  # each once
    assert len(shown.swaps) <= MAX_SHOWN
    for swap in shown.swaps:
        assert swap.replacement and swap.replacement != swap.original
        assert swap.replacement not in (query, query.lower())
        assert len(swap.replacement.split()) <= 3 and len(swap.original.split()) <= 3  # a phrase, not a query
    every = {(new, old) for term in terms for old, new in term.substitutions}
    assert len(shown.swaps) + shown.more >= len({(n.lower(), o.lower().strip(",!")) for n, o in every})
    if len(terms) == 1:
        assert shown.swaps == [] and shown.more == 0
    else:
        assert shown.swaps and len(terms) == 8  # these queries have plenty to swap


def test_a_one_word_query_is_also_searched_as_its_synonyms_alone(family):
    from search.expansion import also_searched_as

    Synonym.objects.create(family=family, term="zorbly", related=["wibble", "flumph", "quax"])
    shown = also_searched_as(expand("Zorbly!", family_ids=[family.pk]))
    assert [(s.replacement, s.original) for s in shown.swaps] == [("wibble", ""), ("flumph", ""), ("quax", "")]
    assert shown.more == 0


def test_the_page_says_each_swap_once(toy_model, add_shape, client_for, alice, family_synonyms):
    add_shape("blue", "square", tags=["beach", "dog"])
    page = client_for(alice).get(reverse("search:search"), {"q": LONG_QUERIES[1]}).content.decode()
    summary = re.search(r'<p class="summary muted"[^>]*>(.*?)</p>', page, re.S)[1]
    said = summary.split("also searched as", 1)[1]
    assert LONG_QUERIES[1] not in said
    assert said.count("“seaside” for “beach”") == 1 and said.count("“puppy” for “dog”") == 1
