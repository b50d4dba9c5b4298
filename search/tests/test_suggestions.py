"""Tag suggestions: the toy model's calibrated probabilities against the tag vocabulary, scored from the stored
embedding right after embedding, recomputed when the vocabulary changes, decided by members on the photo page, the
family page, the admin and the API, never across families."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from gallery.models import Photo, TagSuggestion
from search.models import TagConcept
from search.services import embed_photos
from search.suggestions import photos_suggest, suggestions_recompute
from tests.queue import queued_tasks, run_queued_tasks

pytestmark = pytest.mark.django_db


def open_suggestions(photo) -> dict[str, float]:
    return dict(TagSuggestion.objects.filter(photo=photo, state=TagSuggestion.State.OPEN)
                .values_list("name", "probability"))


@pytest.fixture
def embedded(toy_model, add_shape):
    """A shape photo stored and embedded (which scores its suggestions)."""
    def make(colour, shape, **kwargs):
        photo = add_shape(colour, shape, **kwargs)
        report = embed_photos(photo_ids=[photo.pk])
        assert report.ready == 1, report
        photo.refresh_from_db()
        return photo
    return make


def test_a_red_circle_is_suggested_red_and_not_blue_right_after_embedding(embedded, toy_model):
    photo = embedded("red", "circle")
    found = open_suggestions(photo)
    assert found.get("red", 0) >= 0.5, found
    assert "blue" not in found
    assert photo.suggestions_model == toy_model
    row = TagSuggestion.objects.get(photo=photo, name="red")
    assert row.model_name == toy_model and row.state == TagSuggestion.State.OPEN



def test_a_tag_the_photo_carries_is_not_suggested(embedded):
    photo = embedded("red", "circle", tags=["Red"])
    assert "red" not in {name.lower() for name in open_suggestions(photo)}


def test_accepted_and_dismissed_suggestions_never_come_back_on_recompute(embedded, alice, client_for):
    from gallery.suggestions import suggestion_dismiss, suggestions_accept

    red = embedded("red", "circle")
    blue = embedded("blue", "square")
    suggestions_accept(suggestions=TagSuggestion.objects.filter(photo=red, name="red"), user=alice)
    suggestion_dismiss(suggestion=TagSuggestion.objects.get(photo=blue, name="blue"), user=alice)
    assert suggestions_recompute() == 2
    assert "red" not in open_suggestions(red) and "blue" not in open_suggestions(blue)
    assert TagSuggestion.objects.get(photo=red, name="red").state == TagSuggestion.State.ACCEPTED
    assert TagSuggestion.objects.get(photo=blue, name="blue").state == TagSuggestion.State.DISMISSED
    # Removing the accepted tag doesn't bring the suggestion back either: the member decided.
    client_for(alice).post(f"/photos/{red.pk}/edit/", {"title": "", "description": "", "tags": ""})
    assert not red.tags.exists()
    photos_suggest([red.pk])
    assert "red" not in open_suggestions(red)
