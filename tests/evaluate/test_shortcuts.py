"""The shortcut check exposes a detector that reads JPEG quality instead of pixels."""

from __future__ import annotations

import numpy as np
from PIL import Image

from spotfake.data.augment import jpeg_roundtrip
from spotfake.evaluate.shortcuts import shortcut_conditions, shortcut_report


def _blockiness(pixels: np.ndarray) -> float:
    """What a quality shortcut reads: jumps at the 8x8 JPEG block borders versus inside blocks."""
    gray = pixels.astype(float).mean(axis=2)
    jumps = np.abs(np.diff(gray, axis=1))
    at_border = jumps[:, 7::8].mean()
    inside = np.delete(jumps, np.s_[7::8], axis=1).mean()
    return float(at_border / (inside + 1e-9))


def test_quality_shortcut_collapses_under_swap() -> None:
    rng = np.random.default_rng(0)
    base = [
        np.asarray(
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).resize((64, 64))
        )
        for _ in range(48)
    ]
    images = [jpeg_roundtrip(b, 96) for b in base[:24]] + [jpeg_roundtrip(b, 75) for b in base[24:]]
    labels = np.array([0] * 24 + [1] * 24)

    def shortcut(batch: list[np.ndarray]) -> np.ndarray:
        return np.array([_blockiness(p) for p in batch]) / 10

    report = shortcut_report(shortcut, images, labels, shortcut_conditions(96, 75, size=48))
    stored = report["as stored"]["auc"]
    swapped = report["reals re-encoded at q75 (the fakes' quality)"]["auc"]
    assert stored > 0.95
    assert swapped < stored - 0.25
    assert report["every image centre-cropped to 48x48"]["n"] == 48


def test_conditions_re_encode_only_the_named_class() -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    conditions = shortcut_conditions(96, 75, size=8)
    swap = conditions["fakes re-encoded at q96 (the reals' quality)"]
    np.testing.assert_array_equal(swap(pixels, 0), pixels)
    assert not np.array_equal(swap(pixels, 1), pixels)
    assert conditions["every image centre-cropped to 8x8"](pixels, 0).shape == (8, 8, 3)
