"""Turn PIL images and numpy arrays into the one pixel format detectors take: HxWx3 uint8 RGB.

Conventions (the same for files, PIL images and arrays):

- alpha is dropped, not composited: the stored colour samples are what carry generation traces,
  and compositing on a background would change them (fully transparent areas keep whatever
  colour the file stores there);
- 16-bit samples are scaled to 8 bits by dividing by 257 with rounding (65535 -> 255), not
  clipped; 32-bit integer (mode "I") samples are read as 16-bit values and must lie in 0..65535;
- float samples (mode "F", float arrays) must lie in [0, 1] and are scaled by 255 and rounded;
- grayscale (1, L, LA, 16-bit, float) is repeated into three equal channels;
- an RGB image is returned as decoded: a mode is converted only when it is not RGB already.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import numpy as np
from PIL import Image

from spotfake.errors import ImageReadError

# What Pillow raises on malformed data, at open or decode time.
DECODE_ERRORS: tuple[type[Exception], ...] = (
    OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError,
    struct.error, zlib.error,
)  # fmt: skip

_UINT16_MAX = 65535
_CHANNELS = (1, 3, 4)


def as_rgb_array(obj: Any) -> np.ndarray:
    """HxWx3 uint8 RGB, C-contiguous, from a PIL image or a numpy array; ImageReadError if not.

    Accepted arrays: HxW, HxWx1, HxWx3, HxWx4 (alpha dropped) of uint8 (returned without a copy
    when already HxWx3 and C-contiguous), bool, uint16 (/257), other integers within 0..255, or
    floats within [0, 1]. Paths are not accepted here: read them with ``read_image``.
    """
    if isinstance(obj, Image.Image):
        try:
            obj.load()
        except DECODE_ERRORS as exc:
            raise ImageReadError(f"truncated or corrupt image data: {exc}") from exc
        return image_to_rgb(obj)
    if isinstance(obj, np.ndarray):
        return array_to_rgb(obj)
    raise ImageReadError(
        f"unsupported input type {type(obj).__name__}: expected a PIL image or a numpy array"
    )


def image_to_rgb(image: Image.Image) -> np.ndarray:
    """HxWx3 uint8 RGB from a loaded PIL image, converting its mode only when it is not RGB."""
    mode = image.mode
    if mode == "RGB":
        return np.array(image)
    if mode == "I" or mode == "F" or mode.startswith("I;16"):
        return _gray_to_rgb(_samples_to_uint8(np.asarray(image), mode))
    if mode in ("P", "PA") and "transparency" in image.info:
        # Via RGBA: a palette with per-entry alpha cannot go straight to RGB without a warning.
        image = image.convert("RGBA")
    try:
        return np.array(image.convert("RGB"))
    except ValueError as exc:
        raise ImageReadError(f"unsupported pixel mode {mode}: cannot convert it to RGB") from exc


def array_to_rgb(array: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB from an HxW / HxWx1 / HxWx3 / HxWx4 array (see ``as_rgb_array``)."""
    if array.size == 0:
        raise ImageReadError(f"empty image array (shape {array.shape})")
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.ndim != 3 or array.shape[2] not in _CHANNELS:
        raise ImageReadError(
            f"image array must be HxW, HxWx1, HxWx3 or HxWx4, got shape {array.shape}"
        )
    rgb = _samples_to_uint8(array[:, :, :3], mode=None)
    if rgb.shape[2] == 1:
        return _gray_to_rgb(rgb[:, :, 0])
    return np.ascontiguousarray(rgb)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """Three equal channels from one HxW uint8 plane."""
    return np.repeat(gray[:, :, np.newaxis], 3, axis=2)


def _samples_to_uint8(samples: np.ndarray, mode: str | None) -> np.ndarray:
    """uint8 samples from any supported dtype; ``mode`` "I" means 16-bit values in int32."""
    kind = samples.dtype.kind
    if samples.dtype == np.uint8:
        return samples
    if kind == "b":
        return samples.astype(np.uint8) * np.uint8(255)
    if mode == "I":
        _check_range(samples, 0, _UINT16_MAX, "32-bit integer (read as 16-bit)")
    if samples.dtype == np.uint16 or mode == "I":
        return ((samples.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if kind == "f":
        return _floats_to_uint8(samples)
    if kind in "iu":
        _check_range(samples, 0, 255, "integer")
        return samples.astype(np.uint8)
    raise ImageReadError(f"unsupported pixel dtype {samples.dtype}")


def _floats_to_uint8(samples: np.ndarray) -> np.ndarray:
    """Floats in [0, 1] scaled by 255 and rounded; NaN, infinities and other ranges refused."""
    if not np.isfinite(samples).all():
        raise ImageReadError("float pixels contain NaN or infinite values")
    _check_range(samples, 0.0, 1.0, "float")
    return np.rint(samples.astype(np.float32) * np.float32(255.0)).astype(np.uint8)


def _check_range(samples: np.ndarray, low: float, high: float, what: str) -> None:
    """Raise ImageReadError when samples leave [low, high], naming the range found."""
    found_low, found_high = samples.min(), samples.max()
    if found_low < low or found_high > high:
        raise ImageReadError(
            f"{what} pixel values must lie in [{low:g}, {high:g}], "
            f"got [{found_low:g}, {found_high:g}]"
        )


def center_crop(image: np.ndarray, size: int, grid: tuple[int, int] = (1, 1)) -> np.ndarray:
    """The central size x size window of an HxW[xC] array, never resized: a side shorter than
    size is kept whole. grid (x, y): the corner moves back onto that grid (a JPEG's MCU grid, so
    a re-encoded crop keeps the original's block boundaries)."""
    height, width = image.shape[:2]
    top = max(0, (height - size) // 2) // grid[1] * grid[1]
    left = max(0, (width - size) // 2) // grid[0] * grid[0]
    return image[top : top + size, left : left + size]
