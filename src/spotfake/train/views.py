"""One training view of an image: crops at native resolution, bias control, augmentation.

Order: a native-resolution window (randomly rescaled with probability ``resize_p``), the
cross-class JPEG control, CNNDetection's blur and JPEG, a flip, the model's integer upscale
(``upscale``: applied at inference too), an optional reflect-padding (``translate``), the final
random crop, then optional RandAugment.
Blur and JPEG act on stored pixels, before any upscale, as they would on a real file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from spotfake.data.augment import (
    AugmentConfig,
    augment,
    jpeg_roundtrip,
    rand_augment,
    random_crop,
    random_rescale,
)
from spotfake.models.scoring import upscale_image

_MARGIN = 32  # extra native pixels around the final crop, for the final crop to move in


@dataclass
class ViewMaker:
    """Makes training views (picklable, so DataLoader workers can run it)."""

    crop: int
    augment: AugmentConfig
    cross_quality_p: float = 0.0
    upscale: int = 1
    upscale_method: str = "bicubic"
    # Per label: the JPEG qualities of the other class's files and their shares (quality_mix).
    other_qualities: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def __call__(self, pixels: np.ndarray, label: int, rng: np.random.Generator) -> np.ndarray:
        view = self._window(pixels, rng)
        if rng.random() < self.cross_quality_p:
            quality = self._other_quality(label, rng)
            if quality is not None:
                view = jpeg_roundtrip(view, quality)
        view = augment(view, self.augment, rng)
        view = upscale_image(view, self.upscale, self.upscale_method)
        if self.augment.translate > 0:  # shifts for images no larger than the crop
            pad = self.augment.translate
            view = np.pad(view, ((pad, pad), (pad, pad), (0, 0)), mode="reflect")
        view = random_crop(view, self.crop, rng)
        if self.augment.randaugment_n > 0:
            seed = int(rng.integers(2**31))
            view = rand_augment(view, self.augment.randaugment_n, self.augment.randaugment_m, seed)
        return view

    def _window(self, pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A native window large enough for the final crop (the whole of a small image)."""
        need = -(-self.crop // self.upscale)
        size = max(need, min(need + _MARGIN // self.upscale, *pixels.shape[:2]))
        if rng.random() < self.augment.resize_p:
            low, high = np.log(self.augment.resize_scale)
            return random_rescale(pixels, float(np.exp(rng.uniform(low, high))), size, rng)
        return random_crop(pixels, size, rng)

    def _other_quality(self, label: int, rng: np.random.Generator) -> int | None:
        values, odds = self.other_qualities.get(label, (np.empty(0), np.empty(0)))
        if not values.size:
            return None
        quality = int(values[rng.choice(values.size, p=odds)])
        return quality if quality > 0 else None


def quality_mix(
    labels: Sequence[int], qualities: Sequence[int | None]
) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """For each label, the other class's JPEG qualities and their shares among its files.

    Files that are not JPEGs count as quality -1: drawing one leaves the view as it is.
    """
    mix: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for label in sorted(set(labels)):
        others = [
            -1 if q is None else q for lab, q in zip(labels, qualities, strict=True) if lab != label
        ]
        if others:
            values, counts = np.unique(np.asarray(others, dtype=np.int64), return_counts=True)
            mix[label] = (values, counts / counts.sum())
    return mix
