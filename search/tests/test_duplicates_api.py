"""Near-duplicates in the API as on the page: a group's first DUPLICATES_SHOWN members, its size, and the rest moved
by the group's key; the page and the API read the per-group counts from one selector and move photos through one
service."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from gallery.models import Photo
from search.models import DuplicatePair
from gallery.models import Membership
from search.duplicate_selectors import DUPLICATES_SHOWN
from search.tests.test_duplicates import _burst
from tests.factories import MembershipFactory, api_token_key

pytestmark = pytest.mark.django_db

LIST = "/api/v1/duplicates/"
TRASH = "/api/v1/duplicates/trash/"


def _api_for(user) -> Client:
    return Client(headers={"Authorization": f"Token {api_token_key(user)}"})


# 1. The API bounds a group as the page does.


def test_the_api_gives_a_group_of_six_hundred_as_the_page_does_and_moves_the_rest_by_its_key(family, alice, api):
    """GET /api/v1/duplicates/ listed all 600 members of a blank scan's group (a page of 50 such groups: 30,000
    photos). It gives the first DUPLICATES_SHOWN, the group's size and what the rest holds; POST
    /api/v1/duplicates/trash/ moves the ticked ones and, with `more`, the rest that match the keeper, by the group's
    key, at most 500 a call, as the page's button does."""
    burst = _burst(family, alice, 600, star=True)

    [group] = api.get(LIST, {"family": family.pk}).json()["results"]

    assert len(group["photos"]) == DUPLICATES_SHOWN and group["size"] == 600
    assert group["more"] == {"photos": 600 - DUPLICATES_SHOWN, "to_trash": 600 - DUPLICATES_SHOWN, "theirs": 0,
                             "unlike": 0}
    ticked = [photo["id"] for photo in group["photos"] if photo["trash"]]
    assert len(ticked) == DUPLICATES_SHOWN - 1
    response = api.post(TRASH, {"family": family.pk, "group": group["key"], "photos": ticked, "more": True},
                        content_type="application/json")
    assert response.status_code == 200, response.content
    answer = response.json()
    assert sum(result["ok"] for result in answer["results"]) == 500 and answer["left"] == 99

    [group] = api.get(LIST, {"family": family.pk}).json()["results"]
    assert group["size"] == 100
    response = api.post(TRASH, {"family": family.pk, "group": group["key"], "more": True,
                                "photos": [photo["id"] for photo in group["photos"] if photo["trash"]]},
                        content_type="application/json")
    assert response.status_code == 200 and response.json()["left"] == 0
    assert list(Photo.objects.filter(pk__in=[p.pk for p in burst])) == [burst[0]]


def test_the_api_moves_nothing_of_a_group_changed_since_or_of_another_family(family, other_family, alice, mallory,
                                                                             api):
    burst = _burst(family, alice, DUPLICATES_SHOWN + 5, star=True)
    [group] = api.get(LIST, {"family": family.pk}).json()["results"]
    late = _burst(family, alice, 1)[0]
    DuplicatePair.objects.create(family=family, photo_a=burst[0], photo_b=late, hash_distance=0)

    changed = api.post(TRASH, {"family": family.pk, "group": group["key"], "more": True},
                       content_type="application/json")
    assert changed.status_code == 409 and changed.json()["photos"] == DUPLICATES_SHOWN + 6

    theirs = _api_for(mallory)
    assert theirs.post(TRASH, {"family": family.pk, "group": group["key"], "more": True, "photos": [burst[1].pk]},
                       content_type="application/json").status_code == 404
    other = theirs.post(TRASH, {"family": other_family.pk, "group": group["key"], "more": True},
                        content_type="application/json")
    assert other.status_code == 409 and other.json()["photos"] == 0
    # Their own family, our photos by id: "No such photo.", as the trash service says of another family's.
    foreign = theirs.post(TRASH, {"family": other_family.pk, "photos": [burst[1].pk]}, content_type="application/json")
    assert foreign.status_code == 200 and foreign.json()["results"] == [
        {"id": burst[1].pk, "ok": False, "reason": "No such photo."}]
    assert Photo.objects.filter(pk__in=[p.pk for p in burst]).count() == len(burst)
    for data in ({"family": family.pk}, {"family": family.pk, "more": True}, {"family": family.pk, "group": "x"}):
        assert api.post(TRASH, data, content_type="application/json").status_code == 400


def test_the_schema_describes_the_bounded_group_and_the_trash_endpoint(client, alice):
    client.force_login(alice)
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    assert "/api/v1/duplicates/trash/" in schema["paths"]
    group = schema["components"]["schemas"]["DuplicateGroup"]["properties"]
    assert {"size", "more"} <= set(group)


# 2. One selector for the counts, one service for the move: the page and the API say the same.


def test_a_plain_member_reads_the_same_counts_of_the_rest_on_the_page_and_in_the_api(family, alice, bob, client_for):
    """bob uploaded 3 of the 8 photos not drawn: the page says he may move those 3 and that 5 are others'; the API
    said nothing of them."""
    burst = _burst(family, alice, DUPLICATES_SHOWN + 8, star=True)
    Photo.objects.filter(pk__in=[p.pk for p in burst[-3:]]).update(uploaded_by=bob)

    page = client_for(bob).get(reverse("search:duplicates", args=[family.pk])).content.decode()
    [group] = _api_for(bob).get(LIST, {"family": family.pk}).json()["results"]

    assert "Move the 3 of them that match the suggested keeper to the trash too" in page
    assert "5 of them only their uploader or a family admin can trash." in page
    assert group["more"] == {"photos": 8, "to_trash": 3, "theirs": 5, "unlike": 0}
    assert not any(photo["may_trash"] for photo in group["photos"])


# 3. The ticked photos stay within the family posted (and the group named), and a named group is checked first.


def test_api_trash_named_photos_stay_within_the_family_named(family, other_family, alice, api):
    """alice belongs to both families: POST family=<Smiths> with a photo of the Joneses (hers, which she may move)
    moved it through the Smiths' group. A photo of another family is "No such photo.", as one of no family is."""
    MembershipFactory(family=other_family, user=alice, role=Membership.Role.ADMIN)
    theirs = _burst(other_family, alice, 2, star=True)
    ours = _burst(family, alice, 3, star=True)

    response = api.post(TRASH, {"family": family.pk, "photos": [theirs[1].pk, ours[1].pk]},
                        content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json()["results"] == [{"id": theirs[1].pk, "ok": False, "reason": "No such photo."},
                                          {"id": ours[1].pk, "ok": True, "reason": ""}]
    assert Photo.objects.filter(pk=theirs[1].pk).exists() and not Photo.objects.filter(pk=ours[1].pk).exists()


def test_api_trash_with_a_group_key_moves_only_that_groups_members(family, alice, api):
    """With a group's key, a ticked photo of the family outside that group is "No such photo." too."""
    burst = _burst(family, alice, 3, star=True)
    [group] = api.get(LIST, {"family": family.pk}).json()["results"]
    outside = _burst(family, alice, 1)[0]  # paired with nothing: in no group

    response = api.post(TRASH, {"family": family.pk, "group": group["key"], "photos": [outside.pk, burst[1].pk]},
                        content_type="application/json")

    assert response.status_code == 200, response.content
    assert [(r["id"], r["ok"], r["reason"]) for r in response.json()["results"]] == [
        (outside.pk, False, "No such photo."), (burst[1].pk, True, "")]
    assert Photo.objects.filter(pk=outside.pk).exists()


def test_api_trash_with_a_group_key_but_no_more_is_409_when_the_group_changed(family, alice, api):
    """The endpoint's doc: 409 when the group named by `group` changed since, nothing moved (it was checked only
    with `more`)."""
    burst = _burst(family, alice, 5, star=True)
    [group] = api.get(LIST, {"family": family.pk}).json()["results"]
    late = _burst(family, alice, 1)[0]
    DuplicatePair.objects.create(family=family, photo_a=burst[0], photo_b=late, hash_distance=0)

    response = api.post(TRASH, {"family": family.pk, "group": group["key"], "photos": [burst[1].pk]},
                        content_type="application/json")

    assert response.status_code == 409, response.content
    assert Photo.objects.filter(pk=burst[1].pk).exists()


def test_the_pages_trash_button_with_a_changed_group_moves_nothing_and_says_so(family, alice, api, client_for):
    """The page posts its group's key with every "Move ticked to trash": a group changed since it was drawn moves
    nothing, even without the "and N more" box, and the page says the group changed."""
    burst = _burst(family, alice, 5, star=True)
    [group] = api.get(LIST, {"family": family.pk}).json()["results"]
    late = _burst(family, alice, 1)[0]
    DuplicatePair.objects.create(family=family, photo_a=burst[0], photo_b=late, hash_distance=0)

    response = client_for(alice).post(reverse("search:duplicates_trash", args=[family.pk]),
                                      {"group": group["key"], "photo": [burst[1].pk]}, follow=True)

    assert "This group changed since the page was shown" in response.content.decode()
    assert Photo.objects.filter(pk=burst[1].pk).exists()
