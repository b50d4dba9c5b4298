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
