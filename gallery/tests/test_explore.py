"""Explore: the places, countries and tags of a user's photos, counted, each opening the timeline filtered to it;
the timeline's city and country filters; nothing of another family."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from gallery.explore import EXPLORE_CARDS, explore
from gallery.models import Membership, Photo
from gallery.services import photo_update
from gallery.trash_services import photos_trash
from tests.factories import photo_factory

pytestmark = pytest.mark.django_db


def placed(family, user, city: str, country: str, code: str, tags=()) -> Photo:
    photo = photo_factory(family=family, user=user)
    Photo.objects.filter(pk=photo.pk).update(place_city=city, place_country=country, place_country_code=code,
                                             place_checked=True)
    if tags:
        photo_update(photo=photo, tags=list(tags))
    photo.refresh_from_db()
    return photo


@pytest.fixture
def library(family, alice, other_family, mallory):
    lisbon = [placed(family, alice, "Lisbon", "Portugal", "PT", tags=["Beach"]) for _ in range(3)]
    porto = placed(family, alice, "Porto", "Portugal", "PT", tags=["beach", "wine"])
    seoul = placed(family, alice, "Seoul", "South Korea", "KR")
    countryside = placed(family, alice, "", "Portugal", "PT")
    binned = placed(family, alice, "Paris", "France", "FR", tags=["secret"])
    photos_trash(user=alice, photo_ids=[binned.pk])
    theirs = [placed(other_family, mallory, "Lisbon", "Portugal", "PT", tags=["joneses-only"]) for _ in range(2)]
    return {"lisbon": lisbon, "porto": porto, "seoul": seoul, "countryside": countryside, "theirs": theirs}


def _rows(spots):
    return [(s.name, s.detail, s.count) for s in spots]


def test_places_countries_and_tags_most_photos_first(alice, library):
    found = explore(user=alice)
    assert _rows(found.cities) == [("Lisbon", "Portugal", 3), ("Porto", "Portugal", 1), ("Seoul", "South Korea", 1)]
    assert _rows(found.countries) == [("Portugal", "", 5), ("South Korea", "", 1)]
    # One tag whatever its case; the photo of a trashed tag's only photo takes it away.
    assert _rows(found.tags) == [("Beach", "", 4), ("wine", "", 1)]
    assert found.cities[0].cover_id == library["lisbon"][-1].pk
    assert found.cities[0].query == (("city", "Lisbon"), ("country", "PT"))


def test_another_familys_photos_count_nowhere(mallory, library):
    found = explore(user=mallory)
    assert _rows(found.cities) == [("Lisbon", "Portugal", 2)] and _rows(found.tags) == [("joneses-only", "", 2)]


def test_the_same_queries_whatever_the_library_and_kept_a_minute(family, alice, library):
    from django.core.cache import cache

    with CaptureQueriesContext(connection) as few:
        explore(user=alice)
    cache.clear()
    for n in range(30):
        placed(family, alice, f"Town {n}", "Portugal", "PT", tags=[f"tag {n}"])
    with CaptureQueriesContext(connection) as many:
        found = explore(user=alice)
    assert len(found.cities) == 33 and len(few) == len(many) == 5
    placed(family, alice, "Faro", "Portugal", "PT")
    with CaptureQueriesContext(connection) as again:
        assert explore(user=alice) == found  # the families read, the rest kept
    assert len(again) == 1


def test_the_page_links_each_card_to_its_timeline(client_for, alice, library, family, other_family):
    body = client_for(alice).get(reverse("gallery:explore")).content.decode()
    assert "Lisbon" in body and "joneses-only" not in body and "secret" not in body
    timeline = reverse("gallery:timeline")
    assert f'href="{timeline}?city=Lisbon&amp;country=PT"' in body
    assert f'href="{timeline}?country=KR"' in body and f'href="{timeline}?tag=Beach"' in body
    thumbs = {int(pk) for pk in re.findall(r'/photos/(\d+)/thumbnail/', body)}
    assert thumbs and not thumbs & {p.pk for p in library["theirs"]}
    Membership.objects.create(family=other_family, user=alice)
    mine = client_for(alice).get(reverse("gallery:explore"), {"family": family.pk}).content.decode()
    assert f'href="{timeline}?family={family.pk}&amp;city=Lisbon&amp;country=PT"' in mine and "joneses-only" not in mine


def test_a_foreign_family_on_the_page_is_dropped_with_a_message(client_for, alice, library, other_family):
    body = client_for(alice).get(reverse("gallery:explore"), {"family": other_family.pk}).content.decode()
    assert "None of your families has that number" in body and "joneses-only" not in body


def test_past_the_cards_the_rest_is_listed_up_to_a_point(client_for, family, alice, monkeypatch):
    monkeypatch.setattr("gallery.views.explore.EXPLORE_LISTED", EXPLORE_CARDS + 2)
    for n in range(EXPLORE_CARDS + 3):
        placed(family, alice, f"Town {n:02d}", "Portugal", "PT")
    body = client_for(alice).get(reverse("gallery:explore")).content.decode()
    # The summary counts every place past the cards (it said "2 more places" of 27 with 24 shown: 3 are).
    assert "3 more places" in body and "Town 25" in body and "Town 26" not in body
    assert "And 1 more with fewer photos" in body and "Places <small>27</small>" in body


def test_one_more_is_said_in_the_singular(client_for, family, alice):
    for n in range(EXPLORE_CARDS + 1):
        placed(family, alice, f"Town {n:02d}", "Portugal", "PT")
    assert "1 more place<" in client_for(alice).get(reverse("gallery:explore")).content.decode()


def test_an_empty_library_says_where_places_come_from(client_for, alice):
    assert "Nothing to explore yet" in client_for(alice).get(reverse("gallery:explore")).content.decode()


def _tiles(body: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<a class="tile" id="photo-(\d+)"', body)]


def test_the_timeline_filters_by_city_and_country_and_keeps_it(client_for, alice, library):
    client = client_for(alice)
    body = client.get(reverse("gallery:timeline"), {"city": "Lisbon", "country": "pt"}).content.decode()
    assert sorted(_tiles(body)) == sorted(p.pk for p in library["lisbon"])
    assert "Photos taken in Lisbon, Portugal" in body and "Show photos from everywhere" in body
    assert 'name="city" value="Lisbon"' in body and 'name="country" value="PT"' in body  # the family picker keeps it
    country = client.get(reverse("gallery:timeline"), {"country": "PT"}).content.decode()
    assert len(_tiles(country)) == 5 and "Photos taken in Portugal" in country
    # The viewer walks the same list.
    first = library["lisbon"][0]
    viewer = client.get(first.get_absolute_url(), {"from": "timeline", "city": "Lisbon", "country": "PT"})
    assert "taken in Lisbon, Portugal" in viewer.content.decode()
    nowhere = client.get(reverse("gallery:timeline"), {"city": "Atlantis"}).content.decode()
    assert "No photos taken in Atlantis" in nowhere and not _tiles(nowhere)
    for odd in ({"country": "Portugal"}, {"country": "P\x00"}, {"city": "x\x00y"}, {"city": "y" * 300}):
        response = client.get(reverse("gallery:timeline"), odd)
        assert response.status_code == 200 and len(_tiles(response.content.decode())) == 6, odd  # dropped


def test_the_city_filter_ignores_case_as_tag_and_country_do(client_for, alice, library):
    """?city=lisbon (a link typed or shared by hand) found nothing, though ?tag=BEACH and ?country=pt find theirs:
    the city is matched whatever its case, on the page, its months and the viewer's list alike."""
    client = client_for(alice)
    body = client.get(reverse("gallery:timeline"), {"city": "lisbon", "country": "pt"}).content.decode()
    assert sorted(_tiles(body)) == sorted(p.pk for p in library["lisbon"])
    assert "No photos taken in" not in body
    first = library["lisbon"][0]
    viewer = client.get(first.get_absolute_url(), {"from": "timeline", "city": "LISBON"}).content.decode()
    assert "No longer in this list" not in viewer


def test_the_counts_follow_a_new_tag_or_a_trashed_photo_at_once(client_for, alice, library,
                                                               django_capture_on_commit_callbacks):
    """The page's counts were kept 60 s whatever happened (as the timeline's months were): a photo tagged or moved to
    the trash meanwhile was counted as before. They are kept per version of the families' photos."""
    client = client_for(alice)
    assert "wine" in client.get(reverse("gallery:explore")).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        photo_update(photo=library["seoul"], tags=["kimchi"])
        photos_trash(user=alice, photo_ids=[library["porto"].pk])
    body = client.get(reverse("gallery:explore")).content.decode()
    assert "kimchi" in body and "wine" not in body
