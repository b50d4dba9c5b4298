"""/api/v1/albums/: list, create (plain and smart), read, rename, delete, photos in order, add and remove with a mix
of own and foreign ids; another family's album is a 404; all in the OpenAPI schema."""

from __future__ import annotations

import pytest
from django.test import Client
from tests.factories import api_token_key

from gallery.album_services import album_add_photos, album_create
from gallery.models import Album
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    token = api_token_key(user)
    return Client(headers={"Authorization": f"Token {token}"})


@pytest.fixture
def photos(family, alice):
    return [photo_factory(family=family, user=alice) for _ in range(3)]


def test_create_list_read_rename_delete(family, alice, bob, photos):
    api = _client(bob)
    response = api.post("/api/v1/albums/", {"name": "Trip", "family": family.pk, "description": "Hills"},
                        content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["family"], body["kind"], body["search"], body["photo_count"], body["created_by"],
            body["can_manage"]) == ("Trip", family.pk, "manual", None, 0, "bob", True)
    album_id = body["id"]
    assert [a["id"] for a in api.get("/api/v1/albums/").json()["results"]] == [album_id]
    assert api.get("/api/v1/albums/", {"family": family.pk + 1000}).status_code == 404
    assert api.patch(f"/api/v1/albums/{album_id}/", {"name": "Hill trip"},
                     content_type="application/json").json()["name"] == "Hill trip"
    assert api.patch(f"/api/v1/albums/{album_id}/", {"name": "  "},
                     content_type="application/json").status_code == 400
    assert _client(alice).get(f"/api/v1/albums/{album_id}/").json()["can_manage"] is True  # the admin
    assert api.delete(f"/api/v1/albums/{album_id}/").status_code == 204
    assert not Album.objects.exists()


def test_an_album_patch_with_an_out_of_date_if_match_is_refused_and_saves_nothing(family, alice, bob, photos):
    """Two clients renaming and describing one album: the later PATCH silently replaced what the other had saved
    since it read the album (the page's rename form says so now). The album's GET gives an ETag; a PATCH with it as
    If-Match is refused with 412 (saving nothing, saying what the album reads now) when someone saved it since, as
    a photo's PATCH is; without If-Match the later PATCH stands."""
    album = album_create(user=bob, family=family, name="Trip", description="Hills")
    url = f"/api/v1/albums/{album.pk}/"
    alices, bobs = _client(alice), _client(bob)
    etag = alices.get(url).headers["ETag"]
    assert etag and bobs.get(url).headers["ETag"] == etag

    saved = bobs.patch(url, {"description": "Hills and lakes"}, content_type="application/json", headers={
        "If-Match": etag})
    assert saved.status_code == 200 and saved.headers["ETag"] != etag
    refused = alices.patch(url, {"name": "Hill trip", "description": "Hills", "cover": photos[0].pk},
                           content_type="application/json", headers={"If-Match": etag})

    assert refused.status_code == 412, refused.content
    assert refused.json()["detail"].startswith(
        "Someone else saved this album since you read it (If-Match names an older version). It now reads: "
        "name “Trip”, description “Hills and lakes”.")
    album.refresh_from_db()
    assert (album.name, album.description, album.cover_id) == ("Trip", "Hills and lakes", None)
    again = alices.patch(url, {"name": "Hill trip"}, content_type="application/json",
                         headers={"If-Match": saved.headers["ETag"]})
    assert again.status_code == 200 and again.json()["name"] == "Hill trip"
    assert alices.patch(url, {"name": "Trip"}, content_type="application/json",
                        headers={"If-Match": "garbage"}).status_code == 412
    assert alices.patch(url, {"name": "Trip"}, content_type="application/json",
                        headers={"If-Match": "*"}).status_code == 200


def test_photos_in_order_and_a_mix_of_own_and_foreign_ids(family, alice, photos, other_family, mallory):
    theirs = photo_factory(family=other_family, user=mallory)
    api = _client(alice)
    album_id = api.post("/api/v1/albums/", {"name": "Mix", "family": family.pk},
                        content_type="application/json").json()["id"]
    url = f"/api/v1/albums/{album_id}/photos/"
    response = api.post(url, {"photos": [photos[2].pk, theirs.pk, 987654, photos[0].pk]},
                        content_type="application/json")
    assert response.json() == {"results": [
        {"id": photos[2].pk, "ok": True, "reason": ""},
        {"id": theirs.pk, "ok": False, "reason": "No such photo."},
        {"id": 987654, "ok": False, "reason": "No such photo."},
        {"id": photos[0].pk, "ok": True, "reason": ""},
    ]}
    listed = api.get(url).json()
    assert [p["id"] for p in listed["results"]] == [photos[2].pk, photos[0].pk] and listed["count"] == 2
    assert api.get(f"/api/v1/albums/{album_id}/").json()["cover"] == photos[2].pk
    response = api.delete(url, {"photos": [photos[2].pk, theirs.pk]}, content_type="application/json")
    assert response.json()["results"] == [{"id": photos[2].pk, "ok": True, "reason": ""},
                                          {"id": theirs.pk, "ok": False, "reason": "Not in the album."}]
    for bad in ({"photos": []}, {"photos": ["x"]}, {"photos": list(range(1, 502))}, {}):
        assert api.post(url, bad, content_type="application/json").status_code == 400


def test_another_familys_album_is_a_404_everywhere(family, alice, photos, mallory):
    album = album_create(user=alice, family=family, name="Ours")
    album_add_photos(user=alice, album=album, photo_ids=[photos[0].pk])
    api = _client(mallory)
    assert api.get("/api/v1/albums/").json()["results"] == []
    for method, url in (("get", f"/api/v1/albums/{album.pk}/"), ("patch", f"/api/v1/albums/{album.pk}/"),
                        ("delete", f"/api/v1/albums/{album.pk}/"), ("get", f"/api/v1/albums/{album.pk}/photos/"),
                        ("post", f"/api/v1/albums/{album.pk}/photos/"),
                        ("delete", f"/api/v1/albums/{album.pk}/photos/"), ("get", "/api/v1/albums/999999/")):
        response = getattr(api, method)(url, {"photos": [photos[0].pk], "name": "x"}, content_type="application/json")
        assert response.status_code == 404, (method, url)
    assert api.post("/api/v1/albums/", {"name": "In theirs", "family": family.pk},
                    content_type="application/json").status_code == 404
    assert Album.objects.get().name == "Ours"


def test_a_member_who_is_not_the_creator_cannot_rename_or_delete(family, alice, bob):
    album = album_create(user=alice, family=family, name="Alice's")
    api = _client(bob)
    assert api.get(f"/api/v1/albums/{album.pk}/").json()["can_manage"] is False
    assert api.patch(f"/api/v1/albums/{album.pk}/", {"name": "Bob's"},
                     content_type="application/json").status_code == 403
    assert api.delete(f"/api/v1/albums/{album.pk}/").status_code == 403


def test_smart_album_through_the_api(family, alice):
    api = _client(alice)
    response = api.post("/api/v1/albums/", {"name": "Dogs", "family": family.pk,
                                            "search": {"q": "dog", "tag": "pets", "min_score": 0.4, "weights": "live"}},
                        content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "smart"
    assert (body["search"]["q"], body["search"]["tag"], body["search"]["min_score"], body["search"]["weights"]) == (
        "dog", "pets", 0.4, "live")
    bad = api.post("/api/v1/albums/", {"name": "Bad", "family": family.pk, "search": {"q": ""}},
                   content_type="application/json")
    assert bad.status_code == 400 and "search for" in str(bad.json())
    assert api.post(f"/api/v1/albums/{body['id']}/photos/", {"photos": [1]},
                    content_type="application/json").status_code == 400


def test_albums_are_in_the_schema(client, alice):
    client.force_login(alice)  # the schema is for signed-in users
    paths = client.get("/api/v1/schema/", {"format": "json"}).json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/albums/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/albums/{album_id}/"])
    assert {"get", "post", "delete"} <= set(paths["/api/v1/albums/{album_id}/photos/"])


def _component(client, name: str) -> dict:
    return client.get("/api/v1/schema/", {"format": "json"}).json()["components"]["schemas"][name]


def test_a_smart_albums_search_is_answered_as_its_schema_says(client, family, alice):
    """A smart album saved without dates answered "after": "" and "before": "", which the schema's date-or-null
    refuses (a generated client fails to parse every album list holding one), and a "plain" the schema did not
    name."""
    api = _client(alice)
    created = api.post("/api/v1/albums/", {"name": "Red", "family": family.pk, "search": {"q": "red"}},
                       content_type="application/json")
    assert created.status_code == 201, created.content
    dated = api.post("/api/v1/albums/", {"name": "Red 2023", "family": family.pk,
                                         "search": {"q": "red", "after": "2023-01-01", "plain": ["red"]}},
                     content_type="application/json").json()
    client.force_login(alice)
    smart = _component(client, "SmartSearch")["properties"]
    for body in (created.json(), api.get(f"/api/v1/albums/{created.json()['id']}/").json(),
                 *api.get("/api/v1/albums/").json()["results"]):
        search = body["search"]
        assert set(search) <= set(smart), set(search) - set(smart)
        assert search["after"] is None and search["before"] is None or body["id"] == dated["id"]
    assert (dated["search"]["after"], dated["search"]["before"], dated["search"]["plain"]) == ("2023-01-01", None, ["red"])
    assert smart["after"]["format"] == "date" and smart["after"]["nullable"] is True
    assert smart["plain"]["type"] == "array"


def test_a_member_reorders_an_album_and_picks_its_cover(family, alice, bob, photos, other_family, mallory):
    """What the album page's arrange buttons do: PUT .../photos/ puts them in an order, PATCH "cover" picks the tile's
    photo. A PATCH with "cover" used to answer 200 and change nothing, and there was no way to reorder."""
    album = album_create(user=alice, family=family, name="Trip")
    album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in photos])
    api = _client(bob)  # a member, not the creator: members arrange albums
    url = f"/api/v1/albums/{album.pk}/photos/"

    response = api.put(url, {"photos": [photos[2].pk, photos[0].pk]}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json() == {"photos": [photos[2].pk, photos[0].pk, photos[1].pk]}
    assert [p["id"] for p in api.get(url).json()["results"]] == [photos[2].pk, photos[0].pk, photos[1].pk]

    response = api.patch(f"/api/v1/albums/{album.pk}/", {"cover": photos[1].pk}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["cover"] == photos[1].pk
    assert api.patch(f"/api/v1/albums/{album.pk}/", {"cover": None},
                     content_type="application/json").json()["cover"] == photos[2].pk  # null: its first photo
    theirs = photo_factory(family=other_family, user=mallory)
    bad = api.patch(f"/api/v1/albums/{album.pk}/", {"cover": theirs.pk}, content_type="application/json")
    assert bad.status_code == 400 and "cover" in bad.json(), bad.content
    both = _client(alice).patch(f"/api/v1/albums/{album.pk}/", {"name": "Renamed", "cover": theirs.pk},
                                content_type="application/json")
    assert both.status_code == 400 and api.get(f"/api/v1/albums/{album.pk}/").json()["name"] == "Trip"  # all or none
    assert api.patch(f"/api/v1/albums/{album.pk}/", {"name": "Mine"},
                     content_type="application/json").status_code == 403  # renaming stays the creator's
    for body in ({"photos": []}, {"photos": ["x"]}, {}):
        assert api.put(url, body, content_type="application/json").status_code == 400
    assert _client(mallory).put(url, {"photos": [photos[0].pk]}, content_type="application/json").status_code == 404
    smart = album_create(user=alice, family=family, name="Red", search={"q": "red"})
    refused = api.put(f"/api/v1/albums/{smart.pk}/photos/", {"photos": [photos[0].pk]},
                      content_type="application/json")
    assert refused.status_code == 400 and "smart album" in str(refused.json())


@pytest.mark.parametrize("body, errors", [
    ({"name": "Dogs", "search": {"q": ""}}, {"search": ["A smart album needs something to search for (“q”)."]}),
    ({"name": "Dogs", "search": {"q": "dog", "after": "2023-02-30"}},
     {"search": ["“after” must be a date like 2024-06-14."]}),
    ({"name": "Dogs", "search": {"q": "dog", "weights": {"semantic": 0, "metadata": 0}}},
     {"search": ["At least one weight must be above zero."]}),
    ({"name": "Dogs", "search": "dog"}, {"search": ["A smart album's search must be an object with at least “q”."]}),
    ({"name": "  ", "search": {"q": "dog"}}, {"name": ["This field may not be blank."]}),
])
def test_a_refused_album_says_which_field_is_wrong_like_drf(family, alice, body, errors):
    """The services' messages were all answered under "detail"; a client shows each under its own field."""
    response = _client(alice).post("/api/v1/albums/", {**body, "family": family.pk}, content_type="application/json")
    assert response.status_code == 400 and response.json() == errors
    assert not Album.objects.exists()


def test_a_refused_album_change_says_which_field_is_wrong(family, alice):
    api = _client(alice)
    plain = album_create(user=alice, family=family, name="Trip")
    smart = album_create(user=alice, family=family, name="Red", search={"q": "red"})
    assert api.patch(f"/api/v1/albums/{plain.pk}/", {"search": {"q": "dog"}},
                     content_type="application/json").json() == {"search": ["Only a smart album has a search."]}
    assert api.patch(f"/api/v1/albums/{smart.pk}/", {"search": {"q": "dog", "country": "Portugal"}},
                     content_type="application/json").json() == {
        "search": ["“country” can be at most 2 characters."]}
    assert api.patch(f"/api/v1/albums/{smart.pk}/", {"name": "x", "description": "y" * 5001},
                     content_type="application/json").status_code == 400
    assert Album.objects.get(pk=smart.pk).search["q"] == "red"


def test_the_album_list_is_paginated_like_every_other_list(family, alice, other_family, mallory):
    for n in range(52):
        album_create(user=alice, family=family, name=f"Album {n:02}")
    album_create(user=mallory, family=other_family, name="Theirs")
    api = _client(alice)

    first = api.get("/api/v1/albums/").json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 52 and len(first["results"]) == 50 and first["previous"] is None
    second = api.get(first["next"]).json()
    assert [a["name"] for a in second["results"]] == ["Album 50", "Album 51"] and second["next"] is None
    assert api.get("/api/v1/albums/", {"family": family.pk, "page": 2}).json()["count"] == 52
    assert api.get("/api/v1/albums/", {"page": 3}).status_code == 404


def test_the_album_list_asks_the_database_the_same_number_of_times_for_2_or_7_plain_albums(family, alice, bob,
                                                                                             photos):
    """Each album's photos and the reader's right to manage it were asked once per album (2 + 2n queries)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gallery.trash_services import photos_trash

    api = _client(alice)

    def make(n: int) -> None:
        for i in range(n):
            album = album_create(user=bob if i % 2 else alice, family=family, name=f"Album {Album.objects.count()}")
            album_add_photos(user=alice, album=album, photo_ids=[photos[i % 3].pk, photos[(i + 1) % 3].pk])

    def queries() -> tuple[int, list[dict]]:
        with CaptureQueriesContext(connection) as ctx:
            response = api.get("/api/v1/albums/")
        assert response.status_code == 200
        return len(ctx.captured_queries), response.json()["results"]

    make(2)
    queries()  # the token's first use of the test writes its last use: not the list's
    few, _ = queries()
    make(5)
    photos_trash(user=alice, photo_ids=[photos[1].pk])  # a photo in the trash is in no album's count nor cover
    many, body = queries()
    assert few == many, (few, many)
    assert len(body) == 7
    for album in body:  # the same as each album's own answer
        alone = api.get(f"/api/v1/albums/{album['id']}/").json()
        assert (album["photo_count"], album["cover"], album["can_manage"]) == (
            alone["photo_count"], alone["cover"], alone["can_manage"])
        assert photos[1].pk != album["cover"]
    assert sum(a["photo_count"] for a in body) == 7 * 2 - 6  # six albums held the trashed photo
    assert sorted(a["can_manage"] for a in body) == [True] * 7  # alice is the family's admin
    assert sorted(a["can_manage"] for a in _client(bob).get("/api/v1/albums/").json()["results"]) == [False] * 4 + [True] * 3


@pytest.mark.parametrize("count", [2, 9])
def test_the_album_list_api_asks_the_same_few_queries_and_never_reads_whole_albums(family, alice, photos, count,
                                                                                   django_assert_max_num_queries):
    """Covers and counts in one query (it read every album's whole list of photos: 100,000 ids for 500 albums)."""
    for n in range(count):
        album = album_create(user=alice, family=family, name=f"Album {n:02d}")
        album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in photos])
        if n % 2:
            Album.objects.filter(pk=album.pk).update(cover=photos[1])
    api = _client(alice)
    with django_assert_max_num_queries(10):  # token, user, count, albums, tiles (3), roles...: none per album
        body = api.get("/api/v1/albums/").json()["results"]
    assert [(a["cover"], a["photo_count"]) for a in body] == [
        (photos[1].pk if n % 2 else photos[0].pk, 3) for n in range(count)]


def test_a_smart_album_search_naming_a_filter_it_does_not_know_is_refused_not_saved_without_it(family, alice):
    """"taken_after" (the search API's name for a date) was dropped without a word: the album was saved with no date
    at all and showed every match of any year, with a 201. So were "like", "sort" or a misspelt "palce". Now a key
    the saved search does not know is a 400 naming it (and, for the search API's names, the album's own)."""
    api = _client(alice)
    response = api.post("/api/v1/albums/", {"name": "Since 2023", "family": family.pk,
                                            "search": {"q": "dog", "taken_after": "2023-01-01", "like": [1]}},
                        content_type="application/json")
    assert response.status_code == 400, response.content
    messages = " ".join(response.json()["search"])
    assert "“taken_after”" in messages and "“after”" in messages and "“like”" in messages
    assert not family.albums.exists()
    album = api.post("/api/v1/albums/", {"name": "Dogs", "family": family.pk, "search": {"q": "dog"}},
                     content_type="application/json").json()
    patched = api.patch(f"/api/v1/albums/{album['id']}/", {"search": {**album["search"], "palce": "Lisbon"}},
                        content_type="application/json")
    assert patched.status_code == 400 and "“palce”" in " ".join(patched.json()["search"])
    # What the API answered for an album is a search it takes back as it is.
    assert api.patch(f"/api/v1/albums/{album['id']}/", {"search": album["search"]},
                     content_type="application/json").status_code == 200
