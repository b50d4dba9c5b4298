"""Point 1 of "relevance you can measure": the whole score is a probability, with sensible defaults before any
fitting (search.calibration)."""

from __future__ import annotations

import pytest

from search.calibration import DEFAULT, MetaCalibration, fuse
from search.metadata import MetaMatch
from search.tests.test_search import labels, search, shapes  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def test_the_fusion_reaches_the_issues_figures():
    assert float(fuse(0.0, 0.95, 0.6, 0.4)) == pytest.approx(0.91, abs=0.005)  # a sure tag alone
    assert float(fuse(0.01, 0.0, 0.6, 0.4)) <= 0.015  # neither
    assert float(fuse(0.3, 0.0, 0.5, 0.5)) == pytest.approx(0.3)  # equal weights: the plain noisy-OR
    assert float(fuse(0.3, 0.6, 0.5, 0.5)) == pytest.approx(1 - 0.7 * 0.4)
    assert float(fuse(0.3, 0.6, 6, 4)) == pytest.approx(float(fuse(0.3, 0.6, 0.6, 0.4)))  # weights normalised


def test_default_metadata_probabilities_follow_the_kind_and_share_of_the_query():
    meta = DEFAULT.meta
    tag = meta.probability(MetaMatch(ranks={"tags": 1.0}), query_words=1)
    assert tag >= 0.9
    assert meta.probability(MetaMatch(ranks={"filename": 1.0}), 1) < meta.probability(MetaMatch(ranks={"place": 1.0}), 1) < tag
    assert meta.probability(MetaMatch(ranks={"tags": 1.0}), query_words=2) < tag  # one word of two
    assert meta.probability(MetaMatch(ranks={"tags": 1.0, "title": 1.0}), 1) > tag  # more evidence, never less
    weak, strong = (meta.probability(MetaMatch(typo=s), 1) for s in (0.5, 0.9))
    assert weak < strong < meta.probability(MetaMatch(ranks={"description": 1.0}), 1)
    assert meta.probability(MetaMatch(), 1) == 0.0
    assert MetaCalibration.from_dict(meta.as_dict()) == meta


def test_a_photo_tagged_with_the_query_word_and_nothing_else_reads_at_least_0_8(shapes, alice, add_shape):
    party = add_shape("green", "square", tags=["birthday"])
    response = search(alice, "birthday", min_score=0, show_hidden=True, limit=100)
    top = response.results[0]
    assert top.photo.pk == party.pk and top.explanation.semantic_weight == pytest.approx(0.6)
    assert top.explanation.probability_semantic < 0.05  # the toy model sees no birthday in a green square
    assert top.score >= 0.8
    assert top.explanation.probability_metadata == pytest.approx(top.explanation.meta_probabilities["tags"])


@pytest.mark.parametrize("tag, query", [("hot dog", '"hot dog"'), ("well-known", "well-known"),
                                        ("o'brien", "o'brien"), ("sun glasses", '"sun glasses"')])
def test_a_tag_typed_as_a_phrase_or_with_a_hyphen_is_the_whole_query(shapes, alice, add_shape, tag, query):
    """A phrase matches as one: "hot dog" in quotes, a hyphenated word ('well-known' <-> 'well' <-> 'known') or one
    with an apostrophe. The query's words were counted as the tsquery's lexemes, so the exact tag matched a third of
    "well-known" and half of "hot dog": p 0.36 and 0.43 where the same tag typed without quotes read 0.95, and quoting
    a phrase to be precise ranked its exact match lower."""
    photo = add_shape("green", "square", tags=[tag])
    top = next(r for r in search(alice, query, min_score=0, show_hidden=True, limit=100).results if r.photo.pk == photo.pk)
    whole = DEFAULT.meta.probability(MetaMatch(ranks={"tags": 1.0}), query_words=1)  # 0.95: a tag naming the query
    assert top.explanation.meta_probabilities["tags"] == pytest.approx(whole), query
    assert top.score >= 0.8


def test_a_word_of_the_query_named_twice_counts_once_against_a_photo_that_names_every_word(shapes, alice, add_shape):
    """A family shares its last name. "Maria Parker" found the photo of Tom Parker and Lucy Parker as surely as
    Maria's own (both 0.78): a field's rank counted each occurrence of a query word, so "parker" twice weighed as
    much as "maria" and "parker" once each. A word counts once in a field, however often it is there."""
    maria = add_shape("green", "square", tags=["Maria Parker"])
    others = add_shape("green", "square", tags=["Tom Parker", "Lucy Parker"])
    results = {r.photo.pk: r for r in search(alice, "Maria Parker", min_score=0, show_hidden=True, limit=100).results}
    half = DEFAULT.meta.probability(MetaMatch(ranks={"tags": 1.0}), query_words=2)  # one word of two
    assert results[others.pk].explanation.meta_probabilities["tags"] == pytest.approx(half)
    assert results[maria.pk].score > results[others.pk].score


def test_a_photo_with_neither_an_image_match_nor_metadata_reads_at_most_0_05(shapes, alice):
    response = search(alice, "red circle", min_score=0, show_hidden=True, limit=100)
    for result, label in zip(response.results, labels(response, shapes)):
        e = result.explanation
        if e.probability_metadata == 0 and e.probability_semantic < 0.04:
            assert result.score <= 0.05, label
    squares = [r for r, label in zip(response.results, labels(response, shapes)) if label.endswith("square")
               and not label.startswith("red")]
    assert squares and all(r.score <= 0.05 for r in squares)


def test_raising_the_metadata_weight_raises_tag_only_matches_against_image_only_ones(shapes, alice, add_shape):
    party = add_shape("green", "square", tags=["yellow triangle"])  # a tag, and nothing yellow or triangular in it

    def ratio(semantic: float, metadata: float) -> float:
        response = search(alice, "yellow triangle", min_score=0, show_hidden=True, limit=100,
                          semantic_weight=semantic, metadata_weight=metadata)
        scores = {r.photo.pk: r for r in response.results}
        # The best photo that only the image search found (the model suggests tags, so some yellow shapes match
        # "yellow" in their metadata too).
        image_only = max((r for r in scores.values() if r.explanation.probability_metadata == 0),
                         key=lambda r: r.score)
        assert image_only.explanation.probability_semantic > 0.2
        return scores[party.pk].score / image_only.score

    ratios = [ratio(1 - m, m) for m in (0.2, 0.4, 0.6, 0.8)]
    assert ratios == sorted(ratios) and ratios[0] < ratios[-1]


def test_each_family_is_scored_with_its_own_calibration(toy_model, alice, add_shape, other_family,
                                                       django_capture_on_commit_callbacks):
    from gallery.models import Membership
    from search.embedder import get_embedder
    from search.models import SearchCalibration
    from tests.factories import MembershipFactory
    from tests.queue import run_queued_tasks

    MembershipFactory(family=other_family, user=alice, role=Membership.Role.MEMBER)
    with django_capture_on_commit_callbacks(execute=True):
        mine = add_shape("red", "circle", tags=["ball"])
        theirs = add_shape("red", "circle", target_family=other_family, tags=["ball"])
    run_queued_tasks()
    a, b = get_embedder().calibration
    SearchCalibration.objects.create(
        family=other_family, model_name=toy_model, semantic_scale=a, semantic_bias=b - 6,
        metadata={"intercepts": {"tags": -1.0}}, applied=True)
    results = {r.photo.pk: r.explanation for r in search(alice, "red circle ball", min_score=0).results}
    assert not results[mine.pk].calibration_fitted and results[mine.pk].calibration_bias == pytest.approx(b)
    fitted = results[theirs.pk]
    assert fitted.calibration_fitted and fitted.calibration_bias == pytest.approx(b - 6)
    assert fitted.probability_semantic < results[mine.pk].probability_semantic
    assert fitted.meta_probabilities["tags"] < results[mine.pk].meta_probabilities["tags"]
    # A fit that was not applied changes nothing.
    SearchCalibration.objects.update(applied=False)
    again = {r.photo.pk: r.explanation for r in search(alice, "red circle ball", min_score=0).results}
    assert again[theirs.pk].probability_semantic == pytest.approx(results[mine.pk].probability_semantic, abs=0.05)
