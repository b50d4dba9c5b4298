"""Bulk actions: the service, the API and the selection bar's endpoint, with own, foreign and missing ids."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from gallery.bulk import BULK_MAX_PHOTOS, NOT_FOUND, BulkResult, photos_bulk_apply
from gallery.models import Photo, PhotoTag
from gallery.services import MAX_TAGS, photo_tags_add
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db


def tag_names(photo: Photo) -> list[str]:
    return sorted(photo.tags.values_list("name", flat=True))


def missing_id() -> int:
    return (Photo.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1000


@pytest.fixture
def api(alice):
    client = Client()
    token = client.post(reverse("api_token"), {"username": "alice", "password": "correct horse battery"}).json()["token"]
    return Client(headers={"Authorization": f"Token {token}"})


# --- the service --------------------------------------------------------------------------------


def test_add_tags_to_own_photos_and_the_same_answer_for_foreign_and_missing(family, alice, other_family, mallory):
    mine = [photo_factory(family=family, user=alice) for _ in range(2)]
    theirs = photo_factory(family=other_family, user=mallory)
    gone = missing_id()

    results = photos_bulk_apply(user=alice, action="add_tags", photo_ids=[mine[0].pk, theirs.pk, gone, mine[1].pk],
                                tags=["Beach", " summer  holiday "])

    assert results == [BulkResult(mine[0].pk, True), BulkResult(theirs.pk, False, NOT_FOUND),
                       BulkResult(gone, False, NOT_FOUND), BulkResult(mine[1].pk, True)]
    for photo in mine:
        assert tag_names(photo) == ["Beach", "summer holiday"]
        assert set(PhotoTag.objects.filter(photo=photo).values_list("source", flat=True)) == {PhotoTag.Source.MEMBER}
    assert tag_names(theirs) == []
    assert not theirs.family.tags.filter(name="Beach").exists()  # no tag leaked into their vocabulary


def test_a_plain_member_tags_photos_someone_else_uploaded(family, alice, bob):
    photo = photo_factory(family=family, user=alice)

    [result] = photos_bulk_apply(user=bob, action="add_tags", photo_ids=[photo.pk], tags=["cat"])

    assert result.ok
    assert tag_names(photo) == ["cat"]


def test_add_tags_refuses_a_photo_that_would_pass_the_tag_limit(family, alice):
    full = photo_factory(family=family, user=alice)
    photo_tags_add(photo=full, names=[f"t{i}" for i in range(MAX_TAGS)], source=PhotoTag.Source.MEMBER)
    room = photo_factory(family=family, user=alice)

    results = photos_bulk_apply(user=alice, action="add_tags", photo_ids=[full.pk, room.pk], tags=["new"])

    assert results[0].ok is False and str(MAX_TAGS) in results[0].reason
    assert results[1].ok
    assert "new" not in tag_names(full)
    # Re-adding a tag it already has is not "more tags".
    assert photos_bulk_apply(user=alice, action="add_tags", photo_ids=[full.pk], tags=["T1"])[0].ok


def test_remove_tags_any_case_from_own_photos_only(family, alice, other_family, mallory):
    mine = photo_factory(family=family, user=alice, tags=["Beach", "dog"])
    bare = photo_factory(family=family, user=alice)
    theirs = photo_factory(family=other_family, user=mallory, tags=["beach"])

    results = photos_bulk_apply(user=alice, action="remove_tags", photo_ids=[mine.pk, bare.pk, theirs.pk],
                                tags=["BEACH"])

    assert [r.ok for r in results] == [True, True, False]
    assert results[2].reason == NOT_FOUND
    assert tag_names(mine) == ["dog"]
    assert tag_names(theirs) == ["beach"]


def test_duplicate_ids_are_answered_once_in_the_order_given(family, alice):
    a, b = photo_factory(family=family, user=alice), photo_factory(family=family, user=alice)

    results = photos_bulk_apply(user=alice, action="add_tags", photo_ids=[b.pk, a.pk, b.pk], tags=["x"])

    assert [r.id for r in results] == [b.pk, a.pk]


@pytest.mark.parametrize("kwargs, message", [
    ({"action": "explode", "photo_ids": [1], "tags": ["x"]}, "Unknown action"),
    ({"action": "add_tags", "photo_ids": [], "tags": ["x"]}, "at least one photo"),
    ({"action": "add_tags", "photo_ids": list(range(1, BULK_MAX_PHOTOS + 2)), "tags": ["x"]},
     f"At most {BULK_MAX_PHOTOS} photos"),
    ({"action": "add_tags", "photo_ids": [1], "tags": ["  "]}, "at least one tag"),
    ({"action": "add_tags", "photo_ids": ["abc"], "tags": ["x"]}, "not a photo id"),
    ({"action": "add_tags", "photo_ids": [1], "tags": [f"t{i}" for i in range(MAX_TAGS + 1)]}, f"At most {MAX_TAGS}"),
])
def test_requests_that_cannot_be_done_at_all_say_why(alice, kwargs, message):
    with pytest.raises(ValidationError) as caught:
        photos_bulk_apply(user=alice, **kwargs)
    assert message in " ".join(caught.value.messages)


def test_exactly_the_limit_is_accepted(family, alice):
    photo = photo_factory(family=family, user=alice)
    ids = [photo.pk] + [missing_id() + i for i in range(BULK_MAX_PHOTOS - 1)]

    results = photos_bulk_apply(user=alice, action="add_tags", photo_ids=ids, tags=["x"])

    assert len(results) == BULK_MAX_PHOTOS
    assert sum(r.ok for r in results) == 1


# --- the API ------------------------------------------------------------------------------------


def test_api_bulk_add_tags_mixed_ids(api, family, alice, other_family, mallory):
    mine = photo_factory(family=family, user=alice)
    theirs = photo_factory(family=other_family, user=mallory)
    gone = missing_id()

    response = api.post(reverse("api_photos_bulk"), {"action": "add_tags", "photos": [mine.pk, theirs.pk, gone],
                                                     "tags": ["picnic"]}, content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json() == {"results": [
        {"id": mine.pk, "ok": True, "reason": ""},
        {"id": theirs.pk, "ok": False, "reason": NOT_FOUND},
        {"id": gone, "ok": False, "reason": NOT_FOUND},
    ]}
    assert tag_names(mine) == ["picnic"]
    assert tag_names(theirs) == []


@pytest.mark.parametrize("body", [
    {"action": "add_tags", "photos": list(range(1, BULK_MAX_PHOTOS + 2)), "tags": ["x"]},
    {"action": "add_tags", "photos": [], "tags": ["x"]},
    {"action": "add_tags", "photos": [1]},
    {"action": "nope", "photos": [1]},
    {"action": "add_tags", "photos": ["one"], "tags": ["x"]},
    {"action": "add_tags", "photos": [1], "tags": "x"},
    {"photos": [1]},
])
def test_api_bulk_refuses_bad_requests_with_400(api, body):
    response = api.post(reverse("api_photos_bulk"), body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()


def test_api_bulk_needs_authentication(family, alice):
    photo = photo_factory(family=family, user=alice)
    response = Client().post(reverse("api_photos_bulk"), {"action": "add_tags", "photos": [photo.pk], "tags": ["x"]},
                             content_type="application/json")
    assert response.status_code in (401, 403)
    assert tag_names(photo) == []


def test_api_bulk_is_in_the_openapi_schema(client, alice):
    client.force_login(alice)
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/photos/bulk/"]["post"]
    assert "200" in operation["responses"]
    body = schema["components"]["schemas"]
    assert "add_tags" in str(body)
