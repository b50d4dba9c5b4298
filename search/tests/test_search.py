from __future__ import annotations

import math
from datetime import datetime, timezone as dt_timezone

import pytest

from gallery.models import Photo
from gallery.services import photo_update
from search.engine import NO_EVIDENCE, SearchParams, search_photos
from search.metadata import TYPO_WEIGHT, metadata_query
from search.models import SearchPreferences, Synonym
from tests.queue import run_queued_tasks

pytestmark = pytest.mark.django_db

COLOURS = ("red", "green", "blue", "yellow")
SHAPES = ("circle", "square", "triangle")


@pytest.fixture
def shapes(toy_model, add_shape, django_capture_on_commit_callbacks):
    """Two photos of each colour/shape pair, embedded by the toy model: photo id → "colour shape"."""
    with django_capture_on_commit_callbacks(execute=True):
        photos = {add_shape(c, s).pk: f"{c} {s}" for c in COLOURS for s in SHAPES for _ in range(2)}
    run_queued_tasks()
    assert not Photo.objects.exclude(status=Photo.Status.READY).exists()
    return photos


def labels(response, shapes) -> list[str]:
    return [shapes.get(r.photo.pk, "other") for r in response.results]


def search(user, query, **kwargs):
    return search_photos(user=user, params=SearchParams(query=query, **kwargs))


def test_red_circle_ranks_every_red_circle_above_every_other_photo(shapes, alice):
    response = search(alice, "red circle", min_score=0, show_hidden=True, limit=100)
    ranked = labels(response, shapes)
    red_circles = [i for i, name in enumerate(ranked) if name == "red circle"]
    assert red_circles == [0, 1], ranked[:5]
    top = response.results[0].explanation
    assert top.probability > 0.5 and top.term == "red circle"


def test_unseen_words_find_red_circles_through_synonyms_and_not_without(shapes, alice, family):
    Synonym.objects.create(family=family, term="circle", related=["ball"])  # "crimson" → red is seeded
    expanded = search(alice, "crimson ball")
    assert labels(expanded, shapes)[:2] == ["red circle"] * 2
    assert expanded.results[0].explanation.term == "red circle"

    SearchPreferences.objects.create(user=alice, expansion_enabled=False)
    plain = search(alice, "crimson ball")
    assert "red circle" not in labels(plain, shapes)
    assert [t.text for t in plain.terms] == ["crimson ball"]


def test_metadata_surfaces_a_tagged_photo_and_its_weight_moves_it(shapes, alice, add_shape):
    party = add_shape("green", "square", tags=["birthday"])
    response = search(alice, "birthday", min_score=0, show_hidden=True, limit=100)
    ids = [r.photo.pk for r in response.results]
    assert ids[0] == party.pk
    explanation = response.results[0].explanation
    assert explanation.meta_fields == ["tags"] and explanation.meta_score > 0

    low = search(alice, "yellow triangle birthday", min_score=0, show_hidden=True, limit=100, metadata_weight=0.1, semantic_weight=0.9)
    high = search(alice, "yellow triangle birthday", min_score=0, show_hidden=True, limit=100, metadata_weight=0.9, semantic_weight=0.1)
    rank = lambda r: [x.photo.pk for x in r.results].index(party.pk)  # noqa: E731
    assert rank(high) < rank(low)


def test_typos_still_match_metadata(shapes, alice, add_shape):
    party = add_shape("green", "square", tags=["birthday"])
    response = search(alice, "birthdy", min_score=0.01)
    assert response.results and response.results[0].photo.pk == party.pk
    explanation = response.results[0].explanation
    assert explanation.meta_typo > 0.5 and explanation.meta_fts == 0
    assert explanation.meta_score == pytest.approx(TYPO_WEIGHT * explanation.meta_typo)
    assert explanation.meta_fields == ["similar spelling (birthdy → birthday)"]


def test_a_typo_in_a_longer_sentence_is_corrected_too_and_known_words_are_left_alone(toy_model, alice, add_shape):
    beach = add_shape("yellow", "circle", description="Sandcastles on the beach", tags=["holiday"])
    response = search(alice, "kids making sandcastels at the seaside", min_score=0.01)
    assert [r.photo.pk for r in response.results][:1] == [beach.pk]
    assert response.results[0].explanation.meta_fields == ["similar spelling (sandcastels → sandcastles)"]
    meta = metadata_query(query="holiday on the beach", family_ids=[beach.family_id])
    assert meta.corrections == []  # every content word is in the family's vocabulary


def test_spelling_corrections_come_from_the_users_own_families_only(toy_model, alice, add_shape, other_family, mallory):
    add_shape("red", "circle", target_family=other_family, user=mallory, tags=["sunflower"])
    mine = add_shape("blue", "square", tags=["sunflowers"])
    meta = metadata_query(query="sunflowr", family_ids=[mine.family_id])
    assert [c.replacement for c in meta.corrections] == ["sunflowers"]  # not the Joneses' "sunflower"
    assert [r.photo.pk for r in search(alice, "sunflowr", min_score=0.01).results] == [mine.pk]


def test_minimum_score_hides_and_counts(shapes, alice):
    everything = search(alice, "red circle", min_score=0, limit=100)
    strict = search(alice, "red circle", min_score=0.95, limit=100)  # the fused probability (search.calibration)
    assert labels(strict, shapes) == ["red circle"] * 2
    # Hidden (and counted) are the weaker matches: below the minimum, with some evidence. The rest of the
    # nearest neighbours (image match and metadata both ~0) are not matches at all.
    weaker = [r for r in everything.results[2:]
              if max(r.explanation.probability_semantic, r.explanation.probability_metadata) >= NO_EVIDENCE]
    assert 1 <= strict.hidden_count == len(weaker) < len(everything.results) - 2
    revealed = search(alice, "red circle", min_score=0.95, limit=100, show_hidden=True)
    assert [r.photo.pk for r in revealed.results] == [r.photo.pk for r in everything.results[:2] + weaker]
    assert sum(r.below_minimum for r in revealed.results) == strict.hidden_count


def test_date_sort_orders_by_date_taken(shapes, alice):
    for n, photo in enumerate(Photo.objects.order_by("pk")):
        Photo.objects.filter(pk=photo.pk).update(taken_at=datetime(2000 + n, 1, 1, tzinfo=dt_timezone.utc))
    response = search(alice, "circle", sort="date", min_score=0, limit=100)
    dates = [r.photo.taken_at for r in response.results]
    assert dates == sorted(dates, reverse=True) and len(dates) > 2


def test_explain_numbers_recompute_to_the_shown_score(shapes, alice, add_shape):
    add_shape("red", "circle", description="a red circle for the birthday")
    response = search(alice, "red circle", min_score=0, limit=100)
    for result in response.results:
        e = result.explanation
        p = e.probability or 0.0
        assert e.semantic_weight + e.metadata_weight == pytest.approx(1)
        assert e.probability_semantic == p
        assert 1 - math.prod(1 - q for q in e.meta_probabilities.values()) == pytest.approx(e.probability_metadata)
        assert 1 - ((1 - p) ** (2 * e.semantic_weight) * (1 - e.probability_metadata) ** (2 * e.metadata_weight)) \
            == pytest.approx(result.score)
        if e.probability is not None:
            assert 1 / (1 + math.exp(-(e.calibration_scale * e.cosine + e.calibration_bias))) == pytest.approx(p, abs=1e-6)


def test_edits_to_tags_are_searchable_at_once(shapes, alice):
    photo = Photo.objects.get(pk=next(pk for pk, label in shapes.items() if label == "blue square"))
    photo_update(photo=photo, tags=["grandma"], description="visit at the lake")
    response = search(alice, "grandma", min_score=0.05)
    assert response.results[0].photo.pk == photo.pk
