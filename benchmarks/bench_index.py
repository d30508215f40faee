"""Index throughput: files/s of `spotfake index` on JPEG and PNG folders and on a zip archive.

    .venv/bin/python benchmarks/bench_index.py [--n 20000] [--zip ../shared/data/cifake-train.zip]

Builds N small JPEGs and N small PNGs in a temporary folder (GenImage layout), then indexes them
with 1 and with all worker processes, then re-indexes (nothing changed: only stat calls), and
indexes the zip archive in place when it exists. Figures are wall-clock, headers only, warm
page cache (the files were just written or read), so they measure the CPU cost of probing.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from spotfake.data.layouts import discover
from spotfake.data.manifest import probe_entries
from spotfake.records import ImageRecord


def build(root: Path, n: int) -> None:
    """n JPEGs (q96, sizes vary) as reals and n PNGs (one size) as fakes."""
    rng = np.random.default_rng(0)
    tiles = [rng.integers(0, 255, (64, 64, 3), dtype=np.uint8) for _ in range(8)]
    for label in ("nature", "ai"):
        (root / "gen" / "train" / label).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        tile = Image.fromarray(tiles[i % len(tiles)])
        tile.resize((64 + i % 32, 64)).save(root / f"gen/train/nature/{i}.JPEG", quality=96)
        tile.save(root / f"gen/train/ai/{i}.png", compress_level=1)


def timed(
    dataset: str, workers: int, previous: list[ImageRecord] | None = None
) -> tuple[float, list[ImageRecord]]:
    """Seconds to discover and probe a dataset, and its records."""
    start = time.perf_counter()
    records = probe_entries(discover(dataset), previous, workers=workers)
    return time.perf_counter() - start, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="files per format")
    parser.add_argument("--zip", default="../shared/data/cifake-train.zip")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        start = time.perf_counter()
        build(root, args.n)
        print(f"built {2 * args.n} files in {time.perf_counter() - start:.1f} s")
        for workers in sorted({1, cores}):
            seconds, records = timed(str(root), workers)
            rate = len(records) / seconds
            print(f"folder, {len(records)} JPEG+PNG, {workers} worker(s): {rate:,.0f} files/s")
        seconds, _ = timed(str(root), cores, previous=records)
        print(f"folder, re-index with nothing changed: {len(records) / seconds:,.0f} files/s")
    if os.path.exists(args.zip):
        for workers in sorted({1, cores}):
            seconds, records = timed(args.zip, workers)
            rate = len(records) / seconds
            name = os.path.basename(args.zip)
            print(f"zip {name}, {len(records)} members, {workers} worker(s): {rate:,.0f} files/s")
    else:
        print(f"{args.zip} not found: zip figure skipped")


if __name__ == "__main__":
    main()
