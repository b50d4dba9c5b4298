"""Bulk actions: the service, the API and the selection bar's endpoint, with own, foreign and missing ids."""

from __future__ import annotations

import html
import io
import json
import os
import re
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.db.models import F
from django.urls import reverse

from gallery.album_services import OTHER_FAMILY
from gallery.bulk import BULK_MAX_PHOTOS, NOT_FOUND, BulkResult, photos_add_to_new_album, photos_bulk_apply
from gallery.correction_services import taken_days_refresh
from gallery.models import Album, Photo, PhotoTag
from gallery.services import MAX_TAGS, photo_tags_add
from tests.factories import MembershipFactory, photo_factory

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


def test_add_tags_makes_a_tag_from_the_file_the_members_and_keeps_its_name(family, alice):
    photo = photo_factory(family=family, user=alice)
    photo_tags_add(photo=photo, names=["Beach"], source=PhotoTag.Source.EMBEDDED)

    photos_bulk_apply(user=alice, action="add_tags", photo_ids=[photo.pk], tags=["beach", "sea"])

    links = {link.tag.name: link for link in PhotoTag.objects.filter(photo=photo).select_related("tag")}
    assert sorted(links) == ["Beach", "sea"]
    assert {link.source for link in links.values()} == {PhotoTag.Source.MEMBER}
    assert {link.added_by_id for link in links.values()} == {alice.pk}


def test_add_tags_to_many_photos_takes_a_few_queries_not_a_few_per_photo(family, alice, other_family,
                                                                        django_assert_max_num_queries):
    MembershipFactory(family=other_family, user=alice)
    photos = [photo_factory(family=family if n % 2 else other_family, user=alice) for n in range(30)]

    # (one of them reads the names as the database's unique index does, names_folded: once per request, not per family;
    # and one a family looks for the names merged away, TagMerge, as its tags are made)
    with django_assert_max_num_queries(33):
        results = photos_bulk_apply(user=alice, action="add_tags", photo_ids=[p.pk for p in photos], tags=["a", "b"])

    assert all(r.ok for r in results)
    assert {tag_names(p) == ["a", "b"] for p in photos} == {True}
    # Each family's photos got that family's tag: no tag row is shared across families.
    assert PhotoTag.objects.filter(photo__in=photos).exclude(tag__family_id=F("photo__family_id")).count() == 0


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


def test_the_bar_counts_only_the_photos_whose_tags_changed(client_for, family, alice):
    """"Tags removed from 2 photos" when neither had the tag was false: a photo left as it was is said apart."""
    tagged = photo_factory(family=family, user=alice, tags=["beach"])
    bare = photo_factory(family=family, user=alice)
    client = client_for(alice)

    def summary(action: str, photos: list, tags: str) -> str:
        response = client.post(reverse("gallery:photos_bulk"), {"action": action, "photos": [p.pk for p in photos],
                                                                 "tags": tags}, headers={"HX-Request": "true"})
        return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())

    assert summary("add_tags", [tagged, bare], "Beach") == "Tags added to 1 photo. 1 unchanged: It had these tags already."
    assert summary("remove_tags", [tagged, bare], "dog") == "Nothing was done. 2 unchanged: It had none of these tags."
    assert summary("remove_tags", [tagged], "beach, dog") == "Tags removed from 1 photo."
    assert tag_names(tagged) == [] and tag_names(bare) == ["beach"]


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


# --- the pages: selection bar and its endpoint ---------------------------------------------------------------------


def test_timeline_and_search_tiles_carry_boxes_of_the_selection_form(client_for, family, alice):
    photo = photo_factory(family=family, user=alice, filename="beach day.jpg")
    client = client_for(alice)

    for url in (reverse("gallery:timeline"), reverse("search:search") + "?q=beach"):
        body = client.get(url).content.decode()
        assert 'id="bulk-form"' in body, url
        assert f'name="photos" value="{photo.pk}" form="bulk-form"' in body, url
        assert "js/select.js" in body
    timeline = client.get(reverse("gallery:timeline")).content.decode()
    assert 'data-select-group="' in timeline  # "select all" of a day


def test_the_infinite_scroll_partial_has_boxes_but_no_second_bar(client_for, family, alice, settings):
    settings.GALLERY_PAGE_SIZE = 1
    photos = [photo_factory(family=family, user=alice) for _ in range(2)]
    client = client_for(alice)
    first = client.get(reverse("gallery:timeline")).content.decode()
    more = re.search(r'hx-get="([^"]+)"', first).group(1).replace("&amp;", "&")

    partial = client.get(reverse("gallery:timeline") + more, headers={"HX-Request": "true"}).content.decode()

    assert 'form="bulk-form"' in partial
    assert 'id="bulk-form"' not in partial
    assert {str(p.pk) for p in photos} <= set(re.findall(r'name="photos" value="(\d+)"', first + partial))


def test_bulk_page_post_without_javascript_tags_and_goes_back_with_a_message(client_for, family, alice, other_family,
                                                                              mallory):
    mine = photo_factory(family=family, user=alice)
    theirs = photo_factory(family=other_family, user=mallory)
    client = client_for(alice)

    response = client.post(reverse("gallery:photos_bulk"), {"action": "add_tags", "photos": [mine.pk, theirs.pk],
                                                            "tags": "sea, sand", "next": "/?family=1"}, follow=True)

    assert response.redirect_chain[-1][0] == "/?family=1"
    body = response.content.decode()
    assert "Tags added to 1 photo." in body and "1 was not: No such photo." in body
    assert tag_names(mine) == ["sand", "sea"]
    assert tag_names(theirs) == []


def test_bulk_page_never_redirects_off_site(client_for, family, alice):
    photo = photo_factory(family=family, user=alice)
    response = client_for(alice).post(reverse("gallery:photos_bulk"), {
        "action": "add_tags", "photos": [photo.pk], "tags": "x", "next": "https://evil.example/"})
    assert response.status_code == 302
    assert response["Location"] == reverse("gallery:timeline")


@pytest.mark.parametrize("target", ["0", "home", "-1", "2023-02-30", "\ufffd", "photos"])
@pytest.mark.parametrize("name", ["gallery:photos_bulk", "gallery:photos_download"])
def test_a_next_that_is_no_address_on_the_site_goes_to_the_timeline_not_a_500(client_for, family, alice, name,
                                                                                target):
    """redirect() takes a `next` without "/" or "." ("0", "home") for the name of a URL, and failing to find one
    was a 500: only a path on this site is followed."""
    photo = photo_factory(family=family, user=alice)
    data = {"action": "favourite", "photos": [photo.pk], "next": target}
    if name == "gallery:photos_download":
        data["photos"] = [missing_id()]  # nothing to download: back where the bar was
    response = client_for(alice).post(reverse(name), data)
    assert response.status_code == 302
    assert response["Location"].removesuffix("#bulk-form") == reverse("gallery:timeline")  # (a refusal: at the bar)


def test_bulk_page_htmx_answers_the_status_line_and_names_the_photos_done(client_for, family, alice):
    photo = photo_factory(family=family, user=alice)
    gone = missing_id()

    response = client_for(alice).post(reverse("gallery:photos_bulk"),
                                      {"action": "add_tags", "photos": [photo.pk, gone], "tags": "x"},
                                      headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert "Tags added to 1 photo." in response.content.decode()
    assert json.loads(response["HX-Trigger"]) == {"bulk-done": {"action": "add_tags", "ok": [photo.pk],
                                                                "remove": False}}


def test_bulk_remove_tags_names_the_tags_taken_off_for_a_list_of_one_tag(client_for, family, alice):
    """The photos of "Photos tagged “beach”" whose beach tag the bar took off stayed on that list, as if they still
    matched: the event now names the tags taken off (as stored, lower-cased), so the list of one of them lets go of
    those photos (static/js/select.js, data-select-removes-tag)."""
    photo = photo_factory(family=family, user=alice)
    photo_tags_add(photo=photo, names=["Beach"], source=PhotoTag.Source.MEMBER, user=alice)

    response = client_for(alice).post(reverse("gallery:photos_bulk"),
                                      {"action": "remove_tags", "photos": [photo.pk], "tags": " BEACH ,  sun  set"},
                                      headers={"HX-Request": "true"})

    assert tag_names(photo) == []
    assert json.loads(response["HX-Trigger"]) == {"bulk-done": {"action": "remove_tags", "ok": [photo.pk],
                                                                "remove": False, "tags": ["beach", "sun set"]}}


@pytest.mark.parametrize("data, message", [
    ({"action": "add_tags", "tags": "x"}, "Select at least one photo."),
    ({"action": "add_tags", "photos": ["1"], "tags": ""}, "Type at least one tag."),
    ({"action": "melt", "photos": ["1"]}, "Unknown action"),
    ({"action": "add_tags", "photos": ["1", "x"], "tags": "a"}, "is not a photo id"),
])
def test_bulk_page_says_plainly_what_is_wrong(client_for, alice, data, message):
    response = client_for(alice).post(reverse("gallery:photos_bulk"), data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert json.loads(response["HX-Trigger"])["bulk-done"]["ok"] == []


def test_bulk_page_needs_sign_in_and_post(client, family, alice):
    photo = photo_factory(family=family, user=alice)
    assert client.post(reverse("gallery:photos_bulk"), {"action": "add_tags", "photos": [photo.pk], "tags": "x"}
                       ).status_code == 302
    assert tag_names(photo) == []
    client.force_login(alice)
    assert client.get(reverse("gallery:photos_bulk")).status_code == 405


# --- the ZIP download ---------------------------------------------------------------------------


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response
    assert response.streaming
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="photos-')
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_download_streams_the_originals_with_unique_names_and_only_my_photos(client_for, family, alice, other_family,
                                                                              mallory):
    first = photo_factory(family=family, user=alice, filename="IMG_0001.JPG")
    second = photo_factory(family=family, user=alice, filename="img_0001.jpg")  # same name on a case-blind disk
    third = photo_factory(family=family, user=alice, filename="../../etc/pass:wd.jpg")
    theirs = photo_factory(family=other_family, user=mallory, filename="secret.jpg")

    archive = _zip(client_for(alice).post(reverse("gallery:photos_download"),
                                          {"photos": [first.pk, second.pk, theirs.pk, missing_id(), third.pk]}))

    assert archive.namelist() == ["IMG_0001.JPG", "img_0001 (2).jpg", "pass_wd.jpg", "not-included.txt"]
    # Another family's photo reads as one deleted since: counted, never named.
    assert archive.read("not-included.txt").decode().startswith("2 of the photos selected are no longer there")
    assert "secret" not in archive.read("not-included.txt").decode()
    for name, photo in zip(archive.namelist(), (first, second, third)):
        with photo.original.open("rb") as stored:
            assert archive.read(name) == stored.read()
        assert archive.getinfo(name).compress_type == zipfile.ZIP_STORED
    assert archive.testzip() is None


def test_download_names_an_original_missing_from_storage_inside_the_archive(client_for, family, alice):
    kept = photo_factory(family=family, user=alice, filename="kept.jpg")
    lost = photo_factory(family=family, user=alice, filename="lost.jpg")
    lost.original.storage.delete(lost.original.name)

    archive = _zip(client_for(alice).post(reverse("gallery:photos_download"), {"photos": [kept.pk, lost.pk]}))

    assert archive.namelist() == ["kept.jpg", "not-included.txt"]
    assert "lost.jpg" in archive.read("not-included.txt").decode()


def test_download_over_the_cap_is_refused_with_a_message(client_for, family, alice, settings):
    settings.DOWNLOAD_MAX_PHOTOS = 2
    photos = [photo_factory(family=family, user=alice) for _ in range(3)]
    client = client_for(alice)

    response = client.post(reverse("gallery:photos_download"), {"photos": [p.pk for p in photos]}, follow=True)

    assert not getattr(response, "streaming", False)
    assert "at most 2 photos; 3 were selected" in response.content.decode()
    assert _zip(client.post(reverse("gallery:photos_download"), {"photos": [p.pk for p in photos[:2]]})).namelist()


def test_download_of_only_foreign_or_missing_ids_gives_no_archive(client_for, family, alice, other_family, mallory):
    theirs = photo_factory(family=other_family, user=mallory)

    response = client_for(alice).post(reverse("gallery:photos_download"), {"photos": [theirs.pk, missing_id()]},
                                      follow=True)

    assert not getattr(response, "streaming", False)
    assert "The photos selected are no longer there" in _bar_reporting(response.content.decode())
    response = client_for(alice).post(reverse("gallery:photos_download"), {}, follow=True)
    assert "Select the photos to download first." in _bar_reporting(response.content.decode())


def test_a_stale_selections_download_says_what_is_no_longer_there(client_for, family, alice):
    """A selection made on a page shown before some of its photos were moved to the trash or deleted (by another
    member, the trash's purge): the ZIP left them out without a word, and with none left the page said "Select the
    photos to download first." to someone who had. Both say what happened now."""
    from gallery.services import photos_delete
    from gallery.trash_services import photos_trash

    kept, binned, deleted = (photo_factory(family=family, user=alice, filename=f"{n}.jpg") for n in ("a", "b", "c"))
    photos_trash(user=alice, photo_ids=[binned.pk])
    photos_delete(photos=Photo.all_objects.filter(pk=deleted.pk))
    client = client_for(alice)

    archive = _zip(client.post(reverse("gallery:photos_download"), {"photos": [kept.pk, binned.pk, deleted.pk]}))
    assert archive.namelist() == ["a.jpg", "not-included.txt"]
    assert archive.read("not-included.txt").decode() == (
        "2 of the photos selected are no longer there (moved to the trash or deleted since the page was shown), so "
        "they are not in this archive.\n")

    response = client.post(reverse("gallery:photos_download"), {"photos": [binned.pk, deleted.pk]}, follow=True)
    assert not getattr(response, "streaming", False)
    assert ("The photos selected are no longer there (moved to the trash or deleted since the page was shown): "
            "nothing to download." in _bar_reporting(response.content.decode()))


def test_download_needs_sign_in(client, family, alice):
    photo = photo_factory(family=family, user=alice)
    response = client.post(reverse("gallery:photos_download"), {"photos": [photo.pk]})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_zip_stream_holds_at_most_about_one_chunk_at_a_time(family, alice):
    """Big originals go through in CHUNK-sized pieces: no piece of the stream is much larger than one chunk."""
    from gallery import downloads

    photos = [photo_factory(family=family, user=alice) for _ in range(3)]
    for photo in photos:  # make each original ~2.5 chunks long (the archive does not care what the bytes are)
        with photo.original.storage.open(photo.original.name, "wb") as stored:
            stored.write(os.urandom(int(downloads.CHUNK * 2.5)))
        photo.file_size = int(downloads.CHUNK * 2.5)

    pieces = list(downloads.zip_stream(photos))

    assert max(len(piece) for piece in pieces) <= downloads.CHUNK + 4096
    archive = zipfile.ZipFile(io.BytesIO(b"".join(pieces)))
    assert [archive.getinfo(n).file_size for n in archive.namelist()] == [int(downloads.CHUNK * 2.5)] * 3


# --- add to album -------------------------------------------------------------------------------


def test_add_to_album_checks_each_photo_and_the_album(family, alice, bob, other_family, mallory):
    from gallery.album_services import album_create

    album = album_create(user=alice, family=family, name="Summer")
    mine = photo_factory(family=family, user=alice)
    theirs = photo_factory(family=other_family, user=mallory)
    gone = missing_id()

    results = photos_bulk_apply(user=bob, action="add_to_album", photo_ids=[mine.pk, theirs.pk, gone], album_id=album.pk)

    assert results == [BulkResult(mine.pk, True), BulkResult(theirs.pk, False, NOT_FOUND),
                       BulkResult(gone, False, NOT_FOUND)]
    assert list(album.photos.values_list("pk", flat=True)) == [mine.pk]


def test_add_to_album_refuses_a_photo_of_my_other_family(family, alice, other_family, mallory):
    from gallery.album_services import album_create

    MembershipFactory(family=other_family, user=alice)
    album = album_create(user=alice, family=family, name="Summer")
    elsewhere = photo_factory(family=other_family, user=mallory)

    [result] = photos_bulk_apply(user=alice, action="add_to_album", photo_ids=[elsewhere.pk], album_id=album.pk)

    assert result.ok is False and "another family" in result.reason
    assert not album.photos.exists()


def test_add_to_another_familys_album_is_no_such_album(family, alice, other_family, mallory):
    from gallery.album_services import album_create

    theirs = album_create(user=mallory, family=other_family, name="Private")
    photo = photo_factory(family=family, user=alice)

    for album_id in (theirs.pk, theirs.pk + 1000):
        with pytest.raises(ValidationError) as caught:
            photos_bulk_apply(user=alice, action="add_to_album", photo_ids=[photo.pk], album_id=album_id)
        assert caught.value.messages == ["No such album."]
    with pytest.raises(ValidationError, match="Choose an album"):
        photos_bulk_apply(user=alice, action="add_to_album", photo_ids=[photo.pk])


def test_api_bulk_add_to_album(api, family, alice, other_family, mallory):
    from gallery.album_services import album_create

    album = album_create(user=alice, family=family, name="Summer")
    mine = photo_factory(family=family, user=alice)
    theirs = photo_factory(family=other_family, user=mallory)
    foreign_album = album_create(user=mallory, family=other_family, name="Theirs")

    response = api.post(reverse("api_photos_bulk"), {"action": "add_to_album", "photos": [mine.pk, theirs.pk],
                                                     "album": album.pk}, content_type="application/json")
    refused = api.post(reverse("api_photos_bulk"), {"action": "add_to_album", "photos": [mine.pk],
                                                    "album": foreign_album.pk}, content_type="application/json")

    assert response.json()["results"] == [{"id": mine.pk, "ok": True, "reason": ""},
                                          {"id": theirs.pk, "ok": False, "reason": NOT_FOUND}]
    assert refused.status_code == 400 and "No such album." in str(refused.json())
    assert not foreign_album.photos.exists()


def test_the_bar_counts_only_the_photos_it_added_to_the_album_not_those_already_in_it(client_for, family, alice):
    from gallery.album_services import album_add_photos, album_create

    album = album_create(user=alice, family=family, name="Summer")
    there = [photo_factory(family=family, user=alice) for _ in range(2)]
    new = photo_factory(family=family, user=alice)
    album_add_photos(user=alice, album=album, photo_ids=[photo.pk for photo in there])

    response = client_for(alice).post(reverse("gallery:photos_bulk"),
                                      {"action": "add_to_album", "photos": [there[0].pk, there[1].pk, new.pk],
                                       "album": album.pk}, headers={"HX-Request": "true"})
    again = client_for(alice).post(reverse("gallery:photos_bulk"),
                                   {"action": "add_to_album", "photos": [new.pk], "album": album.pk},
                                   headers={"HX-Request": "true"})

    text = " ".join(response.content.decode().split())
    assert "1 photo added to the album. 2 unchanged: Already in the album." in text
    assert "3 photos added" not in text
    again_text = " ".join(again.content.decode().split())
    assert "1 photo added" not in again_text and "1 unchanged: Already in the album." in again_text
    assert 'class="error"' not in again_text  # nothing went wrong: the photo is in the album
    assert album.photos.count() == 3


def test_the_bar_offers_only_plain_albums_of_my_families(client_for, family, alice, other_family, mallory):
    from gallery.album_services import album_create

    photo_factory(family=family, user=alice)
    album_create(user=alice, family=family, name="Summer trip")
    album_create(user=mallory, family=other_family, name="Not for alice")

    body = client_for(alice).get(reverse("gallery:timeline")).content.decode()

    assert "Summer trip" in body and 'value="add_to_album"' in body
    assert "Not for alice" not in body



# --- "New album…" of the bar (photos_add_to_new_album) ---------------------------------------------------------


def test_the_bar_offers_new_album_to_a_family_without_albums_and_a_family_picker_only_to_members_of_several(
        client_for, family, alice, other_family):
    """A family with photos and no album had no "Add to album" in the bar at all: it had to go to Albums first."""
    photo_factory(family=family, user=alice)
    body = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    assert '<option value="new" selected>New album…</option>' in body and 'name="new_album_name"' in body
    assert 'name="new_album_family"' not in body  # (one family: the album is made in it)
    MembershipFactory(family=other_family, user=alice)
    body = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    assert 'name="new_album_family"' in body and "The ticked photos’ family" in body
    assert f'<option value="{other_family.pk}">Joneses</option>' in body


def test_a_new_album_goes_to_the_family_of_the_ticked_photos(family, alice, bob):
    photos = [photo_factory(family=family, user=alice) for _ in range(2)]
    made = photos_add_to_new_album(user=bob, photo_ids=[photos[1].pk, photos[0].pk], name=" Beach ")
    assert (made.album.name, made.album.family, made.made) == ("Beach", family, True)
    assert list(made.album.entries.values_list("photo_id", flat=True)) == [photos[1].pk, photos[0].pk]


def test_photos_of_several_families_need_the_family_chosen_and_the_others_are_not_added(
        family, alice, other_family, mallory):
    MembershipFactory(family=other_family, user=alice)
    smiths, joneses = photo_factory(family=family, user=alice), photo_factory(family=other_family, user=mallory)
    with pytest.raises(ValidationError) as refused:
        photos_add_to_new_album(user=alice, photo_ids=[smiths.pk, joneses.pk], name="Both")
    said = " ".join(refused.value.messages)
    assert "Joneses and Smiths" in said and "one family" in said and "choose" in said.lower()
    assert not Album.objects.exists()

    made = photos_add_to_new_album(user=alice, photo_ids=[smiths.pk, joneses.pk], name="Both",
                                   family_id=other_family.pk)
    assert made.album.family == other_family
    assert made.outcomes == [(smiths.pk, False, OTHER_FAMILY), (joneses.pk, True, "")]


def test_a_family_not_mine_or_photos_not_mine_make_no_album(family, alice, other_family, mallory):
    mine, theirs = photo_factory(family=family, user=alice), photo_factory(family=other_family, user=mallory)
    with pytest.raises(ValidationError, match="No such family."):
        photos_add_to_new_album(user=alice, photo_ids=[mine.pk], name="Sneaky", family_id=other_family.pk)
    with pytest.raises(ValidationError, match=NOT_FOUND):
        photos_add_to_new_album(user=alice, photo_ids=[theirs.pk, missing_id()], name="Sneaky")
    with pytest.raises(ValidationError, match="Select at least one photo."):
        photos_add_to_new_album(user=alice, photo_ids=[], name="Empty")
    assert not Album.objects.exists()


def test_the_bar_makes_the_album_says_so_with_a_link_and_offers_it_from_then_on(client_for, family, alice, bob):
    photos = [photo_factory(family=family, user=alice) for _ in range(2)]
    response = client_for(bob).post(reverse("gallery:photos_bulk"), {
        "action": "add_to_album", "album": "new", "new_album_name": "Picnic", "photos": [p.pk for p in photos],
    }, headers={"HX-Request": "true"})
    album = Album.objects.get()
    body = " ".join(response.content.decode().split())
    assert f'Added 2 photos to the new album <a href="{album.get_absolute_url()}">“Picnic”</a>.' in body
    assert json.loads(response["HX-Trigger"]) == {"bulk-done": {"action": "add_to_album",
                                                                "ok": [p.pk for p in photos], "remove": False}}
    # The bar's list of albums, swapped in: the new album chosen, for the next photos ticked.
    assert 'hx-swap-oob="true"' in body and f'<option value="{album.pk}" selected>Picnic (Smiths)</option>' in body
    # One photo ticked is counted as the bar counts (a photo's page says "Added to …").
    one = client_for(bob).post(reverse("gallery:photos_bulk"), {
        "action": "add_to_album", "album": "new", "new_album_name": "Lunch", "photos": [photos[0].pk],
    }, headers={"HX-Request": "true"})
    assert "Added 1 photo to the new album" in one.content.decode()
    again = client_for(bob).post(reverse("gallery:photos_bulk"), {
        "action": "add_to_album", "album": "new", "new_album_name": "lunch", "photos": [photos[0].pk],
    }, headers={"HX-Request": "true"})
    assert "1 photo is already in the album" in again.content.decode()


def test_the_bar_says_what_is_wrong_with_a_new_albums_name_and_makes_nothing(client_for, family, alice):
    photo = photo_factory(family=family, user=alice)
    for name, said in (("", "An album needs a name."), ("x" * 101, "at most 100 characters")):
        response = client_for(alice).post(reverse("gallery:photos_bulk"), {
            "action": "add_to_album", "album": "new", "new_album_name": name, "photos": [photo.pk],
        }, headers={"HX-Request": "true"})
        assert said in response.content.decode() and 'class="error"' in response.content.decode()
    # Without JavaScript: back to the page, saying so.
    response = client_for(alice).post(reverse("gallery:photos_bulk"), {
        "action": "add_to_album", "album": "new", "new_album_name": " ", "photos": [photo.pk], "next": "/",
    }, follow=True)
    assert "An album needs a name." in response.content.decode()
    assert not Album.objects.exists()

# --- favourites and the trash -------------------------------------------------------------------


def test_a_member_trashes_own_photos_but_not_others_and_foreign_or_missing_ones_look_alike(family, alice, bob,
                                                                                           other_family, mallory):
    own = photo_factory(family=family, user=bob)
    alices = photo_factory(family=family, user=alice)
    theirs = photo_factory(family=other_family, user=mallory)
    gone = missing_id()

    results = photos_bulk_apply(user=bob, action="trash", photo_ids=[own.pk, alices.pk, theirs.pk, gone])

    assert [r.ok for r in results] == [True, False, False, False]
    assert "uploader or a family admin" in results[1].reason
    assert results[2] == BulkResult(theirs.pk, False, NOT_FOUND) and results[3] == BulkResult(gone, False, NOT_FOUND)
    assert not Photo.objects.filter(pk=own.pk).exists()  # in the trash: out of every list
    assert Photo.all_objects.get(pk=own.pk).trashed_at is not None
    assert Photo.objects.filter(pk=alices.pk).exists() and Photo.objects.filter(pk=theirs.pk).exists()


def test_an_admin_trashes_and_restores_a_members_photo(family, alice, bob):
    photo = photo_factory(family=family, user=bob)

    assert photos_bulk_apply(user=alice, action="trash", photo_ids=[photo.pk])[0].ok
    # In the trash, a photo can't be tagged any more (it is in no list), only restored.
    assert photos_bulk_apply(user=alice, action="add_tags", photo_ids=[photo.pk], tags=["x"])[0].reason == NOT_FOUND
    assert photos_bulk_apply(user=alice, action="restore", photo_ids=[photo.pk])[0].ok
    assert Photo.objects.filter(pk=photo.pk).exists()
    again = photos_bulk_apply(user=alice, action="restore", photo_ids=[photo.pk])[0]
    assert again.ok is False and again.reason == "Not in the trash."


def test_favourite_and_unfavourite_many(family, alice, bob, other_family, mallory):
    from gallery.models import Favourite

    mine = [photo_factory(family=family, user=alice) for _ in range(2)]
    theirs = photo_factory(family=other_family, user=mallory)

    results = photos_bulk_apply(user=bob, action="favourite", photo_ids=[mine[0].pk, mine[1].pk, theirs.pk])

    assert [r.ok for r in results] == [True, True, False] and results[2].reason == NOT_FOUND
    assert set(Favourite.objects.filter(user=bob).values_list("photo_id", flat=True)) == {mine[0].pk, mine[1].pk}
    assert not Favourite.objects.filter(user=alice).exists()  # favourites are each user's own
    photos_bulk_apply(user=bob, action="unfavourite", photo_ids=[mine[0].pk])
    assert set(Favourite.objects.filter(user=bob).values_list("photo_id", flat=True)) == {mine[1].pk}


def test_api_bulk_trash_and_restore_mixed_ids(api, family, alice, other_family, mallory):
    mine = photo_factory(family=family, user=alice)
    theirs = photo_factory(family=other_family, user=mallory)

    trashed = api.post(reverse("api_photos_bulk"), {"action": "trash", "photos": [mine.pk, theirs.pk]},
                       content_type="application/json").json()
    restored = api.post(reverse("api_photos_bulk"), {"action": "restore", "photos": [theirs.pk, mine.pk]},
                        content_type="application/json").json()

    assert trashed == {"results": [{"id": mine.pk, "ok": True, "reason": ""},
                                   {"id": theirs.pk, "ok": False, "reason": NOT_FOUND}]}
    assert restored == {"results": [{"id": theirs.pk, "ok": False, "reason": NOT_FOUND},
                                    {"id": mine.pk, "ok": True, "reason": ""}]}
    assert Photo.objects.filter(pk__in=[mine.pk, theirs.pk]).count() == 2


def test_bulk_page_trash_tells_the_page_to_take_the_photos_off_the_grid(client_for, family, alice):
    photo = photo_factory(family=family, user=alice)

    response = client_for(alice).post(reverse("gallery:photos_bulk"), {"action": "trash", "photos": [photo.pk]},
                                      headers={"HX-Request": "true"})

    assert "1 photo moved to the trash." in response.content.decode()
    assert json.loads(response["HX-Trigger"])["bulk-done"] == {"action": "trash", "ok": [photo.pk], "remove": True}
    timeline = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    assert f'value="{photo.pk}"' not in timeline


def test_bulk_page_favourite_swaps_the_hearts_of_the_photos_done(client_for, family, alice, other_family, mallory):
    photo = photo_factory(family=family, user=alice)
    theirs = photo_factory(family=other_family, user=mallory)

    response = client_for(alice).post(reverse("gallery:photos_bulk"),
                                      {"action": "favourite", "photos": [photo.pk, theirs.pk], "next": "/"},
                                      headers={"HX-Request": "true"})

    body = response.content.decode()
    assert f'id="heart-{photo.pk}" hx-swap-oob="true"' in body
    assert 'aria-pressed="true"' in body
    assert f"heart-{theirs.pk}" not in body


def test_the_bar_takes_a_selection_out_of_my_favourites(client_for, family, alice):
    """The bar could only add favourites: on "Favourites only", ticking photos and pressing "Favourite" did nothing,
    and taking many out meant one heart at a time."""
    from gallery.models import Favourite

    photos = [photo_factory(family=family, user=alice) for _ in range(2)]
    photos_bulk_apply(user=alice, action="favourite", photo_ids=[p.pk for p in photos])
    client = client_for(alice)

    page = client.get(reverse("gallery:timeline"), {"favourite": "1"}).content.decode()
    response = client.post(reverse("gallery:photos_bulk"), {"action": "unfavourite", "photos": [photos[0].pk],
                                                            "next": "/?favourite=1"}, headers={"HX-Request": "true"})

    assert 'value="unfavourite"' in page
    body = response.content.decode()
    assert "1 photo taken out of your favourites." in body
    assert f'id="heart-{photos[0].pk}" hx-swap-oob="true"' in body and 'aria-pressed="false"' in body
    assert list(Favourite.objects.filter(user=alice).values_list("photo_id", flat=True)) == [photos[1].pk]


def test_the_bar_counts_only_the_favourites_it_changed(client_for, family, alice):
    liked, other = photo_factory(family=family, user=alice), photo_factory(family=family, user=alice)
    photos_bulk_apply(user=alice, action="favourite", photo_ids=[liked.pk])
    client = client_for(alice)

    def summary(action: str) -> str:
        response = client.post(reverse("gallery:photos_bulk"), {"action": action, "photos": [liked.pk, other.pk]},
                               headers={"HX-Request": "true"})
        return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())

    assert summary("favourite").startswith("1 photo added to your favourites. 1 unchanged: Already a favourite.")
    assert summary("unfavourite").startswith("2 photos taken out of your favourites.")
    assert summary("unfavourite").startswith("Nothing was done. 2 unchanged: Not a favourite.")


def test_download_leaves_out_photos_in_the_trash(client_for, family, alice):
    kept = photo_factory(family=family, user=alice, filename="kept.jpg")
    binned = photo_factory(family=family, user=alice, filename="binned.jpg")
    photos_bulk_apply(user=alice, action="trash", photo_ids=[binned.pk])

    archive = _zip(client_for(alice).post(reverse("gallery:photos_download"), {"photos": [kept.pk, binned.pk]}))

    assert archive.namelist() == ["kept.jpg", "not-included.txt"]  # which says one is no longer there


def test_an_album_page_has_the_selection_bar_and_boxes(client_for, family, alice):
    from gallery.album_services import album_add_photos, album_create

    album = album_create(user=alice, family=family, name="Summer")
    photo = photo_factory(family=family, user=alice)
    album_add_photos(user=alice, album=album, photo_ids=[photo.pk])

    body = client_for(alice).get(reverse("gallery:album_detail", args=[album.pk])).content.decode()

    assert 'id="bulk-form"' in body and f'name="photos" value="{photo.pk}" form="bulk-form"' in body
    assert "js/select.js" in body


def test_an_album_pages_bar_takes_photos_out_of_the_album_not_only_into_the_trash(client_for, family, alice, bob,
                                                                                   other_family, mallory):
    """On an album's page the bar offered "Move to trash" (out of the whole family) but no way to take the ticked
    photos out of the album: a member tidying an album had one photo at a time, or the trash."""
    from gallery.album_selectors import album_photo_ids
    from gallery.album_services import album_add_photos, album_create

    album = album_create(user=alice, family=family, name="Summer")
    photos = [photo_factory(family=family, user=alice) for _ in range(3)]
    album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in photos])
    other_album = album_create(user=alice, family=family, name="Winter")
    theirs = album_create(user=mallory, family=other_family, name="Theirs")
    client = client_for(bob)  # any member arranges an album

    body = client.get(reverse("gallery:album_detail", args=[album.pk])).content.decode()
    assert 'value="remove_from_album"' in body and f'name="from_album" value="{album.pk}"' in body
    assert 'value="remove_from_album"' not in client.get(reverse("gallery:timeline")).content.decode()

    response = client.post(reverse("gallery:photos_bulk"),
                           {"action": "remove_from_album", "photos": [photos[0].pk, photos[2].pk], "tags": "",
                            "from_album": album.pk, "album": other_album.pk}, headers={"HX-Request": "true"})

    assert "2 photos taken out of the album." in response.content.decode()
    assert json.loads(response["HX-Trigger"])["bulk-done"]["remove"] is True
    assert album_photo_ids(album=album) == [photos[1].pk]
    assert Photo.objects.filter(pk=photos[0].pk).exists()  # still in the family
    refused = client.post(reverse("gallery:photos_bulk"), {"action": "remove_from_album", "photos": [photos[1].pk],
                                                           "from_album": theirs.pk}, headers={"HX-Request": "true"})
    assert "No such album." in refused.content.decode() and album_photo_ids(album=album) == [photos[1].pk]


def test_a_smart_albums_bar_offers_no_taking_out(client_for, family, alice):
    from gallery.album_services import album_create

    photo_factory(family=family, user=alice, tags=["dog"])
    album = album_create(user=alice, family=family, name="Dogs", search={"q": "dog"})

    body = client_for(alice).get(reverse("gallery:album_detail", args=[album.pk])).content.decode()

    assert 'value="remove_from_album"' not in body
    with pytest.raises(ValidationError, match="come from its search"):
        photos_bulk_apply(user=alice, action="remove_from_album", photo_ids=[1], album_id=album.pk)


def test_download_of_ids_past_the_database_range_is_no_archive_not_an_error(client_for, family, alice):
    photo = photo_factory(family=family, user=alice, filename="mine.jpg")

    archive = _zip(client_for(alice).post(reverse("gallery:photos_download"),
                                          {"photos": [str(2**70), "-3", "0", photo.pk]}))
    junk = client_for(alice).post(reverse("gallery:photos_download"), {"photos": ["abc", "1.5"]}, follow=True)

    assert archive.namelist() == ["mine.jpg"]
    assert junk.status_code == 200 and "Select the photos to download first." in junk.content.decode()


def test_download_with_one_junk_id_still_holds_the_photos_selected(client_for, family, alice):
    # A tampered or stale form: one value that is no id must not cost the photos that were selected.
    photo = photo_factory(family=family, user=alice, filename="mine.jpg")

    archive = _zip(client_for(alice).post(reverse("gallery:photos_download"), {"photos": [photo.pk, "abc"]}))

    assert archive.namelist() == ["mine.jpg"]


# --- shifting dates (a camera with a wrong clock) ------------------------------------------------------------------


def dated(photo: Photo, when: str = "2023-07-14T10:00:00+00:00") -> Photo:
    from datetime import datetime
    Photo.objects.filter(pk=photo.pk).update(taken_at=datetime.fromisoformat(when))
    taken_days_refresh([photo.pk])
    photo.refresh_from_db()
    return photo


def test_shift_dates_moves_own_photos_and_answers_foreign_and_missing_alike(family, alice, other_family, mallory):
    from datetime import timedelta
    mine = [dated(photo_factory(family=family, user=alice)) for _ in range(2)]
    theirs = dated(photo_factory(family=other_family, user=mallory))
    gone = missing_id()

    results = photos_bulk_apply(user=alice, action="shift_dates", photo_ids=[mine[0].pk, theirs.pk, gone, mine[1].pk],
                                seconds=-3600)

    assert results == [BulkResult(mine[0].pk, True), BulkResult(theirs.pk, False, NOT_FOUND),
                       BulkResult(gone, False, NOT_FOUND), BulkResult(mine[1].pk, True)]
    for photo in mine:
        fresh = Photo.objects.get(pk=photo.pk)
        assert fresh.taken_at == photo.taken_at - timedelta(hours=1)
        assert fresh.taken_at_source == Photo.DateSource.MEMBER
    assert Photo.objects.get(pk=theirs.pk).taken_at == theirs.taken_at


def test_a_plain_member_shifts_photos_someone_else_uploaded_and_a_shift_out_of_range_says_why(family, alice, bob):
    from datetime import timedelta
    # Any member of the family may correct a date (gallery.correction_services), so bob's shift of alice's photo
    # is done; a shift that would take a photo past today is refused for that photo with the service's reason.
    photo = dated(photo_factory(family=family, user=alice))
    recent = dated(photo_factory(family=family, user=alice), "2026-01-01T00:00:00+00:00")

    results = photos_bulk_apply(user=bob, action="shift_dates", photo_ids=[photo.pk, recent.pk],
                                seconds=365 * 86400 * 2)

    assert results[0] == BulkResult(photo.pk, True)
    assert not results[1].ok and "between 1826 and today" in results[1].reason
    assert Photo.objects.get(pk=photo.pk).taken_at == photo.taken_at + timedelta(days=365 * 2)
    assert Photo.objects.get(pk=recent.pk).taken_at == recent.taken_at


@pytest.mark.parametrize("seconds, message", [
    (None, "Type how far to shift the dates"),
    (0, "Type how far to shift the dates"),
    (101 * 366 * 86400, "A shift is at most 100 years."),
    (-101 * 366 * 86400, "A shift is at most 100 years."),
])
def test_shift_dates_needs_a_sensible_offset(family, alice, seconds, message):
    photo = dated(photo_factory(family=family, user=alice))
    with pytest.raises(ValidationError) as caught:
        photos_bulk_apply(user=alice, action="shift_dates", photo_ids=[photo.pk], seconds=seconds)
    assert message in " ".join(caught.value.messages)
    assert Photo.objects.get(pk=photo.pk).taken_at == photo.taken_at


def test_api_bulk_shift_dates_mixed_ids_and_bad_offsets(api, family, alice, other_family, mallory):
    from datetime import timedelta
    mine = dated(photo_factory(family=family, user=alice))
    theirs = dated(photo_factory(family=other_family, user=mallory))
    gone = missing_id()
    url = reverse("api_photos_bulk")

    response = api.post(url, {"action": "shift_dates", "photos": [mine.pk, theirs.pk, gone], "seconds": 86400},
                        content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json() == {"results": [
        {"id": mine.pk, "ok": True, "reason": ""},
        {"id": theirs.pk, "ok": False, "reason": NOT_FOUND},
        {"id": gone, "ok": False, "reason": NOT_FOUND},
    ]}
    assert Photo.objects.get(pk=mine.pk).taken_at == mine.taken_at + timedelta(days=1)
    assert Photo.objects.get(pk=theirs.pk).taken_at == theirs.taken_at
    for body in ({"action": "shift_dates", "photos": [mine.pk]}, {"action": "shift_dates", "photos": [mine.pk],
                                                                   "seconds": 0},
                 {"action": "shift_dates", "photos": [mine.pk], "seconds": 10**12}):
        bad = api.post(url, body, content_type="application/json")
        assert bad.status_code == 400, bad.content
    assert Photo.objects.get(pk=mine.pk).taken_at == mine.taken_at + timedelta(days=1)


def test_api_bulk_schema_names_shift_dates_and_seconds(client, alice):
    client.force_login(alice)
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    body = str(schema["components"]["schemas"])
    assert "shift_dates" in body and "seconds" in body


def test_bulk_page_shifts_dates_without_javascript(client_for, family, alice, other_family, mallory):
    from datetime import timedelta
    mine = [dated(photo_factory(family=family, user=alice)) for _ in range(2)]
    theirs = dated(photo_factory(family=other_family, user=mallory))
    client = client_for(alice)

    page = client.get(reverse("gallery:timeline")).content.decode()
    assert 'name="shift_amount"' in page and 'value="shift_dates"' in page

    response = client.post(reverse("gallery:photos_bulk"), {
        "action": "shift_dates", "photos": [mine[0].pk, mine[1].pk, theirs.pk], "shift_amount": "−2",
        "shift_unit": "hours", "next": "/"}, follow=True)

    assert response.redirect_chain[-1][0] == "/"
    body = response.content.decode()
    assert "Dates of 2 photos shifted." in body and "1 was not: No such photo." in body
    for photo in mine:
        assert Photo.objects.get(pk=photo.pk).taken_at == photo.taken_at - timedelta(hours=2)
    assert Photo.objects.get(pk=theirs.pk).taken_at == theirs.taken_at


@pytest.mark.parametrize("amount, unit, message", [
    ("", "hours", "Type how far to shift the dates"),
    ("0", "days", "Type how far to shift the dates"),
    ("1.5", "hours", "Type how far to shift the dates"),
    ("3", "fortnights", "Type how far to shift the dates"),
    ("40000", "days", "A shift is at most 100 years."),
])
def test_bulk_page_shift_says_plainly_what_is_wrong(client_for, family, alice, amount, unit, message):
    photo = dated(photo_factory(family=family, user=alice))
    response = client_for(alice).post(reverse("gallery:photos_bulk"), {
        "action": "shift_dates", "photos": [photo.pk], "shift_amount": amount, "shift_unit": unit},
        headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert json.loads(response["HX-Trigger"])["bulk-done"]["ok"] == []
    assert Photo.objects.get(pk=photo.pk).taken_at == photo.taken_at


def titled(photo: Photo, title: str) -> Photo:
    Photo.objects.filter(pk=photo.pk).update(title=title)
    photo.refresh_from_db()
    return photo


def _bar_dates_seen(client, ids) -> list[str]:
    """The selection bar's record of the dates the page showed, for the photos ticked (`ids`): what a browser sends."""
    page = client.get(reverse("gallery:timeline")).content.decode()
    seen = re.findall(r'<input type="hidden" name="taken_at_seen" value="(\d+):([^"]*)"[^>]*form="bulk-form"', page)
    return [f"{pk}:{at}" for pk, at in seen if int(pk) in ids]


@pytest.mark.parametrize("htmx", [False, True])
def test_the_bars_shift_made_twice_from_pages_drawn_before_the_first_is_refused_the_second_time(
        client_for, family, alice, bob, htmx):
    """Alice and Bob both tick the same photos a camera dated an hour early and both shift them by an hour (or Alice
    double-clicks, or goes Back and sends the bar again): the photos moved two hours, each told "Dates of 2 photos
    shifted.". The bar carries the dates its page showed; a shift over a date changed since moves nothing and says
    which photo reads what now."""
    from datetime import timedelta
    photos = [titled(dated(photo_factory(family=family, user=alice)), name) for name in ("Beach", "Cake")]
    ids = [p.pk for p in photos]
    alices, bobs = client_for(alice), client_for(bob)
    alice_seen, bob_seen = _bar_dates_seen(alices, ids), _bar_dates_seen(bobs, ids)
    assert len(alice_seen) == 2 and alice_seen == bob_seen
    headers = {"headers": {"HX-Request": "true"}} if htmx else {"follow": True}
    shift = {"action": "shift_dates", "photos": ids, "shift_amount": "1", "shift_unit": "hours", "next": "/"}
    url = reverse("gallery:photos_bulk")

    first = alices.post(url, {**shift, "taken_at_seen": alice_seen}, **headers)
    second = bobs.post(url, {**shift, "taken_at_seen": bob_seen}, **headers)
    again = alices.post(url, {**shift, "taken_at_seen": alice_seen}, **headers)  # Back, then Shift dates again

    assert "Dates of 2 photos shifted." in first.content.decode()
    for response in (second, again):
        body = html.unescape(response.content.decode())
        assert "shifted." not in body
        assert ("The date taken of 2 of the 2 photos selected was changed since you saw them: “Beach” now reads "
                "14 Jul 2023 11:00, “Cake” 14 Jul 2023 11:00. Nothing was shifted: check them, then shift again if "
                "they still need it.") in body
        if htmx:
            assert json.loads(response["HX-Trigger"])["bulk-done"]["ok"] == []
    assert [Photo.objects.get(pk=p.pk).taken_at for p in photos] == [p.taken_at + timedelta(hours=1) for p in photos]
    # The page drawn now carries the new dates: a further shift is the member's to make.
    bobs.post(url, {**shift, "shift_amount": "-1", "taken_at_seen": _bar_dates_seen(bobs, ids)})
    assert [Photo.objects.get(pk=p.pk).taken_at for p in photos] == [p.taken_at for p in photos]


def test_the_bars_shift_of_photos_one_of_which_someone_redated_moves_none_and_names_it(client_for, family, alice,
                                                                                      bob):
    from datetime import datetime

    from gallery.correction_services import photo_date_set
    photos = [titled(dated(photo_factory(family=family, user=alice)), name) for name in ("Beach", "Cake", "Dog")]
    ids = [p.pk for p in photos]
    alices = client_for(alice)
    seen = _bar_dates_seen(alices, ids)
    photo_date_set(photo=Photo.objects.get(pk=photos[1].pk), taken_at=datetime.fromisoformat("2023-07-14T12:30:00+00:00"))

    response = alices.post(reverse("gallery:photos_bulk"), {
        "action": "shift_dates", "photos": ids, "shift_amount": "1", "shift_unit": "hours", "taken_at_seen": seen},
        follow=True)

    assert ("The date taken of 1 of the 3 photos selected was changed since you saw them: “Cake” now reads 14 Jul "
            "2023 12:30. Nothing was shifted") in html.unescape(response.content.decode())
    assert [Photo.objects.get(pk=p.pk).taken_at for p in photos] == [
        photos[0].taken_at, datetime.fromisoformat("2023-07-14T12:30:00+00:00"), photos[2].taken_at]


@pytest.mark.parametrize("endpoint", ["shift-dates", "bulk"])
def test_api_shift_dates_with_the_dates_read_is_refused_over_a_change_made_since_and_without_them_applies(
        api, family, alice, endpoint):
    """A script sending the same shift twice (a retry after a timeout) moved the photos twice. With `taken_at_seen`
    (each photo's taken_at as read) a shift over a date changed since is refused with 409 in the page's words,
    nothing moved; without it the shift applies, as before."""
    from datetime import timedelta
    photo = titled(dated(photo_factory(family=family, user=alice)), "Beach")
    read = api.get(reverse("api_photo_detail", args=[photo.pk])).json()["taken_at"]
    url, body = ((reverse("api_photos_shift_dates"), {"photos": [photo.pk], "seconds": 3600}) if endpoint == "shift-dates"
                 else (reverse("api_photos_bulk"), {"action": "shift_dates", "photos": [photo.pk], "seconds": 3600}))
    body["taken_at_seen"] = {str(photo.pk): read}

    first = api.post(url, body, content_type="application/json")
    again = api.post(url, body, content_type="application/json")

    assert first.status_code == 200, first.content
    assert again.status_code == 409, again.content
    assert again.json() == {"detail": "The date taken of this photo was changed since you saw it: it now reads 14 Jul "
                                      "2023 11:00. Nothing was shifted: check it, then shift again if it still needs it."}
    assert Photo.objects.get(pk=photo.pk).taken_at == photo.taken_at + timedelta(hours=1)
    del body["taken_at_seen"]
    assert api.post(url, body, content_type="application/json").status_code == 200
    assert Photo.objects.get(pk=photo.pk).taken_at == photo.taken_at + timedelta(hours=2)
    body["taken_at_seen"] = {str(photo.pk): "yesterday"}
    bad = api.post(url, body, content_type="application/json")
    assert bad.status_code == 400 and "taken_at_seen" in bad.json()


def test_the_bar_keeps_the_dates_it_shifted_so_the_next_shift_of_the_same_photos_is_the_members_own(
        client_for, family, alice):
    """With JavaScript the page stays after a shift: the dates its tiles carried are the old ones, and shifting the
    same photos once more (another hour, on purpose) would be refused as a change made since. The answer names the
    photos' new dates (bulk-done's taken_at_seen, which select.js puts on the tiles)."""
    from datetime import timedelta
    photos = [dated(photo_factory(family=family, user=alice)) for _ in range(2)]
    ids = [p.pk for p in photos]
    alices = client_for(alice)
    shift = {"action": "shift_dates", "photos": ids, "shift_amount": "1", "shift_unit": "hours"}
    url = reverse("gallery:photos_bulk")

    first = alices.post(url, {**shift, "taken_at_seen": _bar_dates_seen(alices, ids)}, headers={"HX-Request": "true"})
    now = json.loads(first["HX-Trigger"])["bulk-done"]["taken_at_seen"]
    assert sorted(now.values()) == sorted(_bar_dates_seen(alices, ids))  # what a page drawn now carries
    second = alices.post(url, {**shift, "taken_at_seen": list(now.values())}, headers={"HX-Request": "true"})

    assert "Dates of 2 photos shifted." in second.content.decode()
    assert [Photo.objects.get(pk=p.pk).taken_at for p in photos] == [p.taken_at + timedelta(hours=2) for p in photos]


def test_after_a_refused_shift_the_bar_carries_the_dates_it_named_so_shifting_again_is_the_members_own(
        client_for, family, alice, bob):
    """The refusal says what the dates read now and "shift again if they still need it"; with JavaScript the page
    stays, and its tiles still carried the dates from before: every further click was refused the same way until a
    reload. As the photo's edit form after a conflict, the bar now carries what it told (bulk-done's taken_at_seen)."""
    from datetime import datetime, timedelta

    from gallery.correction_services import photo_date_set
    photos = [titled(dated(photo_factory(family=family, user=alice)), name) for name in ("Beach", "Cake")]
    ids = [p.pk for p in photos]
    alices = client_for(alice)
    seen = _bar_dates_seen(alices, ids)
    bobs_date = datetime.fromisoformat("2023-07-14T12:30:00+00:00")
    photo_date_set(photo=Photo.objects.get(pk=photos[1].pk), taken_at=bobs_date)
    shift = {"action": "shift_dates", "photos": ids, "shift_amount": "1", "shift_unit": "hours"}
    url = reverse("gallery:photos_bulk")

    refused = alices.post(url, {**shift, "taken_at_seen": seen}, headers={"HX-Request": "true"})
    told = json.loads(refused["HX-Trigger"])["bulk-done"]
    again = alices.post(url, {**shift, "taken_at_seen": list(told["taken_at_seen"].values())},
                        headers={"HX-Request": "true"})

    assert "Nothing was shifted" in html.unescape(refused.content.decode()) and told["ok"] == []
    assert "Dates of 2 photos shifted." in again.content.decode()
    assert [Photo.objects.get(pk=p.pk).taken_at for p in photos] == [photos[0].taken_at + timedelta(hours=1),
                                                                     bobs_date + timedelta(hours=1)]


def test_the_bar_refuses_a_new_albums_name_sent_with_an_album_chosen(client_for, family, alice):
    """A browser without CSS :has() (nor script) shows the name field beside every album: a name typed there with an
    album still chosen put the photos into that album and made none, without a word about the name."""
    photo = photo_factory(family=family, user=alice)
    old = Album.objects.create(family=family, name="Old", created_by=alice)
    post = {"action": "add_to_album", "album": str(old.pk), "new_album_name": "Holiday 2026", "photos": [photo.pk]}
    response = client_for(alice).post(reverse("gallery:photos_bulk"), post, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "Choose “New album…” to make “Holiday 2026”." in body and 'class="error"' in body
    assert json.loads(response["HX-Trigger"])["bulk-done"]["ok"] == []
    response = client_for(alice).post(reverse("gallery:photos_bulk"), {**post, "next": "/"}, follow=True)
    assert "Choose “New album…” to make “Holiday 2026”." in response.content.decode()
    assert list(Album.objects.all()) == [old] and not old.entries.exists()
    # An empty field beside the album chosen: the photos go in.
    client_for(alice).post(reverse("gallery:photos_bulk"), {**post, "new_album_name": " "},
                           headers={"HX-Request": "true"})
    assert old.entries.filter(photo=photo).exists()


def test_new_albums_words_name_two_families_of_one_name_by_their_admins(client_for, family, alice, mallory):
    """Someone in two families named "Smiths" (the site's administrator put them there, or one was renamed) read
    "The photos ticked are in Smiths and Smiths", "Smiths has a smart album named …" and "Smiths had one of that
    name", not knowing which; every picker names them "Smiths · admin: alice" and "Smiths · admin: mallory"."""
    from gallery.models import Membership
    from tests.factories import FamilyFactory

    twin = FamilyFactory(name="Smiths")
    MembershipFactory(family=twin, user=mallory, role=Membership.Role.ADMIN)
    MembershipFactory(family=twin, user=alice)
    ours, theirs = photo_factory(family=family, user=alice), photo_factory(family=twin, user=mallory)
    Album.objects.create(family=twin, name="Dogs", kind=Album.Kind.SMART, search={"q": "dog"}, created_by=mallory)
    picnic = Album.objects.create(family=twin, name="Picnic", created_by=mallory)
    client = client_for(alice)

    def bar(name, photos):
        response = client.post(reverse("gallery:photos_bulk"), {
            "action": "add_to_album", "album": "new", "new_album_name": name, "photos": [p.pk for p in photos]},
            headers={"HX-Request": "true"})
        return " ".join(response.content.decode().split())

    assert "The photos ticked are in Smiths · admin: alice and Smiths · admin: mallory," in bar("Both", [ours, theirs])
    assert "Smiths · admin: mallory has a smart album named “Dogs”" in bar("dogs", [theirs])
    assert "(Smiths · admin: mallory had one of that name: no second was made)" in bar("picnic", [theirs])
    assert picnic.entries.filter(photo=theirs).exists()


def test_the_bars_name_field_is_emptied_once_the_new_album_is_made(client_for, family, alice):
    """After "New album…" made "Picnic" the bar chose Picnic in its list, and its name field still read "Picnic": the
    next "New album…" offered to make it again (the family's album of that name, used). It comes back empty (oob)."""
    photo = photo_factory(family=family, user=alice)
    response = client_for(alice).post(reverse("gallery:photos_bulk"), {
        "action": "add_to_album", "album": "new", "new_album_name": "Picnic", "photos": [photo.pk]},
        headers={"HX-Request": "true"})
    field = re.search(r'<input [^>]*name="new_album_name"[^>]*>', response.content.decode())
    assert field and 'hx-swap-oob="true"' in field.group(0) and "value=" not in field.group(0)
    refused = client_for(alice).post(reverse("gallery:photos_bulk"), {
        "action": "add_to_album", "album": "new", "new_album_name": "", "photos": [photo.pk]},
        headers={"HX-Request": "true"})
    assert 'name="new_album_name"' not in refused.content.decode()  # (what was typed stays to be mended)


# --- a refusal of the bar without JavaScript -----------------------------------------------------------------------


def _ticked(page: str) -> list[int]:
    """The photos whose box the page draws ticked."""
    return sorted(int(pk) for pk in re.findall(r'<input type="checkbox" class="pick-box" name="photos" value="(\d+)"'
                                               r'[^>]* checked[ >]', page))


def _bar_status(page: str) -> str:
    return html.unescape(re.search(r'<p id="bulk-status"[^>]*>(.*?)</p>', page, re.S).group(1))


def _bar_reporting(page: str) -> str:
    """What the bar says when it is drawn reporting (class "reporting": shown with JavaScript though nothing is
    ticked, static/js/select.js), else ""."""
    bar = re.search(r'<form id="bulk-form" class="([^"]*)"', page)
    return _bar_status(page) if bar and "reporting" in bar.group(1).split() else ""


def test_a_refused_bar_without_javascript_comes_back_with_the_ticks_the_typing_and_why(client_for, family, alice,
                                                                                       other_family, mallory):
    """Without JavaScript the bar is a plain form at the foot of the page: a refusal ("New album…" without a name, a
    name typed with an album chosen) went back to the page with a message at its top, every box unticked and every
    field empty: the photos to tick again one by one, the name to type again. The page comes back (a GET: a reload
    sends nothing again) at the bar, the photos ticked, what was typed and chosen kept, and why said there; once: the
    page drawn again after is the page as it is."""
    photos = [photo_factory(family=family, user=alice) for _ in range(3)]
    theirs = photo_factory(family=other_family, user=mallory)
    old = Album.objects.create(family=family, name="Old", created_by=alice)
    client = client_for(alice)
    page_url = f"/?family={family.pk}"
    post = {"action": "add_to_album", "album": "new", "new_album_name": " ", "tags": "sea, sand",
            "shift_amount": "2", "shift_unit": "days", "photos": [photos[0].pk, photos[2].pk, theirs.pk],
            "next": page_url}

    response = client.post(reverse("gallery:photos_bulk"), post)

    assert response.status_code == 302 and response["Location"] == f"{page_url}#bulk-form"
    page = client.get(page_url).content.decode()
    assert _ticked(page) == sorted([photos[0].pk, photos[2].pk])
    assert f'value="{theirs.pk}"' not in page  # (another family's photo, ticked or not, is not drawn)
    assert "An album needs a name." in _bar_status(page)
    assert '<option value="new" selected>New album…</option>' in page
    assert re.search(r'<input type="text" name="tags" [^>]*value="sea, sand"', page)
    assert re.search(r'<input type="number" name="shift_amount" [^>]*value="2"', page)
    assert '<option value="days" selected>days</option>' in page and '<option value="hours">hours</option>' in page
    again = client.get(page_url).content.decode()  # (a reload, or another page: the page as it is)
    assert _ticked(again) == [] and "An album needs a name." not in again
    assert '<option value="hours" selected>hours</option>' in again

    client.post(reverse("gallery:photos_bulk"), {**post, "album": str(old.pk), "new_album_name": "Garden"})
    page = client.get(page_url).content.decode()
    assert "Choose “New album…” to make “Garden”." in _bar_status(page)
    assert f'<option value="{old.pk}" selected>' in page and re.search(
        r'<input type="text" name="new_album_name" [^>]*value="Garden"', page)
    assert _ticked(page) == sorted([photos[0].pk, photos[2].pk]) and not Album.objects.exclude(pk=old.pk).exists()
    # Done: no tick is kept (the photos are in the album; the message says so at the top)
    client.post(reverse("gallery:photos_bulk"), {**post, "album": str(old.pk), "new_album_name": ""})
    page = client.get(page_url).content.decode()
    assert _ticked(page) == [] and "2 photos added to the album." in html.unescape(page)


def test_every_refusal_of_the_bar_without_javascript_keeps_the_ticks(client_for, family, alice, settings):
    """Each action of the bar went back the same way, the ticks lost: a shift that is no number, tags not typed, a
    download of more than it holds, on the timeline or an album's page. They all come back through one helper."""
    photos = [photo_factory(family=family, user=alice) for _ in range(3)]
    album = Album.objects.create(family=family, name="Trip", created_by=alice)
    from gallery.album_services import album_add_photos

    album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in photos])
    client = client_for(alice)
    ticked = [photos[0].pk, photos[1].pk]
    for next_url in ("/", album.get_absolute_url()):
        for post, said in (({"action": "shift_dates", "shift_amount": "soon", "shift_unit": "hours"},
                            "Type how far to shift the dates"),
                           ({"action": "add_tags", "tags": " "}, "Type at least one tag.")):
            response = client.post(reverse("gallery:photos_bulk"), {**post, "photos": ticked, "next": next_url})
            assert response["Location"] == f"{next_url}#bulk-form", post
            page = client.get(next_url).content.decode()
            assert _ticked(page) == sorted(ticked) and said in _bar_status(page), (next_url, post)
        settings.DOWNLOAD_MAX_PHOTOS = 1
        response = client.post(reverse("gallery:photos_download"), {"photos": ticked, "next": next_url})
        assert response["Location"] == f"{next_url}#bulk-form"
        page = client.get(next_url).content.decode()
        assert _ticked(page) == sorted(ticked) and "A download holds at most 1 photos" in _bar_status(page)
        settings.DOWNLOAD_MAX_PHOTOS = 500


def _invalid_fields(page: str) -> list[str]:
    """The bar's fields drawn aria-invalid (each pointing at the bar's status line, where why is said)."""
    bar = re.search(r'<form id="bulk-form".*?</form>', page, re.S).group(0)
    fields = re.findall(r'<(?:input|select)\b[^>]*>', bar)
    invalid = [f for f in fields if 'aria-invalid="true"' in f]
    assert all('aria-describedby="bulk-status"' in f for f in invalid)
    return sorted(re.search(r'name="([^"]+)"', f).group(1) for f in invalid)


def test_a_refused_bar_without_javascript_marks_the_field_it_is_about_invalid(client_for, family, other_family,
                                                                               alice):
    """The refusal was said in the bar's status line, but nothing told a screen reader which field it was about: the
    field the refusal is about is drawn aria-invalid and described by the status line; a refusal of no one field
    (nothing ticked) marks none, and the page drawn again after marks none."""
    MembershipFactory(family=other_family, user=alice)  # (alice is in both families)
    photo = photo_factory(family=family, user=alice)
    theirs_too = photo_factory(family=other_family, user=alice)
    old = Album.objects.create(family=family, name="Old", created_by=alice)
    client = client_for(alice)
    base = {"photos": [photo.pk], "next": "/"}
    for post, field in (
            ({"action": "add_to_album", "album": "new", "new_album_name": " "}, ["new_album_name"]),
            ({"action": "add_to_album", "album": str(old.pk), "new_album_name": "Garden"}, ["new_album_name"]),
            ({"action": "add_to_album", "album": "new", "new_album_name": "Both",
              "photos": [photo.pk, theirs_too.pk]}, ["new_album_family"]),
            ({"action": "add_tags", "tags": " "}, ["tags"]),
            ({"action": "remove_tags", "tags": ","}, ["tags"]),
            ({"action": "shift_dates", "shift_amount": "soon", "shift_unit": "hours"}, ["shift_amount"]),
            ({"action": "shift_dates", "shift_amount": "200", "shift_unit": "days", "photos": []}, []),
            ({"action": "shift_dates", "shift_amount": "999999", "shift_unit": "days"}, ["shift_amount"]),
    ):
        client.post(reverse("gallery:photos_bulk"), {**base, **post})
        page = client.get("/").content.decode()
        assert _bar_reporting(page), post
        assert _invalid_fields(page) == field, post
        assert _invalid_fields(client.get("/").content.decode()) == []


def test_a_refusal_of_the_bar_is_taken_by_its_pages_full_draw_only(client_for, family, alice):
    """The refusal kept for the page the bar was on is taken by that page's view when it draws the whole page: a
    partial of it drawn in between (the next photos scrolled in, HTMX) neither shows nor drops it; another page
    drawn first drops it (the page drawn next is the page as it is)."""
    photos = [photo_factory(family=family, user=alice) for _ in range(2)]
    client = client_for(alice)
    refused = {"action": "add_tags", "tags": " ", "photos": [photos[0].pk], "next": "/"}

    client.post(reverse("gallery:photos_bulk"), refused)
    partial = client.get("/", headers={"HX-Request": "true"}).content.decode()
    assert 'id="bulk-form"' not in partial and "Type at least one tag." not in partial
    page = client.get("/").content.decode()
    assert "Type at least one tag." in _bar_reporting(page) and _ticked(page) == [photos[0].pk]
    assert _bar_reporting(client.get("/").content.decode()) == ""

    client.post(reverse("gallery:photos_bulk"), refused)
    client.get(reverse("search:search"))
    assert _bar_reporting(client.get("/").content.decode()) == "" and _ticked(client.get("/").content.decode()) == []


def test_the_api_takes_an_action_registered_after_gallery_apis_was_imported(monkeypatch):
    """The bulk API's choices were read from BULK_ACTIONS when gallery.apis was imported: an action another app
    registers later (search's read_text at start-up) was "not a valid choice" whenever the import came first."""
    from gallery.apis import PhotoBulkApi
    from gallery.bulk import BULK_ACTIONS, BulkAction

    monkeypatch.setitem(BULK_ACTIONS, "registered_later", BulkAction(name="registered_later", label="{photos}",
                                                                      run=lambda *, user, data: []))
    data = PhotoBulkApi.BulkInputSerializer(data={"action": "registered_later", "photos": [1]})
    assert data.is_valid(), data.errors
