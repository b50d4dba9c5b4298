"""/api/v1/albums/<id>/shares/: make, list, read and revoke an album's share links over the API, with the rules of
the album's share page (its creator or a family admin; the page's form), and the link working for a visitor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gallery.album_services import album_add_photos, album_create
from gallery.models import AlbumShare
from tests.factories import api_token_key, photo_factory

pytestmark = pytest.mark.django_db


def _api(user) -> Client:
    return Client(headers={"Authorization": f"Token {api_token_key(user)}"})


def _post(api: Client, url: str, body):
    return api.post(url, body, content_type="application/json")


@pytest.fixture
def album(family, alice):
    album = album_create(user=alice, family=family, name="Summer")
    photo = photo_factory(family=family, user=alice, filename="beach.jpg")
    album_add_photos(user=alice, album=album, photo_ids=[photo.pk])
    return album


def test_a_link_made_over_the_api_works_for_a_visitor_until_revoked(album, alice, settings):
    api = _api(alice)
    url = f"/api/v1/albums/{album.pk}/shares/"

    response = _post(api, url, {"note": "grandma", "allow_download": True})
    assert response.status_code == 201, response.content
    made = response.json()
    assert response["Location"] == f"http://testserver{url}{made['id']}/"
    assert (made["album"], made["note"], made["has_password"], made["allow_download"], made["state"],
            made["created_by"], made["revoked_at"]) == (album.pk, "grandma", False, True, "active", "alice", None)
    lifetime = parse_datetime(made["expires_at"]) - timezone.now()
    assert timedelta(days=settings.SHARE_DAYS) - timedelta(minutes=1) < lifetime <= timedelta(days=settings.SHARE_DAYS)
    link = made["link"]
    assert link.startswith("http://testserver/shared/")
    visitor = Client().get(link)
    assert visitor.status_code == 200 and "Summer" in visitor.content.decode()

    listed = api.get(url).json()
    assert listed["count"] == 1 and "link" not in listed["results"][0]  # shown once, when made
    assert api.get(response["Location"]).json() == listed["results"][0]

    assert api.delete(response["Location"]).status_code == 204
    assert Client().get(link).status_code == 404
    assert api.get(response["Location"]).json()["state"] == "revoked"
    assert api.delete(response["Location"]).status_code == 204  # revoking again changes nothing


def test_a_password_and_a_lifetime_are_kept(album, alice):
    made = _post(_api(alice), f"/api/v1/albums/{album.pk}/shares/", {"days": 2, "password": " s3cret "}).json()
    share = AlbumShare.objects.get(pk=made["id"])
    assert made["has_password"] is True and share.password_hash and " s3cret " not in share.password_hash
    assert timedelta(days=1) < share.expires_at - timezone.now() <= timedelta(days=2)


@pytest.mark.parametrize("body, field", [
    ({"days": 0}, "days"), ({"days": 366}, "days"), ({"days": "soon"}, "days"),
    ({"password": "x" * 129}, "password"), ({"note": "n" * 101}, "note"), ({"note": "a\x00b"}, "note"),
    ({"allow_download": "perhaps"}, "allow_download"),
])
def test_bad_input_is_a_400_naming_the_field(album, alice, body, field):
    response = _post(_api(alice), f"/api/v1/albums/{album.pk}/shares/", body)
    assert response.status_code == 400 and list(response.json()) == [field]
    assert not AlbumShare.objects.exists()


def test_only_the_creator_or_a_family_admin_shares(album, family, alice, bob):
    url = f"/api/v1/albums/{album.pk}/shares/"
    share = _post(_api(alice), url, {}).json()
    for method, target in (("get", url), ("post", url), ("get", f"{url}{share['id']}/"),
                           ("delete", f"{url}{share['id']}/")):
        response = getattr(_api(bob), method)(target)
        assert response.status_code == 403, (method, target)
        assert response.json() == {"detail": "Only the album's creator or a family admin can share it."}
    assert AlbumShare.objects.get().revoked_at is None
    bobs = album_create(user=bob, family=family, name="Bob's")
    assert _post(_api(bob), f"/api/v1/albums/{bobs.pk}/shares/", {}).status_code == 201  # his own album


def test_another_familys_album_and_link_answer_like_missing_ones(album, alice, other_family, mallory):
    theirs = album_create(user=mallory, family=other_family, name="Theirs")
    their_share = _post(_api(mallory), f"/api/v1/albums/{theirs.pk}/shares/", {}).json()
    ours = _post(_api(alice), f"/api/v1/albums/{album.pk}/shares/", {}).json()
    api = _api(alice)

    def same(foreign: str, missing: str, method: str = "get") -> None:
        a, b = getattr(api, method)(foreign), getattr(api, method)(missing)
        assert a.status_code == b.status_code == 404 and a.json() == b.json(), (foreign, missing)

    same(f"/api/v1/albums/{theirs.pk}/shares/", f"/api/v1/albums/{2**62}/shares/")
    same(f"/api/v1/albums/{theirs.pk}/shares/", f"/api/v1/albums/{2**62}/shares/", "post")
    same(f"/api/v1/albums/{theirs.pk}/shares/{their_share['id']}/", f"/api/v1/albums/{2**62}/shares/1/", "delete")
    # Their link's id under our album is no link of ours.
    same(f"/api/v1/albums/{album.pk}/shares/{their_share['id']}/", f"/api/v1/albums/{album.pk}/shares/{2**62}/")
    same(f"/api/v1/albums/{album.pk}/shares/{their_share['id']}/", f"/api/v1/albums/{album.pk}/shares/{2**70}/",
         "delete")
    assert AlbumShare.objects.get(pk=their_share["id"]).revoked_at is None
    assert [s["id"] for s in api.get(f"/api/v1/albums/{album.pk}/shares/").json()["results"]] == [ours["id"]]


def test_the_schema_documents_them(alice):
    paths = _api(alice).get("/api/v1/schema/", {"format": "json"}).json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/albums/{album_id}/shares/"])
    assert {"get", "delete"} <= set(paths["/api/v1/albums/{album_id}/shares/{share_id}/"])
    assert "Location" in paths["/api/v1/albums/{album_id}/shares/"]["post"]["responses"]["201"]["headers"]
