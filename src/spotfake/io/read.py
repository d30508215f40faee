"""Decode one image file into RGB pixels plus its ImageRecord, refusing bad input per file.

Rules (each bad file gets an ImageReadError, never a crash or a silent wrong result):

- the pixel count is checked against ``max_pixels`` from the header, before any decoding;
- truncated or corrupt data is an error (``ImageFile.LOAD_TRUNCATED_IMAGES`` is left alone);
- animated files (GIF, APNG, WebP) give their first frame; ``record.n_frames`` says how many;
- EXIF orientation is not applied: pixels stay in stored order, since forensic traces live in
  the stored grid (the JPEG 8x8 blocks, the generator's upsampling pattern) and the record then
  describes the same pixels a detector sees;
- colour modes follow ``spotfake.io.convert`` (alpha dropped, 16-bit divided by 257, ...).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from PIL import Image
from PIL.ImageFile import ImageFile

from spotfake.errors import ImageReadError
from spotfake.io.convert import DECODE_ERRORS, image_to_rgb
from spotfake.io.probe import (
    has_exif,
    open_image,
    open_image_bytes,
    png_text_keys,
    record_from_image,
)
from spotfake.records import ImageRecord

# Pillow's own default (Image.MAX_IMAGE_PIXELS): about 9459 x 9459, 256 MiB as RGB.
DEFAULT_MAX_PIXELS = 89_478_485


@dataclass
class LoadedImage:
    """Decoded pixels (HxWx3 uint8 RGB, C-contiguous) and what the headers say about the file."""

    pixels: np.ndarray
    record: ImageRecord


def read_image(path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Open a file once, describe it from its headers, then decode it to RGB (see module rules).

    Images above ``max_pixels`` are refused before decoding. Pillow still refuses on its own
    anything above ``2 * Image.MAX_IMAGE_PIXELS`` when opening (and warns above it), so a
    larger ``max_pixels`` only helps if that global is raised too.
    """
    with open_image(path) as (image, file_bytes):
        return _read_opened(image, path, file_bytes, max_pixels)


def read_image_bytes(data: bytes, name: str, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """read_image() for an image held in memory (an HTTP upload); ``name`` becomes record.path.

    The same checks and messages as for a file, so an upload and the file it came from get the
    same pixels, record and errors.
    """
    with open_image_bytes(data) as image:
        return _read_opened(image, name, len(data), max_pixels)


def _read_opened(
    image: ImageFile, path: str | os.PathLike[str], file_bytes: int, max_pixels: int
) -> LoadedImage:
    """Describe an opened image from its headers, check its size, then decode it."""
    record = record_from_image(image, path, file_bytes)
    check_pixel_count(image.width, image.height, max_pixels)
    pixels = _decode(image)
    # Chunks stored after the image data (PNG text, eXIf) are known only now.
    record.png_text_keys = png_text_keys(image)
    record.has_exif = has_exif(image)
    return LoadedImage(pixels=pixels, record=record)


def check_pixel_count(width: int, height: int, max_pixels: int) -> None:
    """Refuse empty images and images with more than ``max_pixels`` pixels (decompression bombs)."""
    if width < 1 or height < 1:
        raise ImageReadError(f"image has no pixels ({width} x {height})")
    if width * height > max_pixels:
        raise ImageReadError(
            f"too many pixels ({width} x {height} = {width * height:,} > {max_pixels:,}); "
            "raise max_pixels to read it"
        )


def _decode(image: ImageFile) -> np.ndarray:
    """Decode the current (first) frame and convert it to HxWx3 uint8 RGB."""
    try:
        image.load()
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"too many pixels: {exc}") from exc
    except DECODE_ERRORS as exc:
        raise ImageReadError(f"truncated or corrupt image data: {exc}") from exc
    return image_to_rgb(image)
