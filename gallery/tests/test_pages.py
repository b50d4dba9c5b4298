from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from gallery.correction_services import taken_days_refresh
from gallery.models import Membership, Photo, Tag
from tests import images
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory

pytestmark = pytest.mark.django_db



HTMX = {"HX-Request": "true"}


def _dated_photos(family, user, days: list[int]) -> list[Photo]:
    """One photo per day of July 2020, created in the given (shuffled) order."""
    photos = []
    for day in days:
        photo = photo_factory(family=family, user=user)
        Photo.objects.filter(pk=photo.pk).update(taken_at=datetime(2020, 7, day, 12, tzinfo=timezone.utc))
        taken_days_refresh([photo.pk])
        photos.append(photo)
    return photos


def _tile_ids(body: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'class="tile" id="photo-\d+" href="/photos/(\d+)/', body)]


def _by_day(photos: list[Photo], days: list[int]) -> dict[int, int]:
    return {day: photo.pk for day, photo in zip(days, photos, strict=True)}


# --- timeline -----------------------------------------------------------------------------------


def test_timeline_is_newest_first_by_date_taken(client_for, family, alice):
    days = [3, 17, 1, 25, 9]
    by_day = _by_day(_dated_photos(family, alice, days), days)

    response = client_for(alice).get(reverse("gallery:timeline"))

    assert response.status_code == 200
    assert _tile_ids(response.content.decode()) == [by_day[d] for d in sorted(days, reverse=True)]


# Keyset pages, headings across pages, the jump and "back near a photo": gallery/tests/test_timeline.py.


def test_first_htmx_page_is_also_a_bare_partial_with_a_next_page_link(client_for, family, alice, settings):
    settings.GALLERY_PAGE_SIZE = 2
    _dated_photos(family, alice, [1, 2, 3])
    body = client_for(alice).get(reverse("gallery:timeline"), headers=HTMX).content.decode()
    assert "<html" not in body and len(_tile_ids(body)) == 2
    assert 'hx-get="?after=' in body


def test_no_load_more_link_when_everything_fits(client_for, family, alice, settings):
    settings.GALLERY_PAGE_SIZE = 3
    _dated_photos(family, alice, [1, 2, 3])
    body = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    assert len(_tile_ids(body)) == 3 and "Load more" not in body


def test_out_of_range_or_junk_page_numbers_do_not_crash(client_for, family, alice, settings):
    settings.GALLERY_PAGE_SIZE = 2
    _dated_photos(family, alice, [1, 2, 3])
    client = client_for(alice)
    assert client.get(reverse("gallery:timeline"), {"page": 99}).status_code == 200
    assert client.get(reverse("gallery:timeline"), {"page": "abc", "family": "x"}).status_code == 200


def test_tag_filter_shows_only_tagged_photos(client_for, family, alice):
    beach = photo_factory(family=family, user=alice, tags=["Beach"])
    other = photo_factory(family=family, user=alice, tags=["Forest"])
    body = client_for(alice).get(reverse("gallery:timeline"), {"tag": "beach"}).content.decode()
    assert _tile_ids(body) == [beach.pk] and other.pk not in _tile_ids(body)
    assert "tagged “beach”" in body


def test_an_unknown_tag_says_no_photos_have_it_and_offers_to_clear_the_filter(client_for, family, alice):
    photo_factory(family=family, user=alice, tags=["Beach"])
    body = client_for(alice).get(reverse("gallery:timeline"), {"tag": "zebras", "family": family.pk}).content.decode()
    assert _tile_ids(body) == []
    assert "No photos tagged “zebras”." in body
    assert "No photos yet" not in body and "Upload some" not in body
    assert f'href="{reverse("gallery:timeline")}?family={family.pk}"' in body  # clear the tag, keep the family


def test_favourites_with_a_tag_none_has_say_so_not_that_there_are_no_favourites(client_for, family, alice):
    from gallery.trash_services import photos_favourite

    liked = photo_factory(family=family, user=alice, tags=["Beach"])
    photos_favourite(user=alice, photo_ids=[liked.pk], on=True)

    body = client_for(alice).get(reverse("gallery:timeline"), {"favourite": "1", "tag": "zebras"}).content.decode()

    assert _tile_ids(body) == []
    assert "No favourites yet" not in body
    assert "None of your favourites is tagged “zebras”." in body
    assert f'href="{reverse("gallery:timeline")}?favourite=1"' in body  # clear the tag, keep the favourites


def test_a_family_without_photos_still_invites_an_upload(client_for, family, alice):
    body = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    assert "No photos yet." in body and "Upload some" in body


def test_user_without_a_family_is_told_how_to_get_one(client_for, db):
    loner = UserFactory(username="loner")
    body = client_for(loner).get(reverse("gallery:timeline")).content.decode()
    assert "You are not in any family yet." in body


# --- photo page ---------------------------------------------------------------------------------


def test_photo_page_shows_metadata_uploader_and_status(client_for, family, alice, bob):
    photo = photo_factory(family=family, user=bob, data=images.rotated_jpeg(), filename="Beach_walk.jpg",
                          tags=["Sea", "dog"], description="Rex runs")
    Photo.objects.filter(pk=photo.pk).update(status=Photo.Status.FAILED, status_reason="model crashed")

    body = client_for(alice).get(photo.get_absolute_url()).content.decode()

    assert "Beach walk" in body and "Rex runs" in body
    assert ">dog</a>" in body and ">Sea</a>" in body
    assert "<dd>Smiths</dd>" in body
    assert "<dd>bob on " in body  # uploader
    assert "14 Jul 2019 18:30" in body  # EXIF date
    assert "Canon EOS 5D" in body
    assert "52.37000, 4.89167" in body
    assert "100 × 200 px" in body and "image/jpeg" in body and "Beach_walk.jpg" in body
    assert 'class="status status-failed">Failed<' in body and "model crashed" in body
    assert f'src="{photo.display_url}"' in body  # the display rendition, never the original
    assert f'href="{photo.original_url}?download=1"' in body


def test_photo_without_exif_says_the_date_is_the_upload_time(client_for, family, alice):
    photo = photo_factory(family=family, user=alice)
    body = client_for(alice).get(photo.get_absolute_url()).content.decode()
    assert "(no EXIF date: upload time)" in body
    assert 'class="status status-pending">Pending<' in body


# --- in-place editing ---------------------------------------------------------------------------


def test_edit_get_with_htmx_returns_the_form_partial(client_for, family, alice):
    photo = photo_factory(family=family, user=alice, tags=["b", "A"], description="old words")
    response = client_for(alice).get(reverse("gallery:photo_edit", args=[photo.pk]), headers=HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert body.strip().startswith('<section id="photo-meta"') and "<html" not in body
    assert f'hx-post="{reverse("gallery:photo_edit", args=[photo.pk])}"' in body
    assert 'value="A, b"' in body  # current tags, sorted
    assert "old words</textarea>" in body


def test_edit_post_with_htmx_saves_and_returns_the_display_partial(client_for, family, alice, bob):
    photo = photo_factory(family=family, user=alice)
    Tag.objects.create(family=family, name="Beach")  # already in the family's vocabulary

    response = client_for(bob).post(  # any member may curate
        reverse("gallery:photo_edit", args=[photo.pk]),
        {"title": "  Day at the sea ", "tags": "beach, Sunset, BEACH,  sunset ,, Dog", "description": "Windy."},
        headers=HTMX,
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert body.strip().startswith('<section id="photo-meta"') and "<form" not in body and "<html" not in body
    assert "Day at the sea" in body and "Windy." in body
    photo.refresh_from_db()
    assert (photo.title, photo.description) == ("Day at the sea", "Windy.")
    assert sorted(t.name for t in photo.tags.all()) == ["Beach", "Dog", "Sunset"]
    assert ">Beach</a>" in body and ">Dog</a>" in body and ">Sunset</a>" in body
    assert Tag.objects.filter(family=family, name__iexact="beach").count() == 1  # reused, not duplicated


def test_tags_belong_to_the_photos_family(client_for, family, alice, other_family, mallory):
    theirs = Tag.objects.create(family=other_family, name="beach")
    photo = photo_factory(family=family, user=alice)

    client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]), {"title": "", "tags": "Beach"}, headers=HTMX)

    tag = photo.tags.get()
    assert tag.family == family and tag != theirs
    assert not theirs.photos.exists()


def test_edit_can_clear_tags(client_for, family, alice):
    photo = photo_factory(family=family, user=alice, tags=["one", "two"])
    client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]), {"title": "t", "tags": "", "description": ""},
                           headers=HTMX)
    assert not photo.tags.exists()


def test_edit_without_htmx_redirects_back_to_the_photo(client_for, family, alice):
    photo = photo_factory(family=family, user=alice)
    response = client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]),
                                      {"title": "Plain form", "tags": "x", "description": ""})
    assert response.status_code == 302 and response["Location"] == photo.get_absolute_url()
    photo.refresh_from_db()
    assert photo.title == "Plain form"
    page = client_for(alice).get(photo.get_absolute_url()).content.decode()
    assert "Saved." in page


def test_invalid_edit_returns_the_form_with_errors_and_saves_nothing(client_for, family, alice):
    photo = photo_factory(family=family, user=alice, filename="keep.jpg")
    too_many = ", ".join(f"t{i}" for i in range(60))

    long_title = client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]),
                                        {"title": "x" * 300, "tags": "a"}, headers=HTMX)
    many_tags = client_for(alice).post(reverse("gallery:photo_edit", args=[photo.pk]),
                                       {"title": "new", "tags": too_many}, headers=HTMX)

    assert long_title.status_code == 422 and "<form" in long_title.content.decode()
    assert many_tags.status_code == 422 and "At most 50 tags per photo." in many_tags.content.decode()
    photo.refresh_from_db()
    assert photo.title == "keep" and not photo.tags.exists()


def test_edit_cancel_returns_the_display_partial(client_for, family, alice):
    photo = photo_factory(family=family, user=alice, description="unchanged")
    body = client_for(alice).get(reverse("gallery:photo_edit", args=[photo.pk]), {"cancel": "1"}, headers=HTMX).content.decode()
    assert "<form" not in body and "unchanged" in body and "<html" not in body


# --- delete -------------------------------------------------------------------------------------


def _files_exist(photo: Photo) -> tuple[bool, bool]:
    storage = photo.original.storage
    return storage.exists(photo.original.name), storage.exists(photo.thumbnail.name)


def test_uploader_moves_their_photo_to_the_trash(client_for, family, bob, django_capture_on_commit_callbacks):
    photo = photo_factory(family=family, user=bob)
    assert _files_exist(photo) == (True, True)

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(bob).post(reverse("gallery:photo_delete", args=[photo.pk]))

    assert response.status_code == 302 and response["Location"] == reverse("gallery:timeline")
    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert Photo.all_objects.get(pk=photo.pk).trashed_at is not None
    assert _files_exist(photo) == (True, True)  # restorable: files stay until the trash is emptied
    assert "Moved “" in client_for(bob).get(response["Location"]).content.decode()
    assert client_for(bob).get(photo.get_absolute_url()).status_code == 404


def test_family_admin_moves_a_members_photo_to_the_trash(client_for, family, alice, bob,
                                                        django_capture_on_commit_callbacks):
    photo = photo_factory(family=family, user=bob)
    assert 'class="danger">Move to trash' in client_for(alice).get(photo.get_absolute_url()).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client_for(alice).post(reverse("gallery:photo_delete", args=[photo.pk]))

    assert not Photo.objects.filter(pk=photo.pk).exists()
    assert Photo.all_objects.filter(pk=photo.pk).exists()


def test_another_plain_member_cannot_delete(client_for, family, alice, bob, django_capture_on_commit_callbacks):
    carol = UserFactory(username="carol")
    MembershipFactory(family=family, user=carol, role=Membership.Role.MEMBER)
    photo = photo_factory(family=family, user=bob)
    client = client_for(carol)
    assert "Move to trash" not in client.get(photo.get_absolute_url()).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("gallery:photo_delete", args=[photo.pk]), follow=True)

    assert response.redirect_chain == [(photo.get_absolute_url(), 302)]
    assert "Only the uploader or a family admin can move this photo to the trash." in response.content.decode()
    assert Photo.objects.filter(pk=photo.pk).exists()
    assert _files_exist(photo) == (True, True)


def test_delete_needs_post(client_for, family, alice):
    photo = photo_factory(family=family, user=alice)
    assert client_for(alice).get(reverse("gallery:photo_delete", args=[photo.pk])).status_code == 405
    assert Photo.objects.filter(pk=photo.pk).exists()


# --- upload page --------------------------------------------------------------------------------


def _checked_family(body: str) -> int | None:
    checked = re.findall(r'<input type="radio" name="family" value="(\d+)"[^>]*checked', body)
    assert len(checked) <= 1
    return int(checked[0]) if checked else None


def test_upload_page_offers_only_the_users_families(client_for, family, alice, other_family):
    body = client_for(alice).get(reverse("gallery:upload")).content.decode()
    assert re.search(rf'<input type="radio" name="family" value="{family.pk}"[^>]*checked', body)  # the only one
    assert "Joneses" not in body
    assert 'id="file-input"' in body and "upload.js" in body


def test_upload_page_defaults_to_the_family_of_the_users_last_upload_not_the_first_by_name(
        client_for, family, alice, db):
    aardvarks = FamilyFactory(name="Aardvarks")  # sorts before "Smiths"
    MembershipFactory(family=aardvarks, user=alice)
    photo_factory(family=aardvarks, user=alice)
    photo_factory(family=family, user=alice)  # the latest
    body = client_for(alice).get(reverse("gallery:upload")).content.decode()
    assert _checked_family(body) == family.pk
    target = re.search(r'<strong id="upload-target"[^>]*>(.*?)</strong>', body, re.S)
    assert target and target.group(1).strip() == "Smiths"


def test_upload_page_remembers_the_family_chosen_last_even_when_the_files_were_rejected(
        client_for, family, alice, db):
    aardvarks = FamilyFactory(name="Aardvarks")
    MembershipFactory(family=aardvarks, user=alice)
    photo_factory(family=family, user=alice)
    client = client_for(alice)
    client.post(reverse("gallery:upload"), {"family": aardvarks.pk,
                                           "files": [SimpleUploadedFile("empty.jpg", b"")]})
    assert _checked_family(client.get(reverse("gallery:upload")).content.decode()) == aardvarks.pk


def test_upload_page_with_several_families_and_no_history_makes_the_user_choose(client_for, family, alice, db):
    aardvarks = FamilyFactory(name="Aardvarks")
    MembershipFactory(family=aardvarks, user=alice)
    body = client_for(alice).get(reverse("gallery:upload")).content.decode()
    assert _checked_family(body) is None
    assert "Choose a family" in body


# --- favicon ------------------------------------------------------------------------------------


def test_every_page_links_a_favicon_and_favicon_ico_is_served(client_for, family, alice):
    body = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    icon = re.search(r'<link rel="icon" href="([^"]+)"', body)
    assert icon
    client = client_for(alice)
    assert client.get(icon.group(1)).status_code == 200
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200


# --- a session that ended under an open page ----------------------------------------------------------------------


@pytest.mark.parametrize("method, url", [
    ("get", "/search/?q=red+circle"),  # results as one types
    ("get", "/?after=2020-07-01T12:00:00%2B00:00&page=2"),  # the timeline's next page, as it is scrolled
    ("get", "/indexing/"),  # the Index page's polling
    ("post", "/photos/1/favourite/"),  # a heart
])
def test_an_htmx_request_after_the_session_ended_sends_the_browser_to_sign_in(client, alice, method, url):
    """A session that ended (expired, signed out in another tab, a password changed elsewhere) under an open page made
    every htmx request follow the sign-in redirect and swap the whole sign-in page, header and all, into the results,
    the timeline or the Index card. The browser now goes to the sign-in page itself, to come back to the page it
    was on."""
    page = "http://testserver/search/?q=red+circle"
    response = getattr(client, method)(url, headers={**HTMX, "HX-Current-URL": page})
    assert response.status_code == 200 and response.content == b""
    assert response["HX-Redirect"] == reverse("login") + "?next=/search/%3Fq%3Dred%2Bcircle"


def test_a_search_typed_after_the_session_ended_comes_back_with_the_words_typed(client, alice):
    """The search box asks as one types, for the page's own URL with the words so far (and pushes it): the sign-in
    page brings one back to that search, not to the one the page showed before the last words."""
    page = "http://testserver/search/?q=red"
    response = client.get("/search/?q=red+circle+beach",
                          headers={**HTMX, "HX-Current-URL": page, "X-Page-Url": "1"})  # (site.js: hx-push-url)
    assert response["HX-Redirect"] == reverse("login") + "?next=/search/%3Fq%3Dred%2Bcircle%2Bbeach"
    # A timeline's next slice ("Load more", infinite scroll) is no address of the page: back to the timeline.
    more = client.get("/?after=1_2_20200701", headers={**HTMX, "HX-Current-URL": "http://testserver/?tag=beach"})
    assert more["HX-Redirect"] == reverse("login") + "?next=/%3Ftag%3Dbeach"


def test_a_plain_request_after_the_session_ended_is_still_redirected_to_sign_in(client, alice):
    response = client.get("/search/?q=red")
    assert response.status_code == 302 and response["Location"] == reverse("login") + "?next=/search/%3Fq%3Dred"
