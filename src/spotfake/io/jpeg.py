"""JPEG header facts: quality from the luminance quantisation table, and chroma subsampling.

Pillow (>= 8) returns ``quantization`` tables in natural (row-major) order, which is the order
of the IJG base table below; the tests check this on files Pillow writes at every quality.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

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

# (h, v) ratios of luma to chroma sampling factors -> the usual J:a:b name.
_SUBSAMPLING_NAMES: dict[tuple[int, int], str] = {
    (1, 1): "4:4:4",
    (2, 1): "4:2:2",
    (2, 2): "4:2:0",
    (4, 1): "4:1:1",
    (1, 2): "4:4:0",
    (4, 2): "4:1:0",
}


def ijg_table(quality: int) -> tuple[int, ...]:
    """The luminance table libjpeg writes for a quality in 1..100 (baseline, capped at 255)."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in 1..100, got {quality}")
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return tuple(min(255, max(1, (base * scale + 50) // 100)) for base in IJG_LUMA_TABLE)


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
