"""The photo viewer: previous/next within the list it was opened from (the timeline with its filters, or any list
kind registered with gallery.photo_lists), back to that list at the photo, the display rendition, isolation."""

from __future__ import annotations

import re
from datetime import datetime, timezone as dt_timezone
from html import unescape

import pytest
from django.urls import reverse

from gallery import photo_lists
from gallery.correction_services import taken_days_refresh
from gallery.models import Photo
from gallery.photo_lists import ListContext, Neighbours, PhotoListKind
from tests.factories import MembershipFactory, photo_factory

pytestmark = pytest.mark.django_db


def _photo_at(family, user, day: int, **kwargs) -> Photo:
    photo = photo_factory(family=family, user=user, **kwargs)
    when = datetime(2022, 3, day, 12, tzinfo=dt_timezone.utc)
    Photo.objects.filter(pk=photo.pk).update(taken_at=when)
    taken_days_refresh([photo.pk])
    photo.taken_at = when
    return photo


def _link(body: str, marker: str) -> str | None:
    tag = re.search(rf'<a [^>]*{marker}[^>]*>', body)
    if tag is None:
        return None
    return unescape(re.search(r'href="([^"]*)"', tag.group(0)).group(1))


def _walk(body: str) -> tuple[str | None, str | None, str | None]:
    return (_link(body, 'data-viewer-step="prev"'), _link(body, 'data-viewer-step="next"'),
            _link(body, "data-viewer-back"))


@pytest.fixture
def march(family, alice, other_family, mallory):
    """The Smiths' photos on 1, 2, 4 and 5 March (5 and 1 tagged "beach"); the Joneses' on 3 March."""
    photos = {day: _photo_at(family, alice, day, tags=["beach"] if day in (1, 5) else []) for day in (1, 2, 4, 5)}
    photos["jones"] = _photo_at(other_family, mallory, 3)
    return photos


def test_the_timeline_viewer_walks_newest_first_and_never_steps_into_another_family(client_for, alice, march):
    client = client_for(alice)
    order = [march[day] for day in (5, 4, 2, 1)]  # the Joneses' photo of 3 March sits between 4 and 2
    for index, photo in enumerate(order):
        body = client.get(photo.get_absolute_url()).content.decode()
        previous, following, back = _walk(body)
        assert previous == (order[index - 1].get_absolute_url() if index else None)
        assert following == (order[index + 1].get_absolute_url() if index + 1 < len(order) else None)
        assert back == f"{reverse('gallery:timeline')}?near={photo.pk}#photo-{photo.pk}"
    assert str(march["jones"].pk) not in "".join(_walk(client.get(march[4].get_absolute_url()).content.decode()))


def test_the_timeline_tiles_open_the_viewer_with_the_lists_filters(client_for, family, alice, march):
    body = client_for(alice).get(reverse("gallery:timeline"), {"tag": "beach", "family": family.pk}).content.decode()
    assert f'href="/photos/{march[5].pk}/?from=timeline&amp;family={family.pk}&amp;tag=beach"' in body


def test_a_filtered_timeline_walks_only_its_photos_and_goes_back_to_itself(client_for, family, alice, march):
    client = client_for(alice)
    context = f"?from=timeline&family={family.pk}&tag=beach"
    body = client.get(march[5].get_absolute_url() + context).content.decode()
    previous, following, back = _walk(body)
    assert previous is None
    assert following == march[1].get_absolute_url() + context  # 4 and 2 March are not tagged "beach"
    assert back == f"/?family={family.pk}&tag=beach&near={march[5].pk}#photo-{march[5].pk}"
    assert "Back to photos tagged" in body


def test_a_photo_that_left_the_filtered_list_says_so_and_still_walks_on(client_for, family, alice, march):
    """Opened from a filtered timeline, then untagged (or unfavourited) in another tab: the viewer said nothing, as if
    it were still in "photos tagged beach"; search results and albums say "No longer in this list"."""
    from gallery.services import photos_tag_remove
    from gallery.trash_services import photos_favourite

    client = client_for(alice)
    context = f"?from=timeline&family={family.pk}&tag=beach"
    assert "No longer in this list" not in client.get(march[5].get_absolute_url() + context).content.decode()
    photos_tag_remove(photos=[march[5]], name="beach", user=alice)
    body = client.get(march[5].get_absolute_url() + context).content.decode()
    assert "No longer in this list" in body
    assert _walk(body)[1] == march[1].get_absolute_url() + context  # the next photo still in it, from where it was

    photos_favourite(user=alice, photo_ids=[march[2].pk], on=True)
    assert "No longer in this list" not in client.get(march[2].get_absolute_url() + "?from=timeline&favourite=1").content.decode()
    photos_favourite(user=alice, photo_ids=[march[2].pk], on=False)
    assert "No longer in this list" in client.get(march[2].get_absolute_url() + "?from=timeline&favourite=1").content.decode()
    assert "No longer in this list" not in client.get(march[2].get_absolute_url()).content.decode()  # the whole timeline


def test_a_second_family_is_walked_when_the_user_is_in_it(client_for, alice, march, other_family):
    MembershipFactory(family=other_family, user=alice)
    previous, following, _ = _walk(client_for(alice).get(march[4].get_absolute_url()).content.decode())
    assert following == march["jones"].get_absolute_url()


def test_a_list_of_a_foreign_family_gives_no_neighbours(client_for, alice, march, other_family):
    body = client_for(alice).get(march[4].get_absolute_url() + f"?from=timeline&family={other_family.pk}").content.decode()
    previous, following, back = _walk(body)
    assert previous is None and following is None
    assert str(march["jones"].pk) not in re.sub(r"near=\d+", "", back)


def test_the_viewer_shows_the_display_rendition_and_prefetches_the_neighbours_display_only(client_for, alice, march):
    body = client_for(alice).get(march[4].get_absolute_url()).content.decode()
    assert f'<img src="{march[4].display_url}"' in body
    assert f'href="{march[5].display_url}"' in body and f'href="{march[2].display_url}"' in body  # prefetched
    assert march[4].original_url + '"' not in body  # only the explicit download link names the original
    assert 'aria-label="Previous photo"' in body and 'aria-label="Next photo"' in body


@pytest.mark.parametrize("query", [
    "?from=album&album=3", "?from=nonsense", "?from=timeline&family=abc&tag=%00",
    "?from=timeline&family=99999999999999999999", "?from=", "?from=timeline&near=5&after=x",
])
def test_unknown_or_broken_list_contexts_fall_back_to_the_timeline(client_for, alice, march, query):
    response = client_for(alice).get(march[4].get_absolute_url() + query)
    assert response.status_code == 200
    previous, following, back = _walk(response.content.decode())
    assert back.startswith("/")


def test_a_foreign_photo_is_404_whatever_the_context(client_for, alice, march):
    client = client_for(alice)
    assert client.get(march["jones"].get_absolute_url()).status_code == 404
    assert client.get(march["jones"].get_absolute_url() + "?from=timeline").status_code == 404


class _Chosen(PhotoListKind):
    """A list kind as an album would be: an explicit, ordered list of ids (here from the URL), resolved by the
    registry like the built-in kinds."""

    name = "chosen"
    params = ("ids",)

    def label(self, *, user, params) -> str:
        return "the chosen ones"

    def neighbours(self, *, user, photo, params) -> Neighbours:
        ids = [int(part) for part in params.get("ids", "").split(".") if part.isdigit()]
        visible = set(self.visible_ids(user=user, photo_ids=ids))
        ids = [pk for pk in ids if pk in visible]
        return Neighbours.in_sequence(ids, photo.pk)

    def list_url(self, *, user, photo, params, neighbours) -> str:
        return "/chosen/"


@pytest.fixture
def chosen_kind():
    kind = _Chosen()
    photo_lists.register(kind)
    yield kind
    photo_lists.unregister(kind.name)


def test_a_new_list_kind_plugs_in_and_its_neighbours_are_checked_against_the_users_families(
        client_for, alice, march, chosen_kind):
    ids = ".".join(str(march[key].pk) for key in (2, "jones", 5, 1))
    body = client_for(alice).get(march[5].get_absolute_url() + f"?from=chosen&ids={ids}").content.decode()
    previous, following, back = _walk(body)
    assert previous == march[2].get_absolute_url() + f"?from=chosen&ids={ids}"  # the Joneses' id is skipped
    assert following == march[1].get_absolute_url() + f"?from=chosen&ids={ids}"
    assert back == f"/chosen/#photo-{march[5].pk}"
    assert "3 of 3" in body or "2 of 3" in body


def test_list_context_round_trips_through_the_url():
    context = ListContext(kind="timeline", params=(("family", "2"), ("tag", "sea & sand")))
    assert context.query == "?from=timeline&family=2&tag=sea+%26+sand"
    assert ListContext(kind="timeline").query == ""  # the default list: plain photo URLs


def _after_delete(body: str, photo: Photo) -> str:
    """Where the photo page's "Move to trash" goes next (its form's `next`)."""
    form = re.search(r'<form method="post" action="%s".*?</form>' % reverse("gallery:photo_delete", args=[photo.pk]),
                     body, re.S).group(0)
    return unescape(re.search(r'name="next" value="([^"]*)"', form).group(1))


def test_moving_the_photo_to_the_trash_from_the_viewer_goes_on_to_the_next_photo_of_its_list(client_for, alice,
                                                                                               march):
    """Going through an album or a day deleting bad shots: after each one the next photo of the same list, not the top
    of the timeline (the list's position was lost with every delete)."""
    client = client_for(alice)
    following = _after_delete(client.get(march[5].get_absolute_url() + "?from=timeline&tag=beach").content.decode(),
                              march[5])
    assert following == march[1].get_absolute_url() + "?from=timeline&tag=beach"

    response = client.post(reverse("gallery:photo_delete", args=[march[5].pk]), {"next": following}, follow=True)

    assert response.redirect_chain == [(following, 302)]
    assert "Moved “" in response.content.decode()
    # The last photo of its list goes back to the list instead; a `next` off the site goes to the timeline.
    assert _after_delete(client.get(following).content.decode(), march[1]) == (
        f"{reverse('gallery:timeline')}?tag=beach&near={march[1].pk}#photo-{march[1].pk}")
    assert client.post(reverse("gallery:photo_delete", args=[march[1].pk]), {"next": "https://evil.example/"}
                       )["Location"] == reverse("gallery:timeline")


@pytest.mark.parametrize("kind", ["timeline", "search"])
def test_a_list_parameter_of_one_value_given_twice_is_said_and_the_list_walked_without_it(client_for, alice, march,
                                                                                         family, other_family, kind):
    """`?family=1&family=2` on the viewer's list went to the list's parameters as given: the timeline kind walked the
    last family's photos (or all, without a word), the steps and "Back" carried both to pages that refuse them. As the
    list pages (OneValueEach), the photo page says so (400) and walks the list without it."""
    MembershipFactory(family=other_family, user=alice)
    context = f"?from={kind}&family={family.pk}&family={other_family.pk}" + ("&q=beach" if kind == "search" else "")

    response = client_for(alice).get(march[4].get_absolute_url() + context)

    body = response.content.decode()
    assert response.status_code == 400
    assert "Give “family” once: it takes one value." in unescape(body)
    assert not any("family=" in (link or "") for link in _walk(body)), _walk(body)
