"""Hard reals: real photos after the classical processing real photos go through, labelled real.

A detector trained on fakes that are smoother, sharper or resampled compared with their reals
learns "processed means generated" and flags every real photo that was resized, sharpened or
denoised on its way to the user (modern phone photos all are). Hard reals put those operations
on the real side: each real is passed through classical operations, no network involved, and
stored like the original (format, JPEG tables, subsampling, mode, metadata; see ``encode``).

The operations (``OPERATIONS``): bicubic enlargement x2 (``up2``) and antialiased reduction by
2 (``down2``), the two together and by 4 (``updown2``, ``updown4``: the super-resolution
counterparts), Lanczos enlargement x2 (``lanczos-up2``), Gaussian blur with sigma drawn from
[0.5, 2] (``blur``), an unsharp mask (``sharpen``), a 3x3 median filter (``median3``, a
classical denoiser). Parameters drawn per image come from a hash of its name: the same inputs
give the same bytes. OUT is laid out as ``OUT/hard-<op>/[<split>/]real/<name>`` with a manifest
(label 0, generator ``hard-<op>``); the split is the real's group's (``spotfake.data.groups``),
so a real and its hard variants are never on both sides.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from spotfake.data.groups import group_key
from spotfake.data.layouts import is_zip_location, output_folders, source_stem, split_zip_location
from spotfake.data.members import member_reader
from spotfake.data.sources import split_of
from spotfake.errors import SpotfakeError
from spotfake.io.outdir import fresh_output_folder
from spotfake.io.probe import probe
from spotfake.io.read import DEFAULT_MAX_PIXELS
from spotfake.records import REAL, ImageRecord
from spotfake.synth.counterparts import blurred, enlarge, reduce
from spotfake.synth.encode import Storage, encode_like
from spotfake.synth.reals import hashed_order, read_source

MARKER = "hard_reals.json"
Operation = Callable[[np.ndarray, np.random.Generator], np.ndarray]


def _resized(pixels: np.ndarray, scale: float, kernel: Image.Resampling) -> np.ndarray:
    h, w = pixels.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, kernel))


def _updown(factor: int) -> Operation:
    return lambda pixels, _: enlarge(reduce(pixels, factor), pixels.shape, factor)


def _filtered(image_filter: ImageFilter.Filter) -> Operation:
    return lambda pixels, _: np.asarray(Image.fromarray(pixels).filter(image_filter))


OPERATIONS: dict[str, Operation] = {
    "up2": lambda p, _: _resized(p, 2.0, Image.Resampling.BICUBIC),
    "down2": lambda p, _: _resized(p, 0.5, Image.Resampling.BICUBIC),
    "updown2": _updown(2),
    "updown4": _updown(4),
    "lanczos-up2": lambda p, _: _resized(p, 2.0, Image.Resampling.LANCZOS),
    "blur": lambda p, rng: blurred(p, float(rng.uniform(0.5, 2.0))),
    "sharpen": _filtered(ImageFilter.UnsharpMask(radius=2, percent=120, threshold=2)),
    "median3": _filtered(ImageFilter.MedianFilter(3)),
}


@dataclass
class HardResult:
    """What was written, and what failed (path, reason)."""

    out: Path
    records: list[ImageRecord] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    manifest: Path | None = None


def _rng(location: str, operation: str) -> np.random.Generator:
    """A generator seeded by the file's group and the operation: the same draws every run."""
    digest = hashlib.sha1(f"{group_key(location)}:{operation}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _storage_for(storage: Storage, shape: tuple[int, ...], original: tuple[int, ...]) -> Storage:
    """The real's storage for an image of another size (its alpha resized, a WebP target scaled)."""
    if shape[:2] == original[:2]:
        return storage
    alpha = storage.alpha
    if alpha is not None:
        alpha = alpha.resize((shape[1], shape[0]), Image.Resampling.BICUBIC)
    target = storage.target_bytes
    if target is not None:
        target = round(target * (shape[0] * shape[1]) / (original[0] * original[1]))
    return replace(storage, alpha=alpha, target_bytes=target)


def make_hard_reals(
    reals: Sequence[ImageRecord],
    out: str | os.PathLike[str],
    operations: Sequence[str],
    limit: int | None = None,
    val_fraction: float = 0.15,
    progress: Callable[[int], None] | None = None,
) -> HardResult:
    """Write every chosen real through every operation into out (cleared first)."""
    unknown = [op for op in operations if op not in OPERATIONS]
    if unknown or not operations:
        raise ValueError(f"operations must be among {', '.join(OPERATIONS)}; got {unknown}")
    root = fresh_output_folder(Path(out), MARKER)
    result = HardResult(root)
    used: set[str] = set()
    with member_reader() as read:
        for record in hashed_order(reals, limit):
            split = record.split
            if split is None and val_fraction > 0:
                split = split_of(group_key(record.path), val_fraction)
            leaf = _leaf(record, split, used)
            try:
                if record.error is not None:
                    raise SpotfakeError(record.error)
                pixels, storage = read_source(record.path, read)
                for op in operations:
                    written = _write(root, record, op, (pixels, storage), (split, leaf))
                    result.records.append(written)
            except SpotfakeError as exc:
                result.failed.append((record.path, str(exc) or type(exc).__name__))
            if progress:
                progress(1)
    _finish(result, operations, limit)
    return result


def _leaf(record: ImageRecord, split: str | None, used: set[str]) -> str:
    """The output file name: the real's own, numbered when two reals share it in a split."""
    stem = source_stem(record.path)
    member = split_zip_location(record.path)[1] if is_zip_location(record.path) else record.path
    suffix = Path(member).suffix
    leaf, n = f"{stem}{suffix}", 1
    while f"{record.category}/{split}/{leaf}".lower() in used:
        n += 1
        leaf = f"{stem}-{n}{suffix}"
    used.add(f"{record.category}/{split}/{leaf}".lower())
    return leaf


def _write(
    root: Path,
    record: ImageRecord,
    op: str,
    decoded: tuple[np.ndarray, Storage],
    place: tuple[str | None, str],
) -> ImageRecord:
    """One real through one operation, stored like the real; its record."""
    (pixels, storage), (split, leaf) = decoded, place
    processed = OPERATIONS[op](pixels, _rng(record.path, op))
    if processed.shape[0] * processed.shape[1] > DEFAULT_MAX_PIXELS:
        raise SpotfakeError(f"{op} would make {processed.shape[1]}x{processed.shape[0]} pixels")
    data = encode_like(processed, _storage_for(storage, processed.shape, pixels.shape))
    name = f"hard-{op}"
    target = root.joinpath(*output_folders(name, record.category, split, fake=False), leaf)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    stamp = record.modified or 0.0
    os.utime(target, ns=(round(stamp * 1e9), round(stamp * 1e9)))
    written = probe(target)
    written.modified = stamp
    return replace(written, label=REAL, generator=name, split=split, category=record.category)


def _finish(result: HardResult, operations: Sequence[str], limit: int | None) -> None:
    """The manifest, then the marker that says the output is complete."""
    from spotfake.data.manifest import write_manifest

    result.records.sort(key=lambda r: r.path)
    result.failed.sort()
    result.manifest = result.out / "manifest.csv"
    write_manifest(result.records, result.manifest)
    summary = {
        "status": "complete",
        "operations": list(operations),
        "limit": limit,
        "images": len(result.records),
        "failed": [{"path": path, "error": reason} for path, reason in result.failed],
    }
    (result.out / MARKER).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
