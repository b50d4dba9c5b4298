"""An album's originals as ZIP downloads: for its family's members (page and API token), in the album's order, in
parts of DOWNLOAD_MAX_PHOTOS; for a share link's visitors when the link allows downloads, with no file names."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.test import Client
from django.urls import reverse

from gallery.album_services import (
    album_add_photos, album_create, album_remove_photos, album_reorder, share_create, share_revoke,
)
from gallery.services import photo_update
from gallery.trash_services import photos_trash
from tests.factories import api_token_key, photo_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def photos(family, alice):
    return [photo_factory(family=family, user=alice, filename=f"smith-secret-{n}.jpg") for n in range(4)]


@pytest.fixture
def album(family, alice, photos):
    album = album_create(user=alice, family=family, name="Wedding: day/night")
    album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in photos[:3]])
    album_reorder(user=alice, album=album, photo_ids=[photos[2].pk, photos[0].pk, photos[1].pk])
    return album


def _zip(response) -> zipfile.ZipFile:
    assert response.status_code == 200, response
    assert response["Content-Type"] == "application/zip" and "no-store" in response["Cache-Control"]
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def _download(album, part: int | None = None) -> str:
    return reverse("gallery:album_download", args=[album.pk]) + (f"?part={part}" if part else "")


def test_a_member_downloads_the_album_in_its_order_under_the_files_names(client_for, album, bob, photos):
    page = client_for(bob).get(album.get_absolute_url()).content.decode()
    assert f'href="{_download(album)}"' in page and "Download all" in page
    response = client_for(bob).get(_download(album))
    assert 'filename="Wedding_ day_night.zip"' in response["Content-Disposition"]
    archive = _zip(response)
    assert archive.namelist() == ["smith-secret-2.jpg", "smith-secret-0.jpg", "smith-secret-1.jpg"]
    with photos[2].original.open("rb") as original:
        assert archive.read("smith-secret-2.jpg") == original.read()


def test_photos_in_the_trash_stay_out_of_the_album_download(client_for, album, alice, photos):
    photos_trash(user=alice, photo_ids=[photos[0].pk])
    assert _zip(client_for(alice).get(_download(album))).namelist() == ["smith-secret-2.jpg", "smith-secret-1.jpg"]


def test_another_familys_album_downloads_nothing(client_for, album, mallory, client):
    assert client_for(mallory).get(_download(album)).status_code == 404
    client.logout()
    response = client.get(_download(album))
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_a_big_album_downloads_in_parts(client_for, album, alice, photos, settings):
    settings.DOWNLOAD_MAX_PHOTOS = 2
    page = client_for(alice).get(album.get_absolute_url()).content.decode()
    assert "Download 1–2" in page and "Download photo 3" in page and f'href="{_download(album, 2)}"' in page
    assert _zip(client_for(alice).get(_download(album))).namelist() == ["smith-secret-2.jpg", "smith-secret-0.jpg"]
    second = client_for(alice).get(_download(album, 2))
    assert "Wedding_ day_night (part 2 of 2).zip" in second["Content-Disposition"]
    assert _zip(second).namelist() == ["smith-secret-1.jpg"]
    # A part the album no longer fills (photos taken out since the page was shown): said, not an empty archive.
    past = client_for(alice).get(_download(album, 3), follow=True)
    assert "fewer photos now" in past.content.decode()
    for odd in ("0", "-1", "x", "99999999999999999999999"):
        response = client_for(alice).get(_download(album) + f"?part={odd}")
        assert response.status_code == 302, odd


def test_an_empty_album_offers_no_download(client_for, family, alice):
    empty = album_create(user=alice, family=family, name="Empty")
    assert "Download all" not in client_for(alice).get(empty.get_absolute_url()).content.decode()


def test_a_smart_album_downloads_its_results(client_for, family, alice, photos):
    photo_update(photo=photos[3], title="wedding cake")
    smart = album_create(user=alice, family=family, name="Cakes", search={"q": "wedding cake", "min_score": 0})
    assert "smith-secret-3.jpg" in _zip(client_for(alice).get(_download(smart))).namelist()


def test_the_api_gives_download_urls_that_take_the_token(album, alice, mallory, settings):
    settings.DOWNLOAD_MAX_PHOTOS = 2
    api = Client(HTTP_AUTHORIZATION=f"Token {api_token_key(alice)}")
    urls = api.get(reverse("api_album_detail", args=[album.pk])).json()["download_urls"]
    assert urls == [f"http://testserver{_download(album)}", f"http://testserver{_download(album, 2)}"]
    assert _zip(api.get(urls[1])).namelist() == ["smith-secret-1.jpg"]
    gone = api.get(_download(album, 3))  # an API client gets an answer, as the API gives them, not a page
    assert gone.status_code == 404 and gone.json() == {"detail": "That part of the album holds no photos (any more)."}
    stranger = Client(HTTP_AUTHORIZATION=f"Token {api_token_key(mallory)}")
    assert stranger.get(urls[0]).status_code == 404


def _share(album, user, **kwargs):
    made = share_create(user=user, album=album, days=7, **kwargs)
    return made.share, made.token


def test_a_visitor_downloads_a_shared_album_without_its_file_names(album, alice, photos):
    _, token = _share(album, alice, allow_download=True)
    visitor = Client()
    page = visitor.get(reverse("shared_album", args=[token])).content.decode()
    url = reverse("shared_download", args=[token])
    assert f'href="{url}"' in page and "Download all" in page
    response = visitor.get(url)
    assert "smith" not in response["Content-Disposition"]
    assert _zip(response).namelist() == [f"photo-{photos[i].pk}.jpg" for i in (2, 0, 1)]


def test_a_stale_part_of_a_shared_album_says_so_on_the_links_own_page(album, alice, photos, settings):
    """A "Download 3–3" button of a page drawn before the album shrank showed the visitor the members' 404 (of
    families and signing in); the link's own page says what happened, with the way back, and names nobody."""
    settings.DOWNLOAD_MAX_PHOTOS = 2
    _, token = _share(album, alice, allow_download=True)
    visitor = Client()
    assert "Download photo 3" in visitor.get(reverse("shared_album", args=[token])).content.decode()
    album_remove_photos(user=alice, album=album, photo_ids=[photos[0].pk])  # meanwhile, a member takes one out
    response = visitor.get(reverse("shared_download", args=[token]) + "?part=2")
    body = response.content.decode()
    assert response.status_code == 404
    assert "fewer photos now" in body and f'href="{reverse("shared_album", args=[token])}"' in body
    assert "Sign in" not in body and "famil" not in body.lower() and "smith" not in body


def test_a_link_without_downloads_offers_and_serves_no_archive(album, alice):
    _, token = _share(album, alice)
    visitor = Client()
    assert "Download all" not in visitor.get(reverse("shared_album", args=[token])).content.decode()
    assert visitor.get(reverse("shared_download", args=[token])).status_code == 404


def test_a_locked_or_withdrawn_link_downloads_nothing(album, alice):
    share, token = _share(album, alice, allow_download=True, password="granny's secret")
    visitor = Client()
    response = visitor.get(reverse("shared_download", args=[token]))
    assert response.status_code == 302 and response.url == reverse("shared_album", args=[token])
    visitor.post(reverse("shared_album", args=[token]), {"password": "granny's secret"})
    assert len(_zip(visitor.get(reverse("shared_download", args=[token]))).namelist()) == 3
    share_revoke(user=alice, share=share)
    gone = visitor.get(reverse("shared_download", args=[token]))
    assert gone.status_code == 404 and "doesn’t work any more" in gone.content.decode()
    assert not re.search(r"smith|Wedding", gone.content.decode())


def test_a_part_given_twice_is_said_not_the_last_one_downloaded(client_for, album, alice, settings):
    """`?part=1&part=2` downloaded the second part alone, without a word: a script asking for two got one."""
    settings.DOWNLOAD_MAX_PHOTOS = 2
    api = Client(HTTP_AUTHORIZATION=f"Token {api_token_key(alice)}")

    answered = api.get(_download(album) + "?part=1&part=2")
    page = client_for(alice).get(_download(album) + "?part=1&part=2", follow=True)

    assert (answered.status_code, answered.json()) == (400, {"part": ["Give “part” once: it takes one value."]})
    assert page.redirect_chain and "Give “part” once: it takes one value." in page.content.decode()
