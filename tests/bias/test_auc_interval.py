"""95% intervals of the shortcut AUCs and the confidence of verdicts (bootstrap of out-of-fold
scores, widened for small classes)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from spotfake.bias.audit import audit, interval_text, is_confident, verdict, verdict_text
from spotfake.bias.shortcut import auc_interval, shortcut_auc
from spotfake.records import ImageRecord


def _scores(per_class: int, shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores: reals N(0, 1), fakes N(shift, 1), per_class of each."""
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], per_class)
    return labels, rng.normal(0.0, 1.0, 2 * per_class) + shift * labels


def test_interval_narrows_as_the_sample_grows() -> None:
    """The same effect size (AUC about 0.76) on 40 and on 2000 images."""
    small = auc_interval(*_scores(20, 1.0, 0))
    large = auc_interval(*_scores(1000, 1.0, 0))
    assert large[1] - large[0] < (small[1] - small[0]) / 3
    assert 0.70 < large[0] < large[1] < 0.82


@pytest.mark.parametrize("per_class", [5, 30, 400])
def test_interval_holds_the_point_auc_and_is_seeded(per_class: int) -> None:
    labels, scores = _scores(per_class, 0.8, per_class)
    low, high = auc_interval(labels, scores, seed=3)
    assert low <= roc_auc_score(labels, scores) <= high
    assert auc_interval(labels, scores, seed=3) == (low, high)
    assert auc_interval(labels, scores, seed=4) != (low, high)


def test_tied_scores_agree_with_sklearn() -> None:
    """Tree scores tie a lot: a tie counts one half, as roc_auc_score counts it."""
    labels, scores = _scores(300, 1.0, 1)
    coarse = np.round(scores)
    low, high = auc_interval(labels, coarse)
    assert low < roc_auc_score(labels, coarse) < high < 1.0


def test_perfect_separation_does_not_collapse() -> None:
    """Every resample of separated classes is separated: the small-class widening says n=20."""
    labels = np.repeat([0, 1], 10)
    low, high = auc_interval(labels, labels.astype(float))
    assert high == 1.0 and 0.65 < low < 0.75
    big = np.repeat([0, 1], 1000)
    assert auc_interval(big, big.astype(float))[0] > 0.99


def test_twenty_image_strong_shortcut_is_not_confident() -> None:
    labels = np.repeat([0, 1], 10)
    scores = labels + np.linspace(0, 0.5, 20)  # separated: AUC 1
    low, high = auc_interval(labels, scores)
    word = verdict(roc_auc_score(labels, scores))
    assert word == "strong" and not is_confident(word, low, high)
    assert verdict_text(word, low, high, False, 20) == (
        f"strong (uncertain: 95% CI {low:.2f}-1.00, n=20)"
    )


def test_confidence_bands() -> None:
    assert is_confident("strong", 0.75, 1.0) and not is_confident("strong", 0.74, 1.0)
    assert is_confident("weak", 0.6, 0.749) and not is_confident("weak", 0.62, 0.76)
    assert is_confident("none", 0.4, 0.59) and not is_confident("none", 0.45, 0.61)
    assert not is_confident("n/a", 0.4, 0.5) and not is_confident("none", np.nan, np.nan)
    assert interval_text(0.91, 0.95, True, 500) == "95% CI 0.91-0.95"


def test_cross_validated_interval_narrows_with_n() -> None:
    """Through the classifier: one noisy feature, 40 rows against 2000."""
    widths = []
    for per_class in (20, 1000):
        labels, scores = _scores(per_class, 1.5, 2)
        result = shortcut_auc(scores[:, None], labels)
        assert result.ci_low <= result.auc <= result.ci_high
        widths.append(result.ci_high - result.ci_low)
    assert widths[1] < widths[0] / 3
    assert np.isnan(shortcut_auc(scores[:, None], labels, resamples=0).ci_low)


def _record(rng: np.random.Generator, label: int, generator: str) -> ImageRecord:
    """Reals: JPEG q96 of many sizes; fakes: PNG 512x512 (the GenImage pattern)."""
    if label == 0:
        width, height = int(rng.integers(300, 700)), int(rng.integers(250, 600))
        return ImageRecord(
            path=f"r{rng.integers(1e9)}.jpg", label=0, generator=generator, format="JPEG",
            mode="RGB", width=width, height=height, file_bytes=width * height // 2,
            jpeg_quality=96, chroma_subsampling="4:2:0",
        )  # fmt: skip
    return ImageRecord(
        path=f"f{rng.integers(1e9)}.png", label=1, generator=generator, format="PNG", mode="RGB",
        width=512, height=512, file_bytes=int(512 * 512 * rng.uniform(1.2, 2.0)),
    )  # fmt: skip


def test_large_clear_shortcut_is_confident_and_in_the_json() -> None:
    rng = np.random.default_rng(0)
    records = [_record(rng, label, "sd") for label in (0, 1) for _ in range(300)]
    result = audit(records)
    assert result.verdict == "strong" and result.confident
    assert 0.75 <= result.shortcut_auc_ci_low <= result.shortcut_auc <= result.shortcut_auc_ci_high
    by_name = {c.name: c for c in result.confounds}
    assert by_name["format"].confident and by_name["format"].ci_low > 0.95
    assert result.per_generator[0].confident and result.per_generator[0].rows_used == 600
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert data["confident"] is True and data["shortcut_auc_ci_high"] <= 1.0
    assert data["pixel_baseline"] is None
    assert {"ci_low", "ci_high", "confident"} <= set(data["confounds"][0])


def test_twenty_images_are_never_confident() -> None:
    """Twenty images separated by format: whatever the classifier makes of them, not certain."""
    rng = np.random.default_rng(1)
    result = audit([_record(rng, label, "sd") for label in (0, 1) for _ in range(10)])
    assert not result.confident and not any(c.confident for c in result.confounds)
