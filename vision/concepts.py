"""Concept scoring for tag suggestions: which concepts a SigLIP model thinks are in each image, from embeddings
already computed (no forward pass).

SigLIP's calibrated match probability is ``p = sigmoid(a · cos + b)`` with ``a = exp(logit_scale)`` and
``b = logit_bias`` of the checkpoint: above 0.5 the model thinks the concept is there. One matrix product scores a
whole batch of images against a whole vocabulary."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def concept_probabilities(images: np.ndarray, concepts: np.ndarray, *, scale: float, bias: float) -> np.ndarray:
    """(n_images, n_concepts) calibrated probabilities; both inputs are rows of unit length of the same model."""
    logits = scale * (np.asarray(images, dtype=np.float32) @ np.asarray(concepts, dtype=np.float32).T) + bias
    return 0.5 * (1.0 + np.tanh(0.5 * logits.astype(np.float64)))  # = sigmoid, without overflow warnings


@dataclass(frozen=True)
class Suggestion:
    concept: int  # index into the concepts scored
    probability: float


def concepts_above(probabilities: np.ndarray, *, allowed: np.ndarray | None = None, threshold: float,
                   limit: int) -> list[list[Suggestion]]:
    """For each image (row), the concepts at or above `threshold`, most probable first, at most `limit`.

    `allowed`: an optional boolean mask of the same shape; a False entry is never suggested (a concept outside the
    image's family vocabulary, or a tag the image already carries)."""
    scores = probabilities if allowed is None else np.where(allowed, probabilities, -1.0)
    out = []
    for row in scores:
        hits = np.flatnonzero(row >= threshold)
        best = hits[np.argsort(-row[hits], kind="stable")][:limit]
        out.append([Suggestion(int(index), float(row[index])) for index in best])
    return out


def likeliest_of_each_group(probabilities: np.ndarray, groups: np.ndarray, *,
                            allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Columns of one group (concepts suggesting one tag name) folded into one column of the group, for each image
    the likeliest of them: a name is suggested once, with the probability of its likeliest concept, and takes one
    place of a limit. `groups[j]`: the group of column j, 0 .. n_groups - 1.

    Returns (scores, winners), both (n_images, n_groups): the likeliest allowed probability of each group, -1.0 where
    no column of it is allowed, and the column it came from."""
    scores = probabilities if allowed is None else np.where(allowed, probabilities, -1.0)
    groups = np.asarray(groups)
    n_groups = int(groups.max()) + 1 if groups.size else 0
    folded = np.full((scores.shape[0], n_groups), -1.0)
    winners = np.zeros((scores.shape[0], n_groups), dtype=np.intp)
    rows = np.arange(scores.shape[0])
    for group in range(n_groups):
        columns = np.flatnonzero(groups == group)
        best = scores[:, columns].argmax(axis=1)
        winners[:, group] = columns[best]
        folded[:, group] = scores[rows, columns[best]]
    return folded, winners
