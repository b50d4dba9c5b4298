from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from rest_framework.pagination import PageNumberPagination

from gallery.models import Membership, Photo
from tests import images
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, api_token_key, photo_factory

pytestmark = pytest.mark.django_db



@pytest.fixture
def api(alice):
    """A client that authenticates like a script would: with a token from the token endpoint."""
    client = Client()
    response = client.post(reverse("api_token"), {"username": "alice", "password": "correct horse battery"})
    assert response.status_code == 201, response.content
    token = response.json()["token"]
    return Client(headers={"Authorization": f"Token {token}"})


def test_token_endpoint_issues_a_token_that_authenticates(client, family, alice):
    photo = photo_factory(family=family, user=alice)
    response = client.post(reverse("api_token"), {"username": "alice", "password": "correct horse battery"})
    token = response.json()["token"]

    anonymous = Client().get(reverse("api_photos"))
    with_token = Client().get(reverse("api_photos"), headers={"Authorization": f"Token {token}"})

    assert anonymous.status_code in (401, 403)
    assert with_token.status_code == 200
    assert [p["id"] for p in with_token.json()["results"]] == [photo.pk]
    # A second request makes a second token (one per device or script); both work.
    again = client.post(reverse("api_token"), {"username": "alice", "password": "correct horse battery"})
    assert again.json()["token"] != token
    assert Client().get(reverse("api_photos"), headers={"Authorization": f"Token {again.json()['token']}"}).status_code == 200


def test_token_endpoint_refuses_a_wrong_password(client, alice):
    response = client.post(reverse("api_token"), {"username": "alice", "password": "wrong"})
    assert response.status_code == 400
    assert "token" not in response.json()


def test_families_lists_mine_with_photo_counts(api, family, alice, other_family, mallory):
    MembershipFactory(family=other_family, user=alice)
    photo_factory(family=family, user=alice)
    photo_factory(family=family, user=alice)
    photo_factory(family=other_family, user=mallory)

    response = api.get(reverse("api_families"))

    assert response.status_code == 200
    assert [{k: f[k] for k in ("id", "name", "photo_count")} for f in response.json()] == [
        {"id": other_family.pk, "name": "Joneses", "photo_count": 1},
        {"id": family.pk, "name": "Smiths", "photo_count": 2},
    ]


def test_upload_creates_a_photo(api, family, alice):
    data = images.jpeg(colour=(12, 34, 56), size=(80, 60))
    response = api.post(reverse("api_photos"), {
        "file": SimpleUploadedFile("Garden_party.jpg", data, content_type="image/jpeg"),
        "family": family.pk, "tags": "garden, Party, party", "description": "Summer",
    })

    assert response.status_code == 201, response.content
    body = response.json()
    photo = Photo.objects.get(pk=body["id"])
    assert photo.family == family and photo.uploaded_by == alice
    assert body["family"] == family.pk and body["uploaded_by"] == "alice"
    assert body["title"] == "Garden party" and body["description"] == "Summer"
    assert body["tags"] == ["garden", "Party"]
    assert body["status"] == "pending"
    assert (body["width"], body["height"], body["mime_type"], body["file_size"]) == (80, 60, "image/jpeg", len(data))
    assert body["thumbnail_url"] == f"http://testserver{photo.thumbnail_url}"
    assert body["original_url"] == f"http://testserver{photo.original_url}"
    assert body["url"] == f"http://testserver{photo.get_absolute_url()}"
    with photo.original.open("rb") as f:
        assert f.read() == data


def test_upload_of_a_corrupt_file_is_400_with_the_reason(api, family):
    response = api.post(reverse("api_photos"), {
        "file": SimpleUploadedFile("broken.jpg", images.truncated_jpeg()), "family": family.pk,
    })
    assert response.status_code == 400
    (reason,) = response.json()["file"]
    assert reason.startswith("The file is incomplete (cut off): broken.jpg")
    assert not Photo.objects.exists()


@pytest.mark.parametrize(("name", "data", "reason"), [("notes.jpg", images.TEXT, "Not an image"), ("empty.jpg", b"", "empty")])
def test_upload_of_other_bad_files_is_400(api, family, name, data, reason):
    response = api.post(reverse("api_photos"), {"file": SimpleUploadedFile(name, data), "family": family.pk})
    assert response.status_code == 400
    assert reason in str(response.json()["file"])


def test_upload_of_a_duplicate_is_409_pointing_at_the_existing_photo(api, family):
    data = images.jpeg(colour=(99, 1, 1))
    first = api.post(reverse("api_photos"), {"file": SimpleUploadedFile("a.jpg", data), "family": family.pk})
    again = api.post(reverse("api_photos"), {"file": SimpleUploadedFile("b.jpg", data), "family": family.pk})

    assert again.status_code == 409
    assert again.json()["photo"]["id"] == first.json()["id"]
    assert "Already in Smiths" in again.json()["detail"]
    assert Photo.objects.count() == 1


def test_an_upload_of_several_files_in_one_request_is_refused_not_cut_to_the_last(api, family):
    """The API stores one photo per request: several `file` parts are refused with the reason, none silently
    dropped (the QA trial saw only the last of three stored)."""
    files = [SimpleUploadedFile(f"{n}.jpg", images.jpeg(colour=(n, 2, 3))) for n in (10, 20, 30)]
    response = api.post(reverse("api_photos"), {"file": files, "family": family.pk})

    assert response.status_code == 400
    (reason,) = response.json()["file"]
    assert "One file per request" in reason and "3" in reason
    assert not Photo.objects.exists()


def test_upload_needs_file_and_family(api, family):
    response = api.post(reverse("api_photos"), {"tags": "x"})
    assert response.status_code == 400
    assert set(response.json()) == {"file", "family"}


def test_list_is_paginated_newest_first(api, family, alice, monkeypatch):
    monkeypatch.setattr(PageNumberPagination, "page_size", 2)  # DRF reads PAGE_SIZE once at import
    photos = [photo_factory(family=family, user=alice) for _ in range(3)]
    newest_first = [p.pk for p in sorted(photos, key=lambda p: (p.taken_at, p.pk), reverse=True)]

    first = api.get(reverse("api_photos")).json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 3 and first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/photos/?page=2"
    second = api.get(first["next"]).json()
    assert second["next"] is None
    assert [p["id"] for p in first["results"] + second["results"]] == newest_first


def test_list_filters_by_family_tag_and_uploader(api, family, alice, bob):
    beach = photo_factory(family=family, user=alice, tags=["Beach"])
    by_bob = photo_factory(family=family, user=bob)

    assert [p["id"] for p in api.get(reverse("api_photos"), {"tag": "beach"}).json()["results"]] == [beach.pk]
    assert [p["id"] for p in api.get(reverse("api_photos"), {"uploaded_by": bob.pk}).json()["results"]] == [by_bob.pk]
    assert api.get(reverse("api_photos"), {"family": family.pk}).json()["count"] == 2
    assert api.get(reverse("api_photos"), {"family": "not-a-number"}).status_code == 400


def test_list_filters_by_city_and_country_as_the_timeline_does(api, family, alice):
    """The Explore page's places (?city=, ?country=) filter the timeline; the API took them and silently returned
    every photo."""
    lisbon = photo_factory(family=family, user=alice)
    Photo.objects.filter(pk=lisbon.pk).update(place_city="Lisbon", place_country="Portugal", place_country_code="PT")
    porto = photo_factory(family=family, user=alice)
    Photo.objects.filter(pk=porto.pk).update(place_city="Porto", place_country="Portugal", place_country_code="PT")
    photo_factory(family=family, user=alice)  # no place

    ids = lambda params: [p["id"] for p in api.get(reverse("api_photos"), params).json()["results"]]  # noqa: E731
    assert ids({"city": "lisbon"}) == [lisbon.pk]
    assert sorted(ids({"country": "pt"})) == sorted([lisbon.pk, porto.pk])
    assert ids({"country": "ES"}) == []
    refused = api.get(reverse("api_photos"), {"country": "Portugal"})
    assert refused.status_code == 400 and refused.json()["country"] == ["A country's two-letter ISO code: PT, GB, US."]
    memories = api.get(reverse("api_memories"), {"country": "Portugal"})
    assert memories.status_code == 400


def test_detail_get(api, family, alice):
    photo = photo_factory(family=family, user=alice, tags=["a"])
    body = api.get(reverse("api_photo_detail", args=[photo.pk])).json()
    assert body["id"] == photo.pk and body["tags"] == ["a"] and body["sha256"] == photo.sha256


def test_patch_updates_tags_and_description(api, family, alice):
    photo = photo_factory(family=family, user=alice, tags=["old"])
    response = api.patch(
        reverse("api_photo_detail", args=[photo.pk]),
        {"tags": ["Beach", "beach", " Sunset "], "description": "  Evening walk "},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["Beach", "Sunset"]
    assert response.json()["description"] == "Evening walk"
    photo.refresh_from_db()
    assert photo.description == "Evening walk"
    assert sorted(t.name for t in photo.tags.all()) == ["Beach", "Sunset"]
    assert photo.title  # untouched fields stay


def test_patch_rejects_bad_input(api, family, alice):
    photo = photo_factory(family=family, user=alice)
    url = reverse("api_photo_detail", args=[photo.pk])
    assert api.patch(url, {"title": "x" * 300}, content_type="application/json").status_code == 400
    assert api.patch(url, {"tags": "not-a-list"}, content_type="application/json").status_code == 400
    assert api.patch(url, {"tags": [f"t{i}" for i in range(51)]}, content_type="application/json").status_code == 400
    photo.refresh_from_db()
    assert not photo.tags.exists()


def test_delete_is_204_and_moves_the_photo_to_the_trash(api, family, alice, django_capture_on_commit_callbacks):
    photo = photo_factory(family=family, user=alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(reverse("api_photo_detail", args=[photo.pk]))
    assert response.status_code == 204
    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert Photo.all_objects.get(pk=photo.pk).trashed_at is not None
    assert photo.original.storage.exists(photo.original.name)  # until deleted for good
    assert api.get(reverse("api_photo_detail", args=[photo.pk])).status_code == 404


def test_delete_by_a_plain_member_who_did_not_upload_is_403(client_for, family, alice):
    carol = UserFactory(username="carol")
    MembershipFactory(family=family, user=carol, role=Membership.Role.MEMBER)
    photo = photo_factory(family=family, user=alice)
    response = client_for(carol).delete(reverse("api_photo_detail", args=[photo.pk]))
    assert response.status_code == 403
    assert "Only the uploader or a family admin can move this photo to the trash" in response.json()["detail"]
    assert Photo.objects.filter(pk=photo.pk).exists()


def test_schema_is_an_openapi_document_describing_the_photo_endpoints(client, alice):
    client.force_login(alice)  # the schema is for signed-in users
    response = client.get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/photos/" in schema["paths"]
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/photos/"])
    assert {"get", "patch", "delete"} <= set(schema["paths"]["/api/v1/photos/{photo_id}/"])
    assert "/api/v1/families/" in schema["paths"]
    upload = schema["paths"]["/api/v1/photos/"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in upload


def test_schema_default_format_is_yaml_that_names_the_photos_path(client, alice):
    client.force_login(alice)
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"/api/v1/photos/:" in response.content


@pytest.mark.parametrize("params", [{}, {"format": "yaml"}, {"format": "json"}])
def test_the_schema_refuses_a_visitor_in_json_as_every_endpoint_does(client, params):
    """It answered its 401 in YAML (the schema's own default format), where every other endpoint answers JSON."""
    response = client.get("/api/v1/schema/", params)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]


def test_token_clients_can_fetch_the_image_urls_the_api_gives_them(api, family, alice, mallory, other_family):
    mine = photo_factory(family=family, user=alice)
    theirs = photo_factory(family=other_family, user=mallory)
    body = api.get(reverse("api_photo_detail", args=[mine.pk])).json()
    for url in (body["thumbnail_url"], body["original_url"]):
        response = api.get(url)
        assert response.status_code == 200 and response["Content-Type"].startswith("image/")
    assert api.get(theirs.thumbnail_url).status_code == 404
    assert Client(headers={"Authorization": "Token not-a-token"}).get(mine.thumbnail_url).status_code == 401


def test_unauthenticated_api_calls_get_401_with_a_token_challenge(db):
    response = Client().get(reverse("api_photos"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_family_filter_naming_another_or_no_family_is_a_404_on_every_list(family, alice, other_family, mallory):
    """The trash, judgments, duplicates and quality answered 404 for another family's id, but photos, albums and
    search answered an empty 200: a client could not tell "no photos" from "wrong family". Now all alike."""
    api = Client(headers={"Authorization": f"Token {api_token_key(alice)}"})
    photo_factory(family=family, user=alice)
    for url, params in (("api_photos", {}), ("api_albums", {}), ("api_search", {"q": "red"}), ("api_trash", {}),
                        ("api_judgments", {})):
        assert api.get(reverse(url), {**params, "family": family.pk}).status_code == 200, url
        for family_id in (other_family.pk, other_family.pk + 1000):
            response = api.get(reverse(url), {**params, "family": family_id})
            assert (response.status_code, response.json()) == (404, {"detail": "No such family."}), url


def test_what_a_post_creates_is_answered_with_its_location(api, family, alice):
    """A 201 names the new resource in Location (RFC 9110), so a client follows it instead of building the URL."""
    upload = api.post(reverse("api_photos"), {
        "file": SimpleUploadedFile("a.jpg", images.jpeg(colour=(1, 2, 3)), content_type="image/jpeg"),
        "family": family.pk})
    album = api.post(reverse("api_albums"), {"name": "Trip", "family": family.pk}, content_type="application/json")
    judgment = api.post(reverse("api_judgments"), {"query": "red", "photo": upload.json()["id"], "relevant": True},
                        content_type="application/json")
    for response, name in ((upload, "api_photo_detail"), (album, "api_album_detail"),
                           (judgment, "api_judgment_detail")):
        assert response.status_code == 201, response.content
        assert response["Location"] == f"http://testserver{reverse(name, args=[response.json()['id']])}"
        assert api.get(response["Location"]).json()["id"] == response.json()["id"]


def test_families_name_their_members_so_a_client_can_filter_by_uploader(api, family, alice, bob, other_family,
                                                                         mallory):
    """The photo list's `uploaded_by` and search's `uploader` take a user id, but the API gave no user's id anywhere
    (a photo names its uploader by username): a client could not use either filter."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    by_bob = photo_factory(family=family, user=bob)
    photo_factory(family=family, user=alice)
    api.get(reverse("api_families"))
    with CaptureQueriesContext(connection) as one_family:
        body = api.get(reverse("api_families")).json()
    [smiths] = body
    assert smiths["members"] == [{"id": alice.pk, "username": "alice", "role": "admin"},
                                 {"id": bob.pk, "username": "bob", "role": "member"}]
    bobs_id = next(m["id"] for m in smiths["members"] if m["username"] == "bob")
    assert [p["id"] for p in api.get(reverse("api_photos"), {"uploaded_by": bobs_id}).json()["results"]] == [by_bob.pk]

    MembershipFactory(family=other_family, user=alice)
    with CaptureQueriesContext(connection) as two_families:
        body = api.get(reverse("api_families")).json()
    assert [len(f["members"]) for f in body] == [2, 2]  # Joneses: mallory and alice
    assert len(two_families.captured_queries) == len(one_family.captured_queries)


def test_the_schema_says_which_answers_carry_a_location(client, alice):
    client.force_login(alice)
    paths = client.get("/api/v1/schema/", {"format": "json"}).json()["paths"]
    for path in ("/api/v1/photos/", "/api/v1/albums/", "/api/v1/search/judgments/"):
        assert "Location" in paths[path]["post"]["responses"]["201"]["headers"], path


def test_a_body_too_large_or_of_too_many_fields_is_answered_in_json_and_changes_nothing(api, family, alice, settings):
    """A JSON body over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), or a form body of more fields than
    DATA_UPLOAD_MAX_NUMBER_FIELDS, was answered with the site's HTML "Bad request" page: a script parsing the answer as
    JSON failed on it, and nothing said what was wrong. The API answers 413 (the schema's, for every body) and 400,
    each with its `detail` in JSON."""
    photo = photo_factory(family=family, user=alice)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    too_large = api.patch(f"/api/v1/photos/{photo.pk}/", {"title": "x" * 2000}, content_type="application/json")
    assert too_large.status_code == 413 and too_large["Content-Type"] == "application/json"
    assert too_large.json() == {"detail": "The request's body is over 1000 bytes, the most this server reads "
                                          "(DATA_UPLOAD_MAX_MEMORY_SIZE): send less at once."}
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    many = api.post("/api/v1/photos/bulk/", "&".join(["action=favourite"] + [f"photos={photo.pk}"] * 20),
                    content_type="application/x-www-form-urlencoded")
    assert many.status_code == 400 and many["Content-Type"] == "application/json"
    assert many.json() == {"detail": "The request has more than 10 fields, the most this server reads "
                                     "(DATA_UPLOAD_MAX_NUMBER_FIELDS): send JSON, or fewer at once."}
    photo.refresh_from_db()
    assert photo.title != "x" * 2000 and not photo.favourites.exists()


@pytest.mark.parametrize("path, query", [
    ("/api/v1/photos/", "family={family}&family={second}"),
    ("/api/v1/memories/", "family={family}&family={second}"),
    ("/api/v1/trash/", "family={family}&family={second}"),
    ("/api/v1/albums/", "family={family}&family={second}"),
    ("/api/v1/search/", "q=beach&family={family}&family={second}"),
    ("/api/v1/search/judgments/", "family={family}&family={second}"),
    ("/api/v1/search/quality/", "family={family}&family={second}"),
    ("/api/v1/duplicates/", "family={family}&family={second}"),
    ("/api/v1/photos/", "taken_after=2020-01-01&taken_after=2021-01-01"),
    ("/api/v1/search/", "q=beach&q=dog"),
    ("/api/v1/families/{family}/suggestions/", "min_probability=0.5&min_probability=0.9"),
    ("/api/v1/photos/{photo}/similar/", "limit=3&limit=30"),
    # A list as jQuery and axios write one: the filter was ignored, the photos of every family answered.
    ("/api/v1/photos/", "family[]={family}&family[]={second}"),
    ("/api/v1/search/", "q=beach&family[0]={family}"),
])
def test_a_parameter_that_takes_one_value_given_twice_is_refused_by_name(api, family, alice, other_family, path,
                                                                         query):
    """`family=1&family=2` (how most HTTP libraries send a list) was read as its last value alone: the photos of one
    family where a script asked for two, without a word. A parameter that takes one value answers 400 naming it
    when it comes more than once; `plain`, `like` and `unlike` take several."""
    MembershipFactory(family=other_family, user=alice)
    photo = photo_factory(family=family, user=alice)
    ids = {"family": family.pk, "second": other_family.pk, "photo": photo.pk}
    response = api.get(f"{path.format(**ids)}?{query.format(**ids)}")
    name = query.split("&")[-1].split("=")[0].split("[")[0]
    assert response.status_code == 400, response.content
    assert response.json() == {name: [f"“{name}” takes one value: {name}=…, without brackets." if "[" in query else
                                      f"Give “{name}” once: it takes one value."]}


def test_a_form_field_that_takes_one_value_given_twice_is_refused_and_changes_nothing(api, family, alice, other_family):
    """Form bodies (the API takes them beside JSON) read a repeated field by its last value too: an upload naming two
    families was stored in the second, `family=1&family=2` emptied the second family's trash. Refused by name, as in
    a query string; nothing is stored or deleted."""
    from gallery.trash_services import photos_trash

    MembershipFactory(family=other_family, user=alice, role=Membership.Role.ADMIN)
    trashed = photo_factory(family=other_family, user=alice)
    photos_trash(user=alice, photo_ids=[trashed.pk])
    emptied = api.post("/api/v1/trash/empty/", f"family={family.pk}&family={other_family.pk}",
                       content_type="application/x-www-form-urlencoded")
    upload = api.post("/api/v1/photos/", {"file": SimpleUploadedFile("a.jpg", images.jpeg(), "image/jpeg"),
                                          "family": [family.pk, other_family.pk]})
    once = "Give “family” once: it takes one value."
    assert (emptied.status_code, emptied.json()) == (400, {"family": [once]})
    assert (upload.status_code, upload.json()) == (400, {"family": [once]})
    assert Photo.all_objects.filter(pk=trashed.pk).exists()
    assert list(Photo.all_objects.values_list("pk", flat=True)) == [trashed.pk]


def test_a_list_parameter_sent_with_brackets_is_refused_rather_than_ignored(api, family, alice):
    """`like[]=12&like[]=15` (jQuery's and axios' way) named no parameter: the search was answered unrefined, as if
    nothing had been marked. A parameter that takes several says how to send them."""
    photo = photo_factory(family=family, user=alice)
    for name in ("like", "unlike", "plain"):
        response = api.get(f"/api/v1/search/?q=beach&{name}[]={photo.pk}&{name}[]={photo.pk}")
        assert response.status_code == 400, name
        assert response.json() == {name: [f"Repeat “{name}” for each value ({name}=…&{name}=…), without brackets."]}


@pytest.mark.parametrize(("method", "path", "body", "field"), [
    ("patch", "/api/v1/photos/{photo}/", {"title": 5}, "title"),
    ("patch", "/api/v1/photos/{photo}/", {"description": 1.5}, "description"),
    ("patch", "/api/v1/photos/{photo}/", {"tags": [1, 2]}, "tags"),
    ("patch", "/api/v1/photos/{photo}/", {"place": {"city": 5, "country_code": "PT"}}, "place"),
    ("post", "/api/v1/photos/bulk/", {"action": "add_tags", "photos": ["{photo}"], "tags": [7]}, "tags"),
    ("post", "/api/v1/albums/", {"family": "{family}", "name": 2024}, "name"),
    ("patch", "/api/v1/albums/{album}/", {"description": 5}, "description"),
    ("post", "/api/v1/albums/{album}/shares/", {"note": 5}, "note"),
    ("post", "/api/v1/search/judgments/", {"query": 5, "photo": "{photo}", "relevant": True}, "query"),
    ("post", "/api/v1/duplicates/dismiss/", {"family": "{family}", "group": 12}, "group"),
])
def test_a_number_sent_where_text_is_expected_is_refused_by_name(api, family, alice, method, path, body, field):
    """DRF's CharField took a JSON number for its text: `"tags": [1, 2]` stored the tags "1" and "2", `"title": 5` the
    title "5", where a script had sent ids or a value of the wrong field. Refused as true, false and lists were,
    naming the field; nothing is stored."""
    from gallery.album_services import album_create

    photo = photo_factory(family=family, user=alice, tags=["old"])
    album = album_create(user=alice, family=family, name="Holidays")
    ids = {"photo": photo.pk, "family": family.pk, "album": album.pk}

    def filled(value):
        if isinstance(value, dict):
            return {key: filled(item) for key, item in value.items()}
        if isinstance(value, list):
            return [filled(item) for item in value]
        return int(value.format(**ids)) if isinstance(value, str) and value.startswith("{") else value

    response = getattr(api, method)(path.format(**ids), filled(body), content_type="application/json")

    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert "text is required, not a number" in str(response.json()[field]).lower(), response.json()
    photo.refresh_from_db()
    album.refresh_from_db()
    assert [t.name for t in photo.tags.all()] == ["old"] and photo.title != "5" and album.description == ""
    assert not album.shares.exists()


def test_numbers_in_a_form_body_are_text_as_every_value_there_is(api, family, alice):
    """A form body carries text only: "5" stays a title there, and tags typed as digits are tags."""
    photo = photo_factory(family=family, user=alice)

    said = api.patch(f"/api/v1/photos/{photo.pk}/", {"title": 2024}, content_type="application/json").json()
    response = api.patch(f"/api/v1/photos/{photo.pk}/", "title=5&description=2024",
                         content_type="application/x-www-form-urlencoded")
    upload = api.post("/api/v1/photos/", {"file": SimpleUploadedFile("a.jpg", images.jpeg(), "image/jpeg"),
                                          "family": family.pk, "tags": "1, 2", "description": "42"})

    assert said == {"title": ['Text is required, not a number: send it as a JSON string ("2024").']}
    assert response.status_code == 200, response.content
    assert (response.json()["title"], response.json()["description"]) == ("5", "2024")
    assert upload.status_code == 201, upload.content
    assert sorted(upload.json()["tags"]) == ["1", "2"] and upload.json()["description"] == "42"


def test_every_text_an_input_serializer_takes_refuses_a_json_number():
    """Every serializer of a request's body or query string (gallery.api_fields.ParamsSerializer), with those nested
    in it and its lists' items, reads text with TextField: a CharField added later would take 5 for "5" again."""
    from rest_framework import serializers

    from gallery.api_fields import ParamsSerializer, TextField
    from mediasearch import urls  # noqa: F401 - every API module imported, its serializers defined

    def every(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from every(sub)

    def text_fields(serializer, where):
        for name, field in serializer.fields.items():
            field = field.child if isinstance(field, serializers.ListField) else field
            if isinstance(field, serializers.Serializer):
                yield from text_fields(field, f"{where}.{name}")
            elif isinstance(field, serializers.CharField):
                yield f"{where}.{name}", field

    found = [(where, field) for cls in every(ParamsSerializer) for where, field in text_fields(cls(), cls.__qualname__)]
    assert len(found) > 20
    assert [where for where, field in found if not isinstance(field, TextField)] == []


def test_a_json_merge_patch_is_read_as_the_json_patch_it_is(api, family, alice):
    """`Content-Type: application/merge-patch+json` (RFC 7396: what such clients send for PATCH) was a 415; our
    PATCH merges already (what is left out stays), so it is read as JSON on every PATCH endpoint."""
    from gallery.album_services import album_create

    photo = photo_factory(family=family, user=alice, tags=["old"])
    album = album_create(user=alice, family=family, name="Holidays")
    merge = "application/merge-patch+json"

    patched = api.patch(f"/api/v1/photos/{photo.pk}/", {"title": "Beach"}, content_type=merge)
    renamed = api.patch(f"/api/v1/albums/{album.pk}/", {"name": "Summer"}, content_type=merge)
    prefs = api.patch("/api/v1/search/preferences/", {"min_score": 0.4}, content_type=merge)
    wrong = api.patch(f"/api/v1/photos/{photo.pk}/", {"title": 5}, content_type=merge)

    assert (patched.status_code, patched.json()["title"], patched.json()["tags"]) == (200, "Beach", ["old"])
    assert (renamed.status_code, renamed.json()["name"]) == (200, "Summer")
    assert (prefs.status_code, prefs.json()["min_score"]) == (200, 0.4)
    assert wrong.status_code == 400 and "title" in wrong.json()


@pytest.mark.parametrize("content_type", ["application/merge-patch+json", "application/json"])
def test_a_merge_patchs_null_clears_a_title_and_a_description_and_is_refused_by_name_elsewhere(api, family, alice,
                                                                                              content_type):
    """RFC 7396: a member set to null is removed. `{"title": null}` was a 400 ("This field may not be null."), so a
    merge-patch client could not clear a title. null now clears what may be empty, a photo's title and description
    and an album's description, as "" does (a title cleared is nobody's, title_source "", as the API documents an
    empty one: it was "member"); a field that can't be
    empty (tags: send [] to take them all off; a date, a rotation, a place, an album's name or search) is refused
    with a 400 that names it, nothing saved."""
    from gallery.album_services import album_create

    photo = photo_factory(family=family, user=alice, tags=["old"])
    Photo.objects.filter(pk=photo.pk).update(title="Beach", title_source=Photo.FieldSource.MEMBER,
                                             description="Sunny", description_source=Photo.FieldSource.MEMBER)
    album = album_create(user=alice, family=family, name="Holidays", description="Summer")

    cleared = api.patch(f"/api/v1/photos/{photo.pk}/", {"title": None, "description": None},
                        content_type=content_type)
    album_cleared = api.patch(f"/api/v1/albums/{album.pk}/", {"description": None}, content_type=content_type)

    assert cleared.status_code == 200, cleared.content
    assert (cleared.json()["title"], cleared.json()["description"]) == ("", "")
    photo.refresh_from_db()
    emptied = Photo.objects.get(pk=photo_factory(family=family, user=alice).pk)  # and as "" leaves one
    api.patch(f"/api/v1/photos/{emptied.pk}/", {"title": "x"}, content_type=content_type)
    api.patch(f"/api/v1/photos/{emptied.pk}/", {"title": ""}, content_type=content_type)
    emptied.refresh_from_db()
    assert (photo.title, photo.title_source) == ("", "") == (emptied.title, emptied.title_source)
    assert cleared.json()["title_source"] == ""
    assert (photo.description, photo.tags.count()) == ("", 1)
    assert album_cleared.status_code == 200 and album_cleared.json()["description"] == ""

    for body in ({"tags": None}, {"taken_at": None}, {"rotation": None}, {"place": None}):
        refused = api.patch(f"/api/v1/photos/{photo.pk}/", {"title": "Kept?", **body}, content_type=content_type)
        assert refused.status_code == 400 and set(refused.json()) == set(body), (body, refused.content)
    for body in ({"name": None}, {"search": None}):
        refused = api.patch(f"/api/v1/albums/{album.pk}/", body, content_type=content_type)
        assert refused.status_code == 400 and set(refused.json()) == set(body), (body, refused.content)
    photo.refresh_from_db()
    album.refresh_from_db()
    assert (photo.title, list(photo.tags.values_list("name", flat=True)), album.name) == ("", ["old"], "Holidays")


def test_a_delete_with_a_body_too_large_is_the_documented_413(api, family, alice, settings):
    from gallery.album_services import album_add_photos, album_create

    photo = photo_factory(family=family, user=alice)
    album = album_create(user=alice, family=family, name="Holidays")
    album_add_photos(user=alice, album=album, photo_ids=[photo.pk])
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api.delete(f"/api/v1/albums/{album.pk}/photos/", {"photos": [photo.pk] * 500},
                          content_type="application/json")

    assert response.status_code == 413 and "DATA_UPLOAD_MAX_MEMORY_SIZE" in response.json()["detail"]
    assert list(album.photos.values_list("pk", flat=True)) == [photo.pk]


def test_the_list_of_families_with_their_uploaders_costs_the_same_queries_for_one_family_or_many(api, family, alice,
                                                                                                 bob):
    """Each family's members and uploaders come from one query each over all of the user's families (with the
    families and their counts, three in all), whatever their number: no query, nor pass over every account, per
    family."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    photo_factory(family=family, user=alice)
    photo_factory(family=family, user=bob)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(reverse("api_families")).status_code == 200
        return len(captured)

    queries()  # (the token's first use writes when it was used)
    with_one = queries()
    for name in ("Joneses", "Parkers", "Lees"):
        other = FamilyFactory(name=name)
        MembershipFactory(family=other, user=alice, role="admin")
        someone = UserFactory(username=f"{name.lower()}-kid")
        MembershipFactory(family=other, user=someone)
        photo_factory(family=other, user=someone)
        photo_factory(family=other, user=alice)

    assert queries() == with_one
    listed = {f["name"]: [u["username"] for u in f["uploaders"]] for f in api.get(reverse("api_families")).json()}
    assert listed == {"Smiths": ["alice", "bob"], "Joneses": ["alice", "joneses-kid"], "Lees": ["alice", "lees-kid"],
                      "Parkers": ["alice", "parkers-kid"]}


def test_a_leavers_uploads_are_found_by_uploaded_by_in_the_families_they_left_only(api, family, alice, bob,
                                                                                  other_family, mallory):
    """bob uploaded to the Smiths, then left: his photos stay the family's, but the API named no id of his anywhere
    (`members` lists those in the family; a photo names its uploader by username), so `uploaded_by` could not find
    them, though the search page's "Uploaded by" lists him. Each family lists its `uploaders` (ids and usernames:
    whoever's photos are in it, members or not), as that list does, and only to the family's own members."""
    from gallery.services import membership_remove

    by_bob = photo_factory(family=family, user=bob)
    photo_factory(family=family, user=alice)
    photo_factory(family=other_family, user=mallory)
    membership_remove(family=family, user=bob)
    MembershipFactory(family=other_family, user=bob)  # (bob is in the Joneses now, with mallory)

    [smiths] = api.get(reverse("api_families")).json()
    assert [m["username"] for m in smiths["members"]] == ["alice"]
    assert smiths["uploaders"] == [{"id": alice.pk, "username": "alice"}, {"id": bob.pk, "username": "bob"}]
    found = api.get(reverse("api_photos"), {"uploaded_by": bob.pk, "family": family.pk}).json()
    assert [p["id"] for p in found["results"]] == [by_bob.pk]

    # Neither bob nor mallory, in the Joneses, sees the Smiths' uploaders, nor bob's photos there.
    for user in (bob, mallory):
        them = Client(headers={"Authorization": f"Token {api_token_key(user)}"})
        [joneses] = them.get(reverse("api_families")).json()
        assert joneses["id"] == other_family.pk
        assert joneses["uploaders"] == [{"id": mallory.pk, "username": "mallory"}]
        assert them.get(reverse("api_photos"), {"uploaded_by": bob.pk}).json()["count"] == 0
