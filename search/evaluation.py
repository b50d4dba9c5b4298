"""Retrieval and calibration metrics, as plain functions over arrays: what the quality page, the fit and model
comparisons measure judged searches with.

Judgments are incomplete: only some results of a query were marked right or wrong. The ranking metrics here
rank the judged results of one query by score and ignore the unjudged ones (a "condensed list"), which keeps
them comparable between settings that rank unjudged photos differently.

  precision_at_k  = (relevant among the k best-scored judged results) / k   (fewer than k judged: / judged)
  ndcg_at_k       = DCG@k / ideal DCG@k, DCG = Σ rel_i / log2(i + 1) over ranks i = 1..k
  ece             = Σ_bins (n_bin / n) · |mean predicted − observed rate|   over equal-width probability bins
  log_loss        = −mean(y·log p + (1 − y)·log(1 − p))
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import numpy as np

BINS = 10
EPS = 1e-6


def _ranked(scores: Sequence[float], relevant: Sequence[bool]) -> np.ndarray:
    """The relevance labels in order of decreasing score. Results with equal scores (a tag match alone, a probability
    saturated at 1.0) have no order: each of their places gets their mean relevance, the mean over every order the
    tie allows (McSherry & Najork, "Computing information retrieval performance measures efficiently in the
    presence of tied scores", 2008), not whichever photo came first."""
    scores, relevant = np.asarray(scores, dtype=float), np.asarray(relevant, dtype=float)
    order = np.argsort(-scores, kind="stable")
    ranked, descending = relevant[order], -scores[order]
    _, starts, counts = np.unique(descending, return_index=True, return_counts=True)
    for start, count in zip(starts, counts):
        if count > 1:
            ranked[start:start + count] = ranked[start:start + count].mean()
    return ranked


def precision_at_k(scores: Sequence[float], relevant: Sequence[bool], k: int) -> float:
    """Share of relevant results among the k best-scored judged results of one query (0 with none judged)."""
    ranked = _ranked(scores, relevant)[:k]
    return float(ranked.mean()) if len(ranked) else 0.0


def ndcg_at_k(scores: Sequence[float], relevant: Sequence[bool], k: int) -> float:
    """Normalised discounted cumulative gain of one query's judged results (binary relevance). A query with no
    relevant result has no ideal ranking: it counts as 0."""
    ranked = _ranked(scores, relevant)[:k]
    ideal = np.sort(np.asarray(relevant, dtype=float))[::-1][:k]
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal_dcg = float((ideal * discounts[: len(ideal)]).sum())
    if ideal_dcg == 0:
        return 0.0
    return float((ranked * discounts[: len(ranked)]).sum()) / ideal_dcg


def log_loss(probabilities: Sequence[float], relevant: Sequence[bool]) -> float:
    p = np.clip(np.asarray(probabilities, dtype=float), EPS, 1 - EPS)
    y = np.asarray(relevant, dtype=float)
    if not len(p):
        return 0.0
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int
    predicted: float  # mean predicted probability of the bin's judgments
    observed: float  # share of them that were right


def reliability_bins(probabilities: Sequence[float], relevant: Sequence[bool], bins: int = BINS) -> list[Bin]:
    """Predicted probability against observed relevance, in `bins` equal-width bins of the prediction (empty
    bins left out): the points of a reliability diagram."""
    p = np.clip(np.asarray(probabilities, dtype=float), 0.0, 1.0)
    y = np.asarray(relevant, dtype=float)
    which = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            out.append(Bin(b / bins, (b + 1) / bins, int(mask.sum()), float(p[mask].mean()), float(y[mask].mean())))
    return out


def ece(probabilities: Sequence[float], relevant: Sequence[bool], bins: int = BINS) -> float:
    """Expected calibration error: the count-weighted mean gap between predicted and observed in each bin."""
    points = reliability_bins(probabilities, relevant, bins)
    total = sum(b.count for b in points)
    if not total:
        return 0.0
    return float(sum(b.count * abs(b.predicted - b.observed) for b in points) / total)


@dataclass(frozen=True)
class Ranking:
    """Mean ranking metrics over queries."""

    queries: int
    precision_at_5: float
    precision_at_10: float
    ndcg_at_10: float


def ranking_metrics(queries: Sequence[Hashable], scores: Sequence[float], relevant: Sequence[bool]) -> Ranking:
    """P@5, P@10 and nDCG@10 averaged over queries, from one row per judgment (its query, score, verdict)."""
    grouped: dict[Hashable, list[tuple[float, bool]]] = defaultdict(list)
    for query, score, rel in zip(queries, scores, relevant):
        grouped[query].append((float(score), bool(rel)))
    if not grouped:
        return Ranking(0, 0.0, 0.0, 0.0)
    p5, p10, n10 = [], [], []
    for rows in grouped.values():
        s, r = [x for x, _ in rows], [y for _, y in rows]
        p5.append(precision_at_k(s, r, 5))
        p10.append(precision_at_k(s, r, 10))
        n10.append(ndcg_at_k(s, r, 10))
    return Ranking(len(grouped), float(np.mean(p5)), float(np.mean(p10)), float(np.mean(n10)))
