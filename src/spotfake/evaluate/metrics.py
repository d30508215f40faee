"""Binary detection metrics: accuracy split by class, AP and AUC (1 = generated)."""

from __future__ import annotations

from typing import Any

import numpy as np


def detection_metrics(
    labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5
) -> dict[str, Any]:
    """Accuracy, real and fake accuracy at threshold, AP and AUC (None when one class is absent)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    predicted = scores >= threshold
    real, fake = labels == 0, labels == 1
    both = bool(real.any() and fake.any())
    return {
        "n": int(labels.size),
        "n_real": int(real.sum()),
        "n_fake": int(fake.sum()),
        "accuracy": float((predicted == labels.astype(bool)).mean()) if labels.size else None,
        "real_accuracy": float((~predicted[real]).mean()) if real.any() else None,
        "fake_accuracy": float(predicted[fake].mean()) if fake.any() else None,
        "ap": float(average_precision_score(labels, scores)) if both else None,
        "auc": float(roc_auc_score(labels, scores)) if both else None,
    }
