"""Throughput of `spotfake detect` locally and on Ray (1 and 2 actors) on the same images.

Run:  .venv/bin/python benchmarks/bench_ray.py [--n 200] [--model default] [--batch-size 16]
      [--actor-threads 1] [--actors 1 2] [--no-steady]

Makes N synthetic 512x512 JPEGs (q90, gradients, a ripple and noise) in a temporary folder, then
prints images/s of:
- the CLI end to end, each run a fresh process (start-up included: importing torch, loading the
  model; with --engine ray also starting a local Ray and its actors): local, then --engine ray
  with each --actors count;
- the steady rate in this process (start-up excluded): the records after the first over the
  time from the first record to the last, for spotfake.iter_predict (model already loaded;
  torch's default threads, then 1) and for spotfake.engines.ray.iter_predict_on_ray on an already
  started local Ray (each run starts its actors, which load the model, before its first record;
  records arrive a block at a time, so the rate after the first is somewhat flattered);
and compares each Ray run's records with the local run's: paths, labels, errors, and the largest
score difference (scores are rounded to 6 decimals, and torch's thread count changes the float
sums, so one rounding step, 1e-6, can differ). Needs Ray (spotfake[ray]). Figures depend on the
machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from bench_detect import SIDE, make_images  # the same synthetic JPEGs (benchmarks/ on the path)

TOLERANCE = 1e-6 + 1e-9  # one step of the 6-decimal rounding, plus float error


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of synthetic images")
    parser.add_argument("--model", default=None, help="shipped name or weights file")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2], help="actor counts")
    parser.add_argument("--actor-threads", type=int, default=1, help="CPUs per actor")
    parser.add_argument("--no-steady", action="store_true", help="skip the in-process rates")
    return parser.parse_args(argv)


def cli_run(
    folder: Path, out: Path, args: argparse.Namespace, *extra: str, threads: int | None = None
) -> float:
    """Wall time of one `spotfake detect` process over the folder, records to out; threads:
    OMP_NUM_THREADS for it (torch's thread count)."""
    command = [sys.executable, "-m", "spotfake", "detect", str(folder), "-o", str(out), "-q"]
    command += ["--batch-size", str(args.batch_size), "--device", "cpu", *extra]
    command += ["--model", args.model] if args.model else []
    start = time.perf_counter()
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"spotfake detect failed ({done.returncode}):\n{done.stderr}")
    return seconds


def compare_records(path: Path, reference: Path) -> str:
    """How two JSON lines files' records compare: the same but for scores within TOLERANCE
    (with the largest difference), or the first difference."""

    def read(p: Path) -> list[dict[str, Any]]:
        return [json.loads(line) for line in p.read_text().splitlines()]

    mine, theirs = read(path), read(reference)
    if [r["path"] for r in mine] != [r["path"] for r in theirs]:
        return "DIFFERENT paths"
    largest = 0.0
    for a, b in zip(mine, theirs, strict=True):
        score_a, score_b = a.pop("score"), b.pop("score")
        if a != b or (score_a is None) != (score_b is None):
            return f"DIFFERENT record for {a['path']}"
        if score_a is not None:
            largest = max(largest, abs(score_a - score_b))
    verdict = "same records" if largest <= TOLERANCE else "DIFFERENT scores"
    return f"{verdict}, max score difference {largest:.1g}"


def steady_rate(records: Iterable[Any]) -> str:
    """Images/s after the first record (start-up excluded), and with start-up."""
    start = time.perf_counter()
    first = start
    count = 0
    for count, _ in enumerate(records, start=1):
        if count == 1:
            first = time.perf_counter()
    end = time.perf_counter()
    rate = (count - 1) / (end - first) if count > 1 and end > first else float("nan")
    return (
        f"{rate:7.1f} images/s  ({count / (end - start):.1f} with start-up; first record "
        f"after {first - start:.1f} s)"
    )


def bench_cli(folder: Path, work: Path, args: argparse.Namespace) -> None:
    """The CLI end to end: local, then Ray with each actor count."""
    reference = work / "local.jsonl"
    seconds = cli_run(folder, reference, args)
    print(f"{'CLI local':<34} {args.n / seconds:7.1f} images/s  ({seconds:.1f} s)")
    seconds = cli_run(folder, work / "local1.jsonl", args, threads=1)
    label = "CLI local, OMP_NUM_THREADS=1"
    print(f"{label:<34} {args.n / seconds:7.1f} images/s  ({seconds:.1f} s)")
    for actors in args.actors:
        out = work / f"ray{actors}.jsonl"
        extra = ["--engine", "ray", "--actors", str(actors)]
        seconds = cli_run(folder, out, args, *extra, "--actor-threads", str(args.actor_threads))
        label = f"CLI --engine ray, {actors} actor(s)"
        verdict = compare_records(out, reference)
        print(f"{label:<34} {args.n / seconds:7.1f} images/s  ({seconds:.1f} s; {verdict})")


def bench_steady(folder: Path, args: argparse.Namespace) -> None:
    """In this process, start-up excluded: iter_predict, then Ray with each actor count."""
    import ray
    import torch

    import spotfake
    from spotfake.engines.ray import RayJob, iter_predict_on_ray
    from spotfake.io import iter_image_paths

    paths = list(iter_image_paths([str(folder)]))
    detector = spotfake.load_detector(args.model, device="cpu")

    for threads in (torch.get_num_threads(), 1):
        torch.set_num_threads(threads)
        records = spotfake.iter_predict(detector, paths, batch_size=args.batch_size)
        label = f"steady local, {threads} torch thread(s)"
        print(f"{label:<34} {steady_rate(records)}")
    cpus = max(args.actors) * args.actor_threads
    start = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, logging_level="WARNING")
    print(f"{'  (ray.init, local Ray)':<34} {time.perf_counter() - start:7.1f} s, {cpus} CPUs")
    try:
        for actors in args.actors:
            job = RayJob(model=args.model, workers=actors, threads=args.actor_threads,
                         batch_size=args.batch_size)  # fmt: skip
            label = f"steady Ray, {actors} actor(s)"
            print(f"{label:<34} {steady_rate(iter_predict_on_ray(paths, job))}")
    finally:
        ray.shutdown()


def main(argv: list[str] | None = None) -> None:
    """Make the images, then print the figures."""
    args = parse_args(argv)
    load = os.getloadavg()[0]
    print(f"{args.n} JPEGs {SIDE}x{SIDE}, batch {args.batch_size}, model {args.model or 'default'}"
          f", {os.cpu_count()} CPUs, load average {load:.1f}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench_ray_") as tmp:
        work = Path(tmp)
        folder = work / "images"
        folder.mkdir()
        make_images(folder, args.n)
        bench_cli(folder, work, args)
        if not args.no_steady:
            bench_steady(folder, args)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
