"""Robustness perturbations (CNNDetection's protocol): JPEG re-encoding, resizing, Gaussian blur.

Each condition is applied to every decoded image, both classes alike, before the model's own
preprocessing (its centre crop): the question is whether the detector still sees generation
traces after the processing images meet on the web. Resizing uses Pillow's bicubic filter;
JPEG uses Pillow's encoder with 4:2:0 chroma subsampling, as most encoders do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from spotfake.data.augment import gaussian_blur, jpeg_roundtrip

CLEAN = "clean"
# The sweep grids: the levels papers report (Wang et al. 2020; Grommelt et al. 2024).
GRIDS: dict[str, tuple[float, ...]] = {
    "jpeg": (100, 95, 90, 80, 70, 60, 50, 30),
    "resize": (0.5, 0.75, 1.25, 1.5, 2.0),
    "blur": (0.5, 1.0, 2.0, 3.0),
}
# Where the clean images sit on each sweep's axis (JPEG has none: "as stored").
NEUTRAL: dict[str, float | None] = {"jpeg": None, "resize": 1.0, "blur": 0.0}
AXIS_LABELS = {
    "jpeg": "JPEG quality (re-encoded)",
    "resize": "resize scale (bicubic)",
    "blur": "Gaussian blur sigma (px)",
}


@dataclass(frozen=True)
class Condition:
    """One way of processing every image: clean, or a perturbation kind at a level."""

    kind: str  # "clean", "jpeg", "resize" or "blur"
    level: float | None = None

    @property
    def name(self) -> str:
        """A short stable name: clean, jpeg-q70, resize-x0.5, blur-s2."""
        if self.kind == CLEAN or self.level is None:
            return CLEAN
        prefix = {"jpeg": "q", "resize": "x", "blur": "s"}[self.kind]
        return f"{self.kind}-{prefix}{self.level:g}"

    def apply(self, pixels: np.ndarray) -> np.ndarray:
        """The processed copy of an HxWx3 uint8 image (the image itself when clean)."""
        if self.kind == CLEAN or self.level is None:
            return pixels
        if self.kind == "jpeg":
            return jpeg_roundtrip(pixels, int(self.level))
        if self.kind == "resize":
            return resize(pixels, self.level)
        return gaussian_blur(pixels, self.level)


def resize(pixels: np.ndarray, scale: float) -> np.ndarray:
    """The image scaled by ``scale`` with Pillow's bicubic filter (at least 1 pixel a side)."""
    if scale == 1.0:
        return pixels
    height, width = pixels.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BICUBIC))


def parse_robustness(text: str | None) -> list[Condition]:
    """Conditions from "jpeg,resize,blur" (each kind's full grid), clean always first.

    A kind may name its own levels, "jpeg=90/50,blur=1", to run a smaller sweep.
    Raises ValueError for an unknown kind or a level that is not a number in range.
    """
    conditions = [Condition(CLEAN)]
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        kind, given, levels = part.partition("=")
        kind = kind.strip().lower()
        if kind not in GRIDS:
            raise ValueError(f"unknown perturbation {kind!r}: choose from {', '.join(GRIDS)}")
        values = _levels(kind, levels) if given else GRIDS[kind]
        conditions += [Condition(kind, float(v)) for v in values]
    return list(dict.fromkeys(conditions))


def _levels(kind: str, text: str) -> list[float]:
    """Levels written as "90/50" for one kind, checked against what the kind accepts."""
    try:
        values = [float(v) for v in text.split("/") if v.strip()]
    except ValueError as exc:
        raise ValueError(f"{kind}: levels must be numbers separated by '/': {text!r}") from exc
    limits = {"jpeg": (1, 100), "resize": (0.01, 16), "blur": (0, 50)}[kind]
    bad = [v for v in values if not limits[0] <= v <= limits[1]]
    if bad or not values:
        raise ValueError(f"{kind}: levels must lie in {limits[0]}..{limits[1]}: {text!r}")
    return values


def kinds_of(conditions: Sequence[Condition]) -> list[str]:
    """The perturbation kinds present, in grid order (clean excluded)."""
    present = {c.kind for c in conditions}
    return [kind for kind in GRIDS if kind in present]
