"""Full-resolution reconstruction in tiles: exact size, exact blending, tiles on the stride grid."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from synth_images import photo

from spotfake.synth.base import Generator
from spotfake.synth.tiling import _starts, reconstruct_array


class Identity(Generator):
    """Returns its input; records the tiles it was given."""

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride
        self.shapes: list[tuple[int, ...]] = []
        self.weight = torch.nn.Parameter(torch.ones(()))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return z

    @property
    def last_layer(self) -> torch.Tensor:
        return self.weight

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        self.shapes.append(tuple(x.shape))
        return x


class Offset(Identity):
    """Adds a per-tile constant: blending must mix neighbours smoothly, never leave a step."""

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        super().reconstruct(x)
        return x + torch.arange(len(x), dtype=x.dtype).view(-1, 1, 1, 1) * 0.1


@pytest.mark.parametrize("size", [(37, 53), (100, 131), (8, 8), (3, 90)])
def test_blending_an_identity_gives_the_input_back(size: tuple[int, int]) -> None:
    pixels = photo(size[1], size[0], 3)
    model = Identity(stride=8)
    assert np.array_equal(reconstruct_array(model, pixels, tile=32, overlap=8), pixels)


def test_large_images_are_cut_into_stride_aligned_tiles() -> None:
    model = Identity(stride=8)
    reconstruct_array(model, photo(131, 100, 0), tile=30, overlap=8, batch=64)
    (shape,) = model.shapes  # one batch holding every tile
    assert shape[1:] == (3, 32, 32)  # the tile rounded up to the stride
    padded = (104, 136)
    starts = [_starts(side, 32, 24) for side in padded]
    assert shape[0] == len(starts[0]) * len(starts[1])
    assert all(s % 8 == 0 for axis in starts for s in axis)
    assert all(axis[-1] + 32 == side for axis, side in zip(starts, padded, strict=True))


def test_overlaps_blend_without_steps() -> None:
    pixels = np.full((40, 120, 3), 100, dtype=np.uint8)
    out = reconstruct_array(Offset(stride=4), pixels, tile=48, overlap=16, batch=8)
    steps = np.abs(np.diff(out[..., 0].astype(int), axis=1))
    assert out.shape == pixels.shape and steps.max() <= 2  # tiles differ by ~13 levels
