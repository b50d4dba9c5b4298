"""Near-duplicates: the same picture re-encoded and resized is grouped with its original (perceptual hash), a
different picture is not; the review page suggests the larger, trashes the rest through the trash service with its
rights; other families see nothing (404)."""

from __future__ import annotations

import io
import re
from urllib.parse import urlencode

from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from rest_framework.pagination import PageNumberPagination

from gallery.models import Photo
from gallery.services import UploadResult, photo_create_from_bytes
from gallery.trash_services import photos_restore, photos_trash
from search.duplicate_finder import duplicates_find, duplicates_scan
from search.duplicates import duplicate_groups, duplicates_dismiss_group, group_key
from search.models import DuplicatePair
from search.tests.conftest import shape_png
from tests.factories import photo_factory
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


def _jpeg_copy(png: bytes, size: int, quality: int = 80) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").resize((size, size)).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _upload(family, user, data: bytes, name: str) -> Photo:
    result = photo_create_from_bytes(family=family, uploaded_by=user, data=data, filename=name)
    assert result.outcome == UploadResult.SAVED, result.reason
    return result.photo


@pytest.fixture
def trio(toy_model, family, alice, django_capture_on_commit_callbacks):
    """An original, the same picture re-saved as a larger JPEG, and a different picture; embedded by the worker
    (which looks for near-duplicates after embedding)."""
    original = shape_png("red", "circle", seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        photos = {"original": _upload(family, alice, original, "IMG_0001.png"),
                  "copy": _upload(family, alice, _jpeg_copy(original, 192), "IMG_0001 (1).jpg"),
                  "other": _upload(family, alice, shape_png("green", "triangle", seed=2), "IMG_0002.png")}
    run_queued_tasks()
    assert {p.status for p in Photo.objects.all()} == {Photo.Status.READY}
    return photos


def test_a_resized_reencoded_copy_is_grouped_with_its_original_and_a_different_picture_is_not(trio, family, alice):
    groups = duplicate_groups(user=alice, family=family)
    assert len(groups) == 1
    group = groups[0]
    assert {m.photo.pk for m in group.members} == {trio["original"].pk, trio["copy"].pk}
    assert "hash" in group.signals
    # The larger (192² against 96²) is the one to keep, listed first.
    assert group.keep.pk == trio["copy"].pk and group.members[0].keep and not group.members[1].keep
    assert "perceptual hash" in group.members[1].reason
    pair = DuplicatePair.objects.get()
    assert pair.hash_distance <= 6 and pair.family_id == family.pk


def test_with_equal_sizes_the_earliest_taken_is_kept(toy_model, family, alice, django_capture_on_commit_callbacks):
    picture = shape_png("blue", "square", seed=3)
    with django_capture_on_commit_callbacks(execute=True):
        later = _upload(family, alice, _jpeg_copy(picture, 96, quality=90), "later.jpg")
        earlier = _upload(family, alice, _jpeg_copy(picture, 96, quality=91), "earlier.jpg")
    Photo.objects.filter(pk=earlier.pk).update(taken_at=later.taken_at.replace(year=2001))
    Photo.objects.filter(pk__in=[later.pk, earlier.pk]).update(file_size=1000)
    run_queued_tasks()
    [group] = duplicate_groups(user=alice, family=family)
    assert group.keep.pk == earlier.pk


def test_the_review_page_shows_the_group_side_by_side_and_trashes_the_rest_in_one_click(trio, family, client_for,
                                                                                          alice):
    client = client_for(alice)
    page = client.get(reverse("search:duplicates", args=[family.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Suggested to keep" in html and "192 × 192" in html and "96 × 96" in html
    assert f'data-photo="{trio["other"].pk}"' not in html
    # The rest is ticked, the keeper is not: one click trashes the original, keeps the copy.
    assert f'name="photo" value="{trio["original"].pk}" checked' in html
    assert f'name="photo" value="{trio["copy"].pk}">' in html
    response = client.post(reverse("search:duplicates_trash", args=[family.pk]), {"photo": [trio["original"].pk]},
                           follow=True)
    assert "Moved 1 photo to the trash." in response.content.decode()
    assert Photo.all_objects.get(pk=trio["original"].pk).trashed_at is not None
    assert duplicate_groups(user=alice, family=family) == []  # a group of one is no group
    # Restored, the pair is back (it was only hidden).
    photos_restore(user=alice, photo_ids=[trio["original"].pk])
    assert len(duplicate_groups(user=alice, family=family)) == 1


def test_the_review_page_shows_a_file_name_stored_with_an_override_isolated_without_it(trio, family, client_for,
                                                                                      alice):
    """A file's name imported before e253975 may hold a direction override: the page printed it raw under the title,
    "IMG<U+202E>1234.jpg" as "IMGgpj.4321". It is shown as people's text is (the `isolated` filter)."""
    Photo.objects.filter(pk=trio["original"].pk).update(original_filename="IMG\u202e1234.jpg")
    html = client_for(alice).get(reverse("search:duplicates", args=[family.pk])).content.decode()
    assert "\u202e" not in html and '<small class="muted">\u2068IMG1234.jpg\u2069</small>' in html


def test_a_plain_member_can_not_trash_others_uploads(trio, family, client_for, bob):
    client = client_for(bob)
    html = client.get(reverse("search:duplicates", args=[family.pk])).content.decode()
    assert "Suggested to keep" in html and 'name="photo"' not in html and "or a family admin can trash it" in html
    assert "Move ticked to trash" not in html
    response = client.post(reverse("search:duplicates_trash", args=[family.pk]), {"photo": [trio["original"].pk]},
                           follow=True)
    assert "Only the uploader or a family admin" in response.content.decode()
    assert Photo.objects.filter(pk=trio["original"].pk).exists()


def test_a_copy_whose_uploader_left_names_no_one_who_can_no_longer_trash_it(toy_model, family, alice, bob, client_for,
                                                                           django_capture_on_commit_callbacks):
    """carol uploaded a photo and its copy, then left the family. The page told bob "Only carol or a family admin can
    trash it": carol can't any more (and a deleted account's was "its uploader"). As the trash page says of restoring,
    the uploader is named only while they are in the family."""
    from gallery.services import membership_add, membership_remove, users_delete
    from tests.factories import UserFactory

    carol = UserFactory(username="carol")
    membership_add(family=family, user=carol)
    original = shape_png("red", "circle", seed=1)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(family, carol, original, "IMG_0001.png")
        _upload(family, carol, _jpeg_copy(original, 192), "IMG_0001 (1).jpg")
    run_queued_tasks()
    url = reverse("search:duplicates", args=[family.pk])
    assert "Only carol or a family admin can trash it." in client_for(bob).get(url).content.decode()

    membership_remove(family=family, user=carol)
    html = client_for(bob).get(url).content.decode()
    assert "carol" not in html and html.count("Only a family admin can trash it.") == 2

    membership_add(family=family, user=carol)  # back, she may again
    assert "Only carol or a family admin can trash it." in client_for(bob).get(url).content.decode()
    users_delete(users=type(carol).objects.filter(pk=carol.pk))
    html = client_for(bob).get(url).content.decode()
    assert "its uploader" not in html and html.count("Only a family admin can trash it.") == 2


def test_another_family_gets_404_on_the_page_the_trash_button_and_the_api(trio, family, client_for, mallory):
    client = client_for(mallory)
    assert client.get(reverse("search:duplicates", args=[family.pk])).status_code == 404
    assert client.post(reverse("search:duplicates_trash", args=[family.pk]),
                       {"photo": [trio["original"].pk]}).status_code == 404
    assert client.get("/api/v1/duplicates/", {"family": family.pk}).status_code == 404
    assert Photo.objects.filter(pk=trio["original"].pk).exists()
    # Their own family, with photos of their own, has no group of ours.
    response = client.get("/api/v1/duplicates/", {"family": mallory.memberships.get().family_id})
    assert response.status_code == 200
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_a_foreign_photo_id_posted_to_our_trash_button_is_refused(trio, family, other_family, mallory, client_for,
                                                                  alice):
    theirs = _upload(other_family, mallory, shape_png("red", "square", seed=9), "x.png")
    response = client_for(alice).post(reverse("search:duplicates_trash", args=[family.pk]), {"photo": [theirs.pk]},
                                      follow=True)
    assert "No such photo." in response.content.decode()
    assert Photo.objects.filter(pk=theirs.pk).exists()


def test_the_api_lists_groups_with_sizes_dates_resolution_and_the_reason(trio, family, api):
    response = api.get("/api/v1/duplicates/", {"family": family.pk})
    assert response.status_code == 200
    assert response.json()["count"] == 1
    [group] = response.json()["results"]
    assert group["keep"] == trio["copy"].pk and "hash" in group["signals"]
    first, second = group["photos"]
    assert first["id"] == trio["copy"].pk and first["keep"] and (first["width"], first["height"]) == (192, 192)
    assert second["id"] == trio["original"].pk and not second["keep"] and second["file_size"] > 0
    assert second["taken_at"] and "64 bits" in second["reason"] or "identical" in second["reason"]


def test_the_api_pages_groups_like_every_other_list(trio, family, alice, api, monkeypatch,
                                                     django_capture_on_commit_callbacks):
    picture = shape_png("green", "triangle", seed=2)  # a copy of the trio's other picture: a second group
    with django_capture_on_commit_callbacks(execute=True):
        _upload(family, alice, _jpeg_copy(picture, 192), "IMG_0002 (1).jpg")
    run_queued_tasks()
    assert len(duplicate_groups(user=alice, family=family)) == 2
    monkeypatch.setattr(PageNumberPagination, "page_size", 1)  # read from REST_FRAMEWORK once, at import
    first = api.get("/api/v1/duplicates/", {"family": family.pk}).json()
    assert first["count"] == 2 and len(first["results"]) == 1 and first["previous"] is None
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert {first["results"][0]["keep"], second["results"][0]["keep"]} == \
        {group.keep.pk for group in duplicate_groups(user=alice, family=family)}
    assert api.get("/api/v1/duplicates/", {"family": family.pk, "page": 3}).status_code == 404


def test_the_api_asks_for_a_family(api, family):
    response = api.get("/api/v1/duplicates/")
    assert response.status_code == 400 and "family" in response.json()
    assert api.get("/api/v1/duplicates/", {"family": "x"}).status_code == 400


def test_the_schema_describes_the_duplicates_endpoint(client, alice):
    client.force_login(alice)  # the schema is for signed-in users
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    assert "/api/v1/duplicates/" in schema["paths"]


def test_the_embedding_signal_groups_what_the_hash_misses(trio, family, alice, settings):
    """A hash threshold of 0 bits misses nothing here but proves the other signal: with a cosine threshold the
    copy and the original pass, they are grouped "by embedding", with the cosine said."""
    settings.DUPLICATE_HASH_DISTANCE = -1
    settings.DUPLICATE_COSINE = 0.0
    duplicates_scan(family_id=family.pk)
    groups = duplicate_groups(user=alice, family=family)
    assert groups and all(group.signals == ["embedding"] for group in groups)
    assert all("cosine" in member.reason for group in groups for member in group.members)
    settings.DUPLICATE_COSINE = 1.01  # nothing is that close: no group
    duplicates_scan(family_id=family.pk)
    assert duplicate_groups(user=alice, family=family) == []


def test_finding_again_replaces_what_was_stored(trio, family, alice, settings):
    settings.DUPLICATE_HASH_DISTANCE = -1
    settings.DUPLICATE_COSINE = 1.01
    duplicates_find(photo_ids=[trio["copy"].pk])
    assert not DuplicatePair.objects.exists()


def test_the_page_reads_a_few_statements_whatever_the_number_of_groups(toy_model, family, alice, client_for,
                                                                      django_capture_on_commit_callbacks,
                                                                      django_assert_max_num_queries):
    with django_capture_on_commit_callbacks(execute=True):
        for n, shape in enumerate(["circle", "square", "triangle"]):
            picture = shape_png("red", shape, seed=20 + n)
            _upload(family, alice, picture, f"{n}.png")
            _upload(family, alice, _jpeg_copy(picture, 150), f"{n}.jpg")
    run_queued_tasks()
    client = client_for(alice)
    assert len(duplicate_groups(user=alice, family=family)) >= 3
    with django_assert_max_num_queries(12):
        assert client.get(reverse("search:duplicates", args=[family.pk])).status_code == 200


def test_a_copy_in_another_family_is_never_paired_across_families(trio, family, other_family, mallory, alice):
    theirs = _upload(other_family, mallory, _jpeg_copy(shape_png("red", "circle", seed=1), 150), "copy.jpg")
    duplicates_find(photo_ids=[theirs.pk, trio["original"].pk])
    assert not DuplicatePair.objects.filter(family=other_family).exists()
    assert not DuplicatePair.objects.filter(photo_a=theirs).exists() and \
        not DuplicatePair.objects.filter(photo_b=theirs).exists()
    assert duplicate_groups(user=mallory, family=other_family) == []
    assert len(duplicate_groups(user=alice, family=family)) == 1


def _pairs(family, user, count: int) -> list[tuple[Photo, Photo]]:
    """`count` groups of two, stored as the worker stores them (the rows directly: no model needed)."""
    from tests.factories import photo_factory

    groups = []
    for n in range(count):
        a, b = (photo_factory(family=family, user=user, filename=f"g{n}-{side}.jpg") for side in "ab")
        DuplicatePair.objects.create(family=family, photo_a=a, photo_b=b, hash_distance=0)
        groups.append((a, b))
    return groups


def test_the_review_page_shows_a_page_of_groups_and_loads_the_rest(family, alice, client_for, settings):
    settings.DUPLICATE_GROUPS_PAGE_SIZE = 2
    _pairs(family, alice, 3)
    client = client_for(alice)
    url = reverse("search:duplicates", args=[family.pk])
    order = [group.keep.pk for group in duplicate_groups(user=alice, family=family)]
    body = client.get(url).content.decode()
    shown = [int(pk) for pk in re.findall(r'data-group="(\d+)"', body)]
    assert shown == order[:2]
    assert "3 groups" in body  # all of them, not the page's
    more = re.search(r'<a class="more" href="([^"]*)"\s+hx-get="([^"]*)"', body)
    assert more and more.group(1) == more.group(2) == "?page=2"
    partial = client.get(url + "?page=2", headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial and 'class="more"' not in partial
    assert [int(pk) for pk in re.findall(r'data-group="(\d+)"', partial)] == order[2:]
    whole = client.get(url + "?page=2").content.decode()
    assert "<html" in whole and "3 groups" in whole and 'href="?page=1"' in whole
    assert [int(pk) for pk in re.findall(r'data-group="(\d+)"', whole)] == order[2:]


def test_trashing_a_group_on_a_later_page_comes_back_to_that_page(family, alice, client_for, settings):
    """Working through page 3 of the groups, each click used to send the member back to the first."""
    settings.DUPLICATE_GROUPS_PAGE_SIZE = 1
    groups = _pairs(family, alice, 3)
    client = client_for(alice)
    url = reverse("search:duplicates", args=[family.pk])
    body = client.get(url + "?page=2").content.decode()
    assert '<input type="hidden" name="page" value="2">' in body
    keep = int(re.search(r'data-group="(\d+)"', body).group(1))
    extra = next(b if a.pk == keep else a for a, b in groups if keep in (a.pk, b.pk))
    response = client.post(reverse("search:duplicates_trash", args=[family.pk]), {"photo": [extra.pk], "page": "2"})
    assert response.status_code == 302 and response["Location"] == url + "?page=2"
    response = client.post(reverse("search:duplicates_trash", args=[family.pk]), {"photo": [], "page": "x"})
    assert response["Location"] == url


def test_groups_of_the_same_size_and_date_keep_one_order(family, alice):
    groups = _pairs(family, alice, 4)
    Photo.objects.update(taken_at=Photo.objects.first().taken_at)  # every tie the sort can meet
    first = [group.keep.pk for group in duplicate_groups(user=alice, family=family)]
    DuplicatePair.objects.filter(photo_a=groups[0][0]).delete()
    DuplicatePair.objects.create(family=family, photo_a=groups[0][0], photo_b=groups[0][1], hash_distance=0)
    assert [group.keep.pk for group in duplicate_groups(user=alice, family=family)] == first


def test_the_command_takes_the_family_by_name_or_id(trio, family, other_family):
    """README: commands that take --family accept its name or its id."""
    from django.core.management import CommandError, call_command

    def run(*args) -> str:
        out = io.StringIO()
        call_command("find_duplicates", *args, stdout=out)
        return out.getvalue()

    assert run("--family", family.name.lower()) == "Looked for near-duplicates of 3 photos.\n"
    assert run("--family", str(other_family.pk)) == "Looked for near-duplicates of 0 photos.\n"
    assert run() == "Looked for near-duplicates of 3 photos.\n"
    with pytest.raises(CommandError, match="No family called “Nobodies”"):
        run("--family", "Nobodies")


def test_the_review_page_says_when_each_photo_was_taken_in_its_own_zone_as_the_photo_page_does(trio, family,
                                                                                                 client_for, alice):
    """A photo taken at 17:30 in Lisbon showed "16:30" on this page (the site's zone: the template turned the local
    time back) and "17:30" on its own page (QA)."""
    from datetime import datetime, timezone as dt_timezone

    Photo.objects.filter(pk=trio["copy"].pk).update(
        taken_at=datetime(2023, 7, 14, 16, 30, tzinfo=dt_timezone.utc), taken_tz="Europe/Lisbon")
    client = client_for(alice)
    html = client.get(reverse("search:duplicates", args=[family.pk])).content.decode()
    photo_page = client.get(reverse("gallery:photo_detail", args=[trio["copy"].pk])).content.decode()
    assert "14 Jul 2023 17:30" in photo_page  # precondition: the photo page says Lisbon's time
    assert "14 Jul 2023 17:30" in html and "14 Jul 2023 16:30" not in html


def test_the_review_page_says_which_dates_are_only_the_upload_time(trio, family, client_for, alice):
    """A copy without a date in its file showed the day it was uploaded as "Taken", beside the original's real date:
    which one is older (the suggestion's tie-break) looked decided by the photos themselves."""
    Photo.objects.filter(pk=trio["original"].pk).update(taken_at_source=Photo.DateSource.EXIF)

    html = client_for(alice).get(reverse("search:duplicates", args=[family.pk])).content.decode()

    assert html.count("(upload time: no date in the file)") == 1


@pytest.mark.parametrize("count", [2, 6])
def test_a_page_of_groups_reads_the_photos_of_its_groups_only(family, alice, client_for, settings, count,
                                                              django_assert_max_num_queries):
    """Grouping reads the pairs and the few columns that order a group; whole photos only for the page shown (it
    built every group's photos on every page: a second a page for 3,000 groups)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.DUPLICATE_GROUPS_PAGE_SIZE = 2
    groups = _pairs(family, alice, count)
    client = client_for(alice)
    url = reverse("search:duplicates", args=[family.pk])
    client.get(url)
    with django_assert_max_num_queries(10), CaptureQueriesContext(connection) as queries:
        body = client.get(url).content.decode()
    whole_rows = [q["sql"] for q in queries.captured_queries if '"gallery_photo"."description"' in q["sql"]]
    assert len(whole_rows) == 1 and len(re.findall(r"\d+", whole_rows[0].split(" IN (")[1].split(")")[0])) == 4
    assert f"{count} groups" in body and len(re.findall(r'data-group="(\d+)"', body)) == 2
    seen = []
    for number in range(1, count // 2 + 1):
        seen += [int(pk) for pk in re.findall(r'data-group="(\d+)"', client.get(url, {"page": number}).content.decode())]
    assert seen == [group.keep.pk for group in duplicate_groups(user=alice, family=family)]
    assert len(set(seen)) == count == len(groups)


def test_a_member_says_a_group_is_not_duplicates_and_it_stays_apart(trio, family, alice, bob, client_for, api,
                                                                      mallory, other_family):
    """A wrong group stayed on the page until a photo went to the trash: "Not duplicates: keep all" (any member,
    as any member curates) keeps both, stops grouping them, and holds when the worker finds the pair again."""
    pair = [trio["original"].pk, trio["copy"].pk]
    page = client_for(bob).get(reverse("search:duplicates", args=[family.pk])).content.decode()
    assert "Not duplicates: keep all" in page
    # Another family: 404, and nothing changes.
    assert client_for(mallory).post(reverse("search:duplicates_dismiss", args=[family.pk]),
                                    {"group": group_key(pair)}).status_code == 404
    assert client_for(mallory).post("/api/v1/duplicates/dismiss/", {"family": family.pk, "photos": pair},
                                    content_type="application/json").status_code == 404
    assert len(duplicate_groups(user=alice, family=family)) == 1

    [keep] = re.findall(r'data-group="(\d+)"', page)
    response = _post_form(client_for(bob), reverse("search:duplicates_dismiss", args=[family.pk]),
                          _form_of(page, int(keep)))
    body = response.content.decode()
    assert "Kept all 2: they are no longer shown as near-duplicates" in body and "No near-duplicates found" in body
    assert Photo.objects.filter(pk__in=pair).count() == 2
    assert len(duplicate_groups(user=alice, family=family)) == 0
    duplicates_find(photo_ids=pair)  # found again (a rotation re-embeds): still apart
    assert DuplicatePair.objects.exists() and len(duplicate_groups(user=alice, family=family)) == 0
    # The API says the same, and there is nothing more to dismiss.
    again = api.post("/api/v1/duplicates/dismiss/", {"family": family.pk, "photos": pair},
                     content_type="application/json")
    assert again.status_code == 200 and again.json() == {"dismissed": 0}
    assert api.post("/api/v1/duplicates/dismiss/", {"family": family.pk, "photos": [pair[0]]},
                    content_type="application/json").status_code == 400
    # Undone in the Django admin (deleting the dismissal): the group is back.
    from search.models import DuplicateDismissal

    DuplicateDismissal.objects.all().delete()
    assert len(duplicate_groups(user=alice, family=family)) == 1


def test_the_api_dismisses_a_group_and_ignores_other_families_photos(trio, family, other_family, mallory, api, alice):
    theirs = _upload(other_family, mallory, shape_png("red", "square", seed=9), "x.png")
    response = api.post("/api/v1/duplicates/dismiss/",
                        {"family": family.pk, "photos": [trio["original"].pk, trio["copy"].pk, theirs.pk]},
                        content_type="application/json")
    assert response.status_code == 200 and response.json() == {"dismissed": 1}
    assert len(duplicate_groups(user=alice, family=family)) == 0
    from search.models import DuplicateDismissal

    assert list(DuplicateDismissal.objects.values_list("family_id", "dismissed_by__username")) == [(family.pk, "alice")]


def test_not_duplicates_keeps_all_of_a_group_of_more_than_a_hundred(family, alice, client_for, api):
    """A burst or a time-lapse chains into one group of hundreds (a group is every photo linked by a chain of pairs):
    "Not duplicates: keep all" said "Kept all 130" but dismissed only the pairs among the first 100 photos named, and
    the group stayed on the page, 31 photos strong; the API refused the group with a 400."""
    from tests import images
    from tests.factories import photo_factory

    burst = [photo_factory(family=family, user=alice, data=images.jpeg(colour=(n, 40, 90), size=(24 + n % 13, 16 + n // 13)))
             for n in range(130)]
    DuplicatePair.objects.bulk_create([DuplicatePair(family=family, photo_a=a, photo_b=b, hash_distance=2)
                                       for a, b in zip(burst, burst[1:])])
    client = client_for(alice)
    page = client.get(reverse("search:duplicates", args=[family.pk])).content.decode()
    [keep] = re.findall(r'data-group="(\d+)"', page)
    body = _post_form(client, reverse("search:duplicates_dismiss", args=[family.pk]),
                      _form_of(page, int(keep))).content.decode()
    assert "Kept all 130" in body and "No near-duplicates found" in body
    assert len(duplicate_groups(user=alice, family=family)) == 0

    from search.models import DuplicateDismissal

    DuplicateDismissal.objects.all().delete()
    response = api.post("/api/v1/duplicates/dismiss/", {"family": family.pk, "photos": [p.pk for p in burst]},
                        content_type="application/json")
    assert response.status_code == 200 and response.json() == {"dismissed": 129}
    assert len(duplicate_groups(user=alice, family=family)) == 0
    # By ids, at most DISMISS_MAX_PHOTOS (a larger group is named by its key), said rather than keeping a part.
    response = api.post("/api/v1/duplicates/dismiss/",
                        {"family": family.pk, "photos": [p.pk for p in burst] + list(range(10**9, 10**9 + 371))},
                        content_type="application/json")
    assert response.status_code == 400 and "photos" in response.json()


def test_a_chain_of_look_alikes_ticks_for_the_trash_only_what_matches_the_keeper(family, alice, client_for):
    """A group is every photo linked by a chain of near-duplicate pairs (a burst drifts: A~B, B~C), so its far end
    may be another picture altogether; all but the keeper were ticked for the trash, and one click trashed them
    (found by helper upl23: with the toy model, one group held hundreds). Only the keeper's own near-duplicates are
    ticked; the rest are shown, unticked, with the photo each resembles."""
    from tests import images
    from tests.factories import photo_factory

    a, b, c = (photo_factory(family=family, user=alice, data=images.jpeg(colour=(9 * n, 40, 90), size=(90 - n, 60)))
               for n in range(3))
    # Hashes as the pairs say (flat pictures all hash alike): a~b 4 bits, b~c 4 bits, a and c 8 bits apart.
    for photo, phash in ((a, "0000000000000000"), (b, "000000000000000f"), (c, "00000000000000ff")):
        Photo.objects.filter(pk=photo.pk).update(phash=phash)
    DuplicatePair.objects.create(family=family, photo_a=a, photo_b=b, hash_distance=4)
    DuplicatePair.objects.create(family=family, photo_a=b, photo_b=c, hash_distance=4)
    [group] = duplicate_groups(user=alice, family=family)
    assert [(m.photo.pk, m.keep, m.trash) for m in group.members] == [(a.pk, True, False), (b.pk, False, True),
                                                                     (c.pk, False, False)]
    body = client_for(alice).get(reverse("search:duplicates", args=[family.pk])).content.decode()
    ticked = re.findall(r'<input type="checkbox" name="photo" value="(\d+)" checked>', body)
    assert ticked == [str(b.pk)]


def test_an_edited_copy_is_kept_and_its_original_is_not_ticked_for_the_trash(family, alice, client_for):
    """Google Photos exports an edit beside its original ("IMG_0042-edited.jpg", "IMG_0042.jpg"): the edit is what
    the family saw in Google Photos and chose to make, but the original is often as large or larger (the edit is
    re-encoded), so the larger original was suggested to keep and the edit ticked for the trash. The edit is kept, and
    the original (an uncropped, unfiltered version the family may want) is shown unticked, saying what it is."""
    from tests import images
    from tests.factories import photo_factory

    original = photo_factory(family=family, user=alice, data=images.jpeg(colour=(200, 40, 90), size=(120, 80)),
                             filename="IMG_0042.HEIC")  # (an edit is saved as a JPEG whatever the original was)
    edited = photo_factory(family=family, user=alice, data=images.jpeg(colour=(190, 40, 90), size=(96, 64)),
                           filename="IMG_0042-bearbeitet.jpg")
    other = photo_factory(family=family, user=alice, data=images.jpeg(colour=(180, 40, 90), size=(96, 64)),
                          filename="IMG_0043.jpg")
    DuplicatePair.objects.create(family=family, photo_a=original, photo_b=edited, hash_distance=2)
    DuplicatePair.objects.create(family=family, photo_a=edited, photo_b=other, hash_distance=1)
    [group] = duplicate_groups(user=alice, family=family)
    assert [(m.photo.pk, m.keep, m.trash) for m in group.members] == [(edited.pk, True, False),
                                                                     (original.pk, False, False),
                                                                     (other.pk, False, True)]
    assert "original of the edited copy" in group.members[1].reason
    body = client_for(alice).get(reverse("search:duplicates", args=[family.pk])).content.decode()
    assert re.findall(r'<input type="checkbox" name="photo" value="(\d+)" checked>', body) == [str(other.pk)]
    assert "edited copy" in body


def test_google_photos_own_effects_copy_is_no_edit_to_prefer(family, alice):
    """"-effects" copies are Google Photos' own creations (a stylised copy nobody asked for): the larger photo stays
    the keeper."""
    from tests import images
    from tests.factories import photo_factory

    original = photo_factory(family=family, user=alice, data=images.jpeg(colour=(200, 40, 90), size=(120, 80)),
                             filename="IMG_0042.jpg")
    effects = photo_factory(family=family, user=alice, data=images.jpeg(colour=(190, 40, 90), size=(96, 64)),
                            filename="IMG_0042-EFFECTS.jpg")
    DuplicatePair.objects.create(family=family, photo_a=original, photo_b=effects, hash_distance=2)
    [group] = duplicate_groups(user=alice, family=family)
    assert [(m.photo.pk, m.keep, m.trash) for m in group.members] == [(original.pk, True, False),
                                                                     (effects.pk, False, True)]


def _burst(family, user, count: int, *, star: bool = False) -> list[Photo]:
    """A burst of `count` photos grouped as one (a chain of pairs, or every one paired with the first: a star), as
    the worker stores them. One real upload, the rest its rows (the same file, other bytes' hashes): 600 uploads
    took a minute."""
    from tests.factories import photo_factory

    first = photo_factory(family=family, user=user, filename="burst-000.jpg")
    rows = []
    for n in range(1, count):
        row = Photo.objects.get(pk=first.pk)
        row.pk, row.sha256, row.original_filename, row.title = None, f"{n:064x}", f"burst-{n:03}.jpg", ""
        rows.append(row)
    burst = [first, *Photo.objects.bulk_create(rows)]
    pairs = [(burst[0], b) for b in burst[1:]] if star else list(zip(burst, burst[1:]))
    DuplicatePair.objects.bulk_create([DuplicatePair(family=family, photo_a=a, photo_b=b, hash_distance=2)
                                       for a, b in pairs])
    return burst


def _form_of(body: str, keep: int) -> list[tuple[str, str]]:
    """What the browser posts from a group's form: its hidden fields and ticked boxes."""
    section = re.search(rf'<section [^>]*data-group="{keep}">(.*?)</section>', body, re.S).group(1)
    fields = []
    for attrs in re.findall(r"<input ([^>]*)>", section):
        kind, name, value = (re.search(rf'{a}="([^"]*)"', attrs) for a in ("type", "name", "value"))
        if kind.group(1) == "hidden" or (kind.group(1) == "checkbox" and " checked" in attrs):
            fields.append((name.group(1), value.group(1) if value else "on"))
    return fields


GONE = "That group is no longer shown (kept or moved to the trash since the page was drawn): nothing was changed."


def _dismissed() -> bool:
    from search.models import DuplicateDismissal

    return DuplicateDismissal.objects.exists()


def _post_form(client, url: str, fields: list[tuple[str, str]]):
    from urllib.parse import urlencode

    return client.post(url, urlencode(fields), content_type="application/x-www-form-urlencoded", follow=True)


def test_keep_all_and_move_to_trash_work_on_a_group_of_six_hundred(family, alice, client_for, settings):
    """A burst chains into a group of hundreds. The group's form posted every member's id, and a group of about
    500 posted more fields than Django takes (DATA_UPLOAD_MAX_NUMBER_FIELDS): both buttons answered a bare 400, and
    the group could not be kept or trashed at all. "Keep all" posts the group's key (one field, whatever its size),
    and the trash moves at most DUPLICATES_TRASH_MAX ticked photos a click, saying so for the rest. (The page draws
    the first DUPLICATES_SHOWN of the group, ticked, and one box for the rest.)"""
    from search.duplicate_selectors import DUPLICATES_SHOWN

    burst = _burst(family, alice, 600, star=True)  # every photo pairs with the keeper: all 599 ticked
    client = client_for(alice)
    url = reverse("search:duplicates", args=[family.pk])
    body = client.get(url).content.decode()
    [keep] = re.findall(r'data-group="(\d+)"', body)
    fields = _form_of(body, int(keep))
    assert len(fields) < settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    assert sum(name == "photo" for name, _ in fields) == DUPLICATES_SHOWN - 1 and ("more", "on") in fields
    assert "Move these 588 to the trash too" in body

    response = _post_form(client, reverse("search:duplicates_trash", args=[family.pk]), fields)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Moved 500 photos to the trash." in page
    assert "99 more ticked photos were not moved: at most 500 go to the trash at once." in page
    assert Photo.objects.filter(pk__in=[p.pk for p in burst]).count() == 100
    fields = _form_of(page, int(keep))
    assert sum(name == "photo" for name, _ in fields) == DUPLICATES_SHOWN - 1 and ("more", "on") in fields
    assert f"Move these {99 - DUPLICATES_SHOWN + 1} to the trash too" in page  # the rest, still ticked, a click away
    assert "Moved 99 photos" in _post_form(client, reverse("search:duplicates_trash", args=[family.pk]),
                                           fields).content.decode()
    assert list(Photo.objects.filter(pk__in=[p.pk for p in burst])) == [burst[0]]


def test_not_duplicates_keeps_all_of_a_group_of_six_hundred(family, alice, client_for, api, settings):
    burst = _burst(family, alice, 600)
    client = client_for(alice)
    body = client.get(reverse("search:duplicates", args=[family.pk])).content.decode()
    [keep] = re.findall(r'data-group="(\d+)"', body)
    fields = _form_of(body, int(keep))
    assert len(fields) < settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    response = _post_form(client, reverse("search:duplicates_dismiss", args=[family.pk]), fields)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Kept all 600: they are no longer shown as near-duplicates" in page and "No near-duplicates found" in page
    assert Photo.objects.filter(pk__in=[p.pk for p in burst]).count() == 600

    # The API says the group by the key its list gives.
    from search.models import DuplicateDismissal

    DuplicateDismissal.objects.all().delete()
    [group] = api.get("/api/v1/duplicates/", {"family": family.pk}).json()["results"]
    assert group["size"] == 600 and group["key"] == dict(fields)["group"]  # (its first photos listed: test_duplicates_api)
    response = api.post("/api/v1/duplicates/dismiss/", {"family": family.pk, "group": group["key"]},
                        content_type="application/json")
    assert response.status_code == 200 and response.json() == {"dismissed": 599}
    assert len(duplicate_groups(user=alice, family=family)) == 0
    # One of the two, never both nor neither.
    for data in ({"family": family.pk}, {"family": family.pk, "group": group["key"], "photos": [1, 2]},
                 {"family": family.pk, "group": "not a key"}):
        assert api.post("/api/v1/duplicates/dismiss/", data, content_type="application/json").status_code == 400


def test_move_to_trash_works_on_a_thousand_ticked_photos(family, alice, settings):
    """A time-lapse chains into a group of more than a thousand photos, all but the keeper ticked: the form posted
    more fields than Django reads (DATA_UPLOAD_MAX_NUMBER_FIELDS, 1000), the CSRF check could not read the token, and
    the member got a bare 400 page. The trash form reads up to DUPLICATES_TRASH_FIELDS: 500 go, the rest stay ticked."""
    from django.test import Client

    burst = _burst(family, alice, 1100, star=True)
    client = Client(enforce_csrf_checks=True)  # as a browser: the token is read from the posted form
    client.force_login(alice)
    body = client.get(reverse("search:duplicates", args=[family.pk])).content.decode()
    page = _post_form(client, reverse("search:duplicates_trash", args=[family.pk]),
                      _form_of(body, burst[0].pk)).content.decode()
    assert "Moved 500 photos to the trash." in page
    assert "599 more ticked photos were not moved: at most 500 go to the trash at once." in page
    photos_restore(user=alice, photo_ids=[p.pk for p in burst])
    # A form of every id (a page drawn before the page drew a few of a group) is read all the same.
    fields = [(name, value) for name, value in _form_of(body, burst[0].pk) if name not in ("photo", "more")]
    fields += [("photo", str(photo.pk)) for photo in burst[1:]]
    assert sum(name == "photo" for name, _ in fields) == 1099 > settings.DATA_UPLOAD_MAX_NUMBER_FIELDS

    response = _post_form(client, reverse("search:duplicates_trash", args=[family.pk]), fields)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Moved 500 photos to the trash." in page
    assert "599 more ticked photos were not moved: at most 500 go to the trash at once." in page
    assert Photo.objects.filter(pk__in=[p.pk for p in burst]).count() == 600


def test_a_form_past_the_fields_read_is_refused_on_the_page(family, alice, settings, api):
    """Past what a form may post (a group's form past DUPLICATES_TRASH_FIELDS, any other form past Django's 1000):
    the page it came from says why and nothing changes, instead of a bare 400."""
    from django.test import Client

    from search.views import DUPLICATES_TRASH_FIELDS

    burst = _burst(family, alice, 3, star=True)
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    url = reverse("search:duplicates", args=[family.pk])
    fields = _form_of(client.get(url).content.decode(), burst[0].pk)
    too_many = fields + [("photo", str(burst[1].pk))] * DUPLICATES_TRASH_FIELDS
    response = client.post(reverse("search:duplicates_trash", args=[family.pk]),
                           urlencode(too_many),
                           content_type="application/x-www-form-urlencoded", HTTP_REFERER="http://testserver" + url)
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url).content.decode()
    assert (f"Nothing was done: the form sent more than {DUPLICATES_TRASH_FIELDS:,} fields, more than this page "
            "reads at once (too many photos ticked?).") in page
    assert Photo.objects.filter(pk__in=[p.pk for p in burst]).count() == 3

    # The gallery's forms that post photo ids (the selection bar, the trash page) say the same past Django's limit.
    many = [("csrfmiddlewaretoken", dict(fields)["csrfmiddlewaretoken"]), ("action", "trash")]
    many += [("photos", str(burst[1].pk))] * settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    timeline = reverse("gallery:timeline")
    response = client.post(reverse("gallery:photos_bulk"), urlencode(many),
                           content_type="application/x-www-form-urlencoded",
                           HTTP_REFERER="http://testserver" + timeline)
    assert response.status_code == 302 and response["Location"] == timeline
    assert f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields" in client.get(timeline).content.decode()
    # An htmx request (the selection bar) gets the reason in plain text, which the page's problem bar shows.
    response = client.post(reverse("gallery:photos_bulk"), urlencode(many),
                           content_type="application/x-www-form-urlencoded", HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and response["Content-Type"].startswith("text/plain")
    assert response.content.decode().startswith("Nothing was done: the form sent more than")
    # Another site's page as the referrer: back to the home page, never there.
    response = client.post(reverse("gallery:photos_bulk"), urlencode(many),
                           content_type="application/x-www-form-urlencoded", HTTP_REFERER="https://evil.example/x")
    assert response.status_code == 302 and response["Location"] == "/"
    # The API, form-encoded: its own error shape, not the site's 400 page.
    response = api.post(reverse("api_photos_bulk"), urlencode(many[1:]),
                        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and response.json()["detail"] == (
        "The request has more than 1000 fields, the most this server reads (DATA_UPLOAD_MAX_NUMBER_FIELDS): send "
        "JSON, or fewer at once.")
    assert Photo.objects.filter(pk__in=[p.pk for p in burst]).count() == 3


def test_a_group_changed_since_the_page_was_drawn_is_not_kept(family, alice, bob, client_for, api):
    """"Keep all" says which group by its smallest photo and a fingerprint of its members: a group that changed
    since the page was drawn (a photo trashed, one more found) is refused, saying so, rather than keeping photos the
    member never saw."""
    from gallery.trash_services import photos_trash
    from tests.factories import photo_factory

    burst = _burst(family, alice, 5)
    client = client_for(alice)
    url = reverse("search:duplicates", args=[family.pk])
    body = client.get(url).content.decode()
    fields = _form_of(body, burst[0].pk)
    key = dict(fields)["group"]
    late = photo_factory(family=family, user=bob, filename="late.jpg")
    DuplicatePair.objects.create(family=family, photo_a=burst[-1], photo_b=late, hash_distance=1)

    page = _post_form(client, reverse("search:duplicates_dismiss", args=[family.pk]), fields).content.decode()
    assert "This group changed since the page was shown (it now holds 6 photos): nothing was changed." in page
    [group] = duplicate_groups(user=alice, family=family)
    assert len(group.members) == 6
    response = api.post("/api/v1/duplicates/dismiss/", {"family": family.pk, "group": key},
                        content_type="application/json")
    assert response.status_code == 409 and "changed" in response.json()["detail"]
    assert len(duplicate_groups(user=alice, family=family)[0].members) == 6

    # A photo trashed since: the same.
    photos_trash(user=alice, photo_ids=[late.pk, burst[1].pk])  # (the chain splits: 0 alone, 2-4)
    page = _post_form(client, reverse("search:duplicates_dismiss", args=[family.pk]), fields).content.decode()
    assert GONE in page
    assert not _dismissed()
    # Kept once by another member: nothing more to keep.
    body = client.get(url).content.decode()
    fields = _form_of(body, burst[2].pk)
    assert "Kept all 3" in _post_form(client_for(bob), reverse("search:duplicates_dismiss", args=[family.pk]),
                                      fields).content.decode()
    page = _post_form(client_for(alice), reverse("search:duplicates_dismiss", args=[family.pk]),
                      fields).content.decode()
    assert GONE in page


def test_another_familys_group_key_does_nothing(family, other_family, alice, mallory, client_for, api):
    """A key names a group of the family posted to only: another family's key, posted to our family, finds nothing
    and changes nothing in either; posted to their family by us, 404."""
    ours = _burst(family, alice, 3)
    theirs = _burst(other_family, mallory, 3)
    their_page = client_for(mallory).get(reverse("search:duplicates", args=[other_family.pk])).content.decode()
    their_key = dict(_form_of(their_page, theirs[0].pk))["group"]
    page = _post_form(client_for(alice), reverse("search:duplicates_dismiss", args=[family.pk]),
                      [("group", their_key)]).content.decode()
    assert GONE in page
    response = api.post("/api/v1/duplicates/dismiss/", {"family": family.pk, "group": their_key},
                        content_type="application/json")
    assert response.status_code == 409
    assert api.post("/api/v1/duplicates/dismiss/", {"family": other_family.pk, "group": their_key},
                    content_type="application/json").status_code == 404
    assert client_for(alice).post(reverse("search:duplicates_dismiss", args=[other_family.pk]),
                                  {"group": their_key}).status_code == 404
    assert not _dismissed()
    assert len(duplicate_groups(user=mallory, family=other_family)) == 1
    assert len(duplicate_groups(user=alice, family=family)[0].members) == len(ours)


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_a_page_given_twice_is_said_and_the_groups_shown_from_the_first(family, alice, client_for, settings, headers):
    """`?page=1&page=2` showed the second page without a word, as the album page did (given_twice)."""
    settings.DUPLICATE_GROUPS_PAGE_SIZE = 2
    _pairs(family, alice, 3)
    order = [group.keep.pk for group in duplicate_groups(user=alice, family=family)]

    response = client_for(alice).get(reverse("search:duplicates", args=[family.pk]) + "?page=1&page=2",
                                     headers=headers)

    body = response.content.decode()
    assert response.status_code == 400
    assert [int(pk) for pk in re.findall(r'data-group="(\d+)"', body)] == order[:2]
    if not headers:
        assert "Give “page” once: it takes one value." in unescape(body)


def _lookalikes(family, user, count: int) -> list[Photo]:
    """`count` photos of one perceptual hash (the same blank scan, pocket shots), no pair stored yet: rows only, as
    the page reads no file."""
    burst = _burst(family, user, count)
    DuplicatePair.objects.all().delete()
    assert len({photo.phash for photo in Photo.objects.filter(pk__in=[p.pk for p in burst])}) == 1
    return burst


def test_photos_of_one_hash_keep_a_bounded_number_of_pairs_and_stay_one_group(family, alice, settings):
    """QA: 600 flat-colour photos share one perceptual hash, and each was paired with every other: 179,700 pairs for
    one group. Each photo keeps its DUPLICATE_NEIGHBOURS nearest by hash (as the embedding side does), so the pairs
    grow with the photos; the group is still one, and "keep one, trash the rest" still ticks all the others (each is
    the keeper's own copy by its hash, paired with it or not)."""
    photos = _lookalikes(family, alice, 600)
    largest = photos[300]
    Photo.objects.filter(pk=largest.pk).update(width=largest.width * 2)

    duplicates_scan(family_id=family.pk)

    assert DuplicatePair.objects.count() <= 600 * settings.DUPLICATE_NEIGHBOURS
    [group] = duplicate_groups(user=alice, family=family)
    assert len(group.members) == 600 and group.keep.pk == largest.pk
    assert sum(member.trash for member in group.members) == 599


def test_a_larger_copy_found_later_is_kept_and_every_photo_of_its_hash_ticked(family, alice, settings):
    """Pairs are each photo's few nearest: a larger copy arriving after ten others is paired with a few of them
    only, yet it is the keeper. The photos of its hash are its copies all the same: ticked, paired with it or not;
    one a member said is no duplicate of it is not."""
    from search.models import DuplicateDismissal

    settings.DUPLICATE_NEIGHBOURS = 3
    photos = _lookalikes(family, alice, 11)
    late = photos[-1]
    Photo.objects.filter(pk=late.pk).update(phash="ffffffffffffffff")  # (not there yet)
    duplicates_scan(family_id=family.pk)
    Photo.objects.filter(pk=late.pk).update(phash=photos[0].phash, width=photos[0].width * 2)
    duplicates_find(photo_ids=[late.pk])
    paired = {a if b == late.pk else b for a, b in DuplicatePair.objects.filter(
        photo_a_id__in=[late.pk] + [p.pk for p in photos], photo_b_id=late.pk).values_list("photo_a_id", "photo_b_id")}
    assert len(paired) == 3
    not_paired = next(p.pk for p in photos[:-1] if p.pk not in paired)
    DuplicatePair.objects.create(family=family, photo_a_id=min(not_paired, late.pk),
                                 photo_b_id=max(not_paired, late.pk), hash_distance=0)
    DuplicateDismissal.objects.create(family=family, photo_a_id=min(not_paired, late.pk),
                                      photo_b_id=max(not_paired, late.pk), dismissed_by=alice)

    [group] = duplicate_groups(user=alice, family=family)

    assert group.keep.pk == late.pk and len(group.members) == 11
    assert {m.photo.pk for m in group.members if m.trash} == {p.pk for p in photos[:-1]} - {not_paired}


def test_the_page_of_a_group_of_six_hundred_shows_a_few_and_acts_on_all(family, alice, bob, client_for, settings,
                                                                       django_assert_max_num_queries):
    """A group of 600 was one page of 600 photos (480 KB of HTML, 8 s to draw). The page shows the first
    DUPLICATES_SHOWN with "and 588 more like these", which the trash button moves too; its statements do not grow
    with the group, nor with the photos a plain member can't trash (their uploaders were read one by one)."""
    from search.duplicate_selectors import DUPLICATES_SHOWN

    photos = _lookalikes(family, alice, 600)
    duplicates_scan(family_id=family.pk)
    url = reverse("search:duplicates", args=[family.pk])
    for user in (alice, bob):
        client = client_for(user)  # (one client, signed in again)
        client.get(url)
        with django_assert_max_num_queries(12):
            body = client.get(url).content.decode()
        assert body.count("data-photo=") == DUPLICATES_SHOWN
        assert len(body) < 100_000
        assert f"and {600 - DUPLICATES_SHOWN} more like these" in body

    client = client_for(alice)
    body = client.get(url).content.decode()
    fields = _form_of(body, photos[0].pk)
    assert sum(name == "photo" for name, _ in fields) == DUPLICATES_SHOWN - 1 and ("more", "on") in fields
    page = _post_form(client, reverse("search:duplicates_trash", args=[family.pk]), fields).content.decode()
    assert "Moved 500 photos to the trash." in page
    assert "99 more ticked photos were not moved: at most 500 go to the trash at once." in page
    assert f"and {100 - DUPLICATES_SHOWN} more like these" in page
    page = _post_form(client, reverse("search:duplicates_trash", args=[family.pk]),
                      _form_of(page, photos[0].pk)).content.decode()
    assert "Moved 99 photos to the trash." in page and "No near-duplicates found" in page
    assert list(Photo.objects.filter(pk__in=[p.pk for p in photos])) == [photos[0]]


def test_the_rest_of_a_group_not_shown_is_not_moved_when_the_group_changed(family, alice, bob, client_for):
    """The unshown photos are named by the group's key: a group that changed since the page was drawn moves
    nothing, as "keep all" does."""
    from search.duplicate_selectors import DUPLICATES_SHOWN
    from tests.factories import photo_factory

    photos = _lookalikes(family, alice, DUPLICATES_SHOWN + 5)
    duplicates_scan(family_id=family.pk)
    client = client_for(alice)
    url = reverse("search:duplicates", args=[family.pk])
    fields = _form_of(client.get(url).content.decode(), photos[0].pk)
    late = photo_factory(family=family, user=bob, filename="late.jpg")
    Photo.objects.filter(pk=late.pk).update(phash=photos[0].phash, mean_colour=photos[0].mean_colour)
    duplicates_find(photo_ids=[late.pk])

    page = _post_form(client, reverse("search:duplicates_trash", args=[family.pk]), fields).content.decode()

    assert "This group changed since the page was shown (it now holds" in page
    assert Photo.objects.filter(pk__in=[p.pk for p in photos]).count() == len(photos)


def test_pairs_stored_every_with_every_are_pruned_to_each_photos_nearest(family, alice, settings):
    """Families found before pairs were bounded keep every pair of a hash (179,700 for 600 blank scans): migration
    search 0030 keeps each photo's DUPLICATE_NEIGHBOURS nearest by each signal, what a scan stores now, and the
    group stays the same group with the same keeper and the same photos ticked."""
    import importlib

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from tests.factories import photo_factory

    photos = _lookalikes(family, alice, 300)
    small = [photo_factory(family=family, user=alice) for _ in range(4)]  # (a burst of 4: all its pairs stay)
    ids = [p.pk for p in photos]
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO search_duplicatepair (family_id, photo_a_id, photo_b_id, hash_distance, cosine, "
                       "model_name, found_at) SELECT %s, a, b, 0, 0.99, 'm', now() FROM unnest(%s::bigint[]) a, "
                       "unnest(%s::bigint[]) b WHERE a < b", [family.pk, ids, ids])
    DuplicatePair.objects.bulk_create([DuplicatePair(family=family, photo_a=a, photo_b=b, hash_distance=1)
                                       for n, a in enumerate(small) for b in small[n + 1:]])
    assert DuplicatePair.objects.count() == 300 * 299 // 2 + 6
    before = [(len(g.members), g.keep.pk, sum(m.trash for m in g.members))
              for g in duplicate_groups(user=alice, family=family)]

    executor = MigrationExecutor(connection)
    migration = executor.loader.get_migration("search", "0030_duplicate_pairs_bounded")
    [operation] = migration.operations
    apps = executor.loader.project_state(("search", migration.name), at_end=False).apps
    module = importlib.import_module(migration.__module__)
    module.duplicate_pairs_bounded(apps, None)
    pruned = DuplicatePair.objects.count()
    module.duplicate_pairs_bounded(apps, None)  # (twice: nothing more)

    assert DuplicatePair.objects.count() == pruned <= 2 * 300 * settings.DUPLICATE_NEIGHBOURS + 6
    assert DuplicatePair.objects.filter(photo_a__in=small).count() == 6
    assert [(len(g.members), g.keep.pk, sum(m.trash for m in g.members))
            for g in duplicate_groups(user=alice, family=family)] == before
    assert before[0] == (300, photos[0].pk, 299) and before[1][0] == 4


def test_another_family_can_not_move_the_rest_of_our_group(family, other_family, alice, mallory, client_for):
    """"The N more like these" are named by the group's key: posted to our family by another family's member, 404;
    posted to their own family, no such group; nothing moves either way."""
    from search.duplicate_selectors import DUPLICATES_SHOWN

    photos = _lookalikes(family, alice, DUPLICATES_SHOWN + 3)
    duplicates_scan(family_id=family.pk)
    fields = _form_of(client_for(alice).get(reverse("search:duplicates", args=[family.pk])).content.decode(),
                      photos[0].pk)
    theirs = client_for(mallory)
    assert theirs.post(reverse("search:duplicates_trash", args=[family.pk]),
                       urlencode(fields), content_type="application/x-www-form-urlencoded").status_code == 404
    page = _post_form(theirs, reverse("search:duplicates_trash", args=[other_family.pk]),
                      [(name, value) for name, value in fields if name != "photo"]).content.decode()
    assert GONE in page
    assert Photo.objects.filter(pk__in=[p.pk for p in photos]).count() == len(photos)


# Review of h41-dups: the bounded pairs lost or brought back groups.


def _lookalikes(family, user, count):
    burst = _burst(family, user, count)
    DuplicatePair.objects.all().delete()
    return burst


def _photos(family, user, hashes):
    """Photos of these hashes, of one mean colour (the factory's are flat pictures of many colours)."""
    out = []
    for n, h in enumerate(hashes):
        p = photo_factory(family=family, user=user, filename=f"p{n}.jpg")
        Photo.objects.filter(pk=p.pk).update(phash=h, mean_colour="808080", width=100, height=100, file_size=1000)
        out.append(p)
    DuplicatePair.objects.all().delete()
    return out


def test_refinding_one_photo_drops_a_pair_the_other_end_chose(family, alice, settings):
    """Y's only near photo is X (5 bits); X has two closer ones. Y chose X, so (X, Y) is stored; finding X again
    (a rotation, or the scan reaching X in a later batch) deletes it and X does not choose Y back."""
    settings.DUPLICATE_NEIGHBOURS = 2
    y, x, a, b = _photos(family, alice, ["000000000000001f", "0000000000000000", "0000000000000300",
                                          "0000000000000c00"])
    duplicates_find(photo_ids=[y.pk, x.pk, a.pk, b.pk])
    assert DuplicatePair.objects.filter(photo_a_id=min(x.pk, y.pk), photo_b_id=max(x.pk, y.pk)).exists()
    duplicates_find(photo_ids=[x.pk])  # X found again
    assert any(y.pk in g for g in duplicate_groups(user=alice, family=family).groups), "Y fell out of its group"


def test_scan_in_batches_drops_a_pair_the_other_end_chose(family, alice, settings, monkeypatch):
    import search.duplicate_finder as d
    settings.DUPLICATE_NEIGHBOURS = 2
    monkeypatch.setattr(d, "SCAN_BATCH", 1)
    y, x, a, b = _photos(family, alice, ["000000000000001f", "0000000000000000", "0000000000000300",
                                          "0000000000000c00"])
    duplicates_scan(family_id=family.pk)
    assert any(y.pk in g for g in duplicate_groups(user=alice, family=family).groups), "scan lost Y's pair"


def test_a_copy_restored_from_the_trash_is_grouped_again(family, alice):
    keeper, copy = _photos(family, alice, ["0123456789abcdef", "0123456789abcdef"])
    photos_trash(user=alice, photo_ids=[keeper.pk])
    duplicates_find(photo_ids=[copy.pk])  # the copy arrives while the original is in the trash
    photos_restore(user=alice, photo_ids=[keeper.pk])
    assert len(duplicate_groups(user=alice, family=family)) == 1, "restored original and its copy: no group"


def test_keep_all_sticks_after_a_rescan(family, alice):
    photos = _lookalikes(family, alice, 20)
    duplicates_scan(family_id=family.pk)
    [group] = duplicate_groups(user=alice, family=family)
    duplicates_dismiss_group(user=alice, family=family, key=group.key)
    assert len(duplicate_groups(user=alice, family=family)) == 0
    Photo.objects.filter(pk=group.keep.pk).update(trashed_at=timezone.now())  # one photo trashed
    duplicates_scan(family_id=family.pk)  # find_duplicates, e.g. after changing a threshold
    assert len(duplicate_groups(user=alice, family=family)) == 0, [len(g) for g in
                                                                   duplicate_groups(user=alice, family=family).groups]


def test_a_group_whose_shown_photos_were_trashed_meanwhile(family, alice):
    photos = _lookalikes(family, alice, 20)
    duplicates_scan(family_id=family.pk)
    groups = duplicate_groups(user=alice, family=family, shown=12)
    Photo.objects.filter(pk__in=groups.groups[0][:12]).update(trashed_at=timezone.now())
    group = groups[0]
    assert group.members and group.keep  # IndexError on .keep -> the template's group.keep.pk is a 500


def test_the_page_with_a_group_whose_shown_photos_went_to_the_trash_meanwhile(family, alice, client_for, monkeypatch):
    """Race: another member trashes the 12 drawn photos between the page's read of the pairs and its read of photos."""
    from django.urls import reverse
    import search.duplicate_selectors as selectors
    real = selectors.duplicate_groups

    def racing(**kwargs):
        groups = real(**kwargs)
        Photo.objects.filter(pk__in=groups.groups[0][:12]).update(trashed_at=timezone.now())
        return groups

    _lookalikes(family, alice, 20)
    duplicates_scan(family_id=family.pk)
    monkeypatch.setattr(selectors, "duplicate_groups", racing)
    client = client_for(alice)
    client.raise_request_exception = False
    assert client.get(reverse("search:duplicates", args=[family.pk])).status_code == 200
