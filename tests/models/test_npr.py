"""The NPR input option: the backbone sees the neighbouring-pixel residual, saved in the spec."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spotfake.models.base import load_detector_file
from spotfake.models.cnn import npr_residual
from spotfake.models.registry import create_detector


def _blocks(seed: int, size: int = 64) -> np.ndarray:
    """An image of 2x2 constant blocks: the nearest 2x down-and-up copy reproduces it exactly."""
    small = np.random.default_rng(seed).integers(0, 256, (size // 2, size // 2, 3), dtype=np.uint8)
    return np.repeat(np.repeat(small, 2, 0), 2, 1)


def test_residual_is_zero_on_blocks_and_not_on_detail() -> None:
    blocks = torch.from_numpy(_blocks(0).astype(np.float32)).permute(2, 0, 1)[None]
    assert torch.count_nonzero(npr_residual(blocks)) == 0
    noise = torch.rand(1, 3, 33, 47)  # odd sides keep their shape
    residual = npr_residual(noise)
    assert residual.shape == noise.shape and residual.abs().mean() > 0.1


def test_npr_detector_sees_only_the_residual_and_reloads(tmp_path: Path) -> None:
    torch.manual_seed(0)
    detector = create_detector("cnn-tiny", crop=64, residual="npr")
    assert detector.spec.config["residual"] == "npr"
    # Two different block images have the same (zero) residual, hence the same score...
    a, b = detector.score([_blocks(1), _blocks(2)])
    assert a == pytest.approx(b, abs=1e-6)
    # ...which a plain detector tells apart.
    torch.manual_seed(0)
    plain = create_detector("cnn-tiny", crop=64)
    plain.load_state_dict(detector.state_dict())  # the hook leaves the state dict's keys alone
    p, q = plain.score([_blocks(1), _blocks(2)])
    assert abs(p - q) > 1e-6
    detail = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    again = load_detector_file(detector.save(tmp_path / "npr.safetensors"))
    assert again.score([detail])[0] == pytest.approx(detector.score([detail])[0], abs=1e-6)
    assert again.score([_blocks(4)])[0] == pytest.approx(a, abs=1e-6)


def test_unknown_residual_is_refused() -> None:
    with pytest.raises(ValueError, match="residual"):
        create_detector("cnn-tiny", residual="srm")
