"""Full-resolution reconstruction: pad to the stride, cut into overlapping tiles, blend back.

Fakes keep their real twin's exact size, never a resized copy. Images larger than a tile are
processed in tiles that start on the stride grid (so the decoder's upsampling pattern has the
same phase in every tile) and overlap; each tile's weight ramps down linearly over the overlap,
so seams and the zero-padding at tile borders fade out. The padding to a multiple of the stride
mirrors the image and is cut off again.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F

_FLOOR = 1e-3  # weight at a tile's very edge: nonzero, so image borders stay covered


class Reconstructor(Protocol):
    """What tiling needs of a model: its stride and a reconstruction of [-1, 1] batches."""

    stride: int

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor: ...


def to_tensor(pixels: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 -> 1x3xHxW float in [-1, 1]."""
    # a copy: decoded images are often read-only views, which torch.from_numpy warns about
    return torch.from_numpy(np.array(pixels, copy=True)).permute(2, 0, 1)[None].float() / 127.5 - 1


def to_pixels(x: torch.Tensor) -> np.ndarray:
    """1x3xHxW (or 3xHxW) float in [-1, 1] -> HxWx3 uint8, rounded and clipped."""
    y = x.reshape(-1, *x.shape[-3:])[0].detach().float().cpu()
    return ((y + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()


def _pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Mirror-pad right and bottom to multiples of `multiple` (edge-repeat where too small)."""
    h, w = x.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    if not ph and not pw:
        return x
    mode = "reflect" if ph < h and pw < w else "replicate"
    return F.pad(x, (0, pw, 0, ph), mode=mode)


def layout(size: int, tile: int, overlap: int, stride: int) -> tuple[int, list[int]]:
    """Tile length and origins along one side: the fewest tiles of about `tile` that overlap by
    at least `overlap`, each as short as that allows and spread evenly, so an image a little
    over one tile costs little more than itself. Lengths and origins are multiples of the
    stride (size must be one), the last tile is flush with the end; a tile may exceed `tile` by
    less than two strides."""
    if size <= tile:
        return size, [0]
    n = -(-(size - overlap) // (tile - overlap))
    length = -(-(size + (n - 1) * overlap) // n)
    # a stride more than needed: rounding origins to the grid moves each by < half a stride
    length = min(size, -(-length // stride) * stride + stride)
    if n == 1 or length == size:
        return size, [0]
    step = (size - length) / (n - 1)
    return length, [round(i * step / stride) * stride for i in range(n)]


def _ramp(n: int, overlap: int) -> torch.Tensor:
    """1-D blending weight of a tile of length n: linear over `overlap` at both ends."""
    i = torch.arange(n, dtype=torch.float32)
    edge = torch.minimum(i + 0.5, n - i - 0.5)
    return (edge / max(overlap, 1)).clamp(_FLOOR, 1.0)


@torch.inference_mode()
def reconstruct_array(
    model: Reconstructor,
    pixels: np.ndarray,
    tile: int = 512,
    overlap: int = 32,
    batch: int = 4,
    device: str = "cpu",
) -> np.ndarray:
    """The model's reconstruction of an HxWx3 uint8 image, at the same size (see module doc).

    The tile is rounded up to a multiple of the model's stride; the overlap is kept to at most
    half a tile and rounded down to a multiple of the stride.
    """
    s = model.stride
    tile = -(-tile // s) * s
    overlap = min(overlap, tile // 2) // s * s
    height, width = pixels.shape[:2]
    x = _pad_to(to_tensor(pixels), s)
    ph, pw = x.shape[-2:]
    (th, tops), (tw, lefts) = (layout(side, tile, overlap, s) for side in (ph, pw))
    boxes = [(top, left) for top in tops for left in lefts]
    if len(boxes) == 1:  # one tile: no blending, so an identity model returns the input exactly
        return to_pixels(model.reconstruct(x.to(device))[..., :height, :width])
    weight = _ramp(th, overlap)[:, None] * _ramp(tw, overlap)[None, :]
    total = torch.zeros(3, ph, pw)
    norm = torch.zeros(1, ph, pw)
    for i in range(0, len(boxes), batch):
        chunk = boxes[i : i + batch]
        crops = [x[..., top : top + th, left : left + tw] for top, left in chunk]
        out = model.reconstruct(torch.cat(crops).to(device)).float().cpu()
        for (top, left), y in zip(chunk, out, strict=True):
            total[:, top : top + th, left : left + tw] += y * weight
            norm[:, top : top + th, left : left + tw] += weight
    return to_pixels((total / norm)[:, :height, :width])
