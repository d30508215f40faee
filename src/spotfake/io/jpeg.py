"""JPEG facts and the one JPEG writer: quantisation tables (their quality, fingerprint and
values), chroma subsampling, and ``encode_jpeg``, which every part of spotfake that writes a
JPEG (debias, synth) goes through.

Pillow (>= 8) returns ``quantization`` tables in natural (row-major) order, which is the order
of the IJG base tables below and the order ``qtables`` takes back; the tests check this on files
Pillow writes at every quality.

A quality number is not a table: camera and agency encoders write their own tables, which only
round to some IJG quality. Two files "at q85" can carry different tables, and a CNN sees the
difference (the quantisation grid is in the pixels). So records carry the tables themselves
(``format_tables``), a short fingerprint of them, and whether they are IJG's at one quality.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping, Sequence
from functools import cache, lru_cache
from typing import Any

import numpy as np
from PIL import Image

from spotfake.errors import SpotfakeError

# A file's quantisation tables by table id: luminance first, then chrominance (one or two).
Tables = tuple[tuple[int, ...], ...]

# Annex K.1 of ITU-T T.81: the luminance table libjpeg scales for every quality setting.
IJG_LUMA_TABLE: tuple[int, ...] = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip

# Annex K.2: the chrominance table libjpeg scales with the same factor as the luminance one.
IJG_CHROMA_TABLE: tuple[int, ...] = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip

# Pillow's encoder writes these chroma layouts (its `subsampling` codes); libjpeg's others it
# cannot be asked for, 4:4:0 (chroma halved vertically) among them.
WRITABLE_SUBSAMPLING: dict[str, int] = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
SUBSAMPLING_FALLBACK = "4:2:0"  # what a layout Pillow cannot write is written as, with a note

# (h, v) ratios of luma to chroma sampling factors -> the usual J:a:b name.
_SUBSAMPLING_NAMES: dict[tuple[int, int], str] = {
    (1, 1): "4:4:4",
    (2, 1): "4:2:2",
    (2, 2): "4:2:0",
    (4, 1): "4:1:1",
    (1, 2): "4:4:0",
    (4, 2): "4:1:0",
}


def ijg_table(quality: int, base: Sequence[int] = IJG_LUMA_TABLE) -> tuple[int, ...]:
    """The table libjpeg writes for a quality in 1..100 (baseline, capped at 255).

    base: IJG_LUMA_TABLE (the default) or IJG_CHROMA_TABLE.
    """
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return tuple(min(255, max(1, (value * scale + 50) // 100)) for value in base)


@cache
def _ijg_qualities() -> dict[tuple[int, ...], int]:
    """Exact IJG luminance table -> quality, for the common case without any arithmetic."""
    return {ijg_table(q): q for q in range(1, 101)}


@cache
def _ijg_tables() -> np.ndarray:
    """All 100 IJG luminance tables as a (100, 64) array; row q-1 is quality q."""
    return np.array([ijg_table(q) for q in range(1, 101)], dtype=np.int64)


def estimate_jpeg_quality(luma_table: Sequence[int]) -> tuple[int, bool]:
    """Quality 1..100 whose IJG table matches (exact) or is nearest by sum of |differences|.

    Returns ``(quality, exact)``. Ties go to the lower quality. Tables from encoders that do not
    scale the IJG table (Photoshop, some cameras) get ``exact=False`` and the nearest quality.
    """
    table = np.asarray(luma_table, dtype=np.int64).ravel()
    if table.size != 64:
        raise ValueError(f"a JPEG quantisation table has 64 entries, got {table.size}")
    exact = _ijg_qualities().get(tuple(table.tolist()))
    if exact is not None:
        return exact, True
    distances = np.abs(_ijg_tables() - table).sum(axis=1)
    best = int(np.argmin(distances))
    return best + 1, bool(distances[best] == 0)


def chroma_subsampling(layers: Sequence[tuple[int, int, int, int]]) -> str | None:
    """J:a:b name from JPEG components ``(id, h, v, table)`` as in Pillow's ``im.layer``.

    One component (grayscale) is "4:0:0". Layouts without a usual name (chroma components that
    differ, or chroma sampled finer than luma) are spelled out as "HxV,HxV,..." factors.
    """
    if not layers:
        return None
    if len(layers) == 1:
        return "4:0:0"
    factors = [(h, v) for _, h, v, _ in layers]
    luma_h, luma_v = factors[0]
    chroma = set(factors[1:])
    if len(chroma) == 1:
        chroma_h, chroma_v = chroma.pop()
        if luma_h % chroma_h == 0 and luma_v % chroma_v == 0:
            name = _SUBSAMPLING_NAMES.get((luma_h // chroma_h, luma_v // chroma_v))
            if name is not None:
                return name
    return ",".join(f"{h}x{v}" for h, v in factors)


class JpegWriteError(SpotfakeError):
    """A JPEG cannot be written as asked (a chroma layout or table Pillow cannot write)."""


def tables_of(quantization: Mapping[int, Sequence[int]] | None) -> Tables | None:
    """A file's tables in table-id order from Pillow's ``quantization`` (None when it has none)."""
    if not quantization:
        return None
    return tuple(tuple(int(v) for v in quantization[k]) for k in sorted(quantization))


def format_tables(tables: Tables) -> str:
    """Tables as text for records and manifests: values by commas, tables by semicolons."""
    return ";".join(",".join(str(v) for v in table) for table in tables)


@lru_cache(maxsize=4096)
def parse_tables(text: str) -> Tables:
    """The tables written by format_tables; ValueError when they are not 64-entry tables.

    Cached: a dataset holds few distinct tables, and the audit reads each record's several
    times (values, distance from IJG, per generator).
    """
    tables = tuple(tuple(int(v) for v in part.split(",")) for part in text.split(";") if part)
    if not tables or any(len(table) != 64 for table in tables):
        raise ValueError(f"not JPEG quantisation tables: {text[:40]!r}")
    return tables


def tables_fingerprint(tables: Tables) -> str:
    """A short stable name of the exact tables (12 hex digits of their SHA-1)."""
    return hashlib.sha1(format_tables(tables).encode("ascii")).hexdigest()[:12]


def standard_quality(tables: Tables) -> int | None:
    """The quality whose IJG luminance and chrominance tables these are exactly, else None.

    A grayscale file has the luminance table alone. Tables that merely round to a quality (an
    agency's, a camera's) give None: their estimated quality is not their identity.
    """
    if not tables:
        return None
    quality = _ijg_qualities().get(tables[0])
    if quality is None:
        return None
    chroma = ijg_table(quality, IJG_CHROMA_TABLE)
    return quality if all(table == chroma for table in tables[1:]) else None


def writable_subsampling(name: str | None) -> str:
    """The layout Pillow will write for a file's subsampling: its own, or SUBSAMPLING_FALLBACK."""
    return name if name in WRITABLE_SUBSAMPLING else SUBSAMPLING_FALLBACK


def encode_jpeg(
    picture: Image.Image,
    *,
    tables: Sequence[Sequence[int]] | None = None,
    quality: int | None = None,
    subsampling: str | None = None,
    progressive: bool = False,
    optimize: bool = False,
    **extra: Any,
) -> bytes:
    """The one JPEG writer: exact ``tables`` or an IJG ``quality`` (one of the two), a chroma
    layout by name ("4:2:0"; None: Pillow's default for the quality), and Pillow's other save
    options (icc_profile, exif, dpi...) in ``extra``.

    Given both, Pillow would scale the tables by the quality; refused instead. A layout Pillow
    cannot write (4:4:0, 4:1:1...) raises JpegWriteError: callers choose a fallback
    (``writable_subsampling``) and say so, rather than getting another layout silently.
    """
    if (tables is None) == (quality is None):
        raise ValueError("encode_jpeg takes exact tables or a quality, one of the two")
    options: dict[str, Any] = dict(extra, progressive=progressive, optimize=optimize)
    if tables is not None:
        options["qtables"] = [list(table) for table in tables]
    else:
        options["quality"] = quality
    if subsampling is not None and picture.mode not in ("L", "1"):
        if subsampling not in WRITABLE_SUBSAMPLING:
            raise JpegWriteError(
                f"Pillow cannot write {subsampling} chroma subsampling "
                f"(writes {', '.join(WRITABLE_SUBSAMPLING)})"
            )
        options["subsampling"] = WRITABLE_SUBSAMPLING[subsampling]
    buffer = io.BytesIO()
    try:
        picture.save(buffer, "JPEG", **options)
    except (OSError, ValueError, TypeError) as exc:
        raise JpegWriteError(f"cannot write this JPEG: {exc}") from exc
    return buffer.getvalue()
