"""Write a fake exactly the way its real twin is stored: format, mode, JPEG tables and all.

A fake that differs from its real in format, JPEG quality, chroma subsampling, size or colour
mode teaches a detector that storage cue instead of generation traces ("Fake or JPEG?"). So a
JPEG fake reuses the real's own quantisation tables (hence the same estimated quality),
subsampling, progressive mode and Huffman optimisation; a PNG keeps the mode, palette,
transparency and text chunks; a WebP stays lossless or lossy, the lossy quality chosen so that
the file size matches (WebP files do not record their quality). ICC profiles, EXIF and DPI are
copied. What cannot be reproduced raises StorageError rather than writing a different file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from PIL import Image, PngImagePlugin
from PIL.JpegImagePlugin import JpegImageFile

from spotfake.errors import SpotfakeError
from spotfake.io.jpeg import (
    WRITABLE_SUBSAMPLING,
    JpegWriteError,
    chroma_subsampling,
    encode_jpeg,
    tables_of,
)

_MODES = ("RGB", "L", "1", "CMYK", "RGBA", "LA", "P")
_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF", "GIF")
_COPIED_INFO = ("icc_profile", "exif", "dpi")


class StorageError(SpotfakeError):
    """A file is stored in a way `synth make` cannot reproduce exactly."""


@dataclass
class Storage:
    """How one file is stored: its format, mode and what Pillow needs to write another alike."""

    format: str
    mode: str
    options: dict[str, Any] = field(default_factory=dict)  # keyword arguments of Image.save
    alpha: Image.Image | None = None  # the real's alpha channel, reused by RGBA / LA fakes
    palette: Image.Image | None = None  # a P image carrying the real's palette
    target_bytes: int | None = None  # lossy WebP: the size the quality is tuned to


def storage_of(image: Image.Image, data: bytes) -> Storage:
    """The storage of an opened (and loaded) image whose file bytes are `data`."""
    fmt, mode = image.format or "", image.mode
    if fmt not in _FORMATS:
        raise StorageError(f"cannot write {fmt or 'this format'} (writes {', '.join(_FORMATS)})")
    if mode not in _MODES:
        raise StorageError(f"cannot write colour mode {mode} (writes {', '.join(_MODES)})")
    frames = int(getattr(image, "n_frames", 1))
    if frames > 1:
        raise StorageError(f"animated or multi-frame files ({frames} frames) are not made")
    options = {k: image.info[k] for k in _COPIED_INFO if image.info.get(k) is not None}
    storage = Storage(fmt, mode, options)
    if mode in ("RGBA", "LA"):
        storage.alpha = image.getchannel("A")
    if mode == "P":
        storage.palette = Image.new("P", (1, 1))
        storage.palette.putpalette(image.getpalette() or [])
    if fmt == "JPEG":
        options.update(_jpeg_options(image, data))
    elif fmt == "PNG":
        options["pnginfo"] = _png_text(image)
    if fmt in ("PNG", "GIF") and image.info.get("transparency") is not None:
        options["transparency"] = image.info["transparency"]
    if fmt == "WEBP":
        lossless = _webp_lossless(data)
        options["lossless"] = lossless
        storage.target_bytes = None if lossless else len(data)
    elif fmt == "TIFF":
        options["compression"] = image.info.get("compression", "raw")
    return storage


def _jpeg_options(image: Image.Image, data: bytes) -> dict[str, Any]:
    """The real's own tables, subsampling, progressive mode and Huffman optimisation: the
    keyword arguments of ``io.jpeg.encode_jpeg``."""
    assert isinstance(image, JpegImageFile)
    options: dict[str, Any] = {"tables": tables_of(image.quantization) or ()}
    name = chroma_subsampling(image.layer)
    if image.mode not in ("L", "1"):
        if name not in WRITABLE_SUBSAMPLING:
            raise StorageError(f"chroma subsampling {name} cannot be written by Pillow")
        options["subsampling"] = name
    progressive = bool(image.info.get("progressive") or image.info.get("progression"))
    options["progressive"] = progressive
    options["optimize"] = progressive or not huffman_is_standard(data)
    return options


def _png_text(image: Image.Image) -> PngImagePlugin.PngInfo:
    """The real's text chunks, so both files carry the same keys."""
    info = PngImagePlugin.PngInfo()
    for key, value in image.info.items():
        if isinstance(key, str) and isinstance(value, str):
            info.add_text(key, value)
    return info


def _webp_lossless(data: bytes) -> bool:
    """True when the WebP bitstream is VP8L (lossless); VP8 is lossy."""
    head = data[:4096]
    return b"VP8L" in head and b"VP8 " not in head


def dht_tables(data: bytes) -> set[bytes]:
    """Every Huffman table defined before the first scan of a JPEG (class/id, counts, symbols)."""
    tables: set[bytes] = set()
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        if marker == 0xDA:  # start of scan: the tables of a baseline file are all known
            break
        if marker == 0xC4:
            segment, j = data[i + 4 : i + 2 + length], 0
            while j + 17 <= len(segment):
                n = sum(segment[j + 1 : j + 17])
                tables.add(bytes(segment[j : j + 17 + n]))
                j += 17 + n
        i += 2 + length
    return tables


@cache
def _standard_tables() -> frozenset[bytes]:
    """The Annex K tables libjpeg writes when not optimising (read off a file it writes)."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buffer, "JPEG", optimize=False)
    return frozenset(dht_tables(buffer.getvalue()))


def huffman_is_standard(data: bytes) -> bool:
    """True when a JPEG uses only the standard Huffman tables (written without optimisation)."""
    return dht_tables(data) <= _standard_tables()


def encode_like(pixels: np.ndarray, storage: Storage) -> bytes:
    """HxWx3 uint8 RGB written as a file stored like the real (see the module doc)."""
    picture = _in_mode(Image.fromarray(pixels), storage)
    if storage.target_bytes is not None:
        return _webp_matching_size(picture, storage)
    return _save(picture, storage.format, storage.options)


def _in_mode(picture: Image.Image, storage: Storage) -> Image.Image:
    """The RGB picture converted to the real's mode, with the real's alpha or palette."""
    mode = storage.mode
    if mode == "P" and storage.palette is not None:
        return picture.quantize(palette=storage.palette, dither=Image.Dither.NONE)
    if mode == "1":
        return picture.convert("L").convert("1", dither=Image.Dither.NONE)
    if mode in ("RGBA", "LA") and storage.alpha is not None:
        base = picture.convert(mode[:-1])
        base.putalpha(storage.alpha)
        return base
    return picture if mode == "RGB" else picture.convert(mode)


def _save(picture: Image.Image, fmt: str, options: dict[str, Any]) -> bytes:
    if fmt == "JPEG":
        try:
            return encode_jpeg(picture, **options)
        except (JpegWriteError, ValueError) as exc:
            raise StorageError(f"cannot write JPEG like the real: {exc}") from exc
    buffer = io.BytesIO()
    try:
        picture.save(buffer, fmt, **options)
    except (OSError, ValueError, TypeError) as exc:
        raise StorageError(f"cannot write {fmt} like the real: {exc}") from exc
    return buffer.getvalue()


def _webp_matching_size(picture: Image.Image, storage: Storage) -> bytes:
    """Lossy WebP at the quality whose size is nearest the real's (bisection on quality)."""
    low, high, best = 1, 100, b""
    target = storage.target_bytes or 0
    while low <= high:
        quality = (low + high) // 2
        data = _save(picture, "WEBP", {**storage.options, "quality": quality})
        if not best or abs(len(data) - target) < abs(len(best) - target):
            best = data
        if len(data) < target:
            low = quality + 1
        else:
            high = quality - 1
    return best
