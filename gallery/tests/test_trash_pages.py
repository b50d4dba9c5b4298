"""The trash page, the favourite heart and the favourites filter on the server-rendered pages."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from gallery.models import Favourite, Photo
from gallery.trash_services import photos_favourite, photos_trash
from tests.factories import MembershipFactory, UserFactory, photo_factory

HTMX = {"HX-Request": "true"}


def _tile_ids(body: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'class="tile" id="photo-(\d+)"', body)]


@pytest.fixture
def carol(family):
    user = UserFactory(username="carol")
    MembershipFactory(family=family, user=user)
    return user


def test_a_trashed_photo_is_gone_from_the_timeline_and_its_viewer_neighbours(client_for, family, alice):
    first, middle, last = (photo_factory(family=family, user=alice) for _ in range(3))
    client = client_for(alice)
    photos_trash(user=alice, photo_ids=[middle.pk])
    assert middle.pk not in _tile_ids(client.get(reverse("gallery:timeline")).content.decode())
    body = client.get(reverse("gallery:photo_detail", args=[first.pk])).content.decode()
    assert f"/photos/{middle.pk}/" not in body
    assert client.get(reverse("gallery:photo_detail", args=[middle.pk])).status_code == 404
    assert client.get(reverse("gallery:photo_edit", args=[middle.pk])).status_code == 404
    assert client.post(reverse("gallery:photo_favourite", args=[middle.pk])).status_code == 404


def test_trash_page_lists_the_familys_trash_with_restore_where_allowed(client_for, family, alice, bob, carol):
    bobs = photo_factory(family=family, user=bob)
    carols = photo_factory(family=family, user=carol)
    photos_trash(user=alice, photo_ids=[bobs.pk, carols.pk])
    body = client_for(carol).get(reverse("gallery:family_trash", args=[family.pk])).content.decode()
    assert f'id="trashed-{bobs.pk}"' in body and f'id="trashed-{carols.pk}"' in body
    # Carol may restore her own photo only, and may not empty the trash.
    assert body.count(">Restore<span class=\"visually-hidden\">") == 1
    assert "Empty trash" not in body
    # The trash page's thumbnails load for members.
    assert client_for(carol).get(reverse("gallery:photo_thumbnail", args=[bobs.pk])).status_code == 200
    admin_body = client_for(alice).get(reverse("gallery:family_trash", args=[family.pk])).content.decode()
    assert admin_body.count(">Restore<span class=\"visually-hidden\">") == 2 and "Empty trash" in admin_body


def test_restore_and_delete_for_good_from_the_trash_page(client_for, family, alice, bob, carol,
                                                         django_capture_on_commit_callbacks):
    keep, gone = photo_factory(family=family, user=bob), photo_factory(family=family, user=bob)
    photos_trash(user=bob, photo_ids=[keep.pk, gone.pk])
    url = reverse("gallery:trash_restore", args=[family.pk])

    response = client_for(carol).post(url, {"photo": keep.pk}, follow=True)
    assert "Only the uploader or a family admin can restore this photo." in response.content.decode()
    assert not Photo.objects.filter(pk=keep.pk).exists()

    response = client_for(bob).post(url, {"photo": keep.pk}, follow=True)
    assert "Restored 1 photo." in response.content.decode()
    assert Photo.objects.filter(pk=keep.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        client_for(bob).post(reverse("gallery:trash_delete", args=[family.pk]), {"photo": gone.pk})
    assert not Photo.all_objects.filter(pk=gone.pk).exists()
    assert not gone.original.storage.exists(gone.original.name)


def test_empty_trash_button_is_for_admins(client_for, family, alice, bob, django_capture_on_commit_callbacks):
    photo = photo_factory(family=family, user=bob)
    photos_trash(user=bob, photo_ids=[photo.pk])
    url = reverse("gallery:trash_empty", args=[family.pk])
    response = client_for(bob).post(url, follow=True)
    assert "Only a family admin can empty the trash." in response.content.decode()
    assert Photo.all_objects.filter(pk=photo.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(url, follow=True)
    assert "1 photo deleted for good" in response.content.decode()
    assert not Photo.all_objects.filter(pk=photo.pk).exists()


def test_another_familys_trash_is_a_404_everywhere(client_for, family, alice, other_family, mallory):
    theirs = photo_factory(family=other_family, user=mallory)
    photos_trash(user=mallory, photo_ids=[theirs.pk])
    client = client_for(alice)
    assert client.get(reverse("gallery:family_trash", args=[other_family.pk])).status_code == 404
    for name in ("trash_restore", "trash_delete", "trash_empty"):
        assert client.post(reverse(f"gallery:{name}", args=[other_family.pk]), {"photo": theirs.pk}).status_code == 404
    # Posting a foreign id to one's own family's trash changes nothing either.
    response = client.post(reverse("gallery:trash_restore", args=[family.pk]), {"photo": theirs.pk}, follow=True)
    assert "No such photo." in response.content.decode()
    for name in ("photo_thumbnail", "photo_display", "photo_original"):
        assert client.get(reverse(f"gallery:{name}", args=[theirs.pk])).status_code == 404
    assert Photo.all_objects.get(pk=theirs.pk).trashed_at is not None


def test_bad_trash_posts_are_plain_messages_not_errors(client_for, family, alice):
    url = reverse("gallery:trash_restore", args=[family.pk])
    response = client_for(alice).post(url, {"photo": ["abc", "99999999999999999999"]}, follow=True)
    assert response.status_code == 200
    response = client_for(alice).post(url, {}, follow=True)
    assert "No photo was chosen." in response.content.decode()


def test_the_heart_toggles_with_htmx_and_without_javascript(client_for, family, alice, bob):
    photo = photo_factory(family=family, user=alice)
    client = client_for(bob)
    url = reverse("gallery:photo_favourite", args=[photo.pk])

    response = client.post(url, {"on": "1", "next": "/?family=1"})
    assert response.status_code == 302 and response["Location"] == "/?family=1"
    assert Favourite.objects.filter(user=bob, photo=photo).exists()

    response = client.post(url, {"on": "0"}, headers=HTMX)
    assert response.status_code == 200 and 'aria-pressed="false"' in response.content.decode()
    assert not Favourite.objects.exists()

    response = client.post(url, {"on": "1", "next": "https://evil.example/"})
    assert response["Location"] == photo.get_absolute_url()  # never off-site
    assert client.get(url).status_code == 405


def test_favourites_filter_on_the_timeline(client_for, family, alice, bob):
    one, two = photo_factory(family=family, user=alice), photo_factory(family=family, user=alice)
    photos_favourite(user=bob, photo_ids=[two.pk], on=True)
    body = client_for(bob).get(reverse("gallery:timeline"), {"favourite": "1"}).content.decode()
    assert _tile_ids(body) == [two.pk]
    assert 'aria-pressed="true"' in body
    assert _tile_ids(client_for(alice).get(reverse("gallery:timeline"), {"favourite": "1"}).content.decode()) == []
    body = client_for(bob).get(reverse("gallery:timeline")).content.decode()
    assert set(_tile_ids(body)) == {one.pk, two.pk}
    # Opened from the favourites, the viewer walks the favourites only.
    body = client_for(bob).get(reverse("gallery:photo_detail", args=[two.pk]), {"favourite": "1"}).content.decode()
    assert f"/photos/{one.pk}/" not in body
    # A broken value is ignored, as other filters are.
    assert client_for(bob).get(reverse("gallery:timeline"), {"favourite": "yes please"}).status_code == 200


def test_photo_page_shows_the_heart_and_move_to_trash(client_for, family, alice):
    photo = photo_factory(family=family, user=alice)
    photos_favourite(user=alice, photo_ids=[photo.pk], on=True)
    body = client_for(alice).get(photo.get_absolute_url()).content.decode()
    assert 'class="heart on"' in body and "Move to trash" in body
    assert reverse("gallery:family_trash", args=[family.pk]) in body


@pytest.mark.parametrize("target", ["0", "home", "-1", "\ufffd"])
def test_the_hearts_next_that_is_no_address_on_the_site_goes_back_to_the_photo_not_a_500(client_for, family, alice,
                                                                                        target):
    """redirect() took a `next` without "/" or "." for the name of a URL (a 500): only a path on this site is
    followed."""
    photo = photo_factory(family=family, user=alice)
    response = client_for(alice).post(reverse("gallery:photo_favourite", args=[photo.pk]), {"on": "1", "next": target})
    assert response.status_code == 302 and response["Location"] == photo.get_absolute_url()
    assert photo.favourites.filter(user=alice).exists()


def test_a_link_to_a_photo_in_the_trash_says_so_to_its_family_and_nothing_to_others(client_for, family, alice, bob,
                                                                                    other_family, mallory):
    """A photo page bookmarked or sent in a message, opened after someone moved the photo to the trash, said "There
    is nothing here": the family thought it lost (QA). Its members are told where it is and who can restore it; it
    is still a 404 (no photo page), and to anyone else exactly the 404 of a photo that does not exist."""
    photo = photo_factory(family=family, user=alice)
    Photo.objects.filter(pk=photo.pk).update(title="Grandma's garden")
    photos_trash(user=alice, photo_ids=[photo.pk])
    url = reverse("gallery:photo_detail", args=[photo.pk])
    for user in (alice, bob):
        response = client_for(user).get(url)
        body = " ".join(response.content.decode().split())
        assert response.status_code == 404
        assert "“Grandma's garden” is in the trash of" in body.replace("&#x27;", "'")
        assert reverse("gallery:family_trash", args=[family.pk]) in body
        # (a name ending in s takes the apostrophe alone: trial29 read "The Smiths's trash")
        assert f"{family.name}' trash" in body.replace("&#x27;", "'") and "s's trash" not in body.replace("&#x27;", "'")
    assert "Only alice or a family admin can restore it." in " ".join(client_for(bob).get(url).content.decode().split())
    stranger = client_for(mallory).get(url)
    missing = client_for(mallory).get(reverse("gallery:photo_detail", args=[photo.pk + 1000]))
    assert stranger.status_code == missing.status_code == 404
    assert "trash" not in stranger.content.decode().lower() and "Grandma" not in stranger.content.decode()
    # Restored from there, the photo's page is back.
    restored = client_for(alice).post(reverse("gallery:trash_restore", args=[family.pk]),
                                      {"photo": photo.pk, "next": url}, follow=True)
    assert restored.redirect_chain[-1][0] == url and "Restored 1 photo." in restored.content.decode()
    assert client_for(bob).get(url).status_code == 200
    outside = client_for(alice).post(reverse("gallery:trash_restore", args=[family.pk]),
                                     {"photo": photo.pk, "next": "https://example.com/"})
    assert outside["Location"] == reverse("gallery:family_trash", args=[family.pk])


@pytest.mark.django_db
@pytest.mark.parametrize("trashed", [3, 7])
def test_the_trash_page_shows_a_page_at_a_time_in_the_same_few_queries(client_for, family, alice, settings, trashed,
                                                                       django_assert_max_num_queries):
    """A family's trash of thousands of photos rendered every one of them (seconds): now a page, links to the rest."""
    settings.GALLERY_PAGE_SIZE = 2
    photos = [photo_factory(family=family, user=alice) for _ in range(trashed)]
    photos_trash(user=alice, photo_ids=[p.pk for p in photos])
    client = client_for(alice)
    url = reverse("gallery:family_trash", args=[family.pk])
    client.get(url)
    with django_assert_max_num_queries(9):
        body = client.get(url).content.decode()
    assert body.count('class="trash-item"') == 2 and f"Delete all {trashed} photos" in body
    assert f"{trashed} photos in the trash; 1–2 below" in body and '?page=2" rel="next"' in body
    seen = set()
    for number in range(1, (trashed + 1) // 2 + 1):
        page = client.get(url, {"page": number}).content.decode()
        seen |= {int(pk) for pk in re.findall(r'id="trashed-(\d+)"', page)}
    assert seen == {p.pk for p in photos}
    assert 'rel="next"' not in page and 'rel="prev"' in page


@pytest.mark.parametrize("gone", ["account deleted", "left the family"])
def test_a_trashed_photo_whose_uploader_is_gone_names_only_the_admins(client_for, family, alice, bob, carol, gone):
    """Its uploader's account deleted (or they left the family, or were removed), the trash page and the photo's link
    said "Only its uploader (or: Only carol) or a family admin can restore it.": no uploader is left who could."""
    from django.contrib.auth import get_user_model

    from gallery.services import membership_remove, users_delete

    photo = photo_factory(family=family, user=carol)
    photos_trash(user=alice, photo_ids=[photo.pk])
    if gone == "account deleted":
        users_delete(users=get_user_model().objects.filter(pk=carol.pk))
    else:
        membership_remove(family=family, user=carol)
    client = client_for(bob)
    for url in (reverse("gallery:family_trash", args=[family.pk]), reverse("gallery:photo_detail", args=[photo.pk])):
        body = " ".join(client.get(url).content.decode().split())
        assert "Only a family admin can restore it." in body and "its uploader" not in body and "carol or" not in body


@pytest.mark.parametrize("decide", ["accept", "dismiss"])
@pytest.mark.parametrize("how", ["page", "api"])
def test_a_suggestion_decided_after_its_photo_went_to_the_trash_is_refused_and_stays_open(
        client_for, family, alice, bob, decide, how):
    """Bob's photo page shows a suggestion; Alice moves the photo to the trash; Bob clicks Accept: the tag was added
    to the photo in the trash, then the answer said the photo was not there any more (a 404), so he was told it
    failed when it had been done. Now nothing is decided, as for any other change of a photo in the trash."""
    from django.test import Client

    from gallery.models import TagSuggestion
    from tests.factories import api_token_key

    photo = photo_factory(family=family, user=alice, tags=["kids"])
    suggestion = TagSuggestion.objects.create(photo=photo, name="beach", probability=0.9, model_name="toy")
    photos_trash(user=alice, photo_ids=[photo.pk])

    if how == "page":
        response = client_for(bob).post(reverse(f"gallery:suggestion_{decide}", args=[photo.pk, suggestion.pk]),
                                        HTTP_HX_REQUEST="true")
    else:
        response = Client().post(f"/api/v1/photos/{photo.pk}/suggestions/{suggestion.pk}/{decide}/",
                                 HTTP_AUTHORIZATION=f"Token {api_token_key(bob)}")

    assert response.status_code == 404
    suggestion.refresh_from_db()
    assert suggestion.state == TagSuggestion.State.OPEN
    assert list(photo.tags.values_list("name", flat=True)) == ["kids"]


def test_a_page_given_twice_is_said_and_the_trash_shown_from_its_first_page(client_for, family, alice, settings):
    """`?page=1&page=2` showed the second page without a word, as the album page did (given_twice)."""
    settings.GALLERY_PAGE_SIZE = 2
    photos = [photo_factory(family=family, user=alice) for _ in range(3)]
    photos_trash(user=alice, photo_ids=[p.pk for p in photos])

    response = client_for(alice).get(reverse("gallery:family_trash", args=[family.pk]) + "?page=1&page=2")

    body = response.content.decode()
    assert response.status_code == 400
    assert "Give “page” once: it takes one value." in unescape(body)
    assert "1–2 below" in body and '?page=2" rel="next"' in body
