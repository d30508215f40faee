"""Fixtures that build small image files in tmp_path, so every io test makes its own data."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image


@pytest.fixture
def rgb_image() -> Image.Image:
    """A 32x24 RGB image of seeded noise (noise keeps every JPEG quality table in use)."""
    pixels = np.random.default_rng(0).integers(0, 256, size=(24, 32, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Save a PIL image as tmp_path/NAME (format from the extension unless given)."""

    def _write(name: str, image: Image.Image, **save_kwargs: Any) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, **save_kwargs)
        return path

    return _write


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@pytest.fixture
def crafted_png() -> Callable[..., bytes]:
    """PNG bytes with any header size (8-bit gray) and optional chunks after the image data."""

    def _png(width: int, height: int, late_chunks: tuple[bytes, ...] = ()) -> bytes:
        header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
        rows = min(height, 4) * (b"\x00" + b"\x80" * min(width, 4))
        return (
            b"\x89PNG\r\n\x1a\n"
            + png_chunk(b"IHDR", header)
            + png_chunk(b"IDAT", zlib.compress(rows))
            + b"".join(late_chunks)
            + png_chunk(b"IEND", b"")
        )

    return _png


@pytest.fixture
def text_chunk() -> Callable[[str, str], bytes]:
    """A PNG tEXt chunk KEY=VALUE."""

    def _chunk(key: str, value: str) -> bytes:
        return png_chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))

    return _chunk
