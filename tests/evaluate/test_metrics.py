"""Detection metrics agree with scikit-learn and hand computations, and count each class apart."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

from spotfake.evaluate.metrics import (
    METRIC_KEYS,
    best_threshold_accuracy,
    calibration_bins,
    detection_metrics,
    expected_calibration_error,
    full_metrics,
)


def _pair_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """AUC by its definition: the share of (fake, real) pairs ranked right, ties counting half."""
    fake, real = scores[labels == 1], scores[labels == 0]
    diff = fake[:, None] - real[None, :]
    return float(((diff > 0).sum() + 0.5 * (diff == 0).sum()) / diff.size)


def _step_ap(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision by its definition: precision at each distinct threshold, weighted by
    the recall it adds (tied scores enter together)."""
    total, ap, previous_recall = labels.sum(), 0.0, 0.0
    for threshold in np.unique(scores)[::-1]:
        flagged = scores >= threshold
        recall = labels[flagged].sum() / total
        ap += (recall - previous_recall) * labels[flagged].mean()
        previous_recall = recall
    return float(ap)


def test_metrics_match_their_definitions() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.round(np.clip(labels * 0.3 + rng.random(200) * 0.7, 0, 1), 2)  # with ties
    m = detection_metrics(labels, scores)
    assert m["accuracy"] == pytest.approx(np.mean((scores >= 0.5) == labels))
    assert m["auc"] == pytest.approx(_pair_auc(labels, scores))
    assert m["ap"] == pytest.approx(_step_ap(labels, scores))
    assert m["n_real"] == (labels == 0).sum() and m["n_fake"] == (labels == 1).sum()


def test_auc_and_ap_on_a_hand_computed_case() -> None:
    # Fakes 0.9, 0.4; reals 0.6, 0.1, 0.4: of 6 pairs, 4 won, 1 tied (0.4 vs 0.4), 1 lost.
    labels = np.array([1, 1, 0, 0, 0])
    scores = np.array([0.9, 0.4, 0.6, 0.1, 0.4])
    m = detection_metrics(labels, scores)
    assert m["auc"] == pytest.approx(4.5 / 6)
    # Thresholds 0.9 (precision 1, recall 1/2), 0.6 (adds nothing), 0.4 (precision 2/4, +1/2).
    assert m["ap"] == pytest.approx(0.5 * 1 + 0.5 * 0.5)
    assert m["ap"] == pytest.approx(average_precision_score(labels, scores))
    assert m["auc"] == pytest.approx(roc_auc_score(labels, scores))


def test_real_and_fake_accuracy_apart() -> None:
    labels = np.array([0, 0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.7, 0.9, 0.8, 0.4])
    m = detection_metrics(labels, scores)
    assert m["real_accuracy"] == 0.5
    assert m["fake_accuracy"] == 0.5
    assert m["accuracy"] == pytest.approx(3 / 6)


def test_one_class_has_no_auc() -> None:
    m = detection_metrics(np.array([1, 1]), np.array([0.9, 0.2]))
    assert m["auc"] is None and m["ap"] is None and m["real_accuracy"] is None
    assert m["fake_accuracy"] == 0.5


def test_ece_on_a_hand_computed_case() -> None:
    # Confidences 0.95 (right), 0.85 (wrong), 0.75 (wrong), 0.95 (right): three bins used.
    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.95, 0.85, 0.25, 0.05])
    expected = (2 / 4) * abs(1 - 0.95) + (1 / 4) * 0.85 + (1 / 4) * 0.75
    assert expected_calibration_error(labels, scores, bins=10) == pytest.approx(expected)
    assert expected_calibration_error(labels, scores) == pytest.approx(expected)
    confidence, accuracy, count = calibration_bins(labels, scores, bins=10)
    assert count.tolist() == [0] * 7 + [1, 1, 2]
    assert confidence[9] == pytest.approx(0.95) and accuracy[9] == 1.0 and accuracy[8] == 0.0
    assert np.isnan(accuracy[0])


def test_ece_is_zero_when_confidence_matches_accuracy() -> None:
    # One bin (0.7, 0.8]: eight images at confidence 0.75, six of them right.
    labels = np.array([1, 1, 1, 0, 0, 0, 0, 1])
    scores = np.array([0.75, 0.75, 0.75, 0.75, 0.25, 0.25, 0.25, 0.25])
    assert expected_calibration_error(labels, scores) == pytest.approx(0.0)
    assert expected_calibration_error(np.array([]), np.array([])) is None


def test_best_threshold_on_a_separable_case() -> None:
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.3, 0.6, 0.9])
    accuracy, threshold = best_threshold_accuracy(labels, scores)
    assert accuracy == 1.0 and threshold == pytest.approx(0.45)
    assert accuracy_score(labels, scores >= threshold) == 1.0


def test_best_threshold_matches_brute_force() -> None:
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 300)
    scores = np.round(np.clip(labels * 0.2 + rng.random(300) * 0.8, 0, 1), 2)  # many ties
    accuracy, threshold = best_threshold_accuracy(labels, scores)
    candidates = [*np.unique(scores), np.inf]
    brute = max(accuracy_score(labels, scores >= t) for t in candidates)
    assert accuracy == pytest.approx(brute)
    assert accuracy_score(labels, scores >= threshold) == pytest.approx(accuracy)


def test_best_threshold_can_call_everything_real() -> None:
    accuracy, threshold = best_threshold_accuracy(np.array([0, 0, 0, 1]), np.array([0.9] * 4))
    assert accuracy == 0.75 and threshold > 0.9


def test_full_metrics_extends_detection_metrics() -> None:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 2, 100)
    scores = np.clip(labels * 0.4 + rng.random(100) * 0.6, 0, 1)
    m = full_metrics(labels, scores, threshold=0.6)
    assert set(METRIC_KEYS) == set(m)
    assert {k: m[k] for k in detection_metrics(labels, scores, 0.6)} == detection_metrics(
        labels, scores, 0.6
    )
    assert m["accuracy"] == pytest.approx(accuracy_score(labels, scores >= 0.6))
    assert m["ap"] == pytest.approx(average_precision_score(labels, scores))
    assert m["auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert m["best_threshold_accuracy"] >= m["accuracy"]
    assert 0.0 <= m["ece"] <= 1.0
    empty = full_metrics(np.array([]), np.array([]))
    assert empty["n"] == 0 and empty["best_threshold"] is None and empty["ece"] is None
