"""POST /api/v1/photos/<id>/read-metadata/: the file's embedded metadata read again and applied as an upload does
(gallery.services.photo_embedded_read), never over a member's edit; another family's photo is a 404 like a missing
one."""

from __future__ import annotations

import pytest
from django.test import Client

from gallery.models import Photo
from gallery.services import UploadResult, photo_create_from_bytes
from tests import images
from tests.factories import api_token_key

pytestmark = pytest.mark.django_db

XMP = {
    "Xmp.dc.subject": ["Lisbon", "Tram"],
    "Xmp.dc.title": {'lang="x-default"': "Tram 28 up the hill"},
    "Xmp.dc.description": {'lang="x-default"': "The yellow tram climbing to the castle"},
}


def _api(user) -> Client:
    return Client(headers={"Authorization": f"Token {api_token_key(user)}"})


def _stored_unread(family, user, colour) -> Photo:
    """A photo with XMP in its file, stored while embedded metadata was not read (as before the feature, or with
    EMBEDDED_METADATA off)."""
    data = images.with_metadata(images.jpeg(colour=colour), xmp=XMP)
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename="IMG_0001.jpg")
    assert result.outcome == UploadResult.SAVED, result.reason
    return result.photo


def test_reading_the_file_again_applies_its_metadata_but_never_over_a_members_edit(family, alice, bob, settings):
    settings.EMBEDDED_METADATA = False
    photo = _stored_unread(family, alice, (10, 20, 30))
    settings.EMBEDDED_METADATA = True
    api = _api(bob)
    url = f"/api/v1/photos/{photo.pk}/read-metadata/"
    before = api.get(f"/api/v1/photos/{photo.pk}/").json()
    assert before["tags"] == [] and before["title_source"] == ""

    response = api.post(url)
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["title_source"]) == ("Tram 28 up the hill", "embedded")
    assert body["description"] == "The yellow tram climbing to the castle"
    assert {t["name"]: t["source"] for t in body["tag_details"]} == {"Lisbon": "embedded", "Tram": "embedded"}

    api.patch(f"/api/v1/photos/{photo.pk}/", {"title": "Our tram"}, content_type="application/json")
    again = api.post(url).json()  # idempotent, and the member's title stays
    assert (again["title"], again["title_source"]) == ("Our tram", "member")
    assert sorted(again["tags"]) == ["Lisbon", "Tram"]


def test_another_familys_photo_is_a_404_like_a_missing_one_and_left_unread(family, alice, other_family, mallory,
                                                                           settings):
    settings.EMBEDDED_METADATA = False
    theirs = _stored_unread(other_family, mallory, (40, 50, 60))
    settings.EMBEDDED_METADATA = True
    api = _api(alice)
    foreign = api.post(f"/api/v1/photos/{theirs.pk}/read-metadata/")
    missing = api.post(f"/api/v1/photos/{2**62}/read-metadata/")
    assert (foreign.status_code, foreign.json()) == (missing.status_code, missing.json()) == (
        404, {"detail": "No such photo."})
    theirs.refresh_from_db()
    assert not theirs.embedded_checked and not theirs.tags.exists()


def test_with_reading_switched_off_it_says_so(family, alice, settings):
    settings.EMBEDDED_METADATA = False
    photo = _stored_unread(family, alice, (70, 80, 90))
    response = _api(alice).post(f"/api/v1/photos/{photo.pk}/read-metadata/")
    assert response.status_code == 400 and "switched off" in response.json()["detail"][0]
    photo.refresh_from_db()
    assert not photo.tags.exists()
