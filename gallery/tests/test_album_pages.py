"""Album pages: list, create, add, arrange (no JavaScript), the viewer walking an album, rights and isolation."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from gallery.album_selectors import album_photo_ids
from gallery.album_services import album_add_photos, album_create, album_delete
from gallery.models import Album
from gallery.trash_services import photos_trash
from tests.factories import FamilyFactory, MembershipFactory, UserFactory, photo_factory

pytestmark = pytest.mark.django_db


@pytest.fixture
def photos(family, alice):
    return [photo_factory(family=family, user=alice, filename=f"p{n}.jpg") for n in range(3)]


@pytest.fixture
def album(family, alice, photos):
    album = album_create(user=alice, family=family, name="Holidays")
    album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in photos])
    return album


def _text(response) -> str:
    return unescape(response.content.decode())


def _href(body: str, marker: str) -> str | None:
    tag = re.search(rf'<a [^>]*{marker}[^>]*>', body)
    return unescape(re.search(r'href="([^"]*)"', tag.group(0)).group(1)) if tag else None


def test_a_member_creates_an_album_and_adds_photos_through_the_pages(client_for, family, bob, photos):
    client = client_for(bob)
    response = client.post(reverse("gallery:albums"), {"name": "Picnic", "family": family.pk})
    album = Album.objects.get(name="Picnic")
    assert response.url == album.get_absolute_url() and album.created_by == bob
    picker = client.get(reverse("gallery:album_add", args=[album.pk])).content.decode()
    assert all(f'value="{p.pk}"' in picker for p in photos)
    client.post(reverse("gallery:album_add", args=[album.pk]), {"photos": [photos[1].pk, photos[0].pk]})
    assert album_photo_ids(album=album) == [photos[1].pk, photos[0].pk]
    # And from a photo's own page.
    page = client.get(photos[2].get_absolute_url()).content.decode()
    assert "Add to album" in page and f'<option value="{album.pk}">Picnic</option>' in page
    client.post(reverse("gallery:album_add_photo"), {"album": album.pk, "photos": photos[2].pk})
    assert album_photo_ids(album=album) == [photos[1].pk, photos[0].pk, photos[2].pk]
    listing = client.get(reverse("gallery:albums")).content.decode()
    assert "Picnic" in listing and "3 photos" in listing


def test_the_picker_reaches_photos_older_than_its_first_page(client_for, family, alice):
    """"Add photos" showed the family's 200 newest photos not in the album and nothing else: an older photo could not
    be picked there, and the page did not say it held only part of them. Its pages go on to the oldest."""
    from datetime import datetime, timedelta, timezone as dt_timezone

    from gallery.models import Photo

    stored = [photo_factory(family=family, user=alice, filename=f"p{n}.jpg") for n in range(203)]
    for n, photo in enumerate(stored):  # p0 the oldest
        Photo.objects.filter(pk=photo.pk).update(taken_at=datetime(2020, 1, 1, tzinfo=dt_timezone.utc)
                                                 + timedelta(hours=n))
    album = album_create(user=alice, family=family, name="Old days")
    album_add_photos(user=alice, album=album, photo_ids=[stored[-1].pk])
    client = client_for(alice)
    first = client.get(reverse("gallery:album_add", args=[album.pk])).content.decode()
    shown = [int(pk) for pk in re.findall(r'name="photos" value="(\d+)"', first)]
    assert shown == [p.pk for p in reversed(stored[1:-1])][:200]
    assert 'value="older"' in first and 'value="newer"' not in first
    second = client.post(reverse("gallery:album_add", args=[album.pk]), {"go": "older", "start": "0"},
                         follow=True).content.decode()
    assert [int(pk) for pk in re.findall(r'name="photos" value="(\d+)"', second)] == [stored[1].pk, stored[0].pk]
    assert 'value="older"' not in second and 'value="newer"' in second
    assert "photos 201–202 of 202 not in the album" in second
    client.post(reverse("gallery:album_add", args=[album.pk]), {"photos": [stored[0].pk]})
    assert album_photo_ids(album=album) == [stored[-1].pk, stored[0].pk]


def test_turning_the_pickers_page_adds_what_was_ticked_and_skips_no_photo(client_for, family, alice, monkeypatch):
    """"Older photos" was a link: what was ticked on the page was lost without a word. It adds the ticked photos,
    then shows the photos after those seen (the ones added are no longer candidates: a page number would now skip
    as many)."""
    from datetime import datetime, timedelta, timezone as dt_timezone

    from gallery.models import Photo
    from gallery.views import albums

    monkeypatch.setattr(albums, "PICKER_SIZE", 3)
    stored = [photo_factory(family=family, user=alice, filename=f"p{n}.jpg") for n in range(7)]
    for n, photo in enumerate(stored):  # p0 the oldest
        Photo.objects.filter(pk=photo.pk).update(taken_at=datetime(2020, 1, 1, tzinfo=dt_timezone.utc)
                                                 + timedelta(hours=n))
    newest_first = [p.pk for p in reversed(stored)]
    album = album_create(user=alice, family=family, name="Old days")
    client = client_for(alice)
    url = reverse("gallery:album_add", args=[album.pk])
    first = client.get(url).content.decode()
    assert [int(pk) for pk in re.findall(r'name="photos" value="(\d+)"', first)] == newest_first[:3]

    turned = client.post(url, {"photos": newest_first[:2], "go": "older", "start": "0"}, follow=True)

    assert album_photo_ids(album=album) == newest_first[:2]
    assert "Added 2 photos" in turned.content.decode()
    assert [int(pk) for pk in re.findall(r'name="photos" value="(\d+)"', turned.content.decode())] == \
        newest_first[3:6]
    # Nothing ticked: the page turns, nothing is refused; and back to the newer photos.
    last = client.post(url, {"go": "older", "start": "1"}, follow=True).content.decode()
    assert [int(pk) for pk in re.findall(r'name="photos" value="(\d+)"', last)] == newest_first[6:]
    assert "Choose at least one photo" not in last
    back = client.post(url, {"go": "newer", "start": "4"}, follow=True).content.decode()
    assert [int(pk) for pk in re.findall(r'name="photos" value="(\d+)"', back)] == newest_first[3:6]


def test_adding_a_photo_already_in_the_album_says_so_instead_of_added_0_photos(client_for, bob, album, photos):
    client = client_for(bob)
    from_page = client.post(reverse("gallery:album_add_photo"), {"album": album.pk, "photos": photos[0].pk},
                            follow=True).content.decode()
    extra = photo_factory(family=album.family, user=bob, filename="new.jpg")
    from_picker = client.post(reverse("gallery:album_add", args=[album.pk]),
                              {"photos": [photos[1].pk, extra.pk]}, follow=True).content.decode()

    assert "Added 0 photos" not in from_page
    assert "That photo is already in “Holidays”." in from_page
    assert "Added 1 photo to “Holidays”. 1 was already in it." in from_picker
    assert album_photo_ids(album=album) == [*(p.pk for p in photos), extra.pk]


def test_the_album_page_uses_the_timeline_tiles_and_the_viewer_walks_it_in_order(client_for, alice, album, photos):
    client = client_for(alice)
    body = client.get(album.get_absolute_url()).content.decode()
    ids = [int(pk) for pk in re.findall(r'<a class="tile" id="photo-(\d+)"', body)]
    assert ids == [p.pk for p in photos]
    assert f'{photos[0].get_absolute_url()}?from=album&amp;album={album.pk}' in body
    middle = client.get(f"{photos[1].get_absolute_url()}?from=album&album={album.pk}").content.decode()
    assert _href(middle, 'data-viewer-step="prev"') == f"{photos[0].get_absolute_url()}?from=album&album={album.pk}"
    assert _href(middle, 'data-viewer-step="next"') == f"{photos[2].get_absolute_url()}?from=album&album={album.pk}"
    assert _href(middle, "data-viewer-back") == f"{album.get_absolute_url()}#photo-{photos[1].pk}"
    assert "2 of 3" in middle and "Back to the album “Holidays”" in middle


def test_move_buttons_cover_and_remove_work_without_javascript(client_for, bob, album, photos):
    client = client_for(bob)
    arrange = reverse("gallery:album_arrange", args=[album.pk])
    client.post(arrange, {"action": "down", "photo": photos[0].pk})
    assert album_photo_ids(album=album) == [photos[1].pk, photos[0].pk, photos[2].pk]
    client.post(arrange, {"action": "up", "photo": photos[2].pk})
    assert album_photo_ids(album=album) == [photos[1].pk, photos[2].pk, photos[0].pk]
    client.post(arrange, {"action": "cover", "photo": photos[0].pk})
    album.refresh_from_db()
    assert album.cover_id == photos[0].pk
    client.post(arrange, {"action": "remove", "photo": photos[1].pk})
    assert album_photo_ids(album=album) == [photos[2].pk, photos[0].pk]
    response = client.post(arrange, {"action": "explode", "photo": "x"})
    assert response.status_code == 302  # a plain message, never a 500


def _arrange_form(client, album, photo) -> dict:
    """A tile's arranging form as the album's page serves it: its hidden fields (the photo, the position shown)."""
    body = client.get(album.get_absolute_url()).content.decode()
    form = re.search(rf'<input type="hidden" name="photo" value="{photo.pk}">(.*?)</form>', body, re.S).group(1)
    return {"photo": str(photo.pk), **dict(re.findall(r'<input type="hidden" name="(at)" value="([^"]*)"', form))}


def test_an_arrow_clicked_twice_from_the_same_page_moves_the_photo_once(client_for, alice, bob, album, photos):
    """A double click on "→" (or Back, then "→" again; or two members each moving it a step) moved the photo two
    steps: each move was counted from where the photo was when the click arrived. The form carries the position the
    page showed; a move of a photo that has moved since moves nothing and says where it is now."""
    bobs, alices = client_for(bob), client_for(alice)
    arrange = reverse("gallery:album_arrange", args=[album.pk])
    form = _arrange_form(bobs, album, photos[0])
    assert form["at"] == "1" and _arrange_form(alices, album, photos[0]) == form

    first = bobs.post(arrange, {**form, "action": "down"}, follow=True)
    again = bobs.post(arrange, {**form, "action": "down"}, follow=True)  # the double click
    alices_step = alices.post(arrange, {**form, "action": "down"}, follow=True)  # her page, drawn before

    assert "moved since" not in _text(first)
    assert first.redirect_chain[-1][0].endswith(f"#photo-{photos[0].pk}")
    for response in (again, alices_step):
        # At the top of the page, where the message is: on a phone the photo's tile is screens below it.
        assert "#photo-" not in response.redirect_chain[-1][0]
        assert ("This photo was moved since you saw it: it is now photo 2 of 3 in the album. Nothing was moved: look "
                "again, then move it if it still needs it.") in _text(response)
    assert album_photo_ids(album=album) == [photos[1].pk, photos[0].pk, photos[2].pk]
    # The page drawn now carries the new position: the next step is the member's own.
    bobs.post(arrange, {**_arrange_form(bobs, album, photos[0]), "action": "down"})
    assert album_photo_ids(album=album) == [photos[1].pk, photos[2].pk, photos[0].pk]
    # A form without the position (a page from before this change) moves as it did.
    bobs.post(arrange, {"photo": photos[0].pk, "action": "up"})
    assert album_photo_ids(album=album) == [photos[1].pk, photos[0].pk, photos[2].pk]


def test_drag_and_drop_order_is_posted_as_a_list(client_for, bob, album, photos):
    response = client_for(bob).post(reverse("gallery:album_order", args=[album.pk]),
                                    {"photos": [photos[2].pk, photos[0].pk, photos[1].pk]})
    # With the cover, the first photo when none was chosen: the page moves its badge (it stayed on the old first).
    assert response.json() == {"photos": [photos[2].pk, photos[0].pk, photos[1].pk], "cover": photos[2].pk}
    assert client_for(bob).post(reverse("gallery:album_order", args=[album.pk]), {"photos": "x"}).status_code == 400


def test_rename_and_delete_pages_are_for_the_creator_or_an_admin(client_for, family, alice, bob, album):
    client = client_for(bob)
    assert "Rename, describe or delete" not in client.get(album.get_absolute_url()).content.decode()
    client.post(reverse("gallery:album_edit", args=[album.pk]), {"name": "Bob's now"})
    client.post(reverse("gallery:album_delete", args=[album.pk]))
    album.refresh_from_db()
    assert album.name == "Holidays"
    assert client.get(reverse("gallery:album_shares", args=[album.pk])).status_code == 403
    client = client_for(alice)
    assert "Rename, describe or delete" in client.get(album.get_absolute_url()).content.decode()
    client.post(reverse("gallery:album_edit", args=[album.pk]), {"name": "Summer", "description": "Sun"})
    album.refresh_from_db()
    assert (album.name, album.description) == ("Summer", "Sun")
    assert client.post(reverse("gallery:album_edit", args=[album.pk]), {"name": ""}).status_code == 422
    client.post(reverse("gallery:album_delete", args=[album.pk]))
    assert not Album.objects.filter(pk=album.pk).exists()


def test_a_rename_refused_for_rights_says_why(client_for, family, bob, album):
    """An admin who opened the rename form and was made a plain member meanwhile saves it: the answer was a 422 page
    saying nothing (the form, drawn for managers only, carried the reason), the name silently unchanged. It says why
    now, as delete does."""
    page = client_for(bob).post(reverse("gallery:album_edit", args=[album.pk]), {"name": "Bob's now"}, follow=True)
    assert "Only the album&#x27;s creator or a family admin can do that." in page.content.decode()
    album.refresh_from_db()
    assert album.name == "Holidays"


def _album_edit_form(client, album) -> dict:
    """The album's rename form as its page serves it: its fields' values, the hidden one too."""
    return _album_edit_form_from(client.get(album.get_absolute_url()).content.decode(), album)


def _album_edit_form_from(html: str, album) -> dict:
    form = html[html.index('action="' + reverse("gallery:album_edit", args=[album.pk])):]
    form = form[:form.index("</form>")]
    values = {name: unescape(value) for name, value in re.findall(r'<input type="(?:text|hidden)" name="(\w+)"[^>]*'
                                                                   r'value="([^"]*)"', form)}
    values["description"] = unescape(re.search(r'<textarea name="description"[^>]*>\s*([^<]*)</textarea>',
                                               form).group(1))
    values.pop("csrfmiddlewaretoken", None)
    return values


def test_an_album_saved_over_anothers_edit_made_meanwhile_is_told_and_keeps_what_they_typed(
        client_for, family, alice, bob, photos):
    """Bob (its creator) and Alice (an admin) open the album's rename form; Bob saves a description; Alice renames
    it: her form still held the old description, and Bob's was gone without a word. Now Alice is told what the album
    reads now, keeps her typing, and saving again is her decision. The same form sent twice is no conflict."""
    album = album_create(user=bob, family=family, name="Holidays", description="Summer 2019")
    alices, bobs = client_for(alice), client_for(bob)
    url = reverse("gallery:album_edit", args=[album.pk])
    alice_form, bob_form = _album_edit_form(alices, album), _album_edit_form(bobs, album)
    assert alice_form["seen"] and alice_form["seen"] == bob_form["seen"]

    bob_saves = {**bob_form, "description": "Summer 2019, at Grandma's"}
    assert bobs.post(url, bob_saves).status_code == 302
    assert bobs.post(url, bob_saves).status_code == 302  # (a double click: nothing of anyone's lost)
    response = alices.post(url, {**alice_form, "name": "Lake holidays"})

    assert response.status_code == 422
    page = response.content.decode()
    assert "Someone else saved this album while you were editing it" in page
    assert "Summer 2019, at Grandma&#x27;s" in page
    assert 'value="Lake holidays"' in page  # her typing is still in the form
    album.refresh_from_db()
    assert (album.name, album.description) == ("Holidays", "Summer 2019, at Grandma's")

    again = _album_edit_form_from(page, album)
    assert again["seen"] != alice_form["seen"]
    assert alices.post(url, {**again, "name": "Lake holidays"}).status_code == 302
    album.refresh_from_db()
    assert (album.name, album.description) == ("Lake holidays", "Summer 2019")


def test_adding_from_a_photo_page_to_an_album_deleted_meanwhile_goes_back_to_the_photo_and_says_so(
        client_for, family, alice, bob, photos):
    """Bob picks an album on a photo's page; Alice deletes the album before he clicks Add: he got the bare "Not found"
    page, his photo page gone. He is back on the photo, told the album is gone and nothing was added."""
    album = album_create(user=alice, family=family, name="Picnic")
    page = client_for(bob).get(photos[0].get_absolute_url()).content.decode()
    assert f'<option value="{album.pk}">Picnic</option>' in page
    album_id = album.pk
    album_delete(user=alice, album=album)

    response = client_for(bob).post(reverse("gallery:album_add_photo"), {"album": album_id, "photos": photos[0].pk},
                                    follow=True)

    assert response.redirect_chain == [(photos[0].get_absolute_url(), 302)]
    assert "That album no longer exists (someone deleted it): the photo was not added." in _text(response)


def test_the_album_picker_of_an_album_deleted_meanwhile_says_so_and_adds_nothing(client_for, family, alice, bob,
                                                                                photos):
    """Bob ticks photos on an album's "Add photos" picker; Alice deletes the album before he clicks Add (or Older
    photos): he got the bare "Not found" page, his ticks gone without a word. He is on the albums page, told the album
    is gone and that the photos he ticked were not added."""
    album = album_create(user=alice, family=family, name="Picnic")
    url = reverse("gallery:album_add", args=[album.pk])
    assert client_for(bob).get(url).status_code == 200
    album_delete(user=alice, album=album)

    for extra in ({}, {"go": "older", "start": "0"}):
        response = client_for(bob).post(url, {"photos": [photos[0].pk, photos[1].pk], **extra}, follow=True)

        assert response.redirect_chain == [(reverse("gallery:albums"), 302)]
        assert ("That album no longer exists (someone deleted it): the 2 photos you ticked were not added."
                in _text(response))
    assert client_for(bob).get(url).status_code == 404  # (looked at, it is simply not there)


def test_adding_from_a_photo_page_a_photo_moved_to_the_trash_meanwhile_says_so(client_for, family, alice, bob,
                                                                                 photos):
    """Bob is on a photo's page; Alice moves the photo to the trash before he clicks Add: he got the bare "Not found"
    page (the API said "No such photo."). He is taken to the album, told the photo is in the trash; it is not added."""
    album = album_create(user=bob, family=family, name="Picnic")
    photos_trash(user=alice, photo_ids=[photos[0].pk])

    response = client_for(bob).post(reverse("gallery:album_add_photo"), {"album": album.pk, "photos": photos[0].pk},
                                    follow=True)

    assert response.redirect_chain == [(album.get_absolute_url(), 302)]
    assert "That photo could not be added to “Picnic”: This photo is in the trash: restore it first." in _text(response)
    assert album_photo_ids(album=album) == []


def test_another_familys_album_is_a_404_on_every_page(client_for, mallory, album, photos):
    client = client_for(mallory)
    for name in ("album_detail", "album_add", "album_shares"):
        assert client.get(reverse(f"gallery:{name}", args=[album.pk])).status_code == 404
    for name in ("album_edit", "album_delete", "album_arrange", "album_order", "album_add"):
        assert client.post(reverse(f"gallery:{name}", args=[album.pk]),
                           {"name": "x", "photos": photos[0].pk, "action": "remove", "photo": photos[0].pk}
                           ).status_code == 404
    assert client.post(reverse("gallery:album_add_photo"), {"album": album.pk, "photos": 1}).status_code == 404
    assert "Holidays" not in client.get(reverse("gallery:albums")).content.decode()
    # Through a URL of the viewer: the album isn't theirs, so it names no album and walks nothing.
    assert client.get(f"{photos[0].get_absolute_url()}?from=album&album={album.pk}").status_code == 404
    assert Album.objects.get(pk=album.pk).name == "Holidays"


def test_viewer_with_a_foreign_or_broken_album_param_is_not_a_500(client_for, alice, other_family, mallory, photos):
    theirs = album_create(user=mallory, family=other_family, name="Jones secrets")
    client = client_for(alice)
    for value in (str(theirs.pk), "x", "99999999999999999999999", ""):
        response = client.get(photos[0].get_absolute_url(), {"from": "album", "album": value})
        assert response.status_code == 200
        assert "Jones secrets" not in response.content.decode()


def test_the_album_page_reads_a_fixed_number_of_queries_whatever_its_size(client_for, family, alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    album = album_create(user=alice, family=family, name="Big")
    client = client_for(alice)
    client.get(album.get_absolute_url())  # the session's first request writes it
    counts = []
    for size in (2, 12):
        more = [photo_factory(family=family, user=alice) for _ in range(size - len(album_photo_ids(album=album)))]
        album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in more])
        with CaptureQueriesContext(connection) as queries:
            assert client.get(album.get_absolute_url()).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# --- pages ------------------------------------------------------------------------------------------------------


HTMX = {"HX-Request": "true"}


def _album_tile_ids(body: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<a class="tile" id="photo-(\d+)"', body)]


@pytest.fixture
def big_album(settings, family, alice):
    """Six photos, four a page, in an album that is larger than ALBUM_MAX_PHOTOS (a smart album's search cap)."""
    settings.GALLERY_PAGE_SIZE = 4
    settings.ALBUM_MAX_PHOTOS = 3
    photos = [photo_factory(family=family, user=alice, filename=f"b{n}.jpg") for n in range(6)]
    album = album_create(user=alice, family=family, name="Big")
    album_add_photos(user=alice, album=album, photo_ids=[p.pk for p in reversed(photos)])
    return album, [p.pk for p in reversed(photos)]


def test_an_album_page_shows_a_page_of_tiles_and_loads_the_rest_as_the_timeline_does(client_for, alice, big_album):
    album, order = big_album
    client = client_for(alice)
    body = client.get(album.get_absolute_url()).content.decode()
    assert _album_tile_ids(body) == order[:4]
    assert "6 photos" in body  # the whole album, not the page
    more = re.search(r'<a class="more" href="([^"]*)"\s+hx-get="([^"]*)"\s+hx-trigger="revealed"', body)
    assert more and unescape(more.group(1)) == unescape(more.group(2)) == f"?after={order[3]}&page=2"
    partial = client.get(album.get_absolute_url() + "?page=2", headers=HTMX)
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert _album_tile_ids(partial.content.decode()) == order[4:]
    assert 'class="more"' not in partial.content.decode()
    assert partial.headers["Vary"] and "HX-Request" in partial.headers["Vary"]


def test_photos_taken_off_the_grid_do_not_make_the_next_page_skip_or_repeat_photos(client_for, alice, big_album):
    """The next page was asked for by number: after the bar took photos out of the album (or into the trash) in place,
    the numbered page started further on, so photos were skipped or shown twice. It now continues after the last
    photo shown."""
    album, order = big_album
    client = client_for(alice)
    body = client.get(album.get_absolute_url()).content.decode()
    more = unescape(re.search(r'<a class="more" href="([^"]*)"', body).group(1))

    client.post(reverse("gallery:photos_bulk"), {"action": "remove_from_album", "photos": order[:2],
                                                 "from_album": album.pk}, headers=HTMX)
    partial = client.get(album.get_absolute_url() + more, headers=HTMX).content.decode()

    assert _album_tile_ids(partial) == order[4:]


def test_a_later_album_page_without_javascript_is_a_whole_page_with_a_way_back(client_for, alice, big_album):
    album, order = big_album
    body = client_for(alice).get(album.get_absolute_url() + "?page=2").content.decode()
    assert "<html" in body and _album_tile_ids(body) == order[4:]
    assert "6 photos" in body and 'href="?page=1"' in body
    # No drag and drop here (it posts the grid's order, which must start at the album's first photo).
    assert 'data-album-order=""' in body


def test_a_broken_page_number_shows_a_page_not_an_error(client_for, alice, big_album):
    album, order = big_album
    client = client_for(alice)
    for page, shown in (("x", order[:4]), ("0", order[:4]), ("-1", order[:4]), ("99", order[4:]),
                        ("1" * 40, order[4:])):
        response = client.get(album.get_absolute_url(), {"page": page})
        assert response.status_code == 200
        assert _album_tile_ids(response.content.decode()) == shown, page  # below 1: the first; past the end: the last


def test_arrange_buttons_know_the_albums_ends_not_the_pages(client_for, alice, big_album):
    album, order = big_album
    client = client_for(alice)
    first = client.get(album.get_absolute_url()).content.decode()
    second = client.get(album.get_absolute_url() + "?page=2").content.decode()

    def later_disabled(body, pk):
        form = re.search(rf'name="photo" value="{pk}">(.*?)</form>', body, re.S).group(1)
        return re.search(r'aria-label="Move [^"]* later" disabled', form) is not None

    assert not later_disabled(first, order[3])  # the last of page 1 can still move later
    assert later_disabled(second, order[5])
    # Moving a photo comes back to the page it is on now: still page 2 (6th → 5th), then page 1 (5th → 4th).
    response = client.post(reverse("gallery:album_arrange", args=[album.pk]), {"photo": order[5], "action": "up"})
    assert response.url == f"{album.get_absolute_url()}?page=2#photo-{order[5]}"
    response = client.post(reverse("gallery:album_arrange", args=[album.pk]), {"photo": order[5], "action": "up"})
    assert response.url == f"{album.get_absolute_url()}#photo-{order[5]}"
    assert album_photo_ids(album=album)[3] == order[5]


def test_the_viewer_goes_back_to_the_album_page_the_photo_is_on(client_for, alice, big_album):
    album, order = big_album
    body = client_for(alice).get(f"/photos/{order[5]}/?from=album&album={album.pk}").content.decode()
    assert f'href="{album.get_absolute_url()}?page=2#photo-{order[5]}"' in body


def test_another_family_gets_the_404_for_every_page_of_an_album(client_for, mallory, big_album):
    album, _ = big_album
    client = client_for(mallory)
    for headers in ({}, HTMX):
        assert client.get(album.get_absolute_url() + "?page=2", headers=headers).status_code == 404


def test_the_album_list_counts_what_the_album_shows_not_its_photos_in_the_trash(client_for, alice, album, photos):
    from gallery.trash_services import photos_restore, photos_trash

    shown = len(album_photo_ids(album=album))
    body = unescape(client_for(alice).get(reverse("gallery:albums")).content.decode())
    assert f"{shown} photos" in body
    photos_trash(user=alice, photo_ids=[album_photo_ids(album=album)[0]])
    body = unescape(client_for(alice).get(reverse("gallery:albums")).content.decode())
    assert len(album_photo_ids(album=album)) == shown - 1 and f"{shown - 1} photo" in body and f"{shown} photos" not in body
    api = client_for(alice).get(f"/api/v1/albums/{album.pk}/").json()
    assert api["photo_count"] == shown - 1


def _albums(user, family, photos, count: int) -> list[Album]:
    """`count` albums of the family, each with the photos, the last as cover."""
    albums = []
    for n in range(count):
        album = album_create(user=user, family=family, name=f"Album {n:02d}")
        album_add_photos(user=user, album=album, photo_ids=[p.pk for p in photos])
        Album.objects.filter(pk=album.pk).update(cover=photos[-1])
        albums.append(album)
    return albums


@pytest.mark.parametrize("count", [2, 9])
def test_the_album_list_asks_the_same_few_queries_for_any_number_of_albums(client_for, family, alice, photos, count,
                                                                          django_assert_max_num_queries):
    # It asked two per album (the cover still shown? else the first photo): 500 albums were a thousand queries.
    _albums(alice, family, photos, count)
    client = client_for(alice)
    client.get(reverse("gallery:albums"))  # the session, once
    with django_assert_max_num_queries(8):
        body = client.get(reverse("gallery:albums")).content.decode()
    assert body.count(f'src="{reverse("gallery:photo_thumbnail", args=[photos[-1].pk])}"') == count
    assert body.count("3 photos") == count


def test_the_album_list_counts_and_covers_only_photos_it_shows(client_for, family, alice, photos):
    """A photo in the trash is neither counted nor a cover: the cover falls back to the album's first photo."""
    album, = _albums(alice, family, photos, 1)
    empty = album_create(user=alice, family=family, name="Nothing yet")
    from django.utils import timezone

    from gallery.models import Photo

    Photo.all_objects.filter(pk=photos[-1].pk).update(trashed_at=timezone.now())
    body = client_for(alice).get(reverse("gallery:albums")).content.decode()
    assert f'src="{reverse("gallery:photo_thumbnail", args=[photos[0].pk])}"' in body
    assert f'photo_thumbnail", args=[photos[-1].pk]' not in body and "2 photos" in body and "0 photos" in body
    assert empty.name in body and album.name in body


@pytest.mark.parametrize("query", ["page=1&page=2", "after={first}&after={second}"])
def test_a_position_given_twice_is_said_and_the_album_shows_from_its_start(client_for, alice, album, photos, settings,
                                                                           query):
    """`?page=1&page=2` showed the second page without a word, as the timeline read `family=1&family=2`: the page
    says so (400) and shows the album from its first photo."""
    settings.GALLERY_PAGE_SIZE = 2
    url = reverse("gallery:album_detail", args=[album.pk])

    response = client_for(alice).get(f"{url}?{query.format(first=photos[0].pk, second=photos[1].pk)}")

    name = query.split("=")[0]
    assert response.status_code == 400
    assert f"Give “{name}” once: it takes one value." in _text(response)
    assert f'id="photo-{photos[0].pk}"' in _text(response)


# --- "New album…" on a photo's page ------------------------------------------------------------------------------


def _new_album(client, photo, name, **extra):
    return client.post(reverse("gallery:album_add_photo"), {"album": "new", "name": name, "photos": photo.pk, **extra},
                       follow=True)


def test_a_family_without_albums_starts_one_from_a_photos_page(client_for, family, bob, photos):
    """A new family with photos and no album saw no "Add to album" on a photo's page: it had to go to Albums, make
    one and come back. The picker is there, offering "New album…" with a field for its name."""
    client = client_for(bob)
    page = client.get(photos[0].get_absolute_url()).content.decode()
    assert "Add to album" in page and '<option value="new" selected>New album…</option>' in page
    assert 'name="name"' in page

    response = _new_album(client, photos[0], "  Beach   day ")

    album = Album.objects.get()
    assert (album.name, album.family, album.created_by) == ("Beach day", family, bob)
    assert album_photo_ids(album=album) == [photos[0].pk]
    assert response.redirect_chain == [(photos[0].get_absolute_url(), 302)]
    body = response.content.decode()
    assert f'Added to the new album <a href="{album.get_absolute_url()}">“Beach day”</a>.' in body
    # Now the album is among the picker's albums, "New album…" after them, not chosen.
    assert f'<option value="{album.pk}">Beach day</option><option value="new">New album…</option>' in body


def test_a_name_the_family_has_an_album_of_adds_to_that_album(client_for, family, alice, bob, photos, album):
    response = _new_album(client_for(bob), photos[0], "holidays")
    assert Album.objects.count() == 1
    assert "That photo is already in" in _text(response) and "Holidays" in _text(response)
    photo = photo_factory(family=family, user=bob)
    response = _new_album(client_for(bob), photo, "HOLIDAYS")
    assert Album.objects.count() == 1 and album_photo_ids(album=album)[-1] == photo.pk
    assert (f'Added to the album <a href="{album.get_absolute_url()}">“Holidays”</a> (Smiths had one of that name: '
            "no second was made).") in response.content.decode()


@pytest.mark.parametrize("name, said", [
    ("", "An album needs a name."),
    ("   \u200b ", "An album needs a name."),
    ("Beach\x07", "control character"),
    ("Very long " * 20, "at most 100 characters"),
])
def test_a_name_no_album_may_have_is_said_at_its_field_keeping_what_was_typed(client_for, bob, photos, name, said):
    """The refusal was the photo's page drawn as the answer to the post, at /albums/add-photo/: a reload sent it again.
    It is the photo's page asked for again (Post/Redirect/Get), at the form, saying why with what was typed; once."""
    client = client_for(bob)
    response = client.post(reverse("gallery:album_add_photo"), {"album": "new", "name": name, "photos": photos[0].pk})
    assert response.status_code == 302 and response["Location"] == f"{photos[0].get_absolute_url()}#add-to-album"
    assert not Album.objects.exists()
    body = _text(client.get(photos[0].get_absolute_url()))
    assert said in body and 'aria-invalid="true"' in body
    assert '<option value="new" selected>New album…</option>' in body
    if name.strip():
        assert f'value="{name}"' in body  # (what they typed, to mend: a long name is not lost)
    assert said not in _text(client.get(photos[0].get_absolute_url()))  # (a reload: the page as it is)
    # said on that photo's page alone: another's, drawn next, says nothing of it, and the first then neither
    client.post(reverse("gallery:album_add_photo"), {"album": "new", "name": name, "photos": photos[0].pk})
    assert said not in _text(client.get(photos[1].get_absolute_url()))
    assert said not in _text(client.get(photos[0].get_absolute_url()))


def test_another_familys_photo_makes_no_album_anywhere(client_for, mallory, other_family, photos):
    response = _new_album(client_for(mallory), photos[0], "Theirs")
    assert response.status_code == 404 and not Album.objects.exists()


def test_a_photo_moved_to_the_trash_before_new_album_was_sent_makes_no_album(client_for, family, alice, bob, photos):
    photos_trash(user=alice, photo_ids=[photos[0].pk])
    response = _new_album(client_for(bob), photos[0], "Picnic")
    assert not Album.objects.exists()
    assert "This photo is in the trash: restore it first. No album was made." in _text(response)


def test_a_name_typed_with_an_album_chosen_is_refused_not_dropped(client_for, family, bob, photos, album):
    """A browser without CSS :has() (nor script) shows the name field beside every choice: a name typed there with
    "Holidays" still chosen put the photo into Holidays and made no album, without a word about the name."""
    photo = photo_factory(family=family, user=bob)  # (the album holds the others)
    response = client_for(bob).post(reverse("gallery:album_add_photo"),
                                    {"album": album.pk, "name": " Beach day ", "photos": photo.pk}, follow=True)
    assert response.redirect_chain == [(f"{photo.get_absolute_url()}#add-to-album", 302)]
    body = _text(response)
    assert "Choose “New album…” to make “Beach day”." in body and 'aria-invalid="true"' in body
    assert 'value=" Beach day "' in body and '<option value="new" selected>New album…</option>' in body
    assert Album.objects.count() == 1 and photo.pk not in album_photo_ids(album=album)
    # An empty field beside the album chosen is what every browser sends: the photo goes in.
    client_for(bob).post(reverse("gallery:album_add_photo"), {"album": album.pk, "name": " ", "photos": photo.pk})
    assert photo.pk in album_photo_ids(album=album)


def test_photos_added_to_an_album_are_answered_in_the_same_words_by_its_picker_the_bar_and_new_album(
        client_for, family, alice, bob, other_family, mallory, photos, album):
    """Three wordings of album_add_photos' answers: the picker named the first reason only ("2 could not be added:
    This photo is in the trash…" of a trashed photo and another family's), the bar's "New album…" said "2 were not
    added", and a photo's page "Added to" where the picker said "Added 1 photo to". One wording now."""
    binned, theirs = photo_factory(family=family, user=alice), photo_factory(family=other_family, user=mallory)
    photos_trash(user=alice, photo_ids=[binned.pk])
    tail = ("1 was already in it. 2 could not be added: This photo is in the trash: restore it first. (1) "
            "No such photo. (1)")
    fresh = photo_factory(family=family, user=alice)
    picked = client_for(bob).post(reverse("gallery:album_add", args=[album.pk]),
                                  {"photos": [fresh.pk, photos[0].pk, binned.pk, theirs.pk]}, follow=True)
    assert f"Added 1 photo to “Holidays”. {tail}" in _text(picked)
    fresh = photo_factory(family=family, user=alice)
    barred = client_for(bob).post(reverse("gallery:photos_bulk"), {
        "action": "add_to_album", "album": "new", "new_album_name": "holidays",
        "photos": [fresh.pk, photos[1].pk, binned.pk, theirs.pk]}, headers={"HX-Request": "true"})
    assert (f"Added 1 photo to the album “Holidays” (Smiths had one of that name: no second was made). {tail}"
            in re.sub(r"<[^>]+>", "", _text(barred)))
    fresh = photo_factory(family=family, user=alice)
    page = client_for(bob).post(reverse("gallery:album_add_photo"), {"album": album.pk, "photos": fresh.pk},
                                follow=True)
    assert "Added to “Holidays”." in _text(page)
    page = client_for(bob).post(reverse("gallery:album_add_photo"), {"album": album.pk, "photos": binned.pk},
                                follow=True)
    assert "That photo could not be added to “Holidays”: This photo is in the trash: restore it first." in _text(page)


def test_a_photo_page_opened_from_a_list_keeps_it_through_new_album(client_for, bob, photos, album):
    """The photo page drawn again after a name no album may have (or after the album was made) had lost the list it
    was opened from (an album, search results): previous and next walked the timeline instead. The picker's form
    carries the list in its address."""
    client = client_for(bob)
    listed = f"{photos[1].get_absolute_url()}?from=album&album={album.pk}"
    page = client.get(listed).content.decode()
    action = unescape(re.search(r'<form method="post" action="([^"]+)" class="add-to-album"', page).group(1))
    assert action == f"{reverse('gallery:album_add_photo')}?from=album&album={album.pk}"

    again = client.post(action, {"album": "new", "name": " ", "photos": photos[1].pk}, follow=True)
    assert again.redirect_chain == [(f"{listed}#add-to-album", 302)]
    assert "An album needs a name." in _text(again)
    assert _href(again.content.decode(), 'data-viewer-step="next"') == \
        f"{photos[2].get_absolute_url()}?from=album&album={album.pk}"
    made = client.post(action, {"album": "new", "name": "Best of", "photos": photos[1].pk})
    assert made.status_code == 302 and made["Location"] == listed
    into = client.post(action, {"album": album.pk, "photos": photos[1].pk})  # (an album of the list: the same)
    assert into.status_code == 302 and into["Location"] == listed


def test_the_new_album_form_sent_twice_makes_one_album(client_for, family, alice):
    """A double click on "Create album" (or Back and Create again) made two albums of one name (QA): the same form
    sent again by its sender (the name in any case, the same description) opens the album it made, saying so."""
    client = client_for(alice)
    form = {"name": "Picnic", "family": family.pk, "description": "By the river"}
    first = client.post(reverse("gallery:albums"), form)
    second = client.post(reverse("gallery:albums"), {**form, "name": "picnic "}, follow=True)
    album = Album.objects.get(family=family)  # raised MultipleObjectsReturned: two albums
    assert first.url == album.get_absolute_url() and second.redirect_chain[-1][0] == album.get_absolute_url()
    assert "You made the album “Picnic” a moment ago: here it is." in _text(second)


def test_a_description_typed_for_a_new_album_of_an_existing_name_is_not_lost(client_for, family, alice, bob):
    """Bob's new "Picnic" with a description landed in alice's "Picnic" of months ago ("here it is, as it was"), his
    words dropped, in an album he can't even rename (review). Only the same form sent again by its sender is a
    repeat: another member, another description or an album made long ago make a new album, as the API does."""
    album_create(user=alice, family=family, name="Picnic")
    form = {"name": "Picnic", "family": family.pk, "description": "Lunch by the river, June 2024"}
    response = client_for(bob).post(reverse("gallery:albums"), form, follow=True)
    bobs = Album.objects.get(family=family, created_by=bob)  # raised DoesNotExist: sent to alice's
    assert bobs.name == "Picnic" and bobs.description == "Lunch by the river, June 2024"
    assert response.redirect_chain[-1][0] == bobs.get_absolute_url() and "Created the album" in _text(response)
    client = client_for(alice)
    client.post(reverse("gallery:albums"), form)  # alice's own "Picnic" had no description
    Album.objects.filter(created_by=alice).update(created_at=timezone.now() - timedelta(hours=1))
    client.post(reverse("gallery:albums"), form)  # the same form as her second, an hour later: not a repeat
    assert Album.objects.filter(family=family, name="Picnic").count() == 4
    album_create(user=alice, family=family, name="Dogs", search={"q": "dog"})
    beside = client.post(reverse("gallery:albums"), {**form, "name": "Dogs"})  # beside a smart one: as the API
    assert beside.status_code == 302 and Album.objects.filter(family=family, name="Dogs").count() == 2


def test_the_same_form_sent_to_another_family_makes_that_familys_album(client_for, family, alice):
    """A member of two families: "Picnic" sent to the Smiths, then the same form to the Joneses, is no repeat (the
    repeat is looked for in the family chosen only); a family they are not in is refused, nothing found or made."""
    joneses = FamilyFactory(name="Joneses")
    MembershipFactory(family=joneses, user=alice)
    strangers = FamilyFactory(name="Strangers")
    carol = UserFactory(username="carol")
    MembershipFactory(family=strangers, user=carol)
    album_create(user=carol, family=strangers, name="Picnic", description="By the river")
    client = client_for(alice)
    form = {"name": "Picnic", "description": "By the river"}
    smiths = client.post(reverse("gallery:albums"), {**form, "family": family.pk})
    jones = client.post(reverse("gallery:albums"), {**form, "family": joneses.pk}, follow=True)
    assert "Created the album" in _text(jones)
    mine = Album.objects.get(family=joneses)
    assert smiths.url != mine.get_absolute_url() and Album.objects.filter(family=family).count() == 1
    refused = client.post(reverse("gallery:albums"), {**form, "family": strangers.pk})
    assert refused.status_code == 200 and Album.objects.filter(family=strangers).count() == 1
