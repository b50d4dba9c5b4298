"""Correcting what the camera got wrong: date taken (one photo, a shift for a wrong camera clock, a scan without
EXIF), place (a known place or typed coordinates) and rotation; marked as edited, kept by re-processing, checked
against the user's families, on the photo page and through the API."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from PIL import Image

from gallery.correction_services import photo_date_set, photo_place_set, photo_rotate, photos_shift_dates
from gallery.models import Photo
from gallery.services import photo_display_make, photo_embedded_read, photos_place_fill, photos_place_sweep
from search.models import PhotoDocument
from tests import images
from tests.factories import photo_factory
from tests.queue import queued_tasks

pytestmark = pytest.mark.django_db

LISBON = (38.7223, -9.1393)
PORTO = (41.1579, -8.6291)


_colours = iter(range(1, 10**6))


def _gps_photo(family, user, position=LISBON, taken="2023:07:14 12:00:00") -> Photo:
    n = next(_colours)  # distinct bytes for each photo
    colour = (n * 53 % 256, n * 97 % 256, (n * 29 + 100) % 256)
    return photo_factory(family=family, user=user, data=images.gps_jpeg(*position, taken=taken, colour=colour))


def _fresh(photo: Photo) -> Photo:
    return Photo.all_objects.get(pk=photo.pk)


# --- date taken ---------------------------------------------------------------------------------


def test_a_scan_without_exif_gets_a_date_on_its_page_and_shows_it_as_edited(family, alice, client_for):
    scan = photo_factory(family=family, user=alice)
    assert scan.taken_at_source == Photo.DateSource.UPLOAD
    client = client_for(alice)
    page = client.get(scan.get_absolute_url()).content.decode()
    assert "unknown: a scan?" in page and 'id="corrections"' in page
    response = client.post(reverse("gallery:photo_date", args=[scan.pk]), {"date": "1987-06-14"}, follow=True)
    assert "Date taken set to 14 Jun 1987 12:00." in response.content.decode()
    scan = _fresh(scan)
    assert scan.taken_at_source == Photo.DateSource.MEMBER
    assert scan.taken_at_local.replace(tzinfo=None) == datetime(1987, 6, 14, 12, 0)
    assert '<small class="edited">edited</small>' in response.content.decode()
    assert PhotoDocument.objects.filter(photo=scan).exists()


def test_a_time_the_clocks_skipped_is_said_as_it_is_stored(family, alice, client_for):
    """01:30 on 26 March 2023 does not exist in Lisbon (the clocks went from 01:00 to 02:00): the message said "set to
    01:30" while the page then showed 02:30."""
    photo = _gps_photo(family, alice, position=LISBON)
    assert _fresh(photo).taken_tz == "Europe/Lisbon"  # precondition

    response = client_for(alice).post(reverse("gallery:photo_date", args=[photo.pk]),
                                      {"date": "2023-03-26", "time": "01:30"}, follow=True)

    body = response.content.decode()
    assert "Date taken set to 26 Mar 2023 02:30 (01:30 does not exist there that day: the clocks went forward)." in body
    assert _fresh(photo).taken_at_local.strftime("%d %b %Y %H:%M") == "26 Mar 2023 02:30"


def test_a_time_the_clocks_showed_twice_is_said_to_be_the_first(family, alice, client_for):
    """01:30 on 29 October 2023 came twice in Lisbon (at 02:00 summer time the clocks went back to 01:00): the page
    set the first without a word, where the one a member meant may have been the second (the API takes that one,
    "2023-10-29T01:30:00+00:00")."""
    photo = _gps_photo(family, alice, position=LISBON)

    response = client_for(alice).post(reverse("gallery:photo_date", args=[photo.pk]),
                                      {"date": "2023-10-29", "time": "01:30"}, follow=True)

    assert ("Date taken set to 29 Oct 2023 01:30 (01:30 came twice there that day, as the clocks went back: this is "
            "the first, at UTC+01:00)." in response.content.decode())
    assert _fresh(photo).taken_at == datetime(2023, 10, 29, 0, 30, tzinfo=dt_timezone.utc)


def test_a_bad_date_is_a_plain_message_not_an_error(family, alice, client_for):
    photo = photo_factory(family=family, user=alice)
    client = client_for(alice)
    for data, message in [({"date": "14/06/87"}, "Write the date like 1987-06-14."),
                          ({"date": "1700-01-01"}, "between 1826 and today"),
                          ({"date": "9999-12-31", "time": "23:59"}, "between 1826 and today"),
                          ({"date": "2020-01-01", "time": "25:00"}, "Write the time like 14:30.")]:
        response = client.post(reverse("gallery:photo_date", args=[photo.pk]), data, follow=True)
        assert response.status_code == 200 and message in response.content.decode(), data
    assert _fresh(photo).taken_at_source == Photo.DateSource.UPLOAD


def test_shift_dates_moves_own_photos_and_answers_a_foreign_one_like_a_missing_one(family, alice, other_family,
                                                                                  mallory):
    mine = [_gps_photo(family, alice) for n in range(2)]
    theirs = _gps_photo(other_family, mallory)
    before = {p.pk: p.taken_at for p in mine + [theirs]}
    results = photos_shift_dates(user=alice, photo_ids=[mine[0].pk, theirs.pk, mine[1].pk, 10**9],
                                 delta=timedelta(hours=-3, minutes=-5))
    assert [(r.id, r.ok, r.reason) for r in results] == [
        (mine[0].pk, True, ""), (theirs.pk, False, "No such photo."), (mine[1].pk, True, ""),
        (10**9, False, "No such photo.")]
    for photo in mine:
        fresh = _fresh(photo)
        assert fresh.taken_at == before[photo.pk] - timedelta(hours=3, minutes=5)
        assert fresh.taken_at_source == Photo.DateSource.MEMBER
        assert fresh.taken_day == fresh.taken_at_local.date()
    assert _fresh(theirs).taken_at == before[theirs.pk]
    # Across midnight where it was taken: the local day follows.
    photos_shift_dates(user=alice, photo_ids=[mine[0].pk], delta=timedelta(days=1, hours=-1))
    fresh = _fresh(mine[0])
    assert fresh.taken_day == fresh.taken_at_local.date() != _fresh(mine[1]).taken_day


def test_a_shift_out_of_range_is_refused_for_that_photo_and_a_huge_one_at_all(family, alice):
    photo = _gps_photo(family, alice)
    [result] = photos_shift_dates(user=alice, photo_ids=[photo.pk], delta=timedelta(days=365 * 99))
    assert not result.ok and "between 1826 and today" in result.reason
    with pytest.raises(ValidationError):
        photos_shift_dates(user=alice, photo_ids=[photo.pk], delta=timedelta(days=366 * 101))
    assert _fresh(photo).taken_at_source == Photo.DateSource.EXIF


@pytest.mark.parametrize("taken_at, delta", [
    (datetime(9999, 12, 31, 12, tzinfo=dt_timezone.utc), timedelta(days=1)),
    (datetime(1, 1, 1, 12, tzinfo=dt_timezone.utc), timedelta(days=-1)),
])
def test_a_shift_past_the_calendars_end_is_refused_for_that_photo_not_a_500(family, alice, client_for, api_client,
                                                                            taken_at, delta):
    """A photo dated at the calendar's end (a camera clock never set, stored as the file said) shifted past it
    overflowed Python's datetime: a 500 on the photo page's Shift and on the API (and the selection bar's), where a
    shift out of 1826 to today is refused for that photo with the reason."""
    photo = _gps_photo(family, alice)
    Photo.objects.filter(pk=photo.pk).update(taken_at=taken_at)
    [result] = photos_shift_dates(user=alice, photo_ids=[photo.pk], delta=delta)
    assert not result.ok and "between 1826 and today" in result.reason
    response = client_for(alice).post(reverse("gallery:photo_shift", args=[photo.pk]),
                                      {"days": str(delta.days), "scope": "photo"})
    assert response.status_code == 302
    response = api_client.post("/api/v1/photos/shift-dates/",
                               {"photos": [photo.pk], "seconds": int(delta.total_seconds())},
                               content_type="application/json")
    assert response.status_code == 200 and response.json()["results"][0]["ok"] is False
    assert _fresh(photo).taken_at == taken_at


def _with_camera(*photos: Photo) -> None:
    Photo.objects.filter(pk__in=[p.pk for p in photos]).update(camera_make="Canon", camera_model="EOS 80D")


def test_the_page_shifts_every_photo_of_that_camera_that_day(family, alice, client_for):
    same_day = [_gps_photo(family, alice, taken=f"2023:07:14 {9 + n:02d}:00:00") for n in range(3)]
    other_day = _gps_photo(family, alice, taken="2023:07:15 09:00:00")
    _with_camera(*same_day, other_day)
    before = {p.pk: p.taken_at for p in same_day + [other_day]}
    response = client_for(alice).post(reverse("gallery:photo_shift", args=[same_day[0].pk]),
                                      {"days": "1", "hours": "-2", "scope": "camera_day"}, follow=True)
    assert "Shifted the date taken of 3 photos." in response.content.decode()
    for photo in same_day:
        assert _fresh(photo).taken_at == before[photo.pk] + timedelta(days=1, hours=-2)
    assert _fresh(other_day).taken_at == before[other_day.pk]
    response = client_for(alice).post(reverse("gallery:photo_shift", args=[same_day[0].pk]),
                                      {"days": "", "scope": "photo"}, follow=True)
    assert "Give a shift in days, hours or minutes" in response.content.decode()


def _shift_form(client, photo) -> dict:
    """The photo page's shift form as the page serves it: its hidden field's value."""
    import re

    html = client.get(photo.get_absolute_url()).content.decode()
    form = html[html.index('action="' + reverse("gallery:photo_shift", args=[photo.pk])):]
    return dict(re.findall(r'<input type="hidden" name="(seen)" value="([^"]*)"', form[:form.index("</form>")]))


def test_a_shift_made_twice_from_pages_drawn_before_the_first_is_refused_the_second_time(family, alice, bob,
                                                                                        client_for):
    """Alice and Bob both see the camera's day an hour early and both shift it by an hour (or Alice goes Back and
    sends the form again): the photos moved two hours, each told "Shifted". The form carries the date it showed;
    a shift of a photo whose date changed since is refused, saying what it reads now, and nothing moves."""
    same_day = [_gps_photo(family, alice, taken=f"2023:07:14 {9 + n:02d}:00:00") for n in range(2)]
    _with_camera(*same_day)
    before = {p.pk: _fresh(p).taken_at for p in same_day}
    alices, bobs = client_for(alice), client_for(bob)
    alice_form, bob_form = _shift_form(alices, same_day[0]), _shift_form(bobs, same_day[0])
    assert alice_form["seen"] and alice_form == bob_form
    url = reverse("gallery:photo_shift", args=[same_day[0].pk])
    shift = {"hours": "1", "scope": "camera_day"}

    first = alices.post(url, {**alice_form, **shift}, follow=True)
    second = bobs.post(url, {**bob_form, **shift}, follow=True)
    again = alices.post(url, {**alice_form, **shift}, follow=True)  # Back, then Shift again

    assert "Shifted the date taken of 2 photos." in first.content.decode()
    for response in (second, again):
        page = response.content.decode()
        assert "Shifted" not in page
        assert ("The date taken of this photo was changed since you saw it: it now reads 14 Jul 2023 "
                "10:00. Nothing was shifted: check it, then shift again if it still needs it.") in page
    assert {p.pk: _fresh(p).taken_at for p in same_day} == {pk: at + timedelta(hours=1) for pk, at in before.items()}
    # The page drawn now carries the new date: a further shift is the member's to make.
    assert bobs.post(url, {**_shift_form(bobs, same_day[0]), "hours": "-1", "scope": "photo"}).status_code == 302
    assert _fresh(same_day[0]).taken_at == before[same_day[0].pk]


def test_undoing_a_shift_after_someone_set_one_of_its_photos_dates_undoes_nothing(family, alice, bob, client_for):
    """Alice shifts a camera's day by an hour; Bob then sets one of its photos to the right time; Alice clicks "Undo
    the last shift": his date was moved an hour back with the others, without a word. An undo of photos whose dates
    changed since the shift moves nothing and says so."""
    moved = [_gps_photo(family, alice, taken=f"2023:07:14 {9 + n:02d}:00:00") for n in range(2)]
    _with_camera(*moved)
    alices = client_for(alice)
    alices.post(reverse("gallery:photo_shift", args=[moved[0].pk]), {"hours": "1", "scope": "camera_day"})
    shifted = {p.pk: _fresh(p).taken_at for p in moved}
    bobs_date = datetime(2023, 7, 14, 12, 30, tzinfo=dt_timezone.utc)
    photo_date_set(photo=_fresh(moved[1]), taken_at=bobs_date)

    response = alices.post(reverse("gallery:photo_shift_undo", args=[moved[0].pk]), follow=True)

    page = response.content.decode()
    assert "Undid the shift" not in page
    assert ("The dates of some of these photos were changed since the shift (by someone else, or from another page): "
            "nothing was undone. Set them by hand if they still need it.") in page
    assert (_fresh(moved[0]).taken_at, _fresh(moved[1]).taken_at) == (shifted[moved[0].pk], bobs_date)
    assert "Undo the last shift" not in page


def test_every_photo_of_that_camera_that_day_is_every_one_of_a_day_of_more_than_500(family, alice, client_for):
    """A wedding's or a holiday's day from one camera is often more than 500 photos: "every photo from this camera
    that day" shifted the 500 first stored, said "Shifted the date taken of 500 photos." and left the rest on the
    wrong clock (and its undo would have been refused: "At most 500 photos at a time")."""
    day = [photo_factory(family=family, user=alice, data=images.jpeg(colour=(n % 256, 90, 90), size=(20 + n % 23, 20 + n // 23)))
           for n in range(503)]
    start = datetime(2023, 7, 14, 8, 0, tzinfo=dt_timezone.utc)
    for n, photo in enumerate(day):
        Photo.objects.filter(pk=photo.pk).update(taken_at=start + timedelta(minutes=n), taken_tz="UTC",
                                                 camera_make="Canon", camera_model="EOS 80D")
    client = client_for(alice)
    response = client.post(reverse("gallery:photo_shift", args=[day[0].pk]), {"hours": "-2", "scope": "camera_day"},
                           follow=True)
    assert "Shifted the date taken of 503 photos." in response.content.decode()
    assert [_fresh(p).taken_at for p in day] == [start + timedelta(minutes=n, hours=-2) for n in range(503)]
    response = client.post(reverse("gallery:photo_shift_undo", args=[day[0].pk]), follow=True)
    assert "Undid the shift: 503 photos back" in response.content.decode()
    assert [_fresh(p).taken_at for p in day] == [start + timedelta(minutes=n) for n in range(503)]


def test_undoing_a_camera_day_shift_moves_back_exactly_the_photos_it_moved(family, alice, client_for):
    """Shifting back by hand ("every photo from this camera that day", the opposite offset) would take the photos
    that were on the day they moved to, and never moved: the page's undo moves back exactly the ones it moved."""
    moved = [_gps_photo(family, alice, taken=f"2023:07:14 {9 + n:02d}:00:00") for n in range(2)]
    already_there = _gps_photo(family, alice, taken="2023:07:15 10:00:00")
    _with_camera(*moved, already_there)
    before = {p.pk: _fresh(p).taken_at for p in moved + [already_there]}
    client = client_for(alice)
    client.post(reverse("gallery:photo_shift", args=[moved[0].pk]), {"days": "1", "scope": "camera_day"})
    page = client.get(moved[0].get_absolute_url()).content.decode()
    assert "Undo the last shift (2 photos)" in page
    assert "Undo the last shift" not in client.get(already_there.get_absolute_url()).content.decode()
    response = client.post(reverse("gallery:photo_shift_undo", args=[moved[0].pk]), follow=True)
    assert "Undid the shift: 2 photos back" in response.content.decode()
    assert {p.pk: _fresh(p).taken_at for p in moved + [already_there]} == before
    assert "Undo the last shift" not in response.content.decode()
    again = client.post(reverse("gallery:photo_shift_undo", args=[moved[0].pk]), follow=True)
    assert "no shift of this photo" in again.content.decode()
    assert {p.pk: _fresh(p).taken_at for p in moved + [already_there]} == before


def test_a_photo_that_names_no_camera_is_shifted_alone(family, alice, client_for):
    """"Every photo from this camera that day" of a photo without camera details (a scan, a screenshot, an image a
    messenger stripped) took every other such photo of that day along: all of a day's import of them."""
    scan = photo_factory(family=family, user=alice)
    other_scans = [photo_factory(family=family, user=alice) for _ in range(2)]
    before = {p.pk: _fresh(p).taken_at for p in [scan, *other_scans]}
    client = client_for(alice)

    page = client.get(scan.get_absolute_url()).content.decode()
    response = client.post(reverse("gallery:photo_shift", args=[scan.pk]), {"days": "1", "scope": "camera_day"},
                           follow=True)

    assert 'value="camera_day"' not in page and "Every photo from this camera that day" not in page
    assert "This photo names no camera" in response.content.decode()
    assert {p.pk: _fresh(p).taken_at for p in [scan, *other_scans]} == before


# --- place --------------------------------------------------------------------------------------


def test_a_place_is_picked_from_the_familys_places_or_typed_and_geocoded(family, alice, client_for):
    _gps_photo(family, alice, position=PORTO)
    photo = _gps_photo(family, alice, position=LISBON)
    assert photo.place_city == "Lisbon"
    client = client_for(alice)
    page = client.get(photo.get_absolute_url()).content.decode()
    assert "Porto" in page and 'name="known"' in page
    assert '<option value="" selected>— (now: Lisbon, Portugal)</option>' in page  # not as if it had no place
    response = client.get(photo.get_absolute_url())
    choices = dict((label, value) for value, label in response.context["place_form"].fields["known"].choices)
    porto = next(value for label, value in choices.items() if label.startswith("Porto"))
    response = client.post(reverse("gallery:photo_place", args=[photo.pk]), {"known": porto}, follow=True)
    assert "Place set to Porto" in response.content.decode()
    fresh = _fresh(photo)
    assert (fresh.place_city, fresh.place_source, fresh.latitude) == ("Porto", Photo.PlaceSource.MEMBER, None)
    assert "porto" in PhotoDocument.objects.get(photo=photo).words.lower()  # the search document was rebuilt

    response = client.post(reverse("gallery:photo_place", args=[photo.pk]),
                           {"latitude": str(LISBON[0]), "longitude": str(LISBON[1])}, follow=True)
    assert "Place set to Lisbon" in response.content.decode()
    fresh = _fresh(photo)
    assert (fresh.place_city, fresh.place_source, fresh.latitude) == ("Lisbon", Photo.PlaceSource.MEMBER, LISBON[0])


@pytest.mark.parametrize("typed", ["38.7223, -9.1393", "38.7223,-9.1393", "38.7223 -9.1393", "38,7223; -9,1393",
                                   " 38.7223 ,  -9.1393 "])
def test_a_position_pasted_whole_into_latitude_is_split(family, alice, client_for, typed):
    """A maps app copies a position as one pair ("38.7223, -9.1393"), and a grandparent pastes it into Latitude: it
    was "Enter a number." and "A position needs both…". Latitude holding a pair with Longitude empty is read as both
    (a comma between two numbers with a dot each, or a comma or semicolon and a space, or a space alone: "38,7223" is
    still one number, its comma a decimal point)."""
    photo = _gps_photo(family, alice, position=PORTO)
    response = client_for(alice).post(reverse("gallery:photo_place", args=[photo.pk]),
                                      {"latitude": typed, "longitude": ""}, follow=True)
    assert "Place set to Lisbon" in response.content.decode(), typed
    fresh = _fresh(photo)
    assert (fresh.place_city, fresh.latitude, fresh.longitude) == ("Lisbon", 38.7223, -9.1393)


@pytest.mark.parametrize("data, message", [
    ({"latitude": "38.7223, -9.1393", "longitude": "1"}, "Enter a number."),  # a pair, and a longitude too: which?
    ({"latitude": "91", "longitude": "0"}, "less than or equal to 90"),
    ({"latitude": "nan", "longitude": "0"}, "Enter a number."),
    ({"latitude": "10"}, "both a latitude and a longitude"),
    ({}, "Choose a place or type a position."),
    ({"known": "7", "latitude": "1", "longitude": "1"}, "Select a valid choice"),
])
def test_a_bad_place_is_a_plain_message(family, alice, client_for, data, message):
    photo = _gps_photo(family, alice)
    response = client_for(alice).post(reverse("gallery:photo_place", args=[photo.pk]), data, follow=True)
    assert response.status_code == 200 and message in response.content.decode()
    assert _fresh(photo).place_source == Photo.PlaceSource.GPS


# --- survives re-processing -------------------------------------------------------------------------


def test_edits_survive_reading_the_file_again_and_geocoding_again(family, alice, settings):
    photo = _gps_photo(family, alice, position=LISBON)
    photo_date_set(photo=photo, taken_at=datetime(1999, 12, 31, 23, 0, tzinfo=dt_timezone.utc))
    photo_place_set(photo=_fresh(photo), latitude=PORTO[0], longitude=PORTO[1])
    edited = _fresh(photo)
    # What the sweep and the commands do: read the file's metadata again, geocode again.
    photo_embedded_read(photo=edited)
    photos_place_fill(photos=[_fresh(photo)])
    Photo.objects.filter(pk=photo.pk).update(place_checked=False)  # as if never looked up
    photos_place_sweep()
    fresh = _fresh(photo)
    assert fresh.taken_at == datetime(1999, 12, 31, 23, 0, tzinfo=dt_timezone.utc)
    assert fresh.taken_at_source == Photo.DateSource.MEMBER and fresh.taken_tz == edited.taken_tz
    assert (fresh.place_city, fresh.place_source) == ("Porto", Photo.PlaceSource.MEMBER)


def test_a_member_place_survives_the_files_own_iptc_place(family, alice):
    data = images.with_metadata(images.jpeg(colour=(7, 7, 7)), iptc={"Iptc.Application2.City": "Faro", "Iptc.Application2.CountryName": "Portugal"})
    photo = photo_factory(family=family, user=alice, data=data)
    assert photo.place_city == "Faro"
    photo_place_set(photo=photo, latitude=PORTO[0], longitude=PORTO[1])
    photo_embedded_read(photo=_fresh(photo))
    assert _fresh(photo).place_city == "Porto"


# --- rotation ---------------------------------------------------------------------------------------


def _size(field) -> tuple[int, int]:
    with field.open("rb") as stream:
        return Image.open(io.BytesIO(stream.read())).size


def test_turning_a_photo_renders_it_turned_re_embeds_it_and_leaves_the_original(family, alice, client_for,
                                                                               django_capture_on_commit_callbacks):
    photo = photo_factory(family=family, user=alice, data=images.jpeg(size=(80, 40)))
    Photo.objects.filter(pk=photo.pk).update(status=Photo.Status.READY)
    original = (photo.original.name, photo.original.open("rb").read())
    old_thumbnail = photo.thumbnail.name
    queued_tasks()  # the upload's own embedding task
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(alice).post(reverse("gallery:photo_turn", args=[photo.pk]), {"turn": "right"},
                                          follow=True)
    assert "Turned." in response.content.decode() and "turned 90° clockwise" in response.content.decode()
    fresh = _fresh(photo)
    assert (fresh.rotation, fresh.width, fresh.height) == (90, 40, 80)
    assert _size(fresh.thumbnail) == (40, 80) and _size(fresh.display) == (40, 80)
    assert fresh.thumbnail.name != old_thumbnail
    assert (fresh.original.name, fresh.original.open("rb").read()) == original
    assert fresh.status == Photo.Status.PENDING
    # Browsers cache renditions: the turned photo's URLs are new, on its page and on the timeline's tiles.
    assert f'src="/photos/{photo.pk}/display/?r=90"' in response.content.decode()
    assert f"/photos/{photo.pk}/thumbnail/?r=90" in client_for(alice).get(reverse("gallery:timeline")).content.decode()
    assert [task["func"] for task in queued_tasks()] == ["search.tasks.embed_photos_task"]
    # A display rendition made again later (make_renditions, the sweep) is turned too.
    Photo.objects.filter(pk=photo.pk).update(display="")
    assert _size(photo_display_make(photo=_fresh(photo)).display) == (40, 80)
    # Back to where it was: left.
    photo_rotate(photo=_fresh(photo), quarter_turns=-1)
    assert (_fresh(photo).rotation, _fresh(photo).width) == (0, 80)


def test_a_turn_made_twice_from_pages_drawn_before_the_first_is_refused_the_second_time(family, alice, bob,
                                                                                      client_for):
    """Alice and Bob both see the photo lying on its side and both click "Turn right" (or Alice goes Back and clicks
    it again): it was turned twice, upside down, each told "Turned.". The form carries the rotation it showed; a
    turn of a photo turned since is refused, saying so, and the photo stays as the first turn left it."""
    photo = photo_factory(family=family, user=alice, data=images.jpeg(size=(80, 40)))
    alices, bobs = client_for(alice), client_for(bob)
    alice_page, bob_page = (c.get(photo.get_absolute_url()).content.decode() for c in (alices, bobs))
    url = reverse("gallery:photo_turn", args=[photo.pk])

    def form(page: str) -> dict:
        import re

        turn = page[page.index(f'action="{url}"'):]
        return dict(re.findall(r'<input type="hidden" name="(seen)" value="([^"]*)"', turn[:turn.index("</form>")]))

    assert form(alice_page) == form(bob_page) == {"seen": "0"}
    first = alices.post(url, {**form(alice_page), "turn": "right"}, follow=True)
    second = bobs.post(url, {**form(bob_page), "turn": "right"}, follow=True)
    again = alices.post(url, {**form(alice_page), "turn": "right"}, follow=True)  # Back, then Turn right again

    assert "Turned." in first.content.decode()
    for response in (second, again):
        page = response.content.decode()
        assert "Turned." not in page
        assert ("This photo was turned since this page was drawn (it is turned 90° clockwise now): look at it, then "
                "turn it again if it still needs it.") in page
    assert _fresh(photo).rotation == 90
    assert bobs.post(url, {**form(bobs.get(photo.get_absolute_url()).content.decode()), "turn": "left"},
                     follow=True).status_code == 200
    assert _fresh(photo).rotation == 0


def test_a_bad_turn_is_a_plain_message(family, alice, client_for):
    photo = photo_factory(family=family, user=alice)
    response = client_for(alice).post(reverse("gallery:photo_turn", args=[photo.pk]), {"turn": "up"}, follow=True)
    assert "Turn the photo left or right." in response.content.decode()


def test_turning_a_photo_whose_original_is_gone_says_so_in_words_not_the_servers_path(family, alice, client_for,
                                                                                      api_client, settings):
    """A media folder restored from an older copy lacked a photo's original: "Turn right" said "The original could
    not be read: [Errno 2] No such file or directory: '/srv/…/var/media/originals/1/1d/1d0b….jpg'", and the API's
    PATCH the same (QA): an errno and the server's folders, nothing a member can act on."""
    photo = photo_factory(family=family, user=alice)
    photo.original.storage.delete(photo.original.name)
    said = "The original file is missing from storage"
    page = client_for(alice).post(reverse("gallery:photo_turn", args=[photo.pk]), {"turn": "right"}, follow=True)
    body = page.content.decode()
    assert said in body and "Errno" not in body and str(settings.MEDIA_ROOT) not in body
    response = _patch(api_client, photo, {"rotation": 90})
    assert response.status_code == 400
    [message] = response.json()["rotation"]
    assert message.startswith(said) and "Errno" not in message and str(settings.MEDIA_ROOT) not in message
    assert _fresh(photo).rotation == 0


# --- rights -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, data", [
    ("gallery:photo_date", {"date": "2001-01-01"}),
    ("gallery:photo_shift", {"days": "1", "scope": "camera_day"}),
    ("gallery:photo_place", {"latitude": "1", "longitude": "1"}),
    ("gallery:photo_place", {"clear": "1"}),
    ("gallery:photo_turn", {"turn": "left"}),
    ("gallery:photo_shift_undo", {}),
])
def test_another_family_can_not_correct_our_photos(family, alice, mallory, client_for, name, data):
    photo = _gps_photo(family, alice)
    before = _fresh(photo)
    assert client_for(mallory).post(reverse(name, args=[photo.pk]), data).status_code == 404
    after = _fresh(photo)
    assert (after.taken_at, after.place_city, after.rotation) == (before.taken_at, before.place_city, 0)


def test_a_plain_member_may_correct_a_photo_of_their_family(family, alice, bob, client_for):
    photo = _gps_photo(family, alice)
    client_for(bob).post(reverse("gallery:photo_date", args=[photo.pk]), {"date": "2001-02-03"})
    assert _fresh(photo).taken_at_local.date().isoformat() == "2001-02-03"


# --- API --------------------------------------------------------------------------------------------


@pytest.fixture
def api_client(alice):
    from django.test import Client
    from tests.factories import api_token_key

    token = api_token_key(alice)
    return Client(headers={"Authorization": f"Token {token}"})


def _patch(client, photo, body):
    return client.patch(f"/api/v1/photos/{photo.pk}/", body, content_type="application/json")


def test_patch_corrects_date_position_place_and_rotation(family, alice, api_client):
    lisbon = _gps_photo(family, alice, position=LISBON)
    photo = _gps_photo(family, alice, position=LISBON)
    body = _patch(api_client, photo, {"taken_at": "2001-02-03T04:05:00+00:00"}).json()
    assert body["taken_at"].startswith("2001-02-03T04:05:00") and body["taken_at_source"] == "member"
    body = _patch(api_client, photo, {"latitude": PORTO[0], "longitude": PORTO[1]}).json()
    assert body["place"]["city"] == "Porto" and body["place_source"] == "member"
    body = _patch(api_client, photo, {"place": {"city": "Lisbon", "region": lisbon.place_region, "country_code": "pt"}}).json()
    assert body["place"]["city"] == "Lisbon" and body["latitude"] is None
    body = _patch(api_client, photo, {"rotation": 270}).json()
    assert body["rotation"] == 270 and body["status"] == "pending"
    body = _patch(api_client, photo, {"latitude": None, "longitude": None}).json()
    assert body["place"] is None and body["place_source"] == "member"


def test_patch_of_a_day_alone_is_its_noon_as_the_photo_page_sets_it(family, alice, api_client):
    """The API reads a date without an offset "as the photo page reads it", and the page takes a day alone (a scan)
    as its noon; the API took its midnight, an hour from the day before wherever the clocks are set back at 00:00."""
    photo = _gps_photo(family, alice, position=LISBON)
    body = _patch(api_client, photo, {"taken_at": "1987-06-14"}).json()
    assert body["taken_at_local"] == "1987-06-14T12:00:00+01:00" and body["taken_at_source"] == "member"


@pytest.mark.parametrize("value", ["2021-02-30T10:00", "2021-02-29", "2021-13-01T10:00:00Z"])
def test_patch_of_a_day_the_calendar_has_not_says_so(family, alice, api_client, value):
    """A well-formed date of no day ("30 February") was answered "Datetime has wrong format", naming formats the
    client had followed."""
    photo = _gps_photo(family, alice)
    response = _patch(api_client, photo, {"taken_at": value})
    assert response.status_code == 400
    assert response.json()["taken_at"] == [f"{value[:10]} is no day of the calendar."]
    assert _fresh(photo).taken_at_source == Photo.DateSource.EXIF


@pytest.mark.parametrize("body, field", [
    ({"taken_at": "yesterday"}, "taken_at"),
    ({"taken_at": "1700-01-01T00:00:00Z"}, "taken_at"),
    ({"latitude": 100, "longitude": 0}, "latitude"),
    ({"latitude": True, "longitude": 10}, "latitude"),  # a JSON true was read as 1.0: a place at sea off Africa
    ({"latitude": 10, "longitude": False}, "longitude"),
    ({"latitude": 10}, "non_field_errors"),
    ({"place": {"city": "Atlantis", "country_code": "XX"}}, "place"),
    ({"rotation": 45}, "rotation"),
])
def test_patch_refuses_bad_corrections_with_a_400(family, alice, api_client, body, field):
    photo = _gps_photo(family, alice)
    response = _patch(api_client, photo, body)
    assert response.status_code == 400 and field in response.json(), response.json()


def test_patch_of_another_familys_photo_is_404(family, alice, other_family, mallory, api_client):
    theirs = _gps_photo(other_family, mallory)
    assert _patch(api_client, theirs, {"taken_at": "2001-02-03T04:05:00Z"}).status_code == 404
    assert _fresh(theirs).taken_at_source == Photo.DateSource.EXIF


def test_the_shift_api_moves_own_photos_and_answers_foreign_ones_like_missing_ones(family, alice, other_family,
                                                                                 mallory, api_client):
    mine, theirs = _gps_photo(family, alice), _gps_photo(other_family, mallory)
    before = mine.taken_at
    response = api_client.post("/api/v1/photos/shift-dates/", {"photos": [mine.pk, theirs.pk], "seconds": -7200},
                               content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"results": [{"id": mine.pk, "ok": True, "reason": ""},
                                           {"id": theirs.pk, "ok": False, "reason": "No such photo."}]}
    assert _fresh(mine).taken_at == before - timedelta(hours=2)
    assert _fresh(theirs).taken_at_source == Photo.DateSource.EXIF
    bad = api_client.post("/api/v1/photos/shift-dates/", {"photos": [mine.pk], "seconds": 10**12},
                          content_type="application/json")
    assert bad.status_code == 400 and "seconds" in bad.json()


def test_the_schema_describes_corrections(client, alice):
    client.force_login(alice)  # the schema is for signed-in users
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    assert "/api/v1/photos/shift-dates/" in schema["paths"]
    patch = schema["paths"]["/api/v1/photos/{photo_id}/"]["patch"]
    assert patch["requestBody"]
    body = str(schema["components"]["schemas"])
    assert "rotation" in body and "place_source" in body


def _corrections_section(page: str) -> str:
    start = page.index('id="corrections"')
    return page[start:page.index("</section>", start)]


def test_what_a_correction_did_or_why_not_is_said_in_the_corrections_box_it_comes_back_to(family, alice,
                                                                                         client_for):
    """Every correction comes back to the photo at #corrections, far down the page (a phone scrolls 1,700 px): the
    message at the top of the page was out of sight, so an empty "Shift" or a refused date looked like a button that
    does nothing (QA). It is shown at the top of the box instead, and only there."""
    photo = photo_factory(family=family, user=alice)
    client = client_for(alice)
    for url, data, message in [
            (reverse("gallery:photo_shift", args=[photo.pk]), {"scope": "photo"}, "Give a shift in days"),
            (reverse("gallery:photo_date", args=[photo.pk]), {"date": "1700-01-01"}, "between 1826 and today"),
            (reverse("gallery:photo_date", args=[photo.pk]), {"date": "1987-06-14"}, "Date taken set to 14 Jun 1987"),
            (reverse("gallery:photo_turn", args=[photo.pk]), {"turn": "up"}, "Turn the photo left or right.")]:
        response = client.post(url, data)
        assert response["Location"].endswith("#corrections")
        page = client.get(response["Location"]).content.decode()
        assert message in _corrections_section(page), data
        assert page.count(message) == 1, data


def test_a_client_reads_the_familys_places_and_patches_one_of_them(family, alice, api_client, other_family, mallory):
    """PATCH "place" takes one of the family's places, but no endpoint listed them (the page's picker has them):
    a client had to guess the region the geocoder wrote."""
    _gps_photo(family, alice, position=LISBON)
    _gps_photo(other_family, mallory, position=PORTO)
    photo = _gps_photo(family, alice, position=PORTO)
    _patch(api_client, photo, {"latitude": None, "longitude": None})

    response = api_client.get(f"/api/v1/families/{family.pk}/places/")
    assert response.status_code == 200, response.content
    places = response.json()
    assert [p["city"] for p in places] == ["Lisbon"]  # the other family's Porto is not listed
    assert set(places[0]) == {"city", "region", "country", "country_code", "label"}
    body = _patch(api_client, photo, {"place": places[0]}).json()
    assert body["place"] == places[0] and body["place_source"] == "member"
    for family_id in (other_family.pk, other_family.pk + 1000):
        assert api_client.get(f"/api/v1/families/{family_id}/places/").status_code == 404


NEW_YORK = (40.7128, -74.0060)


def test_every_photo_of_that_camera_that_day_is_each_photos_own_local_day(family, alice, client_for):
    """A trip across zones: "every photo from this camera that day" took the clicked photo's local day as one span of
    time (midnight to midnight in Lisbon), so the camera's photo taken at 22:00 on 14 July in New York (the 15th in
    Lisbon) was left on the wrong clock, and the one taken at 21:00 on the 13th there (the 14th in Lisbon) was moved
    with a day it is not of. That day is the clicked photo's local day, matched against each photo's own
    (Photo.taken_day, the day where it was taken)."""
    lisbon = _gps_photo(family, alice, LISBON, taken="2023:07:14 12:00:00")
    new_york_that_day = _gps_photo(family, alice, NEW_YORK, taken="2023:07:14 22:00:00")
    new_york_day_before = _gps_photo(family, alice, NEW_YORK, taken="2023:07:13 21:00:00")
    _with_camera(lisbon, new_york_that_day, new_york_day_before)
    assert str(_fresh(new_york_that_day).taken_zone) == "America/New_York"
    before = {p.pk: _fresh(p).taken_at for p in (lisbon, new_york_that_day, new_york_day_before)}

    response = client_for(alice).post(reverse("gallery:photo_shift", args=[lisbon.pk]),
                                      {"hours": "1", "scope": "camera_day"}, follow=True)

    assert "Shifted the date taken of 2 photos." in response.content.decode()
    assert _fresh(lisbon).taken_at == before[lisbon.pk] + timedelta(hours=1)
    assert _fresh(new_york_that_day).taken_at == before[new_york_that_day.pk] + timedelta(hours=1)
    assert _fresh(new_york_day_before).taken_at == before[new_york_day_before.pk]
