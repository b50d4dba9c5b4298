"""The trash and favourites API: every endpoint, every right, another family's photos answered as missing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from tests.factories import api_token_key

from gallery.models import Favourite, Photo
from gallery.trash_services import photos_favourite, photos_trash
from tests.factories import photo_factory
from tests.images import jpeg


def _api(user) -> Client:
    token = api_token_key(user)
    return Client(headers={"Authorization": f"Token {token}"})


@pytest.fixture
def api(alice):
    return _api(alice)


def test_delete_moves_to_trash_and_restore_brings_it_back(api, family, alice):
    photo = photo_factory(family=family, user=alice, tags=["beach"])
    assert api.delete(reverse("api_photo_detail", args=[photo.pk])).status_code == 204
    assert api.get(reverse("api_photo_detail", args=[photo.pk])).status_code == 404
    assert api.delete(reverse("api_photo_detail", args=[photo.pk])).status_code == 404  # gone from the photos

    listed = api.get(reverse("api_trash")).json()
    assert listed["count"] == 1
    item = listed["results"][0]
    assert item["id"] == photo.pk and item["can_restore"] is True and item["trashed_by"] == "alice"
    assert item["purge_at"] > item["trashed_at"]

    response = api.post(reverse("api_photo_restore", args=[photo.pk]))
    assert response.status_code == 200 and response.json()["tags"] == ["beach"]
    assert api.get(reverse("api_trash")).json()["count"] == 0
    assert api.post(reverse("api_photo_restore", args=[photo.pk])).status_code == 404  # not in the trash


def test_trash_list_filters_by_family_and_hides_other_families(api, family, alice, other_family, mallory):
    ours, theirs = photo_factory(family=family, user=alice), photo_factory(family=other_family, user=mallory)
    photos_trash(user=alice, photo_ids=[ours.pk])
    photos_trash(user=mallory, photo_ids=[theirs.pk])
    assert [p["id"] for p in api.get(reverse("api_trash")).json()["results"]] == [ours.pk]
    assert [p["id"] for p in api.get(reverse("api_trash"), {"family": family.pk}).json()["results"]] == [ours.pk]
    assert api.get(reverse("api_trash"), {"family": other_family.pk}).status_code == 404
    assert api.get(reverse("api_trash"), {"family": "abc"}).status_code == 400


def test_foreign_ids_are_404_on_every_trash_and_favourite_endpoint(api, other_family, mallory, alice):
    theirs = photo_factory(family=other_family, user=mallory)
    trashed = photo_factory(family=other_family, user=mallory)
    photos_trash(user=mallory, photo_ids=[trashed.pk])
    assert api.delete(reverse("api_photo_detail", args=[theirs.pk])).status_code == 404
    assert api.post(reverse("api_photo_favourite", args=[theirs.pk])).status_code == 404
    assert api.delete(reverse("api_photo_favourite", args=[theirs.pk])).status_code == 404
    assert api.post(reverse("api_photo_restore", args=[trashed.pk])).status_code == 404
    assert api.delete(reverse("api_trash_detail", args=[trashed.pk])).status_code == 404
    assert api.post(reverse("api_trash_empty") + f"?family={other_family.pk}").status_code == 404
    assert Photo.objects.filter(pk=theirs.pk).exists() and Photo.all_objects.filter(pk=trashed.pk).exists()
    assert not Favourite.objects.exists()


def test_delete_for_good_only_from_the_trash_and_only_with_rights(family, alice, bob,
                                                                  django_capture_on_commit_callbacks):
    photo = photo_factory(family=family, user=alice)
    assert _api(alice).delete(reverse("api_trash_detail", args=[photo.pk])).status_code == 404  # not in the trash
    photos_trash(user=alice, photo_ids=[photo.pk])
    response = _api(bob).delete(reverse("api_trash_detail", args=[photo.pk]))
    assert response.status_code == 403 and "delete this photo for good" in response.json()["detail"]
    assert _api(bob).post(reverse("api_photo_restore", args=[photo.pk])).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        assert _api(alice).delete(reverse("api_trash_detail", args=[photo.pk])).status_code == 204
    assert not Photo.all_objects.filter(pk=photo.pk).exists()
    assert not photo.original.storage.exists(photo.original.name)


def test_empty_trash_is_for_family_admins(family, alice, bob, django_capture_on_commit_callbacks):
    photos = [photo_factory(family=family, user=bob) for _ in range(2)]
    photos_trash(user=bob, photo_ids=[p.pk for p in photos])
    url = reverse("api_trash_empty")
    assert _api(bob).post(f"{url}?family={family.pk}").status_code == 403
    assert _api(alice).post(url).status_code == 400  # which family?
    with django_capture_on_commit_callbacks(execute=True):
        response = _api(alice).post(f"{url}?family={family.pk}")
    assert response.status_code == 200 and response.json() == {"deleted": 2}
    assert not Photo.all_objects.exists()


def test_empty_trash_takes_the_family_in_the_body_too(family, alice, other_family, mallory,
                                                     django_capture_on_commit_callbacks):
    ours, theirs = photo_factory(family=family, user=alice), photo_factory(family=other_family, user=mallory)
    photos_trash(user=alice, photo_ids=[ours.pk])
    photos_trash(user=mallory, photo_ids=[theirs.pk])
    url, api = reverse("api_trash_empty"), _api(alice)

    # Another family's id in the body answers exactly as an id of no family.
    foreign = api.post(url, {"family": other_family.pk}, content_type="application/json")
    missing = api.post(url, {"family": 2**62}, content_type="application/json")
    assert foreign.status_code == missing.status_code == 404 and foreign.json() == missing.json()
    refused = api.post(f"{url}?family={family.pk}", {"family": other_family.pk}, content_type="application/json")
    assert refused.status_code == 400 and "different families" in refused.json()["family"][0]
    nameless = api.post(url, {}, content_type="application/json")
    assert nameless.status_code == 400 and "Name the family" in nameless.json()["family"][0]
    assert api.post(url, ["x"], content_type="application/json").status_code == 400
    assert api.post(url, {"family": "ours"}, content_type="application/json").json() == \
        {"family": ["A valid integer is required."]}
    assert Photo.all_objects.filter(pk=ours.pk).exists() and Photo.all_objects.filter(pk=theirs.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(url, {"family": family.pk}, content_type="application/json")
    assert response.status_code == 200 and response.json() == {"deleted": 1}
    assert not Photo.all_objects.filter(pk=ours.pk).exists() and Photo.all_objects.filter(pk=theirs.pk).exists()


def test_favourite_endpoints_and_filter(api, family, alice, bob):
    one, two = photo_factory(family=family, user=bob), photo_factory(family=family, user=bob)
    url = reverse("api_photo_favourite", args=[one.pk])
    assert api.post(url).json() == {"id": one.pk, "favourite": True}
    assert api.post(url).json() == {"id": one.pk, "favourite": True}  # idempotent
    assert api.get(reverse("api_photo_detail", args=[one.pk])).json()["favourite"] is True
    assert _api(bob).get(reverse("api_photo_detail", args=[one.pk])).json()["favourite"] is False
    listed = api.get(reverse("api_photos"), {"favourite": "1"}).json()
    assert [p["id"] for p in listed["results"]] == [one.pk]
    assert {p["id"]: p["favourite"] for p in api.get(reverse("api_photos")).json()["results"]} == \
        {one.pk: True, two.pk: False}
    assert api.delete(url).json() == {"id": one.pk, "favourite": False}
    assert api.get(reverse("api_photos"), {"favourite": "1"}).json()["count"] == 0
    assert api.get(reverse("api_photos"), {"favourite": "perhaps"}).status_code == 400


def test_upload_of_a_photo_in_the_trash_restores_it(api, family, alice):
    data = jpeg(colour=(9, 8, 7), size=(40, 30))
    photo = photo_factory(family=family, user=alice, data=data)
    photos_favourite(user=alice, photo_ids=[photo.pk], on=True)
    photos_trash(user=alice, photo_ids=[photo.pk])
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = api.post(reverse("api_photos"), {"family": family.pk,
                                                 "file": SimpleUploadedFile("again.jpg", data, "image/jpeg")})
    assert response.status_code == 200
    assert response.json()["id"] == photo.pk and response.json()["favourite"] is True
    assert Photo.objects.filter(pk=photo.pk).exists()
    response = api.post(reverse("api_photos"), {"family": family.pk,
                                                 "file": SimpleUploadedFile("again.jpg", data, "image/jpeg")})
    assert response.status_code == 409


def test_schema_documents_the_trash_and_favourite_endpoints(api):
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert "delete" in paths["/api/v1/photos/{photo_id}/"]
    assert {"post", "delete"} <= set(paths["/api/v1/photos/{photo_id}/favourite/"])
    assert "post" in paths["/api/v1/photos/{photo_id}/restore/"]
    assert "get" in paths["/api/v1/trash/"]
    assert "delete" in paths["/api/v1/trash/{photo_id}/"]
    assert "post" in paths["/api/v1/trash/empty/"]
    params = {p["name"] for p in paths["/api/v1/photos/"]["get"]["parameters"]}
    assert "favourite" in params
