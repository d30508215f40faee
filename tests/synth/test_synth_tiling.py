"""Full-resolution reconstruction in tiles: exact size, exact blending, tiles on the stride grid."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from synth_images import photo

from spotfake.synth.base import Generator
from spotfake.synth.tiling import layout, reconstruct_array


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
    padded = (104, 136)
    (th, tops), (tw, lefts) = (layout(side, 32, 8, 8) for side in padded)
    assert shape == (len(tops) * len(lefts), 3, th, tw)
    assert th % 8 == 0 and tw % 8 == 0 and max(th, tw) < 32 + 16  # the tile rounded to the stride
    for length, starts, side in ((th, tops, padded[0]), (tw, lefts, padded[1])):
        assert all(start % 8 == 0 for start in starts)
        assert starts[0] == 0 and starts[-1] + length == side
        assert all(b - a <= length - 8 for a, b in itertools.pairwise(starts))


@pytest.mark.parametrize("size", [520, 640, 1024, 1030, 4000])
@pytest.mark.parametrize(("tile", "overlap", "stride"), [(512, 32, 8), (256, 32, 4), (96, 0, 1)])
def test_tiles_overlap_enough_and_cost_little_more_than_the_image(
    size: int, tile: int, overlap: int, stride: int
) -> None:
    side = -(-size // stride) * stride
    length, starts = layout(side, tile, overlap, stride)
    assert starts[0] == 0 and starts[-1] + length == side
    assert all(s % stride == 0 for s in starts) and length % stride == 0
    assert all(b - a <= length - overlap for a, b in itertools.pairwise(starts))
    assert length < tile + 2 * stride
    old = len(range(0, side - tile, tile - overlap)) + 1  # origins every step, the last flush
    assert len(starts) <= old and len(starts) * length <= old * (min(tile, side) + 2 * stride)


def test_an_image_just_over_a_tile_is_not_computed_twice() -> None:
    length, starts = layout(1024, 512, 32, 8)  # was three tiles of 512: 1.5 times the side
    assert len(starts) * length <= 1.15 * 1024


def test_overlaps_blend_without_steps() -> None:
    pixels = np.full((40, 120, 3), 100, dtype=np.uint8)
    out = reconstruct_array(Offset(stride=4), pixels, tile=48, overlap=16, batch=8)
    steps = np.abs(np.diff(out[..., 0].astype(int), axis=1))
    assert out.shape == pixels.shape and steps.max() <= 2  # tiles differ by ~13 levels
