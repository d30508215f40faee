"""Fixtures for the synth tests: one torch thread, a folder of tiny reals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from synth_images import write_reals


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread: tiny tensors gain nothing from more, and spinning waits on a busy
    machine made these tests thirty times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def reals(tmp_path: Path) -> Path:
    """tmp_path/reals: 8 small reals (6 JPEG, 2 PNG), no labels (a plain folder of photos)."""
    write_reals(tmp_path / "reals", 8)
    return tmp_path / "reals"
