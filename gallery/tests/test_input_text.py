"""User-supplied text on its way to SQL: NUL characters (PostgreSQL refuses them in text) and too many tags.

Every such request gets a plain answer, never a 500, and the good files of an upload are never lost
without a word."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from gallery.models import Family, Photo, Tag
from tests import images
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db

NUL = "\x00"
TOO_MANY = ", ".join(f"tag{i}" for i in range(51))


@pytest.fixture
def api(alice):
    client = Client()
    token = client.post(reverse("api_token"), {"username": "alice", "password": "correct horse battery"}).json()["token"]
    return Client(headers={"Authorization": f"Token {token}"})


GET_PAGES = [
    ("gallery:timeline", {"tag": f"a{NUL}b", "family": NUL, "page": NUL}),
    ("search:search", {"q": f"red{NUL} circle", "tag": f"x{NUL}", "family": NUL, "after": NUL, "sort": NUL}),
    ("search:preferences", {"preview_q": f"sea{NUL}"}),
    ("search:preferences_preview", {"preview_q": f"sea{NUL}", "semantic_weight": NUL}),
    ("gallery:families", {NUL: NUL}),
]


@pytest.mark.parametrize(("url", "params"), GET_PAGES, ids=[u for u, _ in GET_PAGES])
def test_pages_answer_nul_in_query_parameters(client_for, alice, family, url, params):
    photo_factory(family=family, user=alice, tags=["ab"])
    response = client_for(alice).get(reverse(url), params)
    assert response.status_code == 200


def test_timeline_tag_filter_with_a_nul_finds_the_tag_without_it(client_for, alice, family):
    photo = photo_factory(family=family, user=alice, tags=["ab"])
    body = client_for(alice).get(reverse("gallery:timeline"), {"tag": f"a{NUL}b"}).content.decode()
    assert photo.get_absolute_url() in body


@pytest.mark.parametrize("path", ["/api/v1/photos/", "/api/v1/search/"])
def test_api_query_parameters_with_nul(api, family, alice, path):
    response = api.get(path, {"tag": f"a{NUL}b", "q": f"x{NUL}y"})
    assert response.status_code == 200


def test_admin_search_with_nul(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123")
    client.force_login(user)
    for name in ("photo", "tag", "family"):
        assert client.get(reverse(f"admin:gallery_{name}_changelist"), {"q": f"a{NUL}"}).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist"), {"q": f"a{NUL}"}).status_code == 200


def test_upload_page_with_nul_in_tags_and_file_name_saves_every_good_file(client_for, family, alice):
    files = [SimpleUploadedFile(f"good{i}.jpg", images.jpeg(colour=(100 * i, 99, 9))) for i in range(2)]
    files.append(SimpleUploadedFile("notes.jpg", images.TEXT))
    response = client_for(alice).post(reverse("gallery:upload"),
                                      {"family": family.pk, "files": files, "tags": f"be{NUL}ach, {NUL}, sun"})

    assert response.status_code == 200
    body = response.content.decode()
    assert body.count('data-outcome="saved"') == 2 and body.count('data-outcome="rejected"') == 1
    assert all(sorted(t.name for t in p.tags.all()) == ["beach", "sun"] for p in Photo.objects.all())


def test_upload_page_with_too_many_tags_says_so_for_every_file_and_stores_nothing(client_for, family, alice, settings):
    files = [SimpleUploadedFile(f"good{i}.jpg", images.jpeg(colour=(100 * i, 99, 9))) for i in range(2)]
    response = client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "files": files, "tags": TOO_MANY},
                                      headers={"X-Upload-Script": "1"})

    assert response.status_code == 200  # the page's script shows the rows
    body = response.content.decode()
    assert body.count('data-outcome="rejected"') == 2
    assert body.count("At most 50 tags per photo. Nothing was uploaded") == 2
    assert not Photo.objects.exists() and not Tag.objects.exists()


def test_api_upload_with_too_many_tags_is_400_and_with_nul_is_cleaned(api, family):
    too_many = api.post(reverse("api_photos"), {"family": family.pk, "tags": TOO_MANY,
                                                "file": SimpleUploadedFile("a.jpg", images.jpeg())})
    assert too_many.status_code == 400
    assert too_many.json() == {"tags": ["At most 50 tags per photo."]}
    assert not Photo.objects.exists()

    nul = api.post(reverse("api_photos"), {"family": family.pk, "tags": f"be{NUL}ach", "description": f"x{NUL}y",
                                           "file": SimpleUploadedFile(f"a{NUL}.jpg", images.jpeg())})
    assert nul.status_code == 201, nul.content
    assert (nul.json()["tags"], nul.json()["description"]) == (["beach"], "xy")


def test_api_patch_json_with_nul_is_cleaned(api, family, alice):
    photo = photo_factory(family=family, user=alice)
    response = api.patch(reverse("api_photo_detail", args=[photo.pk]),
                         {"title": f"T{NUL}itle", "description": f"d{NUL}", "tags": [f"o{NUL}ne", "two"]},
                         content_type="application/json")
    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["description"], response.json()["tags"]) == ("Title", "d", ["one", "two"])


def test_api_patch_form_encoded_with_nul_is_cleaned(api, family, alice):
    from urllib.parse import urlencode

    photo = photo_factory(family=family, user=alice)
    response = api.patch(reverse("api_photo_detail", args=[photo.pk]), urlencode({"title": f"T{NUL}"}),
                         content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "T"


def test_photo_edit_form_with_nul(client_for, family, alice):
    photo = photo_factory(family=family, user=alice)
    response = client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]),
                                      {"title": f"T{NUL}", "description": f"d{NUL}", "tags": f"a{NUL}, b"})
    assert response.status_code == 302
    photo.refresh_from_db()
    assert (photo.title, photo.description, sorted(t.name for t in photo.tags.all())) == ("T", "d", ["a", "b"])


def test_photo_edit_form_with_too_many_tags_is_a_form_error(client_for, family, alice):
    photo = photo_factory(family=family, user=alice)
    response = client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]), {"title": "t", "tags": TOO_MANY})
    assert response.status_code == 200
    assert "At most 50 tags per photo" in response.content.decode()


def test_family_and_member_forms_with_nul(client_for, family, alice):
    client = client_for(alice)
    assert client.post(reverse("gallery:families"), {"name": f"New{NUL}"}).status_code == 302
    assert Family.objects.filter(name="New").exists()
    response = client.post(reverse("gallery:member_add", args=[family.pk]),
                           {"username": f"ne{NUL}w", "password": f"seaside-kite{NUL}-flying-9", "role": "member"})
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="new").exists()


def test_sign_in_and_token_with_nul(client, alice):
    assert client.post(reverse("login"), {"username": f"ali{NUL}ce", "password": "wrong"}).status_code == 200
    assert client.post(reverse("api_token"), {"username": f"ali{NUL}ce", "password": "x"}).status_code == 400
    token = Client(headers={"Authorization": f"Token abc{NUL}def"})
    assert token.get("/api/v1/photos/").status_code == 401


def test_a_session_cookie_with_nul_is_just_not_a_session(client, alice):
    client.cookies["sessionid"] = f"abcdefgh{NUL}ijk"
    response = client.get(reverse("gallery:timeline"))
    assert response.status_code == 302  # to the sign-in page


def test_admin_tag_action_with_nul(client, family, alice):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    user = get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123")
    client.force_login(user)
    photo = photo_factory(family=family, user=alice)
    response = client.post(reverse("admin:gallery_photo_changelist"), {
        "action": "add_tag", ACTION_CHECKBOX_NAME: [photo.pk], "apply": "1", "tag": f"sea{NUL}"})
    assert response.status_code == 302
    assert [t.name for t in photo.tags.all()] == ["sea"]


def test_text_from_inside_the_file_with_nul_is_cleaned(client_for, family, alice):
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "Ca\x00non"
    exif[0x0110] = "EOS\x005D"
    upload = SimpleUploadedFile("cam.jpg", images.jpeg(exif=exif))
    response = client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "files": [upload]})

    assert response.status_code == 200 and 'data-outcome="saved"' in response.content.decode()
    photo = Photo.objects.get()
    assert (photo.camera_make, photo.camera_model) == ("Canon", "EOS5D")
