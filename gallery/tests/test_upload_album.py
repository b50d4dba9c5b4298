"""Uploading into an album: the upload page's "Put them in an album" and the API's `album` put the photos (stored,
restored, or in the family already) at the end of a plain album of the family they go to; any other album refuses
the upload before a file is stored, saying why."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from gallery.album_selectors import album_photo_ids
from gallery.album_services import album_create
from gallery.models import Membership, Photo
from tests import images
from tests.factories import api_token_key, photo_factory

pytestmark = pytest.mark.django_db


def _file(name: str, colour=(10, 200, 30)) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, images.jpeg(colour=colour), content_type="image/jpeg")


@pytest.fixture
def wedding(family, alice):
    return album_create(user=alice, family=family, name="Wedding")


def test_the_page_puts_the_uploaded_photos_in_the_album_in_order(client_for, family, alice, bob, wedding):
    before = photo_factory(family=family, user=alice, data=images.jpeg(colour=(200, 10, 10)))
    body = client_for(bob).post(reverse("gallery:upload"), {
        "family": family.pk, "album": wedding.pk,
        "files": [_file("first.jpg", (1, 2, 3)), _file("again.jpg", (200, 10, 10)), _file("second.jpg", (4, 5, 6))],
    }).content.decode()
    first, second = (Photo.objects.get(original_filename=name) for name in ("first.jpg", "second.jpg"))
    assert album_photo_ids(album=wedding) == [first.pk, before.pk, second.pk]
    assert body.count("Added to the album “Wedding”.") == 3  # the one already in the family too
    assert re.search(r"Already in Smiths as .*Added to the album “Wedding”\.", body)
    again = client_for(bob).post(reverse("gallery:upload"), {"family": family.pk, "album": wedding.pk,
                                                             "files": [_file("first.jpg", (1, 2, 3))]})
    assert "Already in the album “Wedding”." in again.content.decode()


def test_another_familys_or_a_smart_or_a_foreign_album_refuses_the_upload(client_for, family, alice, other_family,
                                                                          mallory, wedding):
    Membership.objects.create(family=other_family, user=alice)
    theirs = album_create(user=mallory, family=other_family, name="Joneses' trip")
    smart = album_create(user=alice, family=family, name="Cakes", search={"q": "cake"})
    client = client_for(alice)
    cases = {theirs.pk: "is in Joneses, not in Smiths", smart.pk: "smart album",
             wedding.pk + 1000: "does not exist"}
    for album_id, said in cases.items():
        response = client.post(reverse("gallery:upload"), {"family": family.pk, "album": album_id,
                                                           "files": [_file("x.jpg")]}, headers={"X-Upload-Script": "1"})
        body = response.content.decode()
        assert said in body and "Nothing was uploaded." in body and "data-resend" in body, album_id
    assert not Photo.objects.filter(original_filename="x.jpg").exists()
    # A stranger's album, by id: the same answer as a missing one.
    Membership.objects.filter(family=other_family, user=alice).delete()
    body = client.post(reverse("gallery:upload"), {"family": family.pk, "album": theirs.pk,
                                                   "files": [_file("x.jpg")]}).content.decode()
    assert "does not exist" in body and "Joneses" not in body


def test_an_album_page_offers_an_upload_into_it_which_picks_it_and_its_family(client_for, family, alice, other_family,
                                                                               wedding):
    Membership.objects.create(family=other_family, user=alice)
    client = client_for(alice)
    link = f'{reverse("gallery:upload")}?album={wedding.pk}'
    assert f'href="{link}"' in client.get(wedding.get_absolute_url()).content.decode()
    page = client.get(link).content.decode()
    assert re.search(rf'<option value="{wedding.pk}" data-family="{family.pk}" selected>Wedding</option>', page)
    assert re.search(rf'value="{family.pk}" data-name="Smiths" required checked', page)
    assert "Cakes" not in page  # (no smart album is offered: there is none here, and none could take photos)


def test_the_api_takes_an_album_too(family, alice, other_family, mallory, wedding):
    api = Client(HTTP_AUTHORIZATION=f"Token {api_token_key(alice)}")
    response = api.post(reverse("api_photos"), {"file": _file("api.jpg", (7, 8, 9)), "family": family.pk,
                                                "album": wedding.pk})
    assert response.status_code == 201
    assert album_photo_ids(album=wedding) == [response.json()["id"]]
    duplicate = api.post(reverse("api_photos"), {"file": _file("api.jpg", (7, 8, 9)), "family": family.pk,
                                                 "album": wedding.pk})
    assert duplicate.status_code == 409 and "Already in the album" in duplicate.json()["detail"]
    theirs = album_create(user=mallory, family=other_family, name="Trip")
    refused = api.post(reverse("api_photos"), {"file": _file("no.jpg", (9, 9, 9)), "family": family.pk,
                                               "album": theirs.pk})
    assert refused.status_code == 400 and refused.json() == {"album": ["That album does not exist (any more)."]}
    assert not Photo.objects.filter(original_filename="no.jpg").exists()
