"""The photo viewer walking search results: the same query and filters, in the results' order, never another
family's photo, and back to the results at the photo."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from gallery.models import Photo
from search.engine import SearchParams, search_photos
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def circles(toy_model, add_shape, other_family, mallory, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        photos = [add_shape("red", "circle"), add_shape("red", "circle"), add_shape("blue", "square"),
                  add_shape("red", "circle", tags=["garden"]), add_shape("green", "triangle")]
        jones = add_shape("red", "circle", target_family=other_family, user=mallory)
    run_queued_tasks()
    assert set(Photo.objects.values_list("status", flat=True)) == {Photo.Status.READY}
    return photos, jones


def _link(body: str, marker: str) -> str | None:
    tag = re.search(rf'<a [^>]*{marker}[^>]*>', body)
    return unescape(re.search(r'href="([^"]*)"', tag.group(0)).group(1)) if tag else None


def test_the_viewer_walks_search_results_in_their_order_within_the_users_families(client_for, alice, circles):
    photos, jones = circles
    client = client_for(alice)
    page = client.get(reverse("search:search"), {"q": "red circle", "show_hidden": "1"}).content.decode()
    order = [int(pk) for pk in re.findall(r'<div class="result[^"]*" id="photo-(\d+)"', page)]
    response = search_photos(user=alice, params=SearchParams(query="red circle", show_hidden=True))
    expected = [result.photo.pk for result in response.results]
    assert order == expected and len(order) >= 3 and jones.pk not in order
    context = "?from=search&q=red+circle&show_hidden=1"
    assert f'href="/photos/{order[0]}/{context.replace("&", "&amp;")}"' in page  # tiles open the viewer here

    for index, pk in enumerate(order):
        body = client.get(f"/photos/{pk}/{context}").content.decode()
        assert _link(body, 'data-viewer-step="prev"') == (f"/photos/{order[index - 1]}/{context}" if index else None)
        assert _link(body, 'data-viewer-step="next"') == (
            f"/photos/{order[index + 1]}/{context}" if index + 1 < len(order) else None)
        assert _link(body, "data-viewer-back") == f"/search/?q=red+circle&show_hidden=1#photo-{pk}"
        assert f"{index + 1} of {len(order)}" in body
        assert f"/photos/{jones.pk}/" not in body


def test_filters_are_part_of_the_list(client_for, alice, circles):
    photos, _ = circles
    tagged = photos[3]
    body = client_for(alice).get(f"/photos/{tagged.pk}/?from=search&q=red+circle&tag=garden").content.decode()
    assert _link(body, 'data-viewer-step="prev"') is None and _link(body, 'data-viewer-step="next"') is None
    assert "1 of 1" in body


def test_a_photo_no_longer_in_the_results_says_so_and_goes_back(client_for, alice, circles):
    photos, _ = circles
    body = client_for(alice).get(f"/photos/{photos[0].pk}/?from=search&q=red+circle&tag=nothing-has-this").content.decode()
    assert "No longer in this list" in body
    assert _link(body, "data-viewer-back") == f"/search/?q=red+circle&tag=nothing-has-this#photo-{photos[0].pk}"


@pytest.mark.parametrize("query", ["?from=search", "?from=search&q=" + "x" * 6000, "?from=search&q=%00&after=zz",
                                   "?from=search&q=red&family=abc&before=2020-99-99"])
def test_broken_search_contexts_never_fail(client_for, alice, circles, query):
    photos, _ = circles
    assert client_for(alice).get(f"/photos/{photos[0].pk}/{query}").status_code == 200
