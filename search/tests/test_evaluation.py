from __future__ import annotations

import math

import numpy as np
import pytest

from search.evaluation import ece, log_loss, ndcg_at_k, precision_at_k, ranking_metrics, reliability_bins


def test_precision_counts_the_relevant_among_the_best_scored_judged_results():
    scores, relevant = [0.9, 0.8, 0.7, 0.1], [True, False, True, True]
    assert precision_at_k(scores, relevant, 2) == 0.5
    assert precision_at_k(scores, relevant, 10) == 0.75  # fewer than k judged: over those judged
    assert precision_at_k([], [], 5) == 0.0


def test_ndcg_is_one_for_the_ideal_order_and_less_otherwise():
    assert ndcg_at_k([3, 2, 1], [True, True, False], 10) == 1.0
    worse = ndcg_at_k([1, 2, 3], [True, True, False], 10)
    expected = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert worse == pytest.approx(expected)
    assert ndcg_at_k([1, 2], [False, False], 10) == 0.0


def test_a_calibrated_predictor_has_small_ece_and_a_shifted_one_large():
    rng = np.random.default_rng(0)
    p = rng.uniform(size=20000)
    y = rng.uniform(size=p.size) < p
    assert ece(p, y) < 0.02
    assert ece(np.clip(p + 0.2, 0, 1), y) > 0.15
    bins = reliability_bins(p, y)
    assert len(bins) == 10 and sum(b.count for b in bins) == p.size
    assert all(abs(b.predicted - b.observed) < 0.05 for b in bins)
    assert log_loss(p, y) < log_loss(np.clip(p + 0.2, 0, 1), y)


def test_ranking_metrics_average_over_queries():
    r = ranking_metrics(["a", "a", "b", "b"], [0.9, 0.1, 0.2, 0.8], [True, False, True, False])
    assert r.queries == 2
    assert r.precision_at_5 == 0.5
    assert r.ndcg_at_10 == pytest.approx((1 + 1 / math.log2(3)) / 2)


def test_tied_scores_count_as_any_order_of_the_tie_not_the_order_of_the_photo_ids():
    """Judged results with the same score (a tag match alone, a probability saturated at 1.0) were ranked in the
    order given, by photo id: the same verdicts read nDCG 1 or 0.63 by which photo was uploaded first, and a model
    that scores right and wrong alike could read as perfect. A tie now counts at the mean over its orders."""
    right_first = ndcg_at_k([0.78, 0.78], [True, False], 10)
    wrong_first = ndcg_at_k([0.78, 0.78], [False, True], 10)
    assert right_first == pytest.approx(wrong_first) == pytest.approx((0.5 + 0.5 / math.log2(3)) / 1)
    assert precision_at_k([1.0, 1.0, 0.2], [False, True, True], 1) == 0.5
    assert precision_at_k([1.0, 1.0, 0.2], [True, False, True], 1) == 0.5
    # Distinct scores rank as before.
    assert ndcg_at_k([0.9, 0.8], [True, False], 10) == 1.0
    assert precision_at_k([0.9, 0.8, 0.7], [True, False, True], 2) == 0.5
