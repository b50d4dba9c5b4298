"""/api/v1/search/preferences/: a script reads and changes its user's own search preferences, under the rules of the
preferences page (its form), and searches then use them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from search.models import SearchPreferences
from tests.factories import api_token_key

pytestmark = pytest.mark.django_db

URL = "/api/v1/search/preferences/"
DEFAULTS = {"semantic_weight": 0.6, "metadata_weight": 0.4, "min_score": 0.05, "expansion_enabled": True,
            "default_sort": "relevance"}


def _api(user) -> Client:
    return Client(headers={"Authorization": f"Token {api_token_key(user)}"})


def _patch(api: Client, body):
    return api.patch(URL, body, content_type="application/json")


def test_reading_gives_the_defaults_and_writes_nothing(alice):
    response = _api(alice).get(URL)
    assert response.status_code == 200 and response.json() == DEFAULTS
    assert reverse("api_search_preferences") == URL
    assert not SearchPreferences.objects.exists()


def test_a_patch_changes_only_what_it_names_and_only_ones_own(alice, bob):
    api = _api(alice)
    response = _patch(api, {"min_score": 0.3, "default_sort": "date"})
    assert response.status_code == 200
    assert response.json() == {**DEFAULTS, "min_score": 0.3, "default_sort": "date"}
    assert _patch(api, {"expansion_enabled": False}).json() == {
        **DEFAULTS, "min_score": 0.3, "default_sort": "date", "expansion_enabled": False}
    assert _api(bob).get(URL).json() == DEFAULTS  # each user has their own
    assert not SearchPreferences.objects.filter(user=bob).exists()
    # Search reads them: the minimum score and the order when the search names none.
    searched = api.get(reverse("api_search"), {"q": "anything"}).json()
    assert (searched["min_score"], searched["sort"]) == (0.3, "date")


@pytest.mark.parametrize("body, errors", [
    ({"min_score": 1.5}, {"min_score": ["Ensure this value is less than or equal to 1."]}),
    ({"semantic_weight": -0.1}, {"semantic_weight": ["Ensure this value is greater than or equal to 0."]}),
    # Which orders there are, not only that this is none of them.
    ({"default_sort": "random"}, {"default_sort": ["“random” is no order of results: relevance or date."]}),
    ({"expansion_enabled": "perhaps"}, {"expansion_enabled": ["Must be a valid boolean."]}),
    ({"metadata_weight": "NaN"}, {"metadata_weight": ["A valid number is required."]}),
    # A JSON true is no number: DRF's FloatField read it as 1.0 (a minimum score hiding every result), false as 0.
    ({"min_score": True}, {"min_score": ["A number is required, not true or false."]}),
    ({"semantic_weight": False}, {"semantic_weight": ["A number is required, not true or false."]}),
    ({"metadata_weight": True}, {"metadata_weight": ["A number is required, not true or false."]}),
    ({"semantic_weight": 0, "metadata_weight": 0}, {"non_field_errors": ["At least one weight must be above zero."]}),
    (["min_score", 0.3], {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
])
def test_bad_values_are_a_400_naming_the_field_and_change_nothing(alice, body, errors):
    api = _api(alice)
    response = _patch(api, body)
    assert response.status_code == 400 and response.json() == errors
    assert api.get(URL).json() == DEFAULTS


def test_the_page_rule_holds_across_patches(alice):
    """The page's rule (some weight above zero) is checked on the preferences as they would be, not the body alone."""
    api = _api(alice)
    assert _patch(api, {"metadata_weight": 0}).status_code == 200
    refused = _patch(api, {"semantic_weight": 0})
    assert refused.status_code == 400 and refused.json() == {
        "non_field_errors": ["At least one weight must be above zero."]}
    assert api.get(URL).json() == {**DEFAULTS, "metadata_weight": 0.0}


def test_delete_goes_back_to_the_defaults(alice, bob):
    _patch(_api(bob), {"min_score": 0.5})
    api = _api(alice)
    _patch(api, {"min_score": 0.9, "expansion_enabled": False})
    assert api.delete(URL).status_code == 204
    assert api.get(URL).json() == DEFAULTS
    assert _api(bob).get(URL).json()["min_score"] == 0.5


def test_without_credentials_it_is_a_401(alice):
    for method in ("get", "patch", "delete"):
        assert getattr(Client(), method)(URL).status_code == 401


def test_the_schema_documents_it(alice):
    paths = _api(alice).get("/api/v1/schema/", {"format": "json"}).json()["paths"]
    assert {"get", "patch", "delete"} <= set(paths[URL])
    assert "400" in paths[URL]["patch"]["responses"]
