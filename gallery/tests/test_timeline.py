"""The timeline by date: month and day headings, keyset pages (HTMX and plain links), the jump to a month,
"back to the list at this photo", isolation and a constant number of queries."""

from __future__ import annotations

import re
from datetime import datetime, timezone as dt_timezone
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gallery.correction_services import taken_days_refresh
from gallery.models import Photo
from gallery.timeline import NEAR_PAGES
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
ITEM = re.compile(r'<h2 class="month-heading"[^>]*>([^<]+)<|<h3 class="day-heading"[^>]*>([^<]+)<'
                  r'|<a class="tile" id="photo-(\d+)"')


def _photo_at(family, user, when: datetime) -> Photo:
    photo = photo_factory(family=family, user=user)
    Photo.objects.filter(pk=photo.pk).update(taken_at=when)
    taken_days_refresh([photo.pk])
    photo.taken_at = when
    return photo


def _utc(*args) -> datetime:
    return datetime(*args, tzinfo=dt_timezone.utc)


def _items(body: str) -> list[str]:
    """The grid in page order: "M:July 2020" for a month heading, "D:Sunday 5 July" for a day, "P:<id>" for a tile."""
    items = []
    for month, day, pk in ITEM.findall(body):
        items.append(f"M:{unescape(month).strip()}" if month else f"D:{unescape(day).strip()}" if day else f"P:{pk}")
    return items


def _more_link(body: str) -> str:
    match = re.search(r'<a class="more" href="([^"]+)"\s+hx-get="([^"]+)"', body)
    assert match, "no load-more link"
    href, hx_get = (unescape(part) for part in match.groups())
    assert href == hx_get  # the same URL with and without JavaScript
    return href


@pytest.fixture
def summer(family, alice):
    """Five photos: two on 5 July 2020, one on 1 July, one on 30 June, one on 2 June (the Smiths)."""
    return {
        "jul5-evening": _photo_at(family, alice, _utc(2020, 7, 5, 18)),
        "jul5-morning": _photo_at(family, alice, _utc(2020, 7, 5, 9)),
        "jul1": _photo_at(family, alice, _utc(2020, 7, 1, 12)),
        "jun30": _photo_at(family, alice, _utc(2020, 6, 30, 12)),
        "jun2": _photo_at(family, alice, _utc(2020, 6, 2, 12)),
    }


def test_photos_are_grouped_under_day_headings_within_month_sections_newest_first(client_for, alice, summer):
    body = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    p = {name: f"P:{photo.pk}" for name, photo in summer.items()}
    assert _items(body) == [
        "M:July 2020", "D:Sunday 5 July", p["jul5-evening"], p["jul5-morning"], "D:Wednesday 1 July", p["jul1"],
        "M:June 2020", "D:Tuesday 30 June", p["jun30"], "D:Tuesday 2 June", p["jun2"],
    ]


def test_days_are_the_sites_time_zone_days(client_for, family, alice, settings):
    settings.TIME_ZONE = "America/New_York"
    late = _photo_at(family, alice, _utc(2021, 1, 1, 3))  # 22:00 on 31 December in New York
    body = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    assert _items(body) == ["M:December 2020", "D:Thursday 31 December", f"P:{late.pk}"]


def test_days_are_the_days_where_each_photo_was_taken(client_for, family, alice):
    kiribati = _photo_at(family, alice, _utc(2020, 7, 1, 11))  # 01:00 on 2 July at +14:00
    Photo.objects.filter(pk=kiribati.pk).update(taken_tz="Pacific/Kiritimati")
    taken_days_refresh([kiribati.pk])
    home = _photo_at(family, alice, _utc(2020, 7, 1, 9))
    body = client_for(alice).get(reverse("gallery:timeline")).content.decode()
    assert _items(body) == ["M:July 2020", "D:Thursday 2 July", f"P:{kiribati.pk}",
                            "D:Wednesday 1 July", f"P:{home.pk}"]


@pytest.mark.parametrize("size", [1, 2, 3])
def test_zones_interleaving_at_midnight_put_each_photo_under_its_own_day_once(client_for, family, alice, settings,
                                                                              size):
    settings.GALLERY_PAGE_SIZE = size
    new_york = _photo_at(family, alice, _utc(2020, 7, 2, 3))  # 23:00 on 1 July in New York
    lisbon = _photo_at(family, alice, _utc(2020, 7, 2, 1))  # 02:00 on 2 July in Lisbon: older, a later day
    home = _photo_at(family, alice, _utc(2020, 7, 1, 12))
    Photo.objects.filter(pk=new_york.pk).update(taken_tz="America/New_York")
    Photo.objects.filter(pk=lisbon.pk).update(taken_tz="Europe/Lisbon")
    taken_days_refresh([new_york.pk, lisbon.pk])
    client = client_for(alice)
    body = client.get(reverse("gallery:timeline")).content.decode()
    seen = _items(body)
    while 'class="more"' in body:
        body = client.get(reverse("gallery:timeline") + _more_link(body), headers=HTMX).content.decode()
        seen += _items(body)
    # By local day first: Lisbon's 2 July above New York's 1 July, though New York's photo came later.
    assert seen == ["M:July 2020", "D:Thursday 2 July", f"P:{lisbon.pk}", "D:Wednesday 1 July", f"P:{new_york.pk}",
                    f"P:{home.pk}"]


def test_infinite_scroll_continues_the_day_without_repeating_its_heading(client_for, alice, summer, settings):
    settings.GALLERY_PAGE_SIZE = 1
    client = client_for(alice)
    first = client.get(reverse("gallery:timeline")).content.decode()
    assert "<html" in first
    seen = _items(first)
    url = _more_link(first)
    while True:
        part = client.get(reverse("gallery:timeline") + url, headers=HTMX)
        body = part.content.decode()
        assert part.status_code == 200 and "<html" not in body and 'id="grid"' not in body
        seen += _items(body)
        if 'class="more"' not in body:
            break
        url = _more_link(body)
    # Concatenated, the HTMX pages read exactly like one page: each heading once, each photo once, in order.
    assert [item for item in seen if item.startswith(("M:", "D:"))] == [
        "M:July 2020", "D:Sunday 5 July", "D:Wednesday 1 July", "M:June 2020", "D:Tuesday 30 June", "D:Tuesday 2 June"]
    assert [item for item in seen if item.startswith("P:")] == [
        f"P:{summer[name].pk}" for name in ("jul5-evening", "jul5-morning", "jul1", "jun30", "jun2")]


def test_the_plain_next_page_link_is_a_whole_page_that_names_its_day_again(client_for, alice, summer, settings):
    settings.GALLERY_PAGE_SIZE = 1
    client = client_for(alice)
    url = _more_link(client.get(reverse("gallery:timeline")).content.decode())

    body = client.get(reverse("gallery:timeline") + url).content.decode()  # no JavaScript: a new page

    assert "<html" in body and "<header" in body
    assert _items(body) == ["M:July 2020", "D:Sunday 5 July", f"P:{summer['jul5-morning'].pk}"]
    assert "continued" in body
    assert 'rel="prev"' in body or "Newer photos" in body  # a way back up


def test_pages_are_keyset_so_new_photos_never_shift_or_repeat_tiles(client_for, family, alice, summer, settings):
    settings.GALLERY_PAGE_SIZE = 2
    client = client_for(alice)
    url = _more_link(client.get(reverse("gallery:timeline")).content.decode())
    _photo_at(family, alice, _utc(2021, 1, 1, 12))  # a newer photo arrives while the person scrolls

    body = client.get(reverse("gallery:timeline") + url, headers=HTMX).content.decode()

    assert [i for i in _items(body) if i.startswith("P:")] == [f"P:{summer['jul1'].pk}", f"P:{summer['jun30'].pk}"]


def test_load_more_keeps_the_filters(client_for, family, alice, summer, settings):
    settings.GALLERY_PAGE_SIZE = 1
    body = client_for(alice).get(reverse("gallery:timeline"), {"family": family.pk, "tag": "x"}).content.decode()
    assert 'class="more"' not in body  # nothing is tagged x
    body = client_for(alice).get(reverse("gallery:timeline"), {"family": family.pk}).content.decode()
    assert _more_link(body).startswith(f"?family={family.pk}&after=")


def test_jump_to_a_month_starts_at_its_newest_photo_and_the_list_offers_the_users_months_only(
        client_for, alice, summer, other_family, mallory):
    _photo_at(other_family, mallory, _utc(2019, 3, 3, 12))  # the Joneses' March 2019 is not alice's to see

    body = client_for(alice).get(reverse("gallery:timeline"), {"month": "2020-06"}).content.decode()

    assert _items(body) == ["M:June 2020", "D:Tuesday 30 June", f"P:{summer['jun30'].pk}",
                            "D:Tuesday 2 June", f"P:{summer['jun2'].pk}"]
    assert re.search(r'<option value="2020-07"[^>]*>July 2020 \(3\)</option>', body)
    assert re.search(r'<option value="2020-06" selected[^>]*>June 2020 \(2\)</option>', body)
    assert "2019-03" not in body and "March 2019" not in body
    assert "Newer photos" in body  # the jump can be undone upwards


def test_jump_to_a_month_without_photos_starts_at_the_next_older_one(client_for, alice, summer):
    body = client_for(alice).get(reverse("gallery:timeline"), {"month": "2020-08"}).content.decode()
    assert _items(body)[:2] == ["M:July 2020", "D:Sunday 5 July"]
    body = client_for(alice).get(reverse("gallery:timeline"), {"month": "1990-01"}).content.decode()
    assert _items(body) == [] and "No photos from January 1990 or before" in body


@pytest.mark.parametrize("params", [
    {"month": "2020-13"}, {"month": "june"}, {"month": "9999-12"}, {"month": "0000-01"},
    {"after": "junk"}, {"after": "1_2"}, {"after": "99999999999999999999_1_20200101"}, {"before": "1_x_20200101"},
    {"near": "abc"}, {"near": "-4"}, {"page": "7"}, {"after": "1\x00_2"},
])
def test_bad_positions_get_a_plain_message_not_an_error(client_for, alice, summer, params):
    response = client_for(alice).get(reverse("gallery:timeline"), params)
    assert response.status_code == 200
    body = response.content.decode()
    if set(params) - {"page", "month"} or params.get("month") in ("2020-13", "june", "0000-01"):
        assert 'class="notice"' in body
    assert f"P:{summer['jul5-evening'].pk}" in _items(body) or params.get("month") == "9999-12"


@pytest.mark.parametrize("value", ["-1", "0", str(2**63), "99999999999999999999"])
def test_a_family_filter_that_is_no_id_is_dropped_not_a_500(client_for, alice, summer, value):
    """A negative family went through the filter form and the page's "Near-duplicates" link could not be drawn for
    it (a 500): a value that can be no id is dropped like any broken filter, on the page and in the viewer."""
    client = client_for(alice)
    body = client.get(reverse("gallery:timeline"), {"family": value}).content.decode()
    assert f"P:{summer['jul5-evening'].pk}" in _items(body)  # all of the user's photos: no filter
    assert "Near-duplicates" not in body
    photo = summer["jul5-evening"]
    assert client.get(reverse("gallery:photo_detail", args=[photo.pk]), {"family": value}).status_code == 200


def test_newer_photos_link_goes_one_page_up(client_for, alice, summer, settings):
    settings.GALLERY_PAGE_SIZE = 2
    client = client_for(alice)
    body = client.get(reverse("gallery:timeline"), {"month": "2020-06"}).content.decode()
    newer = unescape(re.search(r'<a class="newer" href="([^"]+)"', body).group(1))

    body = client.get(reverse("gallery:timeline") + newer).content.decode()

    assert [i for i in _items(body) if i.startswith("P:")] == [f"P:{summer['jul5-morning'].pk}", f"P:{summer['jul1'].pk}"]
    assert 'class="more"' in body


def test_back_near_a_photo_renders_from_the_top_through_its_page(client_for, alice, summer, settings):
    settings.GALLERY_PAGE_SIZE = 2
    body = client_for(alice).get(reverse("gallery:timeline"), {"near": summer["jun30"].pk}).content.decode()
    # jun30 is the fourth photo: pages 1 and 2 are there, as after scrolling, and the next link follows page 2.
    assert [i for i in _items(body) if i.startswith("P:")] == [
        f"P:{summer[name].pk}" for name in ("jul5-evening", "jul5-morning", "jul1", "jun30")]
    assert f'id="photo-{summer["jun30"].pk}"' in body
    assert 'class="more"' in body and "Newer photos" not in body


def test_back_near_a_photo_far_down_starts_at_it(client_for, family, alice, summer, settings):
    settings.GALLERY_PAGE_SIZE = 1  # rendering from the top stops at NEAR_PAGES pages
    for day in range(1, NEAR_PAGES + 1):
        _photo_at(family, alice, _utc(2021, 1, day, 12))
    body = client_for(alice).get(reverse("gallery:timeline"), {"near": summer["jun2"].pk}).content.decode()
    assert _items(body) == ["M:June 2020", "D:Tuesday 2 June", f"P:{summer['jun2'].pk}"]
    assert "Newer photos" in body


def test_near_another_familys_photo_reveals_nothing(client_for, alice, summer, other_family, mallory):
    foreign = _photo_at(other_family, mallory, _utc(2020, 6, 15, 12))
    client = client_for(alice)
    body = client.get(reverse("gallery:timeline"), {"near": foreign.pk}).content.decode()
    top = client.get(reverse("gallery:timeline")).content.decode()
    assert _items(body) == _items(top)
    assert "15 June" not in body


def test_the_timeline_costs_the_same_queries_for_many_photos_as_for_few(client_for, family, alice, settings):
    settings.GALLERY_PAGE_SIZE = 40
    client = client_for(alice)
    for day in range(1, 4):
        _photo_at(family, alice, _utc(2020, 5, day, 12))
    client.get(reverse("gallery:timeline"))  # session, user: warm
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("gallery:timeline"))
    for day in range(1, 28):
        _photo_at(family, alice, _utc(2020, 4, day, 12))
    with CaptureQueriesContext(connection) as many:
        body = client.get(reverse("gallery:timeline")).content.decode()
    assert len([i for i in _items(body) if i.startswith("P:")]) == 30
    assert len(many) == len(few) <= 9  # the "On this day" row is one of them (gallery.memories)


def test_the_month_list_forgets_a_family_the_user_left(client_for, family, alice, summer, other_family, mallory):
    from gallery.models import Membership

    _photo_at(other_family, mallory, _utc(2019, 3, 3, 12))
    membership = Membership.objects.create(family=other_family, user=alice)
    client = client_for(alice)
    assert "March 2019" in client.get(reverse("gallery:timeline")).content.decode()
    membership.delete()
    assert "March 2019" not in client.get(reverse("gallery:timeline")).content.decode()


def test_a_family_filter_of_no_family_of_the_user_shows_all_their_photos_and_says_so(client_for, alice, summer,
                                                                                    other_family, mallory):
    """A bookmark of a family the user left (or another family's id) read "No photos" under "All my families", with a
    Near-duplicates link to a 404. It is dropped like any broken filter, and the page says so, alike for a family
    that does not exist."""
    _photo_at(other_family, mallory, _utc(2019, 3, 3, 12))
    client = client_for(alice)
    foreign = client.get(reverse("gallery:timeline"), {"family": other_family.pk}).content.decode()
    missing = client.get(reverse("gallery:timeline"), {"family": other_family.pk + 1000}).content.decode()
    for body in (foreign, missing):
        assert f"P:{summer['jul5-evening'].pk}" in _items(body)
        assert "Near-duplicates" not in body and "March 2019" not in body
        assert "None of your families has that number" in body
    def without_tokens(body: str) -> str:
        body = re.sub(r"[A-Za-z0-9]{64}", "", body)  # the CSRF tokens
        return re.sub(r"\?family=\d+", "", body)  # the request's own address, as the hearts' "next"

    assert without_tokens(foreign) == without_tokens(missing)


def test_the_family_picker_counts_your_favourites_when_favourites_only(client_for, family, alice, bob, other_family):
    from gallery.models import Favourite, Membership
    from tests.factories import FamilyFactory, MembershipFactory

    MembershipFactory(family=other_family, user=alice, role=Membership.Role.MEMBER)
    photos = [photo_factory(family=family, user=alice) for _ in range(4)]
    jones = [photo_factory(family=other_family, user=alice) for _ in range(2)]
    Favourite.objects.create(user=alice, photo=photos[0])
    Favourite.objects.create(user=alice, photo=photos[1])
    Favourite.objects.create(user=bob, photo=photos[2])  # bob's heart is not alice's
    Favourite.objects.create(user=bob, photo=photos[1])  # nor does it count twice
    trashed = photo_factory(family=family, user=alice)
    Favourite.objects.create(user=alice, photo=trashed)
    Photo.objects.filter(pk=trashed.pk).update(trashed_at=_utc(2024, 1, 1))
    client = client_for(alice)

    options = _family_options(client.get(reverse("gallery:timeline")).content.decode())
    assert options == {"Smiths": "Smiths (4)", "Joneses": "Joneses (2)"}
    with CaptureQueriesContext(connection) as two_families:
        body = client.get(reverse("gallery:timeline") + "?favourite=1").content.decode()
    assert _family_options(body) == {"Smiths": "Smiths (2 favourites)", "Joneses": "Joneses (0 favourites)"}
    assert jones  # the Joneses' photos are nobody's favourites
    # No query per family: a third family costs nothing more.
    third = FamilyFactory(name="Browns")
    MembershipFactory(family=third, user=alice, role=Membership.Role.MEMBER)
    Favourite.objects.create(user=alice, photo=photo_factory(family=third, user=alice))
    with CaptureQueriesContext(connection) as three_families:
        body = client.get(reverse("gallery:timeline") + "?favourite=1").content.decode()
    assert _family_options(body)["Browns"] == "Browns (1 favourite)"
    assert len(three_families) == len(two_families)


def _family_options(body: str) -> dict[str, str]:
    select = re.search(r'<select name="family".*?</select>', body, re.S).group(0)
    return {text.split(" (")[0]: text for text in
            (unescape(t).strip() for t in re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select))}


def test_the_family_pickers_counts_follow_the_tag_and_favourite_filters(client_for, family, alice, other_family):
    from gallery.trash_services import photos_favourite
    from tests.factories import MembershipFactory

    MembershipFactory(family=other_family, user=alice)
    beach = [photo_factory(family=family, user=alice, tags=["beach"]) for _ in range(2)]
    photo_factory(family=family, user=alice, tags=["forest"])
    photo_factory(family=other_family, user=alice, tags=["Beach"])
    photo_factory(family=other_family, user=alice)
    photos_favourite(user=alice, photo_ids=[beach[0].pk], on=True)

    def options(params) -> list[str]:
        body = unescape(client_for(alice).get(reverse("gallery:timeline"), params).content.decode())
        tiles = len(set(re.findall(r'href="/photos/(\d+)/', body)))
        picker = re.search(r'<select name="family".*?</select>', body, re.S).group(0)  # (not the bar's families)
        return sorted(re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', picker)), tiles

    assert options({}) == (["Joneses (2)", "Smiths (3)"], 5)
    assert options({"tag": "beach"}) == (["Joneses (1)", "Smiths (2)"], 3)
    assert options({"tag": "beach", "favourite": 1}) == (["Joneses (0 favourites)", "Smiths (1 favourite)"], 1)
    assert options({"tag": "beach", "family": family.pk}) == (["Joneses (1)", "Smiths (2)"], 2)


@pytest.mark.parametrize("photos", [2, 6])
def test_the_timeline_counts_photos_and_lists_used_tags_in_the_same_few_queries(client_for, family, alice, photos,
                                                                                django_assert_max_num_queries):
    """The family picker's counts and the bulk bar's tags (a count DISTINCT over a join of every family with every
    photo, and a DISTINCT over every tagged photo: a quarter of a second each at 100,000 photos)."""
    from gallery.models import Tag
    from gallery.services import photo_update
    from gallery.trash_services import photos_favourite, photos_trash

    made = [photo_factory(family=family, user=alice) for _ in range(photos)]
    for n, photo in enumerate(made):
        photo_update(photo=photo, user=alice, tags=[f"tag{n % 3}", "all"])
    photos_favourite(user=alice, photo_ids=[made[0].pk], on=True)
    photos_trash(user=alice, photo_ids=[made[-1].pk])
    Tag.objects.create(family=family, name="unused")
    client = client_for(alice)
    client.get(reverse("gallery:timeline"))
    with django_assert_max_num_queries(10):
        body = client.get(reverse("gallery:timeline")).content.decode()
    assert f"Smiths ({photos - 1})" in body
    tags = re.findall(r'<option value="([^"]+)">', body.split('id="bulk-tag-list"')[1].split("</datalist>")[0])
    assert tags == sorted({"all", *(f"tag{n % 3}" for n in range(photos - 1))})
    favourites = client.get(reverse("gallery:timeline"), {"favourite": 1}).content.decode()
    assert "Smiths (1 favourite)" in favourites


def test_the_month_list_follows_uploads_trash_date_shifts_and_favourites_at_once(
        client_for, family, alice, summer, django_capture_on_commit_callbacks):
    """The "Jump to" counts were kept 60 s whatever happened: after an upload, a trash or a date shift they were
    wrong for up to a minute. They are kept per version of the families' photos, which each change moves on."""
    from datetime import timedelta

    from gallery.correction_services import photos_shift_dates
    from gallery.trash_services import photos_favourite, photos_trash

    client = client_for(alice)

    def months(**params) -> dict[str, str]:
        body = client.get(reverse("gallery:timeline"), params).content.decode()
        return dict(re.findall(r'<option value="(\d{4}-\d{2})"[^>]*>[^<(]+\((\d+)\)</option>', body))

    assert months() == {"2020-07": "3", "2020-06": "2"}
    with django_capture_on_commit_callbacks(execute=True):
        _photo_at(family, alice, _utc(2020, 6, 15, 12))  # an upload (dated, as the camera's would be)
    assert months() == {"2020-07": "3", "2020-06": "3"}
    with django_capture_on_commit_callbacks(execute=True):
        photos_trash(user=alice, photo_ids=[summer["jul1"].pk])
    assert months() == {"2020-07": "2", "2020-06": "3"}
    with django_capture_on_commit_callbacks(execute=True):
        photos_shift_dates(user=alice, photo_ids=[summer["jun2"].pk], delta=-timedelta(days=40))
    assert months() == {"2020-07": "2", "2020-06": "2", "2020-04": "1"}
    assert months(favourite=1) == {}
    with django_capture_on_commit_callbacks(execute=True):
        photos_favourite(user=alice, photo_ids=[summer["jun30"].pk], on=True)
    assert months(favourite=1) == {"2020-06": "1"}


def test_many_photos_stored_in_one_transaction_move_their_familys_version_with_one_statement(
        family, alice, other_family, mallory, django_capture_on_commit_callbacks):
    """An import commits 64 photos at a time: each photo's announcement read its family and queued an UPDATE of the
    family's row of its own, 64 of them after each batch (100,000 of each for a big library)."""
    from django.db import transaction

    from gallery.models import Family

    before = {f.pk: f.photos_version for f in Family.objects.all()}
    with CaptureQueriesContext(connection) as queries:
        with django_capture_on_commit_callbacks(execute=True):
            with transaction.atomic():
                for n in range(5):
                    _photo_at(family, alice, _utc(2020, 6, n + 1, 12))
                _photo_at(other_family, mallory, _utc(2020, 6, 1, 12))
    after = {f.pk: f.photos_version for f in Family.objects.all()}
    assert after[family.pk] == before[family.pk] + 1 and after[other_family.pk] == before[other_family.pk] + 1
    bumps = [q["sql"] for q in queries.captured_queries if "photos_version" in q["sql"]]
    assert len(bumps) == 1, bumps


@pytest.mark.parametrize(("path", "query", "name"), [
    ("gallery:timeline", "family={family}&family={other}", "family"),
    ("gallery:timeline", "tag=beach&tag=sea", "tag"),
    ("gallery:timeline", "country=PT&country=ES", "country"),
    ("gallery:timeline", "month=2023-07&month=2023-08", "month"),
    ("gallery:explore", "family={family}&family={other}", "family"),
])
def test_a_parameter_of_one_value_given_twice_is_said_on_the_page(client_for, family, alice, other_family, summer,
                                                                   path, query, name):
    """`?family=1&family=2` showed the second family's photos alone, without a word (the API answers 400 naming the
    parameter). The page says so, with a 400: the filter is not applied, and the photos of every family show."""
    from tests.factories import MembershipFactory

    MembershipFactory(family=other_family, user=alice)

    response = client_for(alice).get(f"{reverse(path)}?{query.format(family=family.pk, other=other_family.pk)}")

    assert response.status_code == 400
    assert f"Give “{name}” once: it takes one value." in unescape(response.content.decode())
