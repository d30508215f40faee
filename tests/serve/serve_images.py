"""Image bytes for the service tests, built in memory: good, converted and refused files."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def pixels(seed: int, height: int = 64, width: int = 64) -> np.ndarray:
    """Noise over a gradient: small, and not trivially compressible."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 200, width)[None, :, None] + np.linspace(0, 40, height)[:, None, None]
    return np.clip(ramp + rng.normal(0, 20, (height, width, 3)), 0, 255).astype(np.uint8)


def encode(image: Image.Image, fmt: str, **options: Any) -> bytes:
    """An image's bytes in a format."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def jpeg(seed: int = 0, quality: int = 90, size: int = 64) -> bytes:
    return encode(Image.fromarray(pixels(seed, size, size)), "JPEG", quality=quality)


def png(seed: int = 0, size: int = 64) -> bytes:
    return encode(Image.fromarray(pixels(seed, size, size)), "PNG")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height but holds a few bytes: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\x80" * 4))
        + chunk(b"IEND", b"")
    )


def tricky_files() -> dict[str, bytes]:
    """Files the readers convert or refuse: CMYK, 16-bit, animated, palette, text, truncated."""
    frames = [Image.fromarray(pixels(seed, 48, 48)) for seed in (7, 8)]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:])
    deep = Image.fromarray(pixels(9)[:, :, 0].astype(np.uint16) * 257)  # mode I;16
    good = jpeg(6)
    return {
        "a.jpg": jpeg(1),
        "b.png": png(2),
        "cmyk.jpg": encode(Image.fromarray(pixels(3)).convert("CMYK"), "JPEG", quality=85),
        "deep.png": encode(deep, "PNG"),
        "palette.png": encode(Image.fromarray(pixels(4)).convert("P"), "PNG"),
        "moving.gif": gif.getvalue(),
        "text.jpg": b"this is not a JPEG\n",
        "empty.png": b"",
        "trunc.jpg": good[: len(good) // 2],
    }
