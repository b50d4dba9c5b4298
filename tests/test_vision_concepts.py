"""vision.concepts on its own: calibrated probabilities and the pick of concepts per image."""

import numpy as np

from vision.concepts import concept_probabilities, concepts_above


def test_probabilities_are_the_models_calibrated_sigmoid():
    images = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    concepts = np.array([[1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    p = concept_probabilities(images, concepts, scale=10.0, bias=-5.0)
    expected = 1 / (1 + np.exp(-(10.0 * images @ concepts.T - 5.0)))
    np.testing.assert_allclose(p, expected, rtol=1e-6)
    assert concept_probabilities(images, concepts, scale=1e4, bias=-1e4).min() >= 0  # no overflow


def test_concepts_above_keeps_the_allowed_ones_at_or_over_the_threshold_best_first():
    p = np.array([[0.5, 0.9, 0.7, 0.2], [0.99, 0.1, 0.6, 0.8]])
    allowed = np.array([[True, True, True, True], [False, True, True, True]])
    picked = concepts_above(p, allowed=allowed, threshold=0.5, limit=2)
    assert [(s.concept, s.probability) for s in picked[0]] == [(1, 0.9), (2, 0.7)]
    assert [s.concept for s in picked[1]] == [3, 2]  # 0 is not allowed for this image
