"""calibrate_threshold: every real source flagged at most the target, by the smallest threshold."""

from __future__ import annotations

import json

import numpy as np
import pytest

from spotfake.evaluate.calibration import (
    calibrate,
    calibrate_threshold,
    expected_calibration_error,
    flag_rates,
    real_scores_by_source,
)
from spotfake.prediction import GENERATED_LABEL, REAL_LABEL, label_for


def _is_smallest(real: dict[str, np.ndarray], threshold: float, rate: float) -> bool:
    """No smaller float keeps every source within the rate."""
    below = float(np.nextafter(threshold, -np.inf))
    return any(r > rate for r in flag_rates(real, below).values())


def test_each_source_within_the_rate_by_the_smallest_threshold() -> None:
    rng = np.random.default_rng(0)
    real = {
        "photos": rng.beta(2, 8, 400),
        "paintings": rng.beta(4, 4, 137),
        "cartoons": rng.beta(2, 5, 61),
        "hard-blur": rng.beta(5, 3, 23),
    }
    for rate in (0.0, 0.01, 0.05, 0.1, 0.29, 0.5):
        threshold = calibrate_threshold(real, rate)
        assert all(r <= rate for r in flag_rates(real, threshold).values()), rate
        assert _is_smallest(real, threshold, rate), rate


def test_threshold_sits_just_above_the_highest_real_left_unflagged() -> None:
    # 20 scores, 5%: one may be flagged (0.95); 0.9 must not be, so t is the next float up.
    scores = np.linspace(0.0, 0.95, 20)
    threshold = calibrate_threshold({"photos": scores}, 0.05)
    assert threshold == np.nextafter(scores[-2], np.inf)
    assert flag_rates({"photos": scores}, threshold) == {"photos": 0.05}
    # The verdict's own comparison: a score at the threshold is generated.
    assert label_for(threshold, threshold) == GENERATED_LABEL
    assert label_for(float(scores[-2]), threshold) == REAL_LABEL


def test_ties_are_never_split() -> None:
    # Three reals tie at 0.8: flagging any flags all three (30% of 10), so none is flagged.
    scores = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.8, 0.8])
    threshold = calibrate_threshold({"faces": scores}, 0.2)
    assert 0.8 < threshold < 0.8 + 1e-12
    assert flag_rates({"faces": scores}, threshold) == {"faces": 0.0}
    # With room for three, the threshold drops below the tie to just above 0.7.
    assert calibrate_threshold({"faces": scores}, 0.3) == np.nextafter(0.7, np.inf)


def test_one_source_pushes_the_threshold_up_for_all() -> None:
    photos = np.linspace(0.0, 0.3, 100)  # at 5%, about 0.29 would do
    paintings = np.linspace(0.2, 0.9, 40)  # needs t above its 3rd highest (0.85...)
    alone = calibrate_threshold({"photos": photos}, 0.05)
    both = calibrate_threshold({"photos": photos, "paintings": paintings}, 0.05)
    assert alone < 0.3 and both == np.nextafter(paintings[-3], np.inf)
    rates = flag_rates({"photos": photos, "paintings": paintings}, both)
    assert rates == {"photos": 0.0, "paintings": 0.05}


def test_zero_rate_flags_no_real_even_at_score_one() -> None:
    real = {"photos": np.array([0.2, 1.0, 0.5]), "art": np.array([0.99])}
    threshold = calibrate_threshold(real, 0.0)
    assert threshold > 1.0 and flag_rates(real, threshold) == {"photos": 0.0, "art": 0.0}


def test_rate_one_and_rounding() -> None:
    assert calibrate_threshold({"photos": np.array([0.3, 0.9])}, 1.0) == 0.0
    # 0.29 * 100 rounds to 28.999...: 29 of 100 may still be flagged.
    scores = np.arange(100) / 100
    assert flag_rates({"s": scores}, calibrate_threshold({"s": scores}, 0.29)) == {"s": 0.29}


def test_empty_sources_are_ignored_and_none_at_all_is_an_error() -> None:
    scores = np.array([0.1, 0.6])
    assert calibrate_threshold({"a": scores, "b": np.array([])}, 0.5) == calibrate_threshold(
        {"a": scores}, 0.5
    )
    assert flag_rates({"a": scores, "b": np.array([])}, 0.5) == {"a": 0.5}
    with pytest.raises(ValueError, match="at least one real"):
        calibrate_threshold({"a": np.array([]), "b": np.array([])})
    with pytest.raises(ValueError, match="at least one real"):
        calibrate_threshold({})
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        calibrate_threshold({"a": scores}, 1.5)
    with pytest.raises(ValueError, match="finite"):
        calibrate_threshold({"a": np.array([0.1, np.nan])})


def test_ece_on_a_hand_computed_case() -> None:
    # Predicted class and its confidence: fake 0.9 (right), real 0.75 (wrong), fake 0.55
    # (right), real 0.65 (right). Bins of 0.2: (0.4, 0.6] holds 0.55 -> |1 - 0.55|; (0.6, 0.8]
    # holds 0.75 and 0.65 -> |0.5 - 0.7|, twice; (0.8, 1] holds 0.9 -> |1 - 0.9|.
    labels = np.array([1, 1, 1, 0])
    scores = np.array([0.9, 0.25, 0.55, 0.35])
    expected = (0.45 + 2 * 0.2 + 0.1) / 4  # 0.2375
    assert expected_calibration_error(labels, scores, bins=5) == pytest.approx(expected)


def test_calibrate_reports_each_source_at_both_thresholds() -> None:
    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.6, 0.2, 0.7, 0.55, 0.3, 0.9, 0.65, 0.4])
    sources = ["photos", "photos", "photos", "art", "art", "art", "sd", "sd", "gan"]
    assert set(real_scores_by_source(labels, scores, sources)) == {"art", "photos"}
    result = calibrate(labels, scores, sources, max_flag_rate=0.34)
    assert result.threshold == np.nextafter(0.55, np.inf)  # art may flag 0.7 only
    data = json.loads(json.dumps(result.to_dict()))
    assert data["sources"] == {
        "art": {"n": 3, "flag_rate": pytest.approx(1 / 3), "flag_rate_at_half": 2 / 3},
        "photos": {"n": 3, "flag_rate": pytest.approx(1 / 3), "flag_rate_at_half": 1 / 3},
    }
    assert data["fake_recall"] == pytest.approx(2 / 3) and data["n_fake"] == 3
    assert data["ece"] == pytest.approx(expected_calibration_error(labels, scores))
    assert data["threshold"] == result.threshold and data["max_flag_rate"] == 0.34
