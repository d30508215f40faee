"""Robustness perturbations: each does what it says, and the sweep grid parses."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from spotfake.evaluate.perturb import CLEAN, Condition, kinds_of, parse_robustness

Image = Callable[..., np.ndarray]


def _change(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def test_jpeg_at_q30_changes_pixels_more_than_at_q95(make_image: Image) -> None:
    pixels = make_image(0, 128, (64, 64))
    q95 = Condition("jpeg", 95).apply(pixels)
    q30 = Condition("jpeg", 30).apply(pixels)
    assert q95.shape == q30.shape == pixels.shape and q30.dtype == np.uint8
    assert _change(pixels, q30) > _change(pixels, q95) > 0


def test_resize_scales_both_sides(make_image: Image) -> None:
    pixels = make_image(1, 128, (40, 60))
    assert Condition("resize", 0.5).apply(pixels).shape == (20, 30, 3)
    assert Condition("resize", 2.0).apply(pixels).shape == (80, 120, 3)
    assert Condition("resize", 1.0).apply(pixels) is pixels


def test_blur_sigma_zero_is_identity_and_blur_smooths(make_image: Image) -> None:
    pixels = make_image(2, 128, (48, 48))
    assert Condition("blur", 0.0).apply(pixels) is pixels
    blurred = Condition("blur", 2.0).apply(pixels)
    assert blurred.shape == pixels.shape
    assert np.diff(blurred.astype(int), axis=1).std() < np.diff(pixels.astype(int), axis=1).std()


def test_clean_leaves_the_image_alone(make_image: Image) -> None:
    pixels = make_image(3, 128)
    assert Condition(CLEAN).apply(pixels) is pixels


def test_full_grid_has_the_papers_levels() -> None:
    conditions = parse_robustness("jpeg,resize,blur")
    assert len(conditions) == 18 and conditions[0] == Condition(CLEAN)
    names = [c.name for c in conditions]
    assert names[:3] == ["clean", "jpeg-q100", "jpeg-q95"] and "jpeg-q30" in names
    assert {"resize-x0.5", "resize-x2", "blur-s0.5", "blur-s3"} <= set(names)
    assert kinds_of(conditions) == ["jpeg", "resize", "blur"]


def test_own_levels_and_no_sweep() -> None:
    assert parse_robustness(None) == [Condition(CLEAN)]
    conditions = parse_robustness("blur=1, jpeg=90/50")
    assert [c.name for c in conditions] == ["clean", "blur-s1", "jpeg-q90", "jpeg-q50"]


@pytest.mark.parametrize("text", ["sharpen", "jpeg=0", "jpeg=abc", "resize=", "blur=-1"])
def test_bad_sweeps_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_robustness(text)
