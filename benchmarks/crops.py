"""Centre crop vs several crops on large images: does multi-crop inference beat the single crop?

Run:  .venv/bin/python benchmarks/crops.py --model MODEL --reals DIR [DIR ...] \\
          --fakes DIR [DIR ...] [--crops 1,4,9] [--formats png,webp] [--limit 200] \\
          [--min-side 768] [--json FILE] [--batch-size 16] [--workers 2] [--threads N] \\
          [--device auto]

MODEL is a shipped model name or a weights file (its spec .json beside it), as load_detector
takes. The image files of each folder (not its sub-folders) are probed from their headers; those
whose shorter side is at least --min-side are kept (the question is about large images), and a
fixed subset of at most --limit per side (reals, fakes; the same every run, seed 0) is scored.

Formats: ``png`` scores the files as they decode (whatever they are stored as); ``webp``
re-encodes every image, reals and fakes alike, in memory as WebP quality 90 (Pillow) before
scoring, so that storage is the same on both sides. For each format and each crops value
(load_detector(crops=N): N windows at native resolution, mean logit; 1 is the centre crop):
AUC, the share of reals flagged and of fakes caught at the model's own threshold (spec.threshold,
calibrated for the model's own number of crops), and images/s of scoring alone (preprocessing
and forward passes; decoding and re-encoding are not timed). Every crops value scores the same
decoded batch in turn, so background load falls on all of them alike. Prints a Markdown table;
--json FILE also writes the figures, the images scored and their scores.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from spotfake.detect import load_detector
from spotfake.errors import ImageReadError
from spotfake.evaluate.metrics import detection_metrics
from spotfake.io import iter_image_paths, probe, read_image
from spotfake.io.read import read_image_bytes
from spotfake.models.base import Detector

FORMATS = ("png", "webp")
WEBP_QUALITY = 90
SEED = 0


@dataclass
class Folder:
    """One input folder: how many image files it holds, how many were kept, how many scored."""

    path: str
    side: str  # "real" or "fake"
    images: int
    unreadable: int  # refused by the header probe
    kept: int  # shorter side >= --min-side
    used: int = 0  # in the fixed subset


@dataclass
class Row:
    """One format x crops value: the metrics at the model's threshold and the scoring speed."""

    format: str
    crops: int
    auc: float | None
    reals_flagged: float | None
    fakes_caught: float | None
    images: int
    seconds: float
    scores: list[float | None] = field(default_factory=list)  # reals, fakes (None: undecoded)

    @property
    def rate(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("nan")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the benchmark."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--model", required=True, help="shipped model name or weights file")
    parser.add_argument("--reals", nargs="+", required=True, help="folders of real images")
    parser.add_argument("--fakes", nargs="+", required=True, help="folders of generated images")
    parser.add_argument("--crops", default="1,4,9", help="comma-separated crops per image")
    parser.add_argument("--formats", default="png,webp", help="png (as stored), webp (q90)")
    parser.add_argument("--limit", type=int, default=200, help="images per side at most")
    parser.add_argument("--min-side", type=int, default=768, help="shorter side kept, pixels")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--batch-size", type=int, default=16, help="images per score() call")
    parser.add_argument("--workers", type=int, default=2, help="decode (and re-encode) threads")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: its)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    try:
        args.crops = [int(part) for part in args.crops.split(",") if part.strip()]
    except ValueError:
        parser.error(f"--crops {args.crops!r}: expected integers such as 1,4,9")
    if not args.crops or min(args.crops) < 1:
        parser.error("--crops: each value must be >= 1")
    args.formats = [part.strip() for part in args.formats.split(",") if part.strip()]
    unknown = [f for f in args.formats if f not in FORMATS]
    if not args.formats or unknown:
        parser.error(f"--formats: choose among {', '.join(FORMATS)} (got {unknown or 'none'})")
    if args.limit < 1 or args.batch_size < 1:
        parser.error("--limit and --batch-size must be >= 1")
    return args


def large_images(folder: str, side: str, min_side: int) -> tuple[Folder, list[str]]:
    """The image files of a folder (not recursive) whose shorter side is >= min_side, read
    from their headers only."""
    if not os.path.isdir(folder):
        raise SystemExit(f"{folder}: not a folder")
    paths = list(iter_image_paths(folder, recursive=False))
    kept, unreadable = [], 0
    for path in paths:
        try:
            record = probe(path)
        except ImageReadError:
            unreadable += 1
            continue
        if min(record.width or 0, record.height or 0) >= min_side:
            kept.append(path)
    return Folder(folder, side, len(paths), unreadable, len(kept)), kept


def fixed_subset(items: list[str], limit: int) -> list[str]:
    """At most `limit` items, a seeded random choice (the same every run), in listing order."""
    if len(items) <= limit:
        return items
    keep = np.sort(np.random.default_rng(SEED).permutation(len(items))[:limit])
    return [items[i] for i in keep]


def select(
    folders: Sequence[str], side: str, min_side: int, limit: int
) -> tuple[list[Folder], list[str]]:
    """Every folder's counts, and the fixed subset of the side's large images (pooled)."""
    counts, pooled, owner = [], [], []
    for folder in folders:
        count, kept = large_images(folder, side, min_side)
        counts.append(count)
        pooled += kept
        owner += [len(counts) - 1] * len(kept)
    chosen = set(fixed_subset(pooled, limit))
    for path, index in zip(pooled, owner, strict=True):
        counts[index].used += path in chosen
    return counts, [path for path in pooled if path in chosen]


def webp_roundtrip(pixels: np.ndarray, quality: int = WEBP_QUALITY) -> np.ndarray:
    """The image encoded in memory as lossy WebP at `quality` (Pillow) and decoded again."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "WEBP", quality=quality)
    return read_image_bytes(buffer.getvalue(), f"webp-q{quality}").pixels


def load(path: str, fmt: str) -> np.ndarray | None:
    """RGB pixels of a file as scored in `fmt` (None when it does not decode, or when WebP
    cannot hold it: at most 16383 px a side)."""
    try:
        pixels = read_image(path).pixels
        return webp_roundtrip(pixels) if fmt == "webp" else pixels
    except (ImageReadError, OSError, ValueError):
        return None


def batches(
    paths: list[str], fmt: str, batch_size: int, workers: int
) -> Iterator[tuple[list[int], list[np.ndarray]]]:
    """(indices, pixels) of consecutive batches, decoded in threads; unreadable files left out."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for start in range(0, len(paths), batch_size):
            chunk = paths[start : start + batch_size]
            loaded = list(pool.map(lambda p: load(p, fmt), chunk))
            indices = [start + i for i, pixels in enumerate(loaded) if pixels is not None]
            yield indices, [pixels for pixels in loaded if pixels is not None]


def measure(
    detectors: dict[int, Detector],
    fmt: str,
    paths: list[str],
    labels: np.ndarray,
    args: argparse.Namespace,
) -> tuple[list[Row], int]:
    """One row per crops value for one format; also how many files did not decode."""
    scores = {crops: np.full(len(paths), np.nan) for crops in detectors}
    seconds = dict.fromkeys(detectors, 0.0)
    for indices, pixels in batches(paths, fmt, args.batch_size, args.workers):
        if not pixels:
            continue
        for crops, detector in detectors.items():
            start = time.perf_counter()
            scores[crops][indices] = detector.score(pixels)
            seconds[crops] += time.perf_counter() - start
    decoded = ~np.isnan(scores[next(iter(detectors))])
    rows = []
    for crops, detector in detectors.items():
        metrics = detection_metrics(
            labels[decoded], scores[crops][decoded], detector.spec.threshold
        )
        real, fake = metrics["real_accuracy"], metrics["fake_accuracy"]
        rows.append(
            Row(
                fmt,
                crops,
                metrics["auc"],
                None if real is None else 1.0 - real,
                fake,
                int(decoded.sum()),
                seconds[crops],
                [None if np.isnan(s) else float(s) for s in scores[crops]],
            )
        )
    return rows, int((~decoded).sum())


def warm_up(detectors: dict[int, Detector], paths: list[str], args: argparse.Namespace) -> None:
    """One batch through every detector before anything is timed."""
    for _, pixels in batches(paths[: args.batch_size], "png", args.batch_size, args.workers):
        for detector in detectors.values():
            detector.score(pixels)


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def markdown(rows: list[Row]) -> str:
    """The table: one row per format x crops value."""
    lines = [
        "| format | crops | AUC | reals flagged | fakes caught | images/s |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        cells = [row.format, str(row.crops), _share(row.auc), _share(row.reals_flagged)]
        cells += [_share(row.fakes_caught), f"{row.rate:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _folder_line(folder: Folder, min_side: int) -> str:
    line = (
        f"{folder.path}: {folder.images} images, {folder.kept} kept (shorter side >= "
        f"{min_side}), {folder.used} used"
    )
    return line + (f", {folder.unreadable} unreadable" if folder.unreadable else "")


def load_detectors(args: argparse.Namespace) -> dict[int, Detector]:
    """One detector per crops value (load_detector(crops=N)); SystemExit where one cannot."""
    detectors = {}
    for crops in dict.fromkeys(args.crops):
        try:
            detectors[crops] = load_detector(args.model, device=args.device, crops=crops)
        except ValueError as exc:
            raise SystemExit(str(exc)) from exc
    return detectors


def header_lines(
    args: argparse.Namespace,
    model: Detector,
    folders: list[Folder],
    found: tuple[int, int, dict[str, int]],
) -> list[tuple[str, str]]:
    """(key, value) lines above the table; `found`: reals, fakes, and per format how many of
    them did not decode (left out of that format's rows)."""
    import torch

    from spotfake.detect import pick_device

    spec, (reals, fakes, undecoded) = model.spec, found
    missing = ", ".join(f"{n} in {fmt}" for fmt, n in undecoded.items() if n)
    lines = [
        (
            "model",
            f"{args.model} ({spec.display_name}, crop {spec.input.crop}, own crops "
            f"{spec.input.crops}, threshold {spec.threshold:.3f})",
        ),
        (
            "images",
            f"{reals} reals + {fakes} fakes (a fixed subset of at most {args.limit} per side, "
            f"seed {SEED})" + (f"; did not decode, left out: {missing}" if missing else ""),
        ),
    ]
    for side in ("real", "fake"):
        for index, folder in enumerate(f for f in folders if f.side == side):
            lines.append((f"{side}s" if index == 0 else "", _folder_line(folder, args.min_side)))
    lines += [
        ("formats", f"png: as stored; webp: re-encoded in memory, quality {WEBP_QUALITY}"),
        (
            "threads",
            f"torch {torch.get_num_threads()}, decode workers {args.workers}, batch "
            f"{args.batch_size}, device {pick_device(args.device)}",
        ),
    ]
    return lines


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Select the large images, score them per format and crops value, print and return."""
    import torch

    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    model = load_detector(args.model, device="cpu")  # as saved: its own crops, for the header
    detectors = load_detectors(args)
    real_folders, reals = select(args.reals, "real", args.min_side, args.limit)
    fake_folders, fakes = select(args.fakes, "fake", args.min_side, args.limit)
    if not reals or not fakes:
        raise SystemExit(
            f"{len(reals)} reals and {len(fakes)} fakes with a shorter side >= {args.min_side}: "
            "both sides are needed"
        )
    paths = reals + fakes
    labels = np.array([0] * len(reals) + [1] * len(fakes))
    warm_up(detectors, paths, args)
    rows: list[Row] = []
    undecoded: dict[str, int] = {}
    for fmt in args.formats:
        found, undecoded[fmt] = measure(detectors, fmt, paths, labels, args)
        rows += found
    load_after = os.getloadavg()[0]
    folders = real_folders + fake_folders
    lines = header_lines(args, model, folders, (len(reals), len(fakes), undecoded))
    lines.append(
        (
            "cpus",
            f"{os.cpu_count()} (1-min load average {load_before:.2f} before, "
            f"{load_after:.2f} after)",
        )
    )
    for key, value in lines:
        print(f"{key:<14} {value}")
    print()
    print(markdown(rows))
    print(
        "\nreals flagged, fakes caught: at the model's own threshold. images/s: scoring only "
        "(preprocessing and forward passes), not decoding or re-encoding."
    )
    report = {
        "model": args.model,
        "architecture": model.spec.display_name,
        "crop": model.spec.input.crop,
        "own_crops": model.spec.input.crops,
        "threshold": model.spec.threshold,
        "min_side": args.min_side,
        "limit": args.limit,
        "seed": SEED,
        "webp_quality": WEBP_QUALITY,
        "folders": [asdict(f) for f in folders],
        "images": {"real": reals, "fake": fakes},
        "undecoded": undecoded,
        "load_average": [load_before, load_after],
        "torch_threads": torch.get_num_threads(),
        "batch_size": args.batch_size,
        "rows": [
            asdict(row) | {"images_per_s": row.rate if row.seconds > 0 else None} for row in rows
        ],
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return report


if __name__ == "__main__":
    main()
