"""A decision threshold chosen on held-out reals, so that no kind of real is flagged too often.

A single false-positive rate over all reals hides the kind users feel: a model may flag 1% of
camera photos and 30% of paintings. ``calibrate_threshold`` takes the scores of each real
source apart (photos, paintings, cartoons, faces, hard reals...) and returns the smallest
threshold at which every one of them is flagged at most ``max_flag_rate`` of the time.
A score is flagged exactly as the verdict does it (``spotfake.prediction.label_for``):
generated when ``score >= threshold``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from spotfake.evaluate.metrics import expected_calibration_error

__all__ = [
    "Calibration",
    "SourceRates",
    "calibrate",
    "calibrate_threshold",
    "describe",
    "expected_calibration_error",
    "flag_rates",
    "real_scores_by_source",
]


def _flagged(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Which scores the verdict calls generated at threshold (label_for: score >= threshold)."""
    return scores >= threshold


def _check_rate(max_flag_rate: float) -> None:
    if not 0.0 <= max_flag_rate <= 1.0:  # also refuses NaN
        raise ValueError(f"max_flag_rate must lie in [0, 1], got {max_flag_rate!r}")


def _allowed(n: int, max_flag_rate: float) -> int:
    """The most of n images that may be flagged: the largest k with k / n <= max_flag_rate.

    Counted with the same division flag_rates uses, so that floating-point rounding of
    rate * n (0.29 * 100 = 28.999...) never makes the two disagree.
    """
    k = min(n, math.floor(max_flag_rate * n))
    while k < n and (k + 1) / n <= max_flag_rate:
        k += 1
    while k > 0 and k / n > max_flag_rate:
        k -= 1
    return k


def calibrate_threshold(
    real_scores: Mapping[str, np.ndarray], max_flag_rate: float = 0.05
) -> float:
    """The smallest threshold at which each real source is flagged at most max_flag_rate.

    For a source of n scores that may have k flagged, any threshold above its (k+1)-th highest
    score will do, so the smallest one is the next float above it: scores tied with that value
    are all left unflagged. The answer is the largest of the sources' own thresholds (0.0 when
    none constrains it: scores lie in [0, 1]). It exceeds 1.0 only when a real scored exactly
    1.0 and may not be flagged. Sources without scores are ignored; ValueError when no source
    has any, when a score is not finite or max_flag_rate is outside [0, 1].
    """
    _check_rate(max_flag_rate)
    threshold, seen = 0.0, False
    for name, values in real_scores.items():
        scores = np.asarray(values, dtype=np.float64).reshape(-1)
        if not scores.size:
            continue
        if not np.isfinite(scores).all():
            raise ValueError(f"real source {name!r}: scores must be finite")
        seen = True
        k = _allowed(scores.size, max_flag_rate)
        if k < scores.size:
            highest_kept = float(np.sort(scores)[::-1][k])  # the (k+1)-th highest must stay real
            threshold = max(threshold, float(np.nextafter(highest_kept, np.inf)))
    if not seen:
        raise ValueError("calibrate_threshold needs the scores of at least one real image")
    return threshold


def flag_rates(real_scores: Mapping[str, np.ndarray], threshold: float) -> dict[str, float]:
    """Per real source, the share of its scores flagged at threshold (sources without scores
    are left out)."""
    rates = {}
    for name, values in real_scores.items():
        scores = np.asarray(values, dtype=np.float64).reshape(-1)
        if scores.size:
            rates[name] = float(_flagged(scores, threshold).mean())
    return rates


def real_scores_by_source(
    labels: Sequence[int] | np.ndarray, scores: np.ndarray, sources: Sequence[str]
) -> dict[str, np.ndarray]:
    """The scores of the reals (label 0), grouped by source name, sources in sorted order."""
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    names = np.asarray(sources, dtype=object)
    real = labels == 0
    return {str(name): scores[real & (names == name)] for name in sorted(set(names[real].tolist()))}


@dataclass
class SourceRates:
    """One real source's validation images: how many, and the share flagged."""

    n: int
    flag_rate: float  # at the calibrated threshold
    flag_rate_at_half: float  # at 0.5, the threshold of an uncalibrated model


@dataclass
class Calibration:
    """A calibrated threshold and the evidence for it, as calibration.json records it."""

    threshold: float
    max_flag_rate: float
    sources: dict[str, SourceRates]  # real source -> its validation reals
    ece: float | None  # expected calibration error over every validation image
    fake_recall: float | None  # share of validation fakes flagged at threshold (None: no fakes)
    n_real: int
    n_fake: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values."""
        return asdict(self)


def calibrate(
    labels: Sequence[int] | np.ndarray,
    scores: np.ndarray,
    sources: Sequence[str],
    max_flag_rate: float = 0.05,
) -> Calibration:
    """Choose the threshold on the reals of each source, and measure it on the whole set.

    labels, scores and sources describe the same validation images (1 generated, 0 real).
    """
    labels = np.asarray(labels).astype(int)
    scores = np.asarray(scores, dtype=np.float64)
    reals = real_scores_by_source(labels, scores, sources)
    threshold = calibrate_threshold(reals, max_flag_rate)
    at_threshold, at_half = flag_rates(reals, threshold), flag_rates(reals, 0.5)
    fakes = scores[labels == 1]
    return Calibration(
        threshold=threshold,
        max_flag_rate=max_flag_rate,
        sources={
            name: SourceRates(int(values.size), at_threshold[name], at_half[name])
            for name, values in reals.items()
        },
        ece=expected_calibration_error(labels, scores),
        fake_recall=float(_flagged(fakes, threshold).mean()) if fakes.size else None,
        n_real=int((labels == 0).sum()),
        n_fake=int(fakes.size),
    )


def describe(calibration: Calibration) -> list[str]:
    """Log lines: the threshold, then each real source's flag rate (and at 0.5)."""
    c = calibration
    recall = "n/a" if c.fake_recall is None else f"{c.fake_recall:.1%}"
    ece = "n/a" if c.ece is None else f"{c.ece:.4f}"
    lines = [
        f"calibrated threshold {c.threshold:.6g}: at most {c.max_flag_rate:.1%} of each real "
        f"source's validation images flagged ({c.n_real} reals, {c.n_fake} fakes); "
        f"fake recall {recall}, ECE {ece}"
    ]
    for name, rates in c.sources.items():
        lines.append(
            f"  {name}: {rates.n} reals, {rates.flag_rate:.1%} flagged "
            f"({rates.flag_rate_at_half:.1%} at 0.5)"
        )
    return lines
