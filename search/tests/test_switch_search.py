"""During a model switch (both models have embeddings of the family's photos) search goes on with the model the
family searches with, and the pages say nothing alarming, even while the new model can't load (a failed download,
a typo in SEARCH_MODEL): the previous model's embeddings can still be searched."""

from __future__ import annotations

import re
import shutil

import pytest
from django.urls import reverse

from search import vector_index
from search.embedder import reset_embedder
from search.models import EmbeddingModel, PhotoEmbedding
from search.selectors import family_search_model
from search.services import embed_missing, embed_photos
from search.tests.test_model_switch import switched, worse_model  # noqa: F401 (fixtures)
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def switching(toy_model, add_shape, settings, worse_model, django_capture_on_commit_callbacks):  # noqa: F811
    """Three shapes embedded by the toy model; then a switch to another model, seen by the sweep."""
    vector_index._ensured.clear()
    with django_capture_on_commit_callbacks(execute=True):
        photos = [add_shape("red", "circle"), add_shape("blue", "square"), add_shape("green", "triangle")]
    run_queued_tasks()
    settings.SEARCH_MODEL = worse_model
    reset_embedder()
    embed_missing()  # the sweep marks them as waiting for the new model
    return photos


@pytest.fixture
def mid_switch(switching, settings, worse_model):  # noqa: F811
    """`switching`, and the new model embeds two of the shapes and then can't load any more (its files gone)."""
    photos = switching
    settings.SEARCH_BATCH_SIZE = 1
    embed_photos(photo_ids=[photos[1].pk], fill_to=0)
    embed_photos(photo_ids=[photos[2].pk], fill_to=0)
    assert PhotoEmbedding.objects.filter(model_name=worse_model).count() == 2
    shutil.rmtree(worse_model)  # gone: the sweep records that it can't load
    reset_embedder()
    embed_missing()
    assert not EmbeddingModel.objects.get(name=worse_model).available
    return photos


def test_the_family_searches_with_the_previous_model_while_the_new_one_cant_load(mid_switch, family, toy_model):
    assert family_search_model(family_id=family.pk) == toy_model


def test_search_mid_switch_finds_by_image_and_says_nothing_alarming(mid_switch, client_for, alice):
    body = client_for(alice).get(reverse("search:search"), {"q": "a red circle"}).content.decode()
    assert "Smart search is off" not in body and "can't load" not in body
    assert mid_switch[0].get_absolute_url() in body  # untagged, named by its file: found by the image model
    timeline = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    assert "Smart search is off" not in timeline


def test_the_api_says_semantic_search_is_available_mid_switch(mid_switch, api):
    data = api.get("/api/v1/search/", {"q": "a red circle"}).json()
    assert data["semantic_available"] is True, data


def test_without_a_previous_model_the_banner_still_says_search_is_off(toy_model, settings, client_for, alice):
    settings.SEARCH_MODEL = "/nonexistent/model"
    EmbeddingModel.objects.create(name="/nonexistent/model", available=False, error="No such model.")
    assert "Smart search is off" in client_for(alice).get(reverse("gallery:timeline")).content.decode()


def test_a_new_model_that_covers_the_family_but_cant_load_leaves_search_to_the_previous_one(
        mid_switch, family, toy_model, worse_model, client_for, alice):  # noqa: F811
    PhotoEmbedding.objects.bulk_create([
        PhotoEmbedding(photo=e.photo, family=e.family, model_name=worse_model, vector=e.vector)
        for e in PhotoEmbedding.objects.filter(model_name=toy_model, photo=mid_switch[0])])
    embed_missing()  # the sweep sees the switch complete
    assert family_search_model(family_id=family.pk) == toy_model
    body = client_for(alice).get(reverse("search:search"), {"q": "a red circle"}).content.decode()
    assert "Smart search is off" not in body and mid_switch[0].get_absolute_url() in body


def test_an_empty_family_beside_does_not_bring_the_banner_back(mid_switch, client_for, alice):
    from gallery.services import family_create

    family_create(name="Grandparents", admin=alice)
    assert "Smart search is off" not in client_for(alice).get(reverse("gallery:timeline")).content.decode()
    body = client_for(alice).get(reverse("search:search"), {"q": "a red circle"}).content.decode()
    assert "Smart search is off" not in body and mid_switch[0].get_absolute_url() in body


def _indexing_notice(client, query: str) -> str | None:
    body = " ".join(re.sub(r"<[^>]+>", " ", client.get(reverse("search:search"), {"q": query}).content.decode()).split())
    match = re.search(r"(\S+) of your photos (?:is|are) still being indexed", body)
    return match.group(1) if match else None


def test_after_a_switch_new_photos_waiting_for_the_worker_are_said_to_be_indexing(
        switched, family, worse_model, add_shape, client_for, alice, django_capture_on_commit_callbacks):
    """The previous model's embeddings are kept for MODEL_SWITCH_KEEP_DAYS after a switch: meanwhile the search page
    said nothing of photos still waiting for the worker (image search can't see them), as if a switch were on."""
    assert family_search_model(family_id=family.pk) == worse_model
    client = client_for(alice)
    assert _indexing_notice(client, "red circle") is None
    with django_capture_on_commit_callbacks(execute=False):  # queued for the worker, not run yet
        add_shape("blue", "circle", tags=["lighthouse"])
    assert _indexing_notice(client, "lighthouse") == "1"


def test_mid_switch_only_photos_the_previous_model_never_saw_are_said_to_be_indexing(
        switching, toy_model, add_shape, family, client_for, alice, django_capture_on_commit_callbacks):
    """Mid-switch the photos waiting for the new model are still searched by image with the previous one: not
    counted. A photo uploaded during the switch has no embedding of the previous model: image search can't see it
    until the switch is done, and the page says so."""
    embed_photos(photo_ids=[switching[0].pk], fill_to=0)
    assert family_search_model(family_id=family.pk) == toy_model  # the previous model serves meanwhile
    client = client_for(alice)
    assert _indexing_notice(client, "red circle") is None
    with django_capture_on_commit_callbacks(execute=False):
        new = add_shape("blue", "circle", tags=["lighthouse"])
    assert _indexing_notice(client, "lighthouse") == "1"
    embed_photos(photo_ids=[new.pk], fill_to=0)  # the new model reads it: the previous one, searched, never will
    assert family_search_model(family_id=family.pk) == toy_model
    assert _indexing_notice(client, "lighthouse") == "1"


def test_the_refine_bar_mid_switch_tells_photos_by_the_model_the_family_searches_with(
        toy_model, add_shape, settings, worse_model, client_for, alice, family,  # noqa: F811
        django_capture_on_commit_callbacks):
    """A photo's "failed" is its status under the active model, while mid-switch the family is searched with the
    previous one. The bar describes each photo by what the search does with it: one the new model failed on but the
    previous one indexed refines (its previous vector is searched); one that failed under the previous model before
    the switch could not be indexed (a Retry is what indexes it); one uploaded mid-switch, which only the new model
    read, is not indexed yet for this search (it refines once the switch completes)."""
    from search.tests.test_judgments_pages import _failed_photo, refine_bar

    vector_index._ensured.clear()
    failed_before = _failed_photo(add_shape, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        photos = [add_shape("red", "square"), add_shape("red", "circle"), add_shape("blue", "circle")]
    run_queued_tasks()
    settings.SEARCH_MODEL = worse_model
    reset_embedder()
    embed_missing()  # the switch: the photos wait for the new model
    failed_now = photos[0]
    for field in (failed_now.original, failed_now.display):
        field.storage.delete(field.name)
    embed_photos(photo_ids=[failed_now.pk], fill_to=0)  # the new model can't read it
    with django_capture_on_commit_callbacks():
        new = add_shape("red", "square")
    embed_photos(photo_ids=[new.pk], fill_to=0)  # read by the new model alone (the others still wait for it)
    failed_now.refresh_from_db()
    assert failed_now.status == "failed" and family_search_model(family_id=family.pk) == toy_model
    assert PhotoEmbedding.objects.filter(photo=new, model_name=worse_model).exists()
    search = f"q=red+shape&like={failed_now.pk},{failed_before.pk},{new.pk}"
    bar = " ".join(refine_bar(client_for(alice).get(f"/search/?{search}&min_score=0").content.decode()).split())
    assert "Refined: more like 1 photo." in bar, bar
    assert "1 photo in the link is not indexed yet: left out until it is." in bar
    assert "1 photo in the link could not be indexed: left out." in bar
    api = client_for(alice).get(f"/api/v1/search/?{search}").json()
    assert api["like"] == [failed_now.pk] and api["left_out_failed"] == [failed_before.pk]
    assert api["left_out_not_indexed"] == [new.pk]
