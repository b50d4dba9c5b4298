"""User-supplied text on its way to SQL: NUL characters (PostgreSQL refuses them in text) and too many tags.

Every such request gets a plain answer, never a 500: forms and serializers refuse NUL ("Null characters are
not allowed."), what no form reads (cookies, headers, file names, text inside files) is cleaned, and the
good files of an upload are never lost without a word."""

from __future__ import annotations

import json

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


def test_timeline_drops_an_invalid_filter_and_keeps_the_valid_one(client_for, alice, family, other_family, mallory):
    from tests.factories import MembershipFactory

    MembershipFactory(family=other_family, user=alice)
    mine = photo_factory(family=family, user=alice, tags=["ab"])
    theirs = photo_factory(family=other_family, user=mallory)
    body = client_for(alice).get(reverse("gallery:timeline"), {"tag": f"a{NUL}b", "family": family.pk}).content.decode()
    assert mine.get_absolute_url() in body and theirs.get_absolute_url() not in body


@pytest.mark.parametrize("path", ["/api/v1/photos/", "/api/v1/search/"])
def test_api_query_parameters_with_nul_are_refused_with_400(api, family, alice, path):
    response = api.get(path, {"tag": f"a{NUL}b", "q": f"x{NUL}y"})
    assert response.status_code == 400
    assert response.json()["tag"] == ["Null characters are not allowed."]


def test_admin_search_with_nul(client, db):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123")
    client.force_login(user)
    for name in ("photo", "tag", "family"):
        assert client.get(reverse(f"admin:gallery_{name}_changelist"), {"q": f"a{NUL}"}).status_code == 200
    assert client.get(reverse("admin:auth_user_changelist"), {"q": f"a{NUL}"}).status_code == 200


def test_upload_page_with_nul_in_tags_says_so_for_every_file_and_stores_nothing(client_for, family, alice):
    files = [SimpleUploadedFile(f"good{i}.jpg", images.jpeg(colour=(100 * i, 99, 9))) for i in range(2)]
    response = client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "files": files,
                                      "tags": f"be{NUL}ach, sun"}, headers={"X-Upload-Script": "1"})

    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("Tags: Null characters are not allowed. Nothing was uploaded.") == 2
    assert body.count('data-outcome="rejected"') == 2
    assert not Photo.objects.exists() and not Tag.objects.exists()


def test_upload_page_with_nul_in_a_file_name_saves_the_file_under_the_name_without_it(client_for, family, alice):
    files = [SimpleUploadedFile(f"be{NUL}ach.jpg", images.jpeg()), SimpleUploadedFile("notes.jpg", images.TEXT)]
    response = client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "files": files, "tags": "sun"})

    body = response.content.decode()
    assert body.count('data-outcome="saved"') == 1 and body.count('data-outcome="rejected"') == 1
    photo = Photo.objects.get()
    assert (photo.original_filename, photo.title, [t.name for t in photo.tags.all()]) == ("beach.jpg", "beach", ["sun"])


def test_upload_page_with_too_many_tags_says_so_for_every_file_and_stores_nothing(client_for, family, alice, settings):
    files = [SimpleUploadedFile(f"good{i}.jpg", images.jpeg(colour=(100 * i, 99, 9))) for i in range(2)]
    response = client_for(alice).post(reverse("gallery:upload"), {"family": family.pk, "files": files, "tags": TOO_MANY},
                                      headers={"X-Upload-Script": "1"})

    assert response.status_code == 200  # the page's script shows the rows
    body = response.content.decode()
    assert body.count('data-outcome="rejected"') == 2
    assert body.count("At most 50 tags per photo. Nothing was uploaded") == 2
    assert not Photo.objects.exists() and not Tag.objects.exists()


def test_api_upload_with_too_many_tags_or_nul_is_400(api, family):
    too_many = api.post(reverse("api_photos"), {"family": family.pk, "tags": TOO_MANY,
                                                "file": SimpleUploadedFile("a.jpg", images.jpeg())})
    assert too_many.status_code == 400
    assert too_many.json() == {"tags": ["At most 50 tags per photo."]}
    assert not Photo.objects.exists()

    nul = api.post(reverse("api_photos"), {"family": family.pk, "tags": f"be{NUL}ach", "description": f"x{NUL}y",
                                           "file": SimpleUploadedFile("a.jpg", images.jpeg())})
    assert nul.status_code == 400
    assert nul.json() == {"tags": ["Null characters are not allowed."], "description": ["Null characters are not allowed."]}

    name = api.post(reverse("api_photos"), {"family": family.pk, "file": SimpleUploadedFile(f"a{NUL}b.jpg", images.jpeg())})
    assert name.status_code == 201, name.content
    assert name.json()["original_filename"] == "ab.jpg"


def test_api_patch_json_with_nul_is_400(api, family, alice):
    photo = photo_factory(family=family, user=alice)
    response = api.patch(reverse("api_photo_detail", args=[photo.pk]),
                         {"title": f"T{NUL}itle", "description": f"d{NUL}", "tags": [f"o{NUL}ne", "two"]},
                         content_type="application/json")
    assert response.status_code == 400
    assert response.json()["title"] == ["Null characters are not allowed."]
    photo.refresh_from_db()
    assert not photo.tags.exists() and photo.description == ""


def test_api_patch_form_encoded_with_nul_is_400(api, family, alice):
    from urllib.parse import urlencode

    photo = photo_factory(family=family, user=alice)
    response = api.patch(reverse("api_photo_detail", args=[photo.pk]), urlencode({"title": f"T{NUL}"}),
                         content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400


def test_photo_edit_form_with_nul_is_a_form_error(client_for, family, alice):
    photo = photo_factory(family=family, user=alice)
    response = client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]),
                                      {"title": f"T{NUL}", "description": "d", "tags": f"a{NUL}, b"})
    assert response.status_code == 200
    assert "Null characters are not allowed." in response.content.decode()
    photo.refresh_from_db()
    assert (photo.description, photo.tags.count()) == ("", 0)


def test_photo_edit_form_with_too_many_tags_is_a_form_error(client_for, family, alice):
    photo = photo_factory(family=family, user=alice)
    response = client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]), {"title": "t", "tags": TOO_MANY})
    assert response.status_code == 200
    assert "At most 50 tags per photo" in response.content.decode()


def test_family_and_member_forms_with_nul_are_form_errors(client_for, family, alice):
    client = client_for(alice)
    response = client.post(reverse("gallery:families"), {"name": f"New{NUL}"})
    assert response.status_code == 200 and "Null characters are not allowed." in response.content.decode()
    response = client.post(reverse("gallery:invite_new", args=[family.pk]), {"note": f"Gran{NUL}", "role": "member"})
    assert response.status_code == 422 and "Null characters are not allowed." in response.content.decode()
    assert not family.invites.exists()
    assert Family.objects.count() == 1 and not get_user_model().objects.filter(username__startswith="ne").exists()


def test_sign_in_and_token_with_nul(client, alice):
    assert client.post(reverse("login"), {"username": f"ali{NUL}ce", "password": "wrong"}).status_code == 200
    assert client.post(reverse("api_token"), {"username": f"ali{NUL}ce", "password": "x"}).status_code == 400
    token = Client(headers={"Authorization": f"Token abc{NUL}def"})
    assert token.get("/api/v1/photos/").status_code == 401


def test_a_session_cookie_with_nul_is_just_not_a_session(client, alice):
    client.cookies["sessionid"] = f"abcdefgh{NUL}ijk"
    response = client.get(reverse("gallery:timeline"))
    assert response.status_code == 302  # to the sign-in page


def test_admin_tag_action_with_nul_is_a_form_error(client, family, alice):
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

    user = get_user_model().objects.create_superuser("root", "root@example.org", "admin-password-123")
    client.force_login(user)
    photo = photo_factory(family=family, user=alice)
    response = client.post(reverse("admin:gallery_photo_changelist"), {
        "action": "add_tag", ACTION_CHECKBOX_NAME: [photo.pk], "apply": "1", "tag": f"sea{NUL}"})
    assert response.status_code == 200 and "Null characters are not allowed." in response.content.decode()
    assert not photo.tags.exists()


def test_a_nul_that_still_reaches_the_database_is_a_plain_400(rf, family):
    """The net under paths written later: the driver's refusal becomes a 400 with a plain message."""
    from django.db import DataError

    from gallery.text import NulGuardMiddleware

    with pytest.raises(DataError) as caught:
        Tag.objects.filter(family=family, name=f"a{NUL}").exists()
    guard = NulGuardMiddleware(lambda request: None)

    page = guard.process_exception(rf.get("/"), caught.value)
    api = guard.process_exception(rf.get("/api/v1/photos/"), caught.value)

    assert (page.status_code, api.status_code) == (400, 400)
    assert "can't contain NUL characters" in page.content.decode() and "NUL" in json.loads(api.content)["detail"]
    assert guard.process_exception(rf.get("/"), DataError("value too long")) is None


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


# Digits that are not ASCII: "፩" (Ethiopic one) and "²" pass str.isdigit() but int() refuses them, and a run of
# ASCII digits can be far past the database's bigint. An id in a form or URL is read as an id or not at all.
ODD_IDS = ["፩", "²", "99999999999999999999999", "-1", "0"]


@pytest.mark.parametrize("value", ODD_IDS)
def test_odd_ids_in_posted_forms_and_query_strings_are_not_a_500(client_for, alice, family, value):
    client = client_for(alice)
    assert client.post(reverse("search:indexing_retry"), {"photo": value}).status_code == 302
    assert client.post(reverse("search:model_switch_confirm"), {"family": value}).status_code == 404
    photo = photo_factory(family=family, user=alice)
    assert client.get(photo.get_absolute_url(), {"from": "album", "album": value}).status_code == 200



LONE_SURROGATE = '"a\\ud800b"'  # valid JSON syntax for a string no UTF-8 can hold


@pytest.mark.parametrize(("method", "name", "body"), [
    ("post", "api_photos_bulk", '{"action": %s, "photos": [1]}' % LONE_SURROGATE),
    ("post", "api_albums", '{"name": "n", "family": 1, "search": {"q": %s}}' % LONE_SURROGATE),
    ("post", "api_judgments", '{"photo": 1, "query": %s, "relevant": true}' % LONE_SURROGATE),
    ("post", "api_token", '{"username": "alice", "password": "x", %s: 1}' % LONE_SURROGATE),  # a key too
    ("patch", "api_photo_detail", '{"tags": ["ok", %s]}' % LONE_SURROGATE),
], ids=["bulk-action", "album-search", "judgment-query", "key", "tag-in-list"])
def test_api_json_with_a_lone_surrogate_is_a_400_that_says_so(api, family, alice, method, name, body):
    """JSON may spell a lone surrogate ("\\ud800"), which is no character: echoed in an error it failed the JSON
    answer's encoding, stored it failed the database's (a 500 either way). The API reads no such text."""
    args = [photo_factory(family=family, user=alice).pk] if name == "api_photo_detail" else []
    response = getattr(api, method)(reverse(name, args=args), body, content_type="application/json")
    assert response.status_code == 400
    assert "surrogate" in response.json()["detail"]


@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_api_json_nested_past_the_parser_s_depth_is_a_400_that_says_so(api, opening):
    """Python's JSON decoder recurses per level: 100,000 levels raised RecursionError, which DRF's parser doesn't
    take for a parse error (a 500)."""
    closing = "]" if opening == "[" else "}"
    body = opening * 100_000 + "1" + closing * 100_000
    response = api.generic("POST", reverse("api_judgments"), body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["detail"]


def test_api_json_with_a_number_of_thousands_of_digits_is_a_400_in_the_clients_terms(api):
    """Python refuses to read an integer of more than 4,300 digits, and DRF passed its message on: "use
    sys.set_int_max_str_digits() to increase the limit", advice to the server's code given to the API's client.
    The 400 says what was wrong with the JSON sent."""
    response = api.generic("POST", reverse("api_judgments"), '{"photo": ' + "9" * 5000 + "}",
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"detail": "JSON parse error - a number of more than 4300 digits: no id or value "
                                         "is that long."}
