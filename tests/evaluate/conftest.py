"""Helpers for the evaluation tests: a transparent detector and small synthetic datasets."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.models.spec import DetectorSpec


class MeanDetector:
    """Scores an image by its mean brightness: bright means generated. Transparent by design."""

    def __init__(self, name: str = "mean", threshold: float = 0.5) -> None:
        self.spec = DetectorSpec(architecture="mean", name=name, threshold=threshold)
        self.model_hash = "0123456789ab"
        self.calls: list[int] = []

    def score(self, images: Sequence[np.ndarray]) -> np.ndarray:
        self.calls.append(len(images))
        return np.array([float(image.mean()) / 255.0 for image in images])


def image(seed: int, level: int, size: tuple[int, int] = (40, 48)) -> np.ndarray:
    """Noise around a brightness level: dark (reals) or bright (fakes) for MeanDetector."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(level, 25, (*size, 3))
    return np.clip(noise, 0, 255).astype(np.uint8)


def make_dataset(root: Path, layout: dict[str, int], bad: Sequence[str] = ()) -> Path:
    """Folders named in layout ("genA/real": count) of PNGs; reals dark, fakes bright.

    One image per folder sits on the wrong side (bright real, dark fake) so no group is
    perfect; names in ``bad`` are written as text files posing as images.
    """
    seed = 0
    for folder, count in layout.items():
        target = root / folder
        target.mkdir(parents=True, exist_ok=True)
        fake = folder.rsplit("/", 1)[-1] in ("fake", "1_fake", "ai")
        for i in range(count):
            level = (190 if fake else 60) if i else (70 if fake else 180)
            Image.fromarray(image(seed, level)).save(target / f"{i}.png")
            seed += 1
    for name in bad:
        (root / name).write_text("not an image")
    return root


@pytest.fixture
def mean_detector() -> MeanDetector:
    """A MeanDetector named "mean" with threshold 0.5."""
    return MeanDetector()


@pytest.fixture
def detector_factory() -> type[MeanDetector]:
    """The MeanDetector class, for tests that need several."""
    return MeanDetector


@pytest.fixture
def make_image() -> Callable[..., np.ndarray]:
    """image(seed, level, size): a noisy image of a brightness level."""
    return image


@pytest.fixture
def dataset_factory() -> Callable[..., Path]:
    """make_dataset(root, layout, bad): folders of dark reals and bright fakes."""
    return make_dataset
