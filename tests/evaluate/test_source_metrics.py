"""Per-source metrics count accuracies at the threshold they are given (a calibrated one)."""

from __future__ import annotations

import numpy as np

from spotfake.data.sources import Example
from spotfake.evaluate.sources import per_source_metrics


def _example(label: int, source: str) -> Example:
    return Example(np.zeros((4, 4, 3), np.uint8), label, source, None)


def test_per_source_accuracies_follow_the_threshold() -> None:
    examples = [_example(0, "photos")] * 2 + [_example(1, "gen-a")] * 2 + [_example(1, "gen-b")] * 2
    scores = np.array([0.1, 0.6, 0.7, 0.95, 0.55, 0.99])
    at_half = per_source_metrics(examples, scores)
    calibrated = per_source_metrics(examples, scores, threshold=0.9)
    assert at_half["photos"]["accuracy_own"] == 0.5 and calibrated["photos"]["accuracy_own"] == 1.0
    assert at_half["gen-a"]["accuracy_own"] == 1.0 and calibrated["gen-a"]["accuracy_own"] == 0.5
    assert calibrated["overall"]["fake_accuracy"] == 0.5
    assert at_half["overall"]["auc"] == calibrated["overall"]["auc"]  # ranking is unchanged
