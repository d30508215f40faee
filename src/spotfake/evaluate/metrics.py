"""Binary detection metrics: accuracy split by class, AP, AUC, oracle threshold, calibration."""

from __future__ import annotations

from collections.abc import Sequence
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


def group_metrics(
    labels: Sequence[int], groups: Sequence[str], scores: np.ndarray, threshold: float = 0.5
) -> dict[str, Any]:
    """detection_metrics overall and per group (a source, a generator), each group against every
    image of the other class; ``accuracy_own`` is the group's accuracy on its own images."""
    label_array, group_array = np.asarray(labels), np.asarray(groups)
    scores = np.asarray(scores, dtype=np.float64)
    out: dict[str, Any] = {"overall": detection_metrics(label_array, scores, threshold)}
    for name in sorted(set(group_array.tolist())):
        mine = group_array == name
        keep = mine | (label_array != label_array[mine][0])
        out[name] = detection_metrics(label_array[keep], scores[keep], threshold)
        own = detection_metrics(label_array[mine], scores[mine], threshold)
        out[name]["accuracy_own"] = own["accuracy"]
    return out


def expected_calibration_error(
    labels: np.ndarray, scores: np.ndarray, bins: int = 15
) -> float | None:
    """Expected calibration error (Guo et al. 2017) of the predicted class's confidence.

    Each image is called generated when its score is at least 0.5, with confidence
    max(score, 1 - score); confidences fall into ``bins`` equal-width bins over [0, 1] (right
    edges included, so only the upper half is ever used), and ECE is the mean over bins of
    |accuracy - mean confidence| weighted by the share of images in the bin. None when empty.
    """
    if not np.asarray(labels).size:
        return None
    confidence, accuracy, count = calibration_bins(labels, scores, bins)
    used = count > 0
    gap = np.abs(accuracy[used] - confidence[used]) * count[used]
    return float(gap.sum() / count.sum())


def calibration_bins(
    labels: np.ndarray, scores: np.ndarray, bins: int = 15
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per confidence bin (as in expected_calibration_error): mean confidence, accuracy, count.

    Empty bins hold NaN; this is the reliability diagram's data.
    """
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    predicted = scores >= 0.5
    confidence = np.where(predicted, scores, 1.0 - scores)
    correct = (predicted == labels.astype(bool)).astype(np.float64)
    index = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(index, weights=confidence, minlength=bins) / count
        accuracy = np.bincount(index, weights=correct, minlength=bins) / count
    return mean_confidence, accuracy, count


def best_threshold_accuracy(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The best accuracy any threshold reaches, and that threshold (an oracle: tuned on the data).

    Thresholds are tried between consecutive distinct scores (midpoints), below the lowest
    (all generated) and just above the highest (all real); ties keep the lowest threshold.
    Raises ValueError on empty input.
    """
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    if not labels.size:
        raise ValueError("best_threshold_accuracy needs at least one score")
    values, inverse = np.unique(scores, return_inverse=True)
    reals = np.bincount(inverse, weights=labels == 0, minlength=values.size)
    fakes = np.bincount(inverse, weights=labels == 1, minlength=values.size)
    # Candidate k calls generated every score >= values[k]; k = len(values) calls all real.
    reals_below = np.concatenate([[0.0], np.cumsum(reals)])
    fakes_below = np.concatenate([[0.0], np.cumsum(fakes)])
    correct = reals_below + (fakes.sum() - fakes_below)
    best = int(np.argmax(correct))
    if best == 0:
        threshold = float(values[0])
    elif best == values.size:
        threshold = float(np.nextafter(values[-1], np.inf))
    else:
        threshold = float((values[best - 1] + values[best]) / 2)
    return float(correct[best] / labels.size), threshold


def full_metrics(
    labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5, bins: int = 15
) -> dict[str, Any]:
    """detection_metrics plus the oracle best-threshold accuracy, its threshold and the ECE."""
    metrics = detection_metrics(labels, scores, threshold)
    best: tuple[float | None, float | None] = (None, None)
    if metrics["n"]:
        best = best_threshold_accuracy(labels, scores)
    metrics["best_threshold_accuracy"], metrics["best_threshold"] = best
    metrics["ece"] = expected_calibration_error(labels, scores, bins)
    return metrics


METRIC_KEYS: tuple[str, ...] = (
    "n", "n_real", "n_fake", "accuracy", "real_accuracy", "fake_accuracy", "ap", "auc",
    "best_threshold_accuracy", "best_threshold", "ece",
)  # fmt: skip
