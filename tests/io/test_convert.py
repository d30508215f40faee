"""as_rgb_array(): PIL images and arrays of every accepted kind to HxWx3 uint8, errors otherwise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.errors import ImageReadError
from spotfake.io import as_rgb_array


def _check(result: np.ndarray, height: int = 2, width: int = 3) -> None:
    assert result.shape == (height, width, 3)
    assert result.dtype == np.uint8
    assert result.flags.c_contiguous


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((2, 3), 7, np.uint8), 7),
        (np.full((2, 3, 1), 7, np.uint8), 7),
        (np.full((2, 3, 4), 7, np.uint8), 7),
        (np.ones((2, 3), bool), 255),
        (np.full((2, 3, 3), 257 * 100, np.uint16), 100),
        (np.full((2, 3, 3), 65535, np.uint16), 255),
        (np.full((2, 3), 0.5, np.float32), 128),
        (np.full((2, 3, 3), 1.0, np.float64), 255),
        (np.full((2, 3, 3), 200, np.int64), 200),
    ],
    ids=["gray", "hw1", "rgba", "bool", "uint16", "uint16-max", "float32", "float64", "int64"],
)
def test_arrays(array: np.ndarray, expected: int) -> None:
    result = as_rgb_array(array)
    _check(result)
    assert (result == expected).all()


def test_rgb_uint8_is_returned_without_copy() -> None:
    array = np.zeros((2, 3, 3), np.uint8)
    assert np.shares_memory(as_rgb_array(array), array)


def test_non_contiguous_input_gives_contiguous_output() -> None:
    array = np.arange(2 * 6 * 3, dtype=np.uint8).reshape(2, 6, 3)[:, ::2]
    result = as_rgb_array(array)
    _check(result)
    np.testing.assert_array_equal(result, array)


def test_alpha_channel_is_dropped() -> None:
    array = np.array([[[10, 20, 30, 0]]], np.uint8)
    assert as_rgb_array(array).tolist() == [[[10, 20, 30]]]


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((0, 3, 3), np.uint8), "empty image array"),
        (np.zeros(5, np.uint8), "got shape"),
        (np.zeros((2, 3, 3, 1), np.uint8), "got shape"),
        (np.zeros((2, 3, 2), np.uint8), "got shape"),
        (np.full((2, 3), 1.5), r"must lie in \[0, 1\]"),
        (np.full((2, 3), -0.1, np.float32), r"must lie in \[0, 1\]"),
        (np.full((2, 3), np.nan), "NaN"),
        (np.full((2, 3), 256, np.int32), r"must lie in \[0, 255\]"),
        (np.zeros((2, 3), np.complex64), "unsupported pixel dtype"),
        (np.zeros((2, 3), object), "unsupported pixel dtype"),
    ],
    ids=["empty", "1d", "4d", "2ch", "float>1", "float<0", "nan", "int>255", "complex", "object"],
)
def test_bad_arrays(array: np.ndarray, message: str) -> None:
    with pytest.raises(ImageReadError, match=message):
        as_rgb_array(array)


@pytest.mark.parametrize("value", ["a.png", 3, None, [[0, 0, 0]]])
def test_other_types_are_refused(value: object) -> None:
    with pytest.raises(ImageReadError, match="unsupported input type"):
        as_rgb_array(value)


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        (Image.new("RGB", (3, 2), (1, 2, 3)), [1, 2, 3]),
        (Image.new("L", (3, 2), 9), [9, 9, 9]),
        (Image.new("RGBA", (3, 2), (1, 2, 3, 4)), [1, 2, 3]),
        (Image.new("I;16", (3, 2), 257 * 3), [3, 3, 3]),
        (Image.new("F", (3, 2), 1.0), [255, 255, 255]),
        (Image.new("CMYK", (3, 2), (0, 0, 0, 0)), [255, 255, 255]),
    ],
    ids=["rgb", "L", "rgba", "I;16", "F", "cmyk"],
)
def test_pil_images(image: Image.Image, expected: list[int]) -> None:
    result = as_rgb_array(image)
    _check(result)
    assert (result == expected).all()


def test_lazily_opened_corrupt_image(rgb_image: Image.Image, write: Callable[..., Path]) -> None:
    path = write("a.png", rgb_image.resize((128, 96)))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with Image.open(path) as image, pytest.raises(ImageReadError, match="truncated or corrupt"):
        as_rgb_array(image)


def test_unconvertible_mode() -> None:
    with pytest.raises(ImageReadError, match="unsupported pixel mode La"):
        as_rgb_array(Image.new("La", (3, 2)))


def test_center_crop_keeps_short_sides_and_snaps_to_a_grid() -> None:
    from spotfake.io.convert import center_crop

    image = np.arange(40 * 30).reshape(40, 30)
    assert center_crop(image, 10).tolist() == image[15:25, 10:20].tolist()
    assert center_crop(image, 64).shape == (40, 30)  # smaller than the crop: kept whole
    snapped = center_crop(image, 10, grid=(8, 8))  # corner (10, 15) -> (8, 8)
    assert snapped.tolist() == image[8:18, 8:18].tolist()
