"""Search never crosses a family boundary: not in results, counts, explanations, expansions or similar photos,
whichever door is tried (engine, page, HTMX partial, API). "Not yours" looks exactly like "missing"."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.test import Client
from django.urls import reverse
from tests.factories import api_token_key

from gallery.models import Photo
from gallery.services import UploadResult, photo_create_from_bytes, photo_update
from search.engine import NO_EVIDENCE, SearchParams, search_photos, similar_photos
from search.models import PhotoEmbedding, Synonym
from search.tests.conftest import shape_png
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
EVERYTHING = {"min_score": 0, "show_hidden": True, "limit": 500}


def _upload(family, user, data: bytes, filename: str, *, title: str | None = None, **kwargs) -> Photo:
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename=filename, **kwargs)
    assert result.outcome == UploadResult.SAVED, result.reason
    if title is not None:
        photo_update(photo=result.photo, title=title)
    return result.photo


@pytest.fixture
def world(toy_model, family, alice, other_family, mallory, django_capture_on_commit_callbacks):
    """The Smiths have only blue squares; the Joneses have red circles (tagged and titled to match any
    red-circle search) and byte-identical copies of the Smiths' blue squares: the nearest vectors to
    anything the Smiths search for or compare with."""
    with django_capture_on_commit_callbacks(execute=True):
        squares = [shape_png("blue", "square", seed=seed) for seed in (1, 2)]
        smiths = [_upload(family, alice, data, f"blue-square-{n}.png") for n, data in enumerate(squares)]
        joneses = [
            _upload(other_family, mallory, shape_png("red", "circle", seed=10 + n), f"jones-red-circle-{n}.png",
                    title="Jones red circle", tags=["red circle", "jonesonly"], description="red circle at the Joneses")
            for n in range(3)
        ]
        joneses += [_upload(other_family, mallory, data, f"jones-copy-{n}.png", title="Jones copy") for n, data in enumerate(squares)]
    run_queued_tasks()
    assert set(Photo.objects.values_list("status", flat=True)) == {Photo.Status.READY}
    return {"smiths": smiths, "joneses": joneses}


def _ids(world, key) -> set[int]:
    return {photo.pk for photo in world[key]}


def _photo_ids_in(body: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'data-photo="(\d+)"', body)} | {int(pk) for pk in re.findall(r"/photos/(\d+)/", body)}


def _leaks(body: str, typed: str = "") -> list[str]:
    """Anything of the Joneses' that could show on a Smith's page (apart from what the Smith typed)."""
    words = ("Jones red circle", "jones-red-circle", "jonesonly", "Jones copy", "jones-copy", "Joneses")
    return [word for word in words if word in body.replace(typed, "")]


@pytest.fixture
def api_for():
    def make(user) -> Client:
        token = api_token_key(user)
        return Client(headers={"Authorization": f"Token {token}"})

    return make


# --- the engine ---------------------------------------------------------------------------------


def test_the_joneses_red_circles_are_what_red_circle_finds_for_them(world, mallory):
    """Control: the other family's photos really are the best matches, so their absence below means something."""
    response = search_photos(user=mallory, params=SearchParams(query="red circle", **EVERYTHING))
    top3 = {r.photo.pk for r in response.results[:3]}
    assert top3 == {p.pk for p in world["joneses"][:3]}


def test_red_circle_search_by_a_smith_returns_no_red_circles_and_counts_only_smith_photos(world, alice):
    everything = search_photos(user=alice, params=SearchParams(query="red circle", **EVERYTHING))
    assert {r.photo.pk for r in everything.results} <= _ids(world, "smiths")
    assert everything.candidate_count <= len(world["smiths"])

    default = search_photos(user=alice, params=SearchParams(query="red circle"))
    assert {r.photo.pk for r in default.results} <= _ids(world, "smiths")
    # Shown plus hidden: the Smith photos with some evidence (the rest are no match at all, not weaker matches).
    with_evidence = [r for r in everything.results
                     if max(r.explanation.probability or 0, r.explanation.meta_score) >= NO_EVIDENCE]
    assert len(default.results) + default.hidden_count == len(with_evidence) <= len(world["smiths"])


def test_metadata_that_only_the_joneses_have_finds_nothing_at_all_for_a_smith(world, alice, mallory):
    theirs = search_photos(user=mallory, params=SearchParams(query="jonesonly", min_score=0))
    assert theirs.results  # control
    mine = search_photos(user=alice, params=SearchParams(query="jonesonly", **EVERYTHING))
    assert {r.photo.pk for r in mine.results} <= _ids(world, "smiths")
    assert all(r.explanation.meta_score == 0 for r in mine.results)


@pytest.mark.parametrize("filters", [
    {"family_id": "other"}, {"uploader_id": "mallory"}, {"tag": "jonesonly"}, {"tag": "red circle"},
], ids=["family", "uploader", "tag", "tag-with-space"])
def test_filters_pointing_at_the_other_family_give_nothing(world, alice, mallory, other_family, filters):
    values = {"other": other_family.pk, "mallory": mallory.pk}
    filters = {key: values.get(value, value) for key, value in filters.items()}
    response = search_photos(user=alice, params=SearchParams(query="red circle", **filters, **EVERYTHING))
    assert response.results == [] and response.hidden_count == 0 and response.candidate_count == 0


def test_the_other_familys_synonyms_do_not_expand_my_queries(world, alice, mallory, other_family):
    Synonym.objects.create(family=other_family, term="square", related=["jonesword"])
    assert "jonesword square" not in [t.text for t in search_photos(user=alice, params=SearchParams(query="blue square")).terms]
    assert "blue jonesword" not in [t.text for t in search_photos(user=alice, params=SearchParams(query="blue square")).terms]
    assert "blue jonesword" in [t.text for t in search_photos(user=mallory, params=SearchParams(query="blue square")).terms]


def test_similar_photos_stay_in_the_family_even_when_identical_copies_exist_elsewhere(world, alice, mallory):
    first, second = world["smiths"]
    # Control: the Joneses' copy of the very same bytes is far nearer to `first` than the Smiths' other photo.
    vectors = {e.photo_id: np.asarray(e.vector) for e in PhotoEmbedding.objects.all()}
    copy = world["joneses"][3]
    assert vectors[first.pk] @ vectors[copy.pk] > 0.999 > vectors[first.pk] @ vectors[second.pk]

    results, message = similar_photos(user=alice, photo=first)
    assert [r.photo.pk for r in results] == [second.pk] and message == ""
    theirs, _ = similar_photos(user=mallory, photo=copy)
    assert _ids(world, "smiths").isdisjoint(r.photo.pk for r in theirs)


# --- the page, its HTMX partial and the API --------------------------------------------------


@pytest.mark.parametrize("query", [{"q": "red circle"}, {"q": "red circle", "show_hidden": "1"}, {"q": "jonesonly", "show_hidden": "1"}],
                         ids=["default", "show-hidden", "their-tag"])
def test_search_page_shows_no_photo_name_or_count_of_the_other_family(world, client_for, alice, query):
    client = client_for(alice)
    for headers in ({}, HTMX):
        response = client.get(reverse("search:search"), query, headers=headers)
        body = response.content.decode()
        assert response.status_code == 200
        assert ("<html" in body) == (not headers)
        assert _photo_ids_in(body) <= _ids(world, "smiths"), _photo_ids_in(body)
        assert _leaks(body, typed=query["q"]) == []
        for count in re.findall(r"(\d+) more below your minimum score|Show (\d+) weaker match", body):
            assert int("".join(count)) <= len(world["smiths"])
        assert body.count('class="explain"') <= len(world["smiths"])


def test_family_filter_of_another_family_on_the_page_shows_none_of_theirs(world, client_for, alice, other_family):
    client = client_for(alice)
    for headers in ({}, HTMX):
        response = client.get(reverse("search:search"), {"q": "red circle", "family": other_family.pk, "show_hidden": "1"},
                              headers=headers)
        body = response.content.decode()
        assert response.status_code == 200
        assert _photo_ids_in(body) <= _ids(world, "smiths") and _leaks(body) == []


def test_api_search_returns_none_of_theirs_and_counts_none_of_theirs(world, api_for, alice, mallory, other_family):
    api = api_for(alice)
    body = api.get(reverse("api_search"), {"q": "red circle", "min_score": 0}).json()
    assert {r["id"] for r in body["results"]} <= _ids(world, "smiths")
    assert len(body["results"]) + body["hidden_count"] <= len(world["smiths"])
    assert _leaks(str(body)) == []

    response = api.get(reverse("api_search"), {"q": "red circle", "min_score": 0, "family": other_family.pk})
    assert (response.status_code, response.json()) == (404, {"detail": "No such family."})  # as a missing family
    for params in ({"uploader": mallory.pk}, {"tag": "jonesonly"}):
        response = api.get(reverse("api_search"), {"q": "red circle", "min_score": 0, **params})
        assert response.status_code == 200, params
        assert response.json()["results"] == [] and response.json()["hidden_count"] == 0, params


def test_similar_page_and_partial_list_only_my_familys_photos(world, client_for, alice):
    first, second = world["smiths"]
    client = client_for(alice)
    for headers in ({}, HTMX):
        response = client.get(reverse("search:similar", args=[first.pk]), headers=headers)
        body = response.content.decode()
        assert response.status_code == 200
        assert {int(pk) for pk in re.findall(r'data-photo="(\d+)"', body)} == {second.pk}
        assert _leaks(body) == []


def test_similar_api_lists_only_my_familys_photos(world, api_for, alice):
    first, second = world["smiths"]
    response = api_for(alice).get(reverse("api_photo_similar", args=[first.pk]))
    assert response.status_code == 200
    assert [r["id"] for r in response.json()] == [second.pk]


def test_similar_of_another_familys_photo_is_the_same_404_as_a_missing_photo(world, client_for, alice):
    theirs = world["joneses"][0]
    missing = Photo.objects.order_by("-pk").first().pk + 1000
    client = client_for(alice)
    for headers in ({}, HTMX):
        not_mine = client.get(reverse("search:similar", args=[theirs.pk]), headers=headers)
        absent = client.get(reverse("search:similar", args=[missing]), headers=headers)
        assert not_mine.status_code == absent.status_code == 404
        assert not_mine.content == absent.content
        assert _leaks(not_mine.content.decode()) == []


def test_similar_api_of_another_familys_photo_is_the_same_404_as_a_missing_photo(world, api_for, alice):
    theirs = world["joneses"][0]
    missing = Photo.objects.order_by("-pk").first().pk + 1000
    api = api_for(alice)
    not_mine = api.get(reverse("api_photo_similar", args=[theirs.pk]))
    absent = api.get(reverse("api_photo_similar", args=[missing]))
    assert not_mine.status_code == absent.status_code == 404
    assert not_mine.json() == absent.json()


def test_signed_out_visitors_get_no_search_at_all(world, client):
    assert client.get(reverse("search:search"), {"q": "red circle"}).status_code == 302
    assert client.get(reverse("search:similar", args=[world["joneses"][0].pk])).status_code == 302
    assert Client().get(reverse("api_search"), {"q": "red circle"}).status_code == 401
    assert Client().get(reverse("api_photo_similar", args=[world["joneses"][0].pk])).status_code == 401


def test_a_user_in_no_family_finds_nothing(world, django_user_model):
    loner = django_user_model.objects.create_user("loner", password="x")
    response = search_photos(user=loner, params=SearchParams(query="red circle", **EVERYTHING))
    assert response.results == [] and response.hidden_count == 0
