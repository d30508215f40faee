"""What a kill costs `spotfake detect --resume`: one run whole, one killed halfway and resumed.

Run:  .venv/bin/python benchmarks/bench_resume.py [--n 1000] [--side 256] [--model default]
      [--batch-size 16] [--kill-at 0.5]

Makes N synthetic JPEGs (q90, gradients plus noise) in a temporary folder, then runs the CLI
(each run a fresh process, start-up included): once uninterrupted; once killed with SIGKILL as
soon as its -o file holds kill-at x N records, then again with --resume into the same file.
Prints the wall time and images/s of each, the records the resume found and redid, whether every
image appears exactly once, and whether the records equal the uninterrupted run's. Figures
depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of synthetic images")
    parser.add_argument("--side", type=int, default=256, help="image width and height")
    parser.add_argument("--model", default=None, help="shipped name or weights file")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="decode threads")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--kill-at", type=float, default=0.5, help="fraction written at the kill")
    return parser.parse_args(argv)


def make_images(folder: Path, n: int, side: int, seed: int = 0) -> None:
    """N distinct side x side JPEGs (q90): a random gradient per channel plus Gaussian noise."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.0, 1.0, side, dtype=np.float32)
    for index in range(n):
        channels = [
            rng.uniform(40, 200) + 60 * rng.uniform(-1, 1) * (ramp[None, :] + ramp[:, None]) / 2
            for _ in range(3)
        ]
        image = np.stack(channels, axis=-1) + rng.normal(0, 12, (side, side, 3))
        pixels = np.clip(image, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(folder / f"img_{index:05d}.jpg", quality=90)


def cli(folder: Path, out: Path, args: argparse.Namespace, *extra: str) -> list[str]:
    """The `spotfake detect` command line of every run."""
    command = [sys.executable, "-m", "spotfake", "detect", str(folder), "-o", str(out)]
    command += ["--batch-size", str(args.batch_size), "--workers", str(args.workers)]
    command += ["--device", args.device, *extra]
    return command + (["--model", args.model] if args.model else [])


def run_whole(command: list[str]) -> tuple[float, str]:
    """Wall time and stderr of a run to its end."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"spotfake detect failed ({done.returncode}):\n{done.stderr}")
    return seconds, done.stderr


def run_killed(command: list[str], out: Path, records: int) -> float:
    """Wall time of a run killed with SIGKILL once `out` holds `records` complete lines."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        while process.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= records:
                process.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
    finally:
        process.kill()
        process.wait()
    return time.perf_counter() - start


def by_path(out: Path) -> tuple[Counter[str], dict[str, Any]]:
    """How often each path appears in a JSON lines file, and its (last) record."""
    records = [json.loads(line) for line in out.read_text().splitlines()]
    return Counter(r["path"] for r in records), {r["path"]: r for r in records}


@dataclass
class Result:
    """What the three runs measured."""

    whole_s: float
    killed_s: float
    resume_s: float
    kept: int  # complete records in the file at the kill
    cut: bool  # whether the kill left a cut last line
    note: str  # the resumed run's stderr
    counts: Counter[str]  # records per path in the resumed file
    records: dict[str, Any]
    reference: dict[str, Any]  # the uninterrupted run's records


def measure(args: argparse.Namespace, work: Path) -> Result:
    """Make the images, run the CLI whole, then killed and resumed into another file."""
    folder = work / "images"
    folder.mkdir()
    make_images(folder, args.n, args.side)
    whole_out, resumed_out = work / "whole.jsonl", work / "resumed.jsonl"
    whole_s, _ = run_whole(cli(folder, whole_out, args, "-q"))
    at = round(args.kill_at * args.n)
    killed_s = run_killed(cli(folder, resumed_out, args, "-q"), resumed_out, at)
    raw = resumed_out.read_bytes()
    kept, cut = raw.count(b"\n"), bool(raw) and not raw.endswith(b"\n")
    resume_s, note = run_whole(cli(folder, resumed_out, args, "--resume"))
    counts, records = by_path(resumed_out)
    reference = by_path(whole_out)[1]
    return Result(whole_s, killed_s, resume_s, kept, cut, note, counts, records, reference)


def report(args: argparse.Namespace, result: Result, load_before: float) -> None:
    """Print the figures, one line each."""
    r, n = result, args.n
    model = args.model or "the embedded default"
    print(
        f"{n} JPEGs {args.side}x{args.side} q90, batch {args.batch_size}, {args.workers} "
        f"decode threads, device {args.device}, model {model}"
    )
    print(
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, "
        f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )
    print(f"uninterrupted run  {r.whole_s:6.1f} s  {n / r.whole_s:5.1f} images/s (start-up in)")
    print(f"killed run         {r.killed_s:6.1f} s  {r.kept} records written, cut line: {r.cut}")
    print(
        f"resumed run        {r.resume_s:6.1f} s  {(n - r.kept) / r.resume_s:5.1f} images/s, "
        f"{n - r.kept} images scored"
    )
    total = r.killed_s + r.resume_s
    print(f"killed + resumed   {total:6.1f} s  ({total - r.whole_s:+.1f} s against uninterrupted)")
    said = [line for line in r.note.splitlines() if "resuming" in line or "cut line" in line]
    print("resume said:", " | ".join(line.removeprefix("spotfake detect: ") for line in said))
    print(
        f"records redone: {int(r.cut)} written then dropped (a cut line); images scored but "
        f"not yet written at the kill: at most one batch ({args.batch_size}), unseen here"
    )
    once = len(r.counts) == n and set(r.counts.values()) == {1}
    print(
        f"every image exactly once: {once} ({len(r.counts)} paths, "
        f"{sum(r.counts.values())} records)"
    )
    gap = max(abs(r.records[p]["score"] - r.reference[p]["score"]) for p in r.reference)
    same = all(r.records[p]["label"] == r.reference[p]["label"] for p in r.reference)
    print(f"against the uninterrupted run: same labels {same}, largest score difference {gap:.2g}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_resume_") as temporary:
        result = measure(args, Path(temporary))
    report(args, result, load_before)


if __name__ == "__main__":
    main()
