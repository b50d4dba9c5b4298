"""Trash and favourites in search: a trashed photo leaves every search at once (the walk, the metadata pass, similar
photos, the viewer's list) and comes back on restore; `?favourite=1` is a scope filter like the others."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from tests.factories import api_token_key

from gallery.models import Photo
from gallery.services import photo_update
from gallery.trash_services import photos_favourite, photos_restore, photos_trash
from search.engine import SearchParams, search_photos, similar_photos
from search.metadata import documents_outdated_refresh
from search.models import PhotoDocument, PhotoEmbedding
from search.scope import Scope
from search.services import embed_missing
from search.vector_index import _hits_sql, _nearest_sql
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db

EVERYTHING = {"min_score": 0, "show_hidden": True, "limit": 500}


@pytest.fixture
def shapes(toy_model, add_shape, alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        tagged = add_shape("red", "circle", tags=["red circle"], description="a red circle")
        circles = [add_shape("red", "circle") for _ in range(2)]
        squares = [add_shape("blue", "square") for _ in range(2)]
    run_queued_tasks()
    assert set(Photo.objects.values_list("status", flat=True)) == {Photo.Status.READY}
    return {"tagged": tagged, "circles": circles, "squares": squares}


def _found(user, query: str = "red circle", **params) -> list[int]:
    response = search_photos(user=user, params=SearchParams(query=query, **{**EVERYTHING, **params}))
    return [result.photo.pk for result in response.results]


def test_a_trashed_photo_leaves_search_at_once_and_comes_back_on_restore(shapes, alice):
    tagged = shapes["tagged"]
    assert tagged.pk in _found(alice)
    assert tagged.pk in _found(alice, "circle", semantic_weight=0.0, metadata_weight=1.0)

    photos_trash(user=alice, photo_ids=[tagged.pk])

    assert tagged.pk not in _found(alice)  # not from the walk
    assert tagged.pk not in _found(alice, "circle", semantic_weight=0.0, metadata_weight=1.0)  # nor the metadata
    assert PhotoEmbedding.objects.get(photo=tagged).trashed
    assert not PhotoDocument.objects.filter(photo=tagged).exists()
    assert set(_found(alice)) >= {p.pk for p in shapes["circles"]}  # the others stay

    photos_restore(user=alice, photo_ids=[tagged.pk])

    assert not PhotoEmbedding.objects.get(photo=tagged).trashed
    assert PhotoDocument.objects.filter(photo=tagged).exists()
    assert tagged.pk in _found(alice)
    assert tagged.pk in _found(alice, "circle", semantic_weight=0.0, metadata_weight=1.0)


def test_similar_photos_leave_out_the_trash(shapes, alice):
    source, trashed = shapes["circles"]
    before = [r.photo.pk for r in similar_photos(user=alice, photo=source)[0]]
    assert trashed.pk in before
    photos_trash(user=alice, photo_ids=[trashed.pk])
    after = [r.photo.pk for r in similar_photos(user=alice, photo=source)[0]]
    assert trashed.pk not in after and len(after) == len(before) - 1


def test_search_pages_and_api_leave_out_the_trash(shapes, alice, client_for):
    tagged = shapes["tagged"]
    photos_trash(user=alice, photo_ids=[tagged.pk])
    body = client_for(alice).get(reverse("search:search"), {"q": "red circle", "min_score": 0}).content.decode()
    assert f'data-photo="{tagged.pk}"' not in body
    token = api_token_key(alice)
    api = Client(headers={"Authorization": f"Token {token}"})
    ids = [r["id"] for r in api.get("/api/v1/search/", {"q": "red circle", "min_score": 0}).json()["results"]]
    assert ids and tagged.pk not in ids
    assert client_for(alice).get(reverse("search:similar", args=[tagged.pk])).status_code == 404


def test_the_walk_reads_no_photo_row_unless_filtered_and_skips_trashed_embeddings(shapes):
    """Latency: an unfiltered search must not join the photo table per candidate; the trash is a post-filter on the
    embedding row itself."""
    model = "m"
    for statement in (_hits_sql(model, 4, Scope(family_ids=(1, 2)), True, False),
                      _nearest_sql(model, 4, Scope(family_ids=(1,)), True)):
        assert "gallery_photo" not in statement
        assert "NOT e.trashed" in statement


def test_document_refreshes_skip_photos_in_the_trash(shapes, alice):
    tagged = shapes["tagged"]
    photos_trash(user=alice, photo_ids=[tagged.pk])
    assert documents_outdated_refresh() == 0  # the sweep does not rebuild it
    photo_update(photo=Photo.all_objects.get(pk=tagged.pk), title="edited while in the trash")  # photos_changed
    assert not PhotoDocument.objects.filter(photo=tagged).exists()
    assert tagged.pk not in _found(alice, "edited", semantic_weight=0.0, metadata_weight=1.0)


def test_a_photo_trashed_before_it_was_embedded_is_embedded_after_restore(toy_model, add_shape, alice,
                                                                           django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        photo = add_shape("red", "circle")
    photos_trash(user=alice, photo_ids=[photo.pk])
    run_queued_tasks()
    assert not PhotoEmbedding.objects.filter(photo_id=photo.pk).exists()
    photos_restore(user=alice, photo_ids=[photo.pk])
    embed_missing()
    run_queued_tasks()
    embedding = PhotoEmbedding.objects.get(photo_id=photo.pk)
    assert not embedding.trashed
    assert photo.pk in _found(alice)


def test_favourite_filter_in_search_is_per_user(shapes, alice, bob):
    one, two = shapes["circles"]
    photos_favourite(user=alice, photo_ids=[one.pk], on=True)
    photos_favourite(user=bob, photo_ids=[two.pk], on=True)
    assert _found(alice, favourite=True) == [one.pk]
    assert _found(bob, favourite=True) == [two.pk]
    assert set(_found(alice, "circle", favourite=True, semantic_weight=0.0, metadata_weight=1.0)) <= {one.pk}
    assert len(_found(alice)) > 1


def test_favourite_filter_on_the_search_page_and_api(shapes, alice, client_for):
    one = shapes["circles"][0]
    photos_favourite(user=alice, photo_ids=[one.pk], on=True)
    client = client_for(alice)
    body = client.get(reverse("search:search"), {"q": "red circle", "min_score": 0, "favourite": "1"}).content.decode()
    assert set(int(pk) for pk in re.findall(r'data-photo="(\d+)"', body)) == {one.pk}
    assert 'aria-pressed="true"' in body  # its heart is on
    body = client.get(reverse("search:search"), {"q": "red circle", "min_score": 0}).content.decode()
    assert len(set(re.findall(r'data-photo="(\d+)"', body))) > 1
    token = api_token_key(alice)
    api = Client(headers={"Authorization": f"Token {token}"})
    results = api.get("/api/v1/search/", {"q": "red circle", "min_score": 0, "favourite": "1"}).json()["results"]
    assert [r["id"] for r in results] == [one.pk]
    assert api.get("/api/v1/search/", {"q": "red circle", "favourite": "maybe"}).status_code == 400


def test_the_viewer_walks_search_results_without_the_trash(shapes, alice, client_for):
    results = _found(alice, min_score=None, show_hidden=False, limit=60)
    assert len(results) >= 3
    first, middle = results[0], results[1]
    photos_trash(user=alice, photo_ids=[middle])
    body = client_for(alice).get(reverse("gallery:photo_detail", args=[first]),
                                 {"from": "search", "q": "red circle"}).content.decode()
    assert f"/photos/{middle}/" not in body
