"""A family's tag suggestions over the API: the "Suggested tags" page's table (any member) and its "accept every
suggestion above" (the family's admins), through the page's selector, form and service; never across families."""

from __future__ import annotations

import pytest
from django.test import Client

from gallery.models import TagSuggestion
from search.models import TagConcept
from search.services import embed_photos
from tests.factories import api_token_key

pytestmark = pytest.mark.django_db


def _api(user) -> Client:
    return Client(headers={"Authorization": f"Token {api_token_key(user)}"})


@pytest.fixture(autouse=True)
def colour_concepts(db):
    for name in ("red", "blue", "green"):
        TagConcept.objects.get_or_create(family=None, name=name)


@pytest.fixture
def suggested(toy_model, add_shape, other_family, mallory):
    """Three photos of the Smiths with their suggestions scored (the green one's made unsure), one of the Joneses'."""
    photos = [add_shape("red", "circle"), add_shape("blue", "square"), add_shape("green", "triangle"),
              add_shape("red", "circle", target_family=other_family, user=mallory)]
    assert embed_photos(photo_ids=[p.pk for p in photos]).ready == 4
    TagSuggestion.objects.filter(photo=photos[2]).update(probability=0.6)
    return photos


def test_any_member_reads_the_familys_suggestions_by_tag(suggested, family, bob):
    api = _api(bob)
    url = f"/api/v1/families/{family.pk}/suggestions/"
    body = api.get(url).json()
    rows = {row["tag"]: row for row in body["results"]}
    assert body["count"] == len(rows) and {"red", "blue", "green"} <= set(rows)
    assert rows["red"]["photos"] == 1  # the Joneses' red circle is not counted
    assert rows["green"]["above"] == 0 and rows["green"]["best"] == pytest.approx(0.6)
    assert rows["red"]["above"] == 1 and rows["red"]["best"] >= 0.9
    lower = {row["tag"]: row for row in api.get(url, {"min_probability": 0.5}).json()["results"]}
    assert lower["green"]["above"] == 1
    for bad in ("lots", "1.5", "-0.1"):
        response = api.get(url, {"min_probability": bad})
        assert response.status_code == 400 and list(response.json()) == ["min_probability"], bad


def test_an_admin_accepts_every_suggestion_above_a_probability(suggested, family, alice, bob):
    url = f"/api/v1/families/{family.pk}/suggestions/accept/"
    refused = _api(bob).post(url, {"min_probability": 0.9}, content_type="application/json")
    assert refused.status_code == 403 and "admins" in refused.json()["detail"]
    api = _api(alice)
    # A JSON true is no probability (DRF's FloatField read it as 1.0, false as 0: every suggestion accepted).
    for bad in ({"min_probability": "lots"}, {"min_probability": 1.5}, ["x"], {"min_probability": True},
                {"min_probability": False}):
        assert api.post(url, bad, content_type="application/json").status_code == 400, bad
    assert not TagSuggestion.objects.filter(state=TagSuggestion.State.ACCEPTED).exists()

    response = api.post(url, {}, content_type="application/json")  # the page's default: 0.9
    assert response.status_code == 200 and response.json() == {"accepted": 2, "kept_open": []}
    assert set(suggested[0].tags.values_list("name", flat=True)) == {"red"}
    assert set(suggested[1].tags.values_list("name", flat=True)) == {"blue"}
    assert not suggested[2].tags.exists() and not suggested[3].tags.exists()  # unsure; another family's
    assert api.post(url, {"min_probability": 0.5}, content_type="application/json").json() == {"accepted": 1, "kept_open": []}
    assert set(suggested[2].tags.values_list("name", flat=True)) == {"green"}
    assert TagSuggestion.objects.filter(photo=suggested[3], state=TagSuggestion.State.OPEN).exists()


def test_another_family_answers_like_a_missing_one(suggested, alice, other_family):
    api = _api(alice)
    for path in ("suggestions/", "suggestions/accept/"):
        method = api.post if path.endswith("accept/") else api.get
        foreign = method(f"/api/v1/families/{other_family.pk}/{path}")
        missing = method(f"/api/v1/families/{2**62}/{path}")
        assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json()) == (
            404, {"detail": "No such family."}), path
    assert TagSuggestion.objects.filter(photo=suggested[3], state=TagSuggestion.State.OPEN).exists()


def test_the_schema_documents_them(alice):
    paths = _api(alice).get("/api/v1/schema/", {"format": "json"}).json()["paths"]
    assert "get" in paths["/api/v1/families/{family_id}/suggestions/"]
    assert "post" in paths["/api/v1/families/{family_id}/suggestions/accept/"]
