"""Fixtures for the CLI tests: a saved cnn-tiny model and folders of small good and bad images."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _pixels(seed: int, size: int = 64) -> np.ndarray:
    """Noise over a gradient: a small image that is not trivially compressible."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 200, size, dtype=np.float64)
    base = ramp[None, :, None] + ramp[:, None, None] * 0.2
    noisy = base + rng.normal(0, 20, (size, size, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _jpeg_bytes(seed: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(_pixels(seed)).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained cnn-tiny saved as weights + spec; returns the .safetensors path."""
    from spotfake.models.registry import create_detector

    folder = tmp_path_factory.mktemp("model")
    return create_detector("cnn-tiny").save(folder / "tiny")


@pytest.fixture
def good_dir(tmp_path: Path) -> Path:
    """good/a.png, good/b.jpg, good/c.png and good/sub/d.jpg (only found with --recursive)."""
    folder = tmp_path / "good"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(_pixels(1)).save(folder / "a.png")
    (folder / "b.jpg").write_bytes(_jpeg_bytes(2))
    Image.fromarray(_pixels(3)).save(folder / "c.png")
    (folder / "sub" / "d.jpg").write_bytes(_jpeg_bytes(4))
    (folder / "notes.txt").write_text("not an image, skipped by folder expansion")
    return folder


@pytest.fixture
def bad_dir(tmp_path: Path) -> Path:
    """bad/ok.png (readable), bad/text.jpg (text), bad/empty.jpg (0 bytes), bad/trunc.jpg."""
    folder = tmp_path / "bad"
    folder.mkdir()
    Image.fromarray(_pixels(5)).save(folder / "ok.png")
    (folder / "text.jpg").write_text("this is not a JPEG\n")
    (folder / "empty.jpg").write_bytes(b"")
    data = _jpeg_bytes(6)
    (folder / "trunc.jpg").write_bytes(data[: len(data) // 2])
    return folder
