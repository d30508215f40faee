"""Tiny real images and generator settings for the synth tests (imported by the tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

# Small variants of every architecture: a training step on 32 px patches takes milliseconds.
TINY: dict[str, dict[str, Any]] = {
    "transposed": {"width": 8, "latent": 8},
    "nearest": {"width": 8, "latent": 8},
    "bilinear": {"width": 8, "latent": 8},
    "pixelshuffle": {"width": 8, "latent": 8},
    "ldm-vae": {"width": 8, "latent": 4, "down": 4},
}
SUBSAMPLINGS = ("4:4:4", "4:2:2", "4:2:0")


def photo(width: int, height: int, seed: int) -> np.ndarray:
    """A smooth random 'photo' with grain: edges, texture and files of varied size per pixel."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (height // 6 + 2, width // 6 + 2, 3), dtype=np.uint8)
    big = Image.fromarray(base).resize((width * 3 // 2 + 12, height * 3 // 2 + 12))
    smooth = np.asarray(big.crop((0, 0, width, height)), dtype=np.float64)
    grain = rng.normal(0, 2 + seed % 5 * 3, (height, width, 3))
    return np.clip(smooth + grain, 0, 255).astype(np.uint8)


def write_reals(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """n reals of varied sizes (odd ones too): JPEGs of several qualities and subsamplings, and
    a PNG every fourth file."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        width, height = 40 + (7 * i) % 29, 36 + (5 * i) % 31
        image = Image.fromarray(photo(width, height, seed + i))
        if i % 4 == 3:
            path = folder / f"real{i:03d}.png"
            image.save(path)
        else:
            path = folder / f"real{i:03d}.jpg"
            quality = (70, 85, 90, 96)[i % 4]
            image.save(path, quality=quality, subsampling=SUBSAMPLINGS[i % 3])
        paths.append(path)
    return paths
