"""vision.concepts on its own: calibrated probabilities and the pick of concepts per image."""

import numpy as np

from vision.concepts import concept_probabilities, concepts_above, likeliest_of_each_group


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


def test_concepts_of_one_group_fold_into_their_likeliest_allowed_one():
    """Columns 0 and 2 suggest one name (group 0), 1 another, 3 a third: each image gets each name once, with the
    probability of its likeliest concept the image's family may use, and the column it came from."""
    p = np.array([[0.6, 0.2, 0.9, 0.7], [0.6, 0.2, 0.9, 0.7]])
    allowed = np.array([[True, True, True, False], [True, True, False, False]])
    folded, winners = likeliest_of_each_group(p, np.array([0, 1, 0, 2]), allowed=allowed)
    np.testing.assert_allclose(folded, [[0.9, 0.2, -1.0], [0.6, 0.2, -1.0]])
    assert winners[:, :2].tolist() == [[2, 1], [0, 1]]
    picked = concepts_above(folded, allowed=folded >= 0, threshold=0.5, limit=1)
    assert [[(s.concept, s.probability) for s in row] for row in picked] == [[(0, 0.9)], [(0, 0.6)]]
