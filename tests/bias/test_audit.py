"""The audit's verdicts on biased and unbiased synthetic datasets (records built here)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from spotfake.bias.audit import audit, verdict
from spotfake.records import ImageRecord


def _jpeg(rng: np.random.Generator, label: int, quality: int = 96, **kw: object) -> ImageRecord:
    width, height = int(rng.integers(300, 700)), int(rng.integers(250, 600))
    return ImageRecord(
        path=f"r{rng.integers(1e9)}.jpg", label=label, format="JPEG", mode="RGB",
        width=width, height=height, file_bytes=int(width * height * rng.uniform(0.2, 0.8)),
        jpeg_quality=quality, chroma_subsampling="4:2:0", **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def _png(rng: np.random.Generator, size: int, **kw: object) -> ImageRecord:
    return ImageRecord(
        path=f"f{rng.integers(1e9)}.png", label=1, format="PNG", mode="RGB", width=size,
        height=size, file_bytes=int(size * size * rng.uniform(1.2, 2.0)), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def test_genimage_like_set_is_strongly_biased() -> None:
    """Reals: JPEG q96 of many sizes; fakes: PNG of one size per generator."""
    rng = np.random.default_rng(0)
    records = [_jpeg(rng, 0, generator=g) for g in ("adm", "sd") for _ in range(150)]
    records += [_png(rng, 256, generator="adm") for _ in range(150)]
    records += [_png(rng, 512, generator="sd") for _ in range(150)]
    result = audit(records)
    assert result.verdict == "strong" and result.shortcut_auc > 0.95
    by_name = {c.name: c for c in result.confounds}
    for name in ("format", "jpeg_quality", "size", "aspect", "bytes_per_pixel"):
        assert by_name[name].verdict == "strong", name
    assert by_name["mode"].verdict == "none" and by_name["chroma_subsampling"].verdict == "strong"
    assert "PNG 100%" in by_name["format"].detail and "JPEG 100%" in by_name["format"].detail
    assert [(g.generator, g.reals, g.n_real, g.n_fake) for g in result.per_generator] == [
        ("adm", "own", 150, 150), ("sd", "own", 150, 150),
    ]  # fmt: skip
    assert all(g.verdict == "strong" for g in result.per_generator)


def test_matched_storage_has_no_shortcut() -> None:
    """Both classes stored alike (same quality, size and compression distributions)."""
    rng = np.random.default_rng(1)
    records = [_jpeg(rng, label) for label in (0, 1) for _ in range(300)]
    result = audit(records)
    assert result.verdict == "none" and result.shortcut_auc < 0.6
    assert all(c.verdict == "none" for c in result.confounds)


def test_a_partial_quality_shift_is_found_and_named() -> None:
    """Fakes at q96 like the reals, except a third of them at q75: only quality separates."""
    rng = np.random.default_rng(2)
    records = [_jpeg(rng, 0) for _ in range(400)]
    records += [_jpeg(rng, 1, quality=75 if i % 3 == 0 else 96) for i in range(400)]
    result = audit(records)
    top = result.confounds[0]
    assert top.name == "jpeg_quality" and 0.6 <= top.auc < 0.75 and top.verdict == "weak"
    assert result.verdict == "weak"


def test_shared_reals_unlabelled_and_unreadable() -> None:
    rng = np.random.default_rng(3)
    records = [_jpeg(rng, 0) for _ in range(60)] + [
        _png(rng, 128, generator="gan") for _ in range(60)
    ]
    records += [ImageRecord(path="u.jpg"), ImageRecord(path="bad.jpg", label=1, error="truncated")]
    result = audit(records)
    assert result.counts == {"real": 60, "generated": 60, "unlabelled": 1, "unreadable": 1}
    assert [(g.generator, g.reals, g.n_real) for g in result.per_generator] == [
        ("gan", "shared", 60)
    ]


def test_json_is_strict_and_carries_shortcut_auc() -> None:
    rng = np.random.default_rng(4)
    records = [_jpeg(rng, label) for label in (0, 1) for _ in range(40)]
    data = json.loads(json.dumps(audit(records).to_dict(), allow_nan=False))
    assert 0.0 <= data["shortcut_auc"] <= 1.0
    assert {c["name"] for c in data["confounds"]} >= {"format", "jpeg_quality", "size"}


def test_one_class_is_an_error() -> None:
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="both classes"):
        audit([_jpeg(rng, 0) for _ in range(10)])


def test_verdict_thresholds() -> None:
    assert [verdict(a) for a in (0.5, 0.59, 0.6, 0.74, 0.75, 1.0)] == [
        "none", "none", "weak", "weak", "strong", "strong",
    ]  # fmt: skip
    assert verdict(math.nan) == "n/a"
