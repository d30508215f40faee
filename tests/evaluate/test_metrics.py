"""Detection metrics agree with scikit-learn and count each class apart."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, average_precision_score, roc_auc_score

from spotfake.evaluate.metrics import detection_metrics


def test_metrics_match_sklearn() -> None:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    scores = np.clip(labels * 0.3 + rng.random(200) * 0.7, 0, 1)
    m = detection_metrics(labels, scores)
    assert m["accuracy"] == pytest.approx(accuracy_score(labels, scores >= 0.5))
    assert m["auc"] == pytest.approx(roc_auc_score(labels, scores))
    assert m["ap"] == pytest.approx(average_precision_score(labels, scores))
    assert m["n_real"] + m["n_fake"] == 200


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
