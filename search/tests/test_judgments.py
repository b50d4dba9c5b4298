from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404

from gallery.models import Photo
from search.judgment_selectors import judgment_list, judgment_verdicts
from search.judgment_services import judgment_delete, judgment_record, judgment_withdraw
from search.models import Judgment
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db


@pytest.fixture
def shapes(toy_model, add_shape, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        photos = {name: add_shape(*name.split()) for name in ("red square", "blue circle")}
    run_queued_tasks()
    assert not Photo.objects.exclude(status=Photo.Status.READY).exists()
    return photos


def test_a_judgment_records_every_score_component_and_replacing_it_keeps_one_row(shapes, alice, family):
    photo = shapes["red square"]
    judgment, created = judgment_record(user=alice, photo=photo, query="  Red   Square ", relevant=True)
    assert created and judgment.query == "red square" and judgment.family == family and judgment.relevant
    c = judgment.components
    assert {"cosine", "probability", "meta_score", "semantic_weight", "metadata_weight", "score"} <= set(c)
    assert c["probability"] > 0.5 and c["cosine"] is not None and c["score"] > 0
    assert judgment.model_name == c["model_name"] and judgment.model_name

    again, created = judgment_record(user=alice, photo=photo, query="red square", relevant=False)
    assert not created and again.pk == judgment.pk and not again.relevant
    assert Judgment.objects.count() == 1


def test_components_are_those_of_the_search_result(shapes, alice):
    from search.engine import SearchParams, search_photos

    photo = shapes["blue circle"]
    result = next(r for r in search_photos(user=alice, params=SearchParams(query="blue circle")).results
                  if r.photo.pk == photo.pk)
    judgment, _ = judgment_record(user=alice, photo=photo, query="blue circle", relevant=True)
    expected = result.explanation.as_dict()
    assert judgment.components.keys() == expected.keys()
    for key, value in expected.items():
        assert judgment.components[key] == (pytest.approx(value) if isinstance(value, float) else value), key


def test_a_photo_nothing_matched_still_gets_its_components(alice, add_shape, family):
    photo = add_shape("red", "square")  # not embedded: no semantic half
    judgment, _ = judgment_record(user=alice, photo=photo, query="zebra", relevant=False)
    assert judgment.components["cosine"] is None and judgment.components["meta_score"] == 0
    assert judgment.model_name == ""


def test_another_familys_photo_cannot_be_judged(alice, mallory, other_family, add_shape):
    foreign = add_shape("red", "square", target_family=other_family, user=mallory)
    with pytest.raises(Http404):
        judgment_record(user=alice, photo=foreign, query="red square", relevant=True)
    assert not Judgment.objects.exists()


def test_an_empty_query_is_refused_plainly(alice, add_shape):
    with pytest.raises(ValidationError, match="needs the query"):
        judgment_record(user=alice, photo=add_shape("red", "square"), query="   ", relevant=True)


@pytest.mark.parametrize("query", ["-dog", "without cats", "not dog -cat"])
def test_a_query_that_only_leaves_out_is_refused_plainly(alice, add_shape, query):
    """Such a search lists no results (the page says what to add): a verdict on it would be one on nothing, with no
    score components to learn from."""
    with pytest.raises(ValidationError, match="only says what to leave out"):
        judgment_record(user=alice, photo=add_shape("red", "square"), query=query, relevant=False)
    assert not Judgment.objects.exists()


def test_a_query_of_only_punctuation_is_refused_for_what_it_is(alice, add_shape):
    with pytest.raises(ValidationError, match="no word to search for") as refused:
        judgment_record(user=alice, photo=add_shape("red", "square"), query="?!", relevant=True)
    assert "leave out" not in str(refused.value)  # (it was said to only say what to leave out)
    assert not Judgment.objects.exists()


def test_undo_by_id_and_by_query_and_only_ones_own(alice, bob, add_shape):
    photo = add_shape("red", "square")
    mine, _ = judgment_record(user=alice, photo=photo, query="red", relevant=True)
    with pytest.raises(Http404):
        judgment_delete(user=bob, judgment_id=mine.pk)
    judgment_delete(user=alice, judgment_id=mine.pk)
    assert not Judgment.objects.exists()
    judgment_record(user=alice, photo=photo, query="red", relevant=False)
    judgment_withdraw(user=alice, photo=photo, query="RED")
    assert not Judgment.objects.exists()


def test_lists_show_only_ones_own_and_filter_by_family_and_query(alice, bob, add_shape, family):
    photo = add_shape("red", "square")
    judgment_record(user=alice, photo=photo, query="red", relevant=True)
    judgment_record(user=alice, photo=photo, query="square", relevant=False)
    judgment_record(user=bob, photo=photo, query="red", relevant=False)
    assert judgment_list(user=alice).count() == 2
    assert [j.query for j in judgment_list(user=alice, query=" RED ")] == ["red"]
    assert judgment_list(user=alice, family_id=family.pk + 1000).count() == 0
    assert judgment_verdicts(user=alice, query="Square", photo_ids=[photo.pk]) == {photo.pk: False}


def test_judgments_in_a_family_one_has_left_are_no_longer_ones_own(alice, bob, add_shape, family):
    from gallery.models import Membership

    judgment, _ = judgment_record(user=bob, photo=add_shape("red", "square"), query="red", relevant=True)
    Membership.objects.filter(user=bob, family=family).delete()
    assert judgment_list(user=bob).count() == 0
    with pytest.raises(Http404):
        judgment_delete(user=bob, judgment_id=judgment.pk)
