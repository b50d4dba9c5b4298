"""What the indexing page and the photo page do to a photo, over the API: retry a photo that could not be indexed
(one, or all of a family's), read the text in a photo whatever the gate said. Another family's photo answers
exactly like a missing one."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from gallery.models import Photo
from tests.factories import api_token_key
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


def _api(user) -> Client:
    return Client(headers={"Authorization": f"Token {api_token_key(user)}"})


def _fail(*photos: Photo) -> None:
    Photo.objects.filter(pk__in=[p.pk for p in photos]).update(status=Photo.Status.FAILED,
                                                                status_reason="The worker gave up.", embed_attempts=3)


@pytest.fixture
def shapes(toy_model, add_shape, other_family, mallory, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        photos = {"ours": add_shape("red", "circle"), "also ours": add_shape("blue", "square"),
                  "theirs": add_shape("red", "circle", target_family=other_family, user=mallory)}
    run_queued_tasks()
    return photos


def test_a_failed_photo_is_retried_and_the_worker_indexes_it(shapes, alice, django_capture_on_commit_callbacks):
    photo = shapes["ours"]
    _fail(photo)
    api = _api(alice)
    assert [p["id"] for p in api.get(reverse("api_photos"), {"status": "failed"}).json()["results"]] == [photo.pk]

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(reverse("api_photo_retry", args=[photo.pk]))
    assert response.status_code == 200
    assert (response.json()["id"], response.json()["status"], response.json()["status_reason"]) == (
        photo.pk, "pending", "")
    run_queued_tasks()
    assert api.get(reverse("api_photo_detail", args=[photo.pk])).json()["status"] == "ready"
    assert api.get(reverse("api_photos"), {"status": "failed"}).json()["count"] == 0


def test_retrying_a_photo_that_did_not_fail_is_a_400_that_says_so(shapes, alice):
    response = _api(alice).post(reverse("api_photo_retry", args=[shapes["ours"].pk]))
    assert response.status_code == 400
    assert response.json() == {"detail": ["This photo's indexing has not failed (it is ready): there is nothing "
                                          "to retry."]}


def test_another_familys_photo_is_a_404_like_a_missing_one(shapes, alice):
    theirs = shapes["theirs"]
    _fail(theirs)
    api = _api(alice)
    for name in ("api_photo_retry", "api_photo_read_text"):
        foreign = api.post(reverse(name, args=[theirs.pk]))
        missing = api.post(reverse(name, args=[2**62]))
        assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json()) == (
            404, {"detail": "No such photo."}), name
    theirs.refresh_from_db()
    assert theirs.status == Photo.Status.FAILED  # not retried
    assert api.get(reverse("api_photos"), {"status": "failed"}).json()["count"] == 0


def test_retry_all_queues_only_the_callers_families_failed_photos(shapes, alice, other_family,
                                                                   django_capture_on_commit_callbacks):
    _fail(shapes["ours"], shapes["also ours"], shapes["theirs"])
    api = _api(alice)
    url = reverse("api_photos_retry")
    for family_id in (other_family.pk, 2**62):
        response = api.post(url, {"family": family_id}, content_type="application/json")
        assert (response.status_code, response.json()) == (404, {"detail": "No such family."})
    assert api.post(url, {"family": "ours"}, content_type="application/json").status_code == 400

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url, {}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"queued": 2}
    statuses = dict(Photo.objects.values_list("pk", "status"))
    assert statuses[shapes["theirs"].pk] == Photo.Status.FAILED
    assert statuses[shapes["ours"].pk] == statuses[shapes["also ours"].pk] == Photo.Status.PENDING
    assert api.post(url, {"family": shapes["ours"].family_id}, content_type="application/json").json() == {
        "queued": 0}


def test_read_text_queues_a_skipped_photo_and_says_when_reading_is_off(shapes, alice, settings):
    photo = shapes["ours"]
    Photo.objects.filter(pk=photo.pk).update(ocr_status=Photo.OcrStatus.SKIPPED)
    Photo.objects.filter(pk=shapes["theirs"].pk).update(ocr_status=Photo.OcrStatus.SKIPPED)
    api = _api(alice)
    url = reverse("api_photo_read_text", args=[photo.pk])

    settings.OCR_ENABLED = False
    off = api.post(url)
    assert off.status_code == 400 and "switched off" in off.json()["detail"][0]
    settings.OCR_ENABLED = True
    response = api.post(url)
    assert response.status_code == 200 and response.json()["ocr_status"] == "pending"
    assert api.post(reverse("api_photo_read_text", args=[shapes["theirs"].pk])).status_code == 404
    assert Photo.objects.get(pk=shapes["theirs"].pk).ocr_status == Photo.OcrStatus.SKIPPED


def test_the_schema_documents_them(alice):
    paths = _api(alice).get("/api/v1/schema/", {"format": "json"}).json()["paths"]
    assert "post" in paths["/api/v1/photos/{photo_id}/retry/"]
    assert "post" in paths["/api/v1/photos/{photo_id}/read-text/"]
    assert "post" in paths["/api/v1/photos/retry/"]
    assert "status" in {p["name"] for p in paths["/api/v1/photos/"]["get"]["parameters"]}
