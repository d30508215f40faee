"""How a group of images is stored (format, JPEG quality and tables, subsampling, size,
compression, mode) and what file metadata it carries (EXIF, camera, XMP, ICC, PNG text)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from spotfake.records import ImageRecord


def shares(values: Sequence[object]) -> dict[str, float]:
    """Share of each value, most common first ("none" for missing values)."""
    counts = Counter("none" if v is None else str(v) for v in values)
    total = sum(counts.values()) or 1
    return {key: count / total for key, count in counts.most_common()}


def spread(values: Sequence[float]) -> dict[str, float]:
    """Median and 5th / 95th percentiles (NaN when empty)."""
    if not values:
        return {"p5": float("nan"), "median": float("nan"), "p95": float("nan")}
    p5, median, p95 = np.percentile(np.asarray(values, dtype=np.float64), [5, 50, 95])
    return {"p5": float(p5), "median": float(median), "p95": float(p95)}


def group_stats(records: Sequence[ImageRecord]) -> dict[str, Any]:
    """Storage statistics of one group (a class, or a class of one generator)."""
    jpegs = [r for r in records if r.jpeg_quality is not None]
    sizes = Counter((r.width, r.height) for r in records)
    top_size, top_count = sizes.most_common(1)[0] if sizes else ((None, None), 0)
    qualities = Counter(r.jpeg_quality for r in jpegs)
    return {
        "count": len(records),
        "format": shares([r.format for r in records]),
        "jpeg_quality": {str(q): n for q, n in sorted(qualities.items())},
        "jpeg_quality_mode": qualities.most_common(1)[0][0] if qualities else None,
        "chroma_subsampling": shares([r.chroma_subsampling for r in jpegs]),
        "jpeg_tables": shares([table_label(r) for r in jpegs]),
        "jpeg_tables_standard": _share(r.jpeg_tables_standard for r in jpegs),
        "progressive": _share(r.progressive for r in jpegs),
        "mode": shares([r.mode for r in records]),
        "width": spread([float(r.width) for r in records if r.width]),
        "height": spread([float(r.height) for r in records if r.height]),
        "aspect": spread([r.width / r.height for r in records if r.width and r.height]),
        "bytes_per_pixel": spread([r.bytes_per_pixel for r in records if r.bytes_per_pixel]),
        "distinct_sizes": len(sizes),
        "top_size": f"{top_size[0]}x{top_size[1]}" if top_count else None,
        "top_size_share": top_count / len(records) if records else float("nan"),
        "exif": _share(r.has_exif for r in records),
        "camera": _share(r.camera is not None for r in records),
        "cameras": shares([r.camera for r in records if r.camera]),
        "xmp": _share(r.has_xmp for r in records),
        "icc_profile": shares([r.icc_profile for r in records]),
        "png_text": _share(bool(r.png_text_keys) for r in records if r.format == "PNG"),
        "png_text_keys": shares([k for r in records for k in r.png_text_keys]),
    }


def table_label(record: ImageRecord) -> str:
    """A JPEG's tables by fingerprint, with what they are: "3f2a... (IJG q85)" or
    "9b1c... (custom, ~q85)"; "unknown" for a record without tables (an old manifest)."""
    if not record.jpeg_tables_id:
        return "unknown"
    kind = "IJG" if record.jpeg_tables_standard else "custom, ~"
    return f"{record.jpeg_tables_id} ({kind}q{record.jpeg_quality})"


def _share(values: Iterable[bool | None]) -> float:
    """Share of True among the values (NaN when there are none)."""
    flags = [bool(v) for v in values]
    return sum(flags) / len(flags) if flags else float("nan")


def describe(name: str, real: dict[str, Any], fake: dict[str, Any]) -> str:
    """One line with the numbers behind a confound, reals beside fakes."""
    return f"real: {_brief(name, real)} | generated: {_brief(name, fake)}"


def _brief(name: str, stats: dict[str, Any]) -> str:
    """A group's figures for one confound, in a few words."""
    if not stats.get("count"):
        return "none"
    if name in ("format", "mode", "chroma_subsampling"):
        return top_shares(stats[name]) or "no JPEG"
    if name == "jpeg_quality":
        counts = stats["jpeg_quality"]
        total = sum(counts.values())
        if not total:
            return "no JPEG"
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
        return ", ".join(f"q{q} {n / total:.0%}" for q, n in top) + f" of {total} JPEGs"
    if name in _FLAGS:
        return _flag(name, stats)
    if name == "jpeg_tables":
        tables = stats["jpeg_tables"]
        if not tables:
            return "no JPEG"
        return f"{len(tables)} tables: {top_shares(tables, 2)}"
    if name == "size":
        return (
            f"{stats['distinct_sizes']} sizes, {stats['top_size']} {stats['top_size_share']:.0%}, "
            f"median {stats['width']['median']:.0f}x{stats['height']['median']:.0f}"
        )
    if name == "aspect":
        a = stats["aspect"]
        return f"median {a['median']:.2f} (p5 {a['p5']:.2f}, p95 {a['p95']:.2f})"
    b = stats["bytes_per_pixel"]
    return f"median {b['median']:.3f} (p5 {b['p5']:.3f}, p95 {b['p95']:.3f})"


_FLAGS = {
    "exif": "EXIF", "camera": "camera named", "xmp": "XMP", "png_text": "PNG text",
    "progressive": "progressive", "icc_profile": "ICC",
}  # fmt: skip


def _flag(name: str, stats: dict[str, Any]) -> str:
    """A file-metadata property of a group in a few words ("EXIF 80%", "ICC: sRGB 60%, ...")."""
    if name == "icc_profile":
        return "ICC: " + top_shares(stats["icc_profile"], 2)
    share = stats[name]
    if share != share:  # NaN: no file the property applies to (no PNG, no JPEG)
        return f"{_FLAGS[name]} n/a"
    text = f"{_FLAGS[name]} {share:.0%}"
    if name == "camera" and stats["cameras"]:
        text += f" ({top_shares(stats['cameras'], 2)})"
    if name == "png_text" and stats["png_text_keys"]:
        text += f" (keys: {', '.join(list(stats['png_text_keys'])[:3])})"
    return text


def top_shares(values: dict[str, float], limit: int = 3) -> str:
    """ "JPEG 98%, PNG 2%" from a shares dict."""
    return ", ".join(f"{key} {share:.0%}" for key, share in list(values.items())[:limit])
