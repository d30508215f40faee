"""Does a detector read generation traces or file-format shortcuts? Swap the cues and see.

Each condition re-encodes or crops the validation images so that one cue (JPEG quality, image
size) no longer follows the label. A detector that looks at pixels keeps its AUC; one that learned
"quality 96 means real" or "this size means fake" collapses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from spotfake.data.augment import jpeg_roundtrip
from spotfake.evaluate.metrics import detection_metrics
from spotfake.io.convert import center_crop

Transform = Callable[[np.ndarray, int], np.ndarray]  # (pixels, label) -> pixels


def _requality(real_q: int | None, fake_q: int | None) -> Transform:
    def apply(pixels: np.ndarray, label: int) -> np.ndarray:
        quality = fake_q if label == 1 else real_q
        return pixels if quality is None else jpeg_roundtrip(pixels, quality)

    return apply


def _crop_all(size: int) -> Transform:
    return lambda pixels, label: center_crop(pixels, size)


def shortcut_conditions(real_q: int, fake_q: int, size: int) -> dict[str, Transform]:
    """The cue-swapping conditions for a dataset whose reals are at real_q and fakes at fake_q."""
    return {
        "as stored": lambda pixels, label: pixels,
        f"reals re-encoded at q{fake_q} (the fakes' quality)": _requality(fake_q, None),
        f"fakes re-encoded at q{real_q} (the reals' quality)": _requality(None, real_q),
        f"both classes re-encoded at q{min(real_q, fake_q)}": _requality(
            min(real_q, fake_q), min(real_q, fake_q)
        ),
        f"every image centre-cropped to {size}x{size}": _crop_all(size),
    }


def shortcut_report(
    score: Callable[[list[np.ndarray]], np.ndarray],
    images: list[np.ndarray],
    labels: np.ndarray,
    conditions: dict[str, Transform],
    threshold: float = 0.5,
) -> dict[str, dict[str, Any]]:
    """Detection metrics of score() on the images under each condition (accuracies at
    threshold)."""
    report = {}
    for name, transform in conditions.items():
        changed = [
            transform(image, int(label)) for image, label in zip(images, labels, strict=True)
        ]
        report[name] = detection_metrics(labels, score(changed), threshold)
    return report
