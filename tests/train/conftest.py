"""Fixtures: tiny synthetic real/fake sets in the layouts training reads."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from tiny_sets import encoded, real_and_fake


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """real/*.jpg and fake/*.png, 12 each."""
    root = tmp_path / "data"
    for name in ("real", "fake"):
        (root / name).mkdir(parents=True)
    for i in range(12):
        real, fake = real_and_fake(i)
        (root / "real" / f"{i}.jpg").write_bytes(encoded(real, "JPEG"))
        (root / "fake" / f"{i}.png").write_bytes(encoded(fake, "PNG"))
    return root


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A CIFAKE-like zip: train/REAL/*.jpg and train/FAKE/*.jpg, 16 each."""
    path = tmp_path / "set.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(16):
            real, fake = real_and_fake(100 + i)
            zf.writestr(f"train/REAL/{i}.jpg", encoded(real, "JPEG"))
            zf.writestr(f"train/FAKE/{i}.jpg", encoded(fake, "JPEG"))
    return path
