"""Throughput of detection: decode only, the model, predict end to end, and the CLI with startup.

Run:  .venv/bin/python benchmarks/bench_detect.py [--n 200] [--model default] [--spectral]
      [--crops N] [--backend torch|onnx|both] [--threads N]

Makes N synthetic 512x512 JPEGs (quality 90, gradients plus noise so they do not compress to
nothing) in a temporary folder, warms each stage up, then prints images/s, batch size, thread
counts and peak RSS. Figures depend on the machine and on what else runs on it. --crops N
scores N crop windows per image instead of the model's own number (multi-crop inference).
--backend both (the default) times each stage on PyTorch, then on ONNX Runtime, in one run:
"model" is Detector.score on images decoded beforehand (views, forward, aggregation), "predict"
adds decoding and provenance in threads, "CLI" is `spotfake detect` in its own process (its
RSS is that process's own peak, so it compares the backends' memory).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

import spotfake

FALLBACK_MODEL = "cnn-efficientnet-lite0"
SIDE = 512


@dataclass
class Figure:
    """One row of the results table."""

    stage: str
    images: int
    seconds: float
    note: str = ""
    rss_mib: float | None = None  # peak so far in this process, or the CLI process's own peak

    @property
    def rate(self) -> float:
        return self.images / self.seconds if self.seconds > 0 else float("nan")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="number of synthetic images")
    parser.add_argument("--model", default="default", help="shipped name or weights file")
    parser.add_argument("--spectral", action="store_true", help="also time spectral-logreg")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="decode threads")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--crops", type=int, default=None, help="crop windows per image (default: the model's)"
    )
    parser.add_argument(
        "--backend",
        choices=["torch", "onnx", "both"],
        default="both",
        help="what runs the network; both: each stage on torch, then on onnx",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads of the network (torch and ONNX Runtime alike; default: torch's)",
    )
    parser.add_argument("--no-cli", action="store_true", help="skip the CLI subprocess run")
    parser.add_argument(
        "--check-adversarial",
        action="store_true",
        help="also time predict with the shipped check for attacks (--check-adversarial)",
    )
    return parser.parse_args(argv)


def make_images(folder: Path, n: int, seed: int = 0) -> list[str]:
    """N distinct 512x512 JPEGs (q90): smooth gradients, a ripple and Gaussian noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32) / SIDE
    paths = []
    for index in range(n):
        angle, freq = rng.uniform(0, np.pi), rng.uniform(4, 40)
        ramp = np.cos(angle) * xx + np.sin(angle) * yy
        ripple = np.sin(2 * np.pi * freq * ramp)
        channels = [
            rng.uniform(40, 200) + 60 * ramp * rng.uniform(-1, 1) + 20 * ripple for _ in range(3)
        ]
        image = np.stack(channels, axis=-1) + rng.normal(0, 12, (SIDE, SIDE, 3))
        path = folder / f"img_{index:05d}.jpg"
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(str(path))
    return paths


def timed(run: Callable[[], Any], images: int, stage: str, note: str = "") -> Figure:
    """Wall time of one call of run() over a given number of images."""
    start = time.perf_counter()
    run()
    return Figure(stage, images, time.perf_counter() - start, note, peak_rss_mib())


def bench_decode(paths: list[str]) -> Figure:
    """spotfake.io.read_image over every file, one thread."""
    from spotfake.io import read_image

    for path in paths[:4]:
        read_image(path)

    def run() -> None:
        for path in paths:
            read_image(path)

    return timed(run, len(paths), "decode (read_image)", "1 thread")


def pick_model(
    name: str,
    device: str,
    crops: int | None = None,
    backend: str = "torch",
    folder: Path | None = None,
) -> tuple[Any, str, Path | None]:
    """(detector, note, weights file for the CLI) of the model asked for on ``backend``, with
    `crops` windows per image if given; an untrained fallback, saved in ``folder``, if no default.
    """
    from spotfake.detect import embedded_models, load_detector
    from spotfake.models.registry import create_detector

    if name == "default" and "default" not in embedded_models():
        model_file = Path(folder or tempfile.mkdtemp()) / "model" / FALLBACK_MODEL
        if not model_file.with_suffix(".safetensors").is_file():
            create_detector(FALLBACK_MODEL).save(model_file)
        note = f"no embedded default: untrained {FALLBACK_MODEL}"
        detector = load_detector(model_file, device=device, crops=crops, backend=backend)
        return detector, note, model_file.with_suffix(".safetensors")
    detector = load_detector(name, device=device, crops=crops, backend=backend)
    return detector, "", None if name == "default" else Path(name)


def bench_model(detector: Any, pixels: list[np.ndarray], args: argparse.Namespace) -> Figure:
    """Detector.score on decoded images, a batch at a time: the model stage alone."""
    detector.score(pixels[: args.batch_size])

    def run() -> None:
        for start in range(0, len(pixels), args.batch_size):
            detector.score(pixels[start : start + args.batch_size])

    backend = getattr(detector, "backend", "torch")
    return timed(run, len(pixels), f"model {backend}", "decoded beforehand")


def bench_predict(
    detector: Any, paths: list[str], args: argparse.Namespace, note: str, guard: Any = None
) -> Figure:
    """Detector.predict end to end (decode in threads + score), after a one-batch warm-up;
    with ``guard``, each image is also checked for an attack (evidence.adversarial)."""
    options = {"batch_size": args.batch_size, "adversarial": guard}
    list(spotfake.iter_predict(detector, paths[: args.batch_size], **options))

    def run() -> None:
        list(spotfake.iter_predict(detector, paths, workers=args.workers, **options))

    stage = f"predict {getattr(detector, 'backend', 'torch')} {detector.spec.display_name}"
    if guard is not None:
        stage += f" + check {guard.spec.display_name}"
    return timed(run, len(paths), stage, note)


def fitted_spectral(seed: int = 0) -> Any:
    """spectral-logreg fitted on a few random spectra: enough to run, speed needs no real fit."""
    from spotfake.models.registry import create_detector
    from spotfake.models.spectral import SpectralDetector

    rng = np.random.default_rng(seed)
    detector = create_detector("spectral-logreg")
    assert isinstance(detector, SpectralDetector)
    detector.fit(rng.random((8, detector.n_bins)), np.array([0, 1] * 4))
    return detector


def bench_cli(
    folder: Path, model_file: Path | None, args: argparse.Namespace, backend: str = "torch"
) -> Figure:
    """`spotfake detect DIR --format jsonl -q -o /dev/null --backend B` once, with startup and
    model load (the onnx graph already cached by the in-process stages)."""
    exe = shutil.which("spotfake", path=str(Path(sys.executable).parent)) or "spotfake"
    command = [exe, "detect", str(folder), "--format", "jsonl", "-q", "-o", os.devnull]
    command += ["--batch-size", str(args.batch_size), "--workers", str(args.workers)]
    command += ["--backend", backend]
    if args.crops is not None:
        command += ["--crops", str(args.crops)]
    if model_file is not None:
        command += ["--model", str(model_file)]
    # RUSAGE_CHILDREN would report this (larger) process's peak, inherited through fork, so
    # the CLI's own peak comes from GNU time where it is installed.
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    rss_file = folder.parent / "cli_rss.txt"
    prefix = [gnu_time, "-f", "%M", "-o", str(rss_file)] if gnu_time else []
    start = time.perf_counter()
    env = dict(os.environ)
    if args.threads is not None:
        env["OMP_NUM_THREADS"] = str(args.threads)  # torch's and ONNX Runtime's thread count
    done = subprocess.run(prefix + command, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - start
    note = "startup + load included" if done.returncode == 0 else f"exit {done.returncode}"
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
    rss = float(rss_file.read_text().split()[-1]) / 1024 if rss_file.is_file() else None
    count = len(list(folder.glob("*.jpg")))
    return Figure(f"CLI spotfake detect {backend}", count, seconds, note, rss)


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB (ru_maxrss is KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(figures: list[Figure], header: dict[str, str]) -> None:
    """Settings, then one aligned row per stage."""
    for key, value in header.items():
        print(f"{key:<14} {value}")
    print()
    print(f"{'stage':<32} {'images':>6} {'seconds':>8} {'images/s':>9} {'RSS MiB':>8}  note")
    for fig in figures:
        rss = "n/a" if fig.rss_mib is None else f"{fig.rss_mib:.0f}"
        row = f"{fig.stage:<32} {fig.images:>6} {fig.seconds:>8.2f} {fig.rate:>9.1f} {rss:>8}"
        print(f"{row}  {fig.note}")
    print("\nRSS MiB: peak of this process so far (cumulative), or the CLI process's own peak.")


def describe_windows(policy: Any, side: int) -> str:
    """How many windows the policy scores, and how many the benchmark's images get."""
    text = f"{policy.crops} per image (crop {policy.crop})"
    if policy.crops > 1 and policy.crops_min_side:
        used = policy.crops if side >= policy.crops_min_side else 1
        text = (
            f"{policy.crops} on images of shorter side >= {policy.crops_min_side} px, else "
            f"the centre crop (crop {policy.crop}): {used} on these {side} px images"
        )
    return text


def main(argv: list[str] | None = None) -> None:
    """Generate images, time each stage on each backend, print the figures."""
    import torch

    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)  # ONNX Runtime follows torch's setting
    backends = ["torch", "onnx"] if args.backend == "both" else [args.backend]
    load_before = os.getloadavg()[0]
    figures: list[Figure] = []
    loads: list[str] = []
    with tempfile.TemporaryDirectory(prefix="spotfake-bench-") as tmp:
        folder = Path(tmp) / "images"
        folder.mkdir()
        start = time.perf_counter()
        paths = make_images(folder, args.n)
        made = time.perf_counter() - start
        figures.append(bench_decode(paths))
        from spotfake.io import read_image

        pixels = [read_image(path).pixels for path in paths]
        for backend in backends:
            start = time.perf_counter()
            detector, note, model_file = pick_model(
                args.model, args.device, args.crops, backend, Path(tmp)
            )
            loads.append(f"{backend} {time.perf_counter() - start:.1f}s")
            figures.append(bench_model(detector, pixels, args))
            figures.append(bench_predict(detector, paths, args, note))
            if args.check_adversarial:
                from spotfake.detect import adversarial_guard

                guard = adversarial_guard(detector)
                figures.append(bench_predict(detector, paths, args, note, guard))
                figures.append(bench_predict(detector, paths, args, note))  # again, for the noise
            if args.spectral and backend == backends[0]:
                figures.append(
                    bench_predict(fitted_spectral(), paths, args, "fitted on 8 random spectra")
                )
            if not args.no_cli:
                figures.append(bench_cli(folder, model_file, args, backend))
    header = {
        "images": f"{args.n} x {SIDE}x{SIDE} JPEG q90 (made in {made:.1f}s)",
        "batch size": str(args.batch_size),
        "crops": describe_windows(detector.spec.input, SIDE),
        "threads": f"torch {torch.get_num_threads()} (ONNX Runtime the same), decode workers "
        f"{args.workers}",
        "model load": ", ".join(loads) + " (in this process; onnx: from the cache unless new)",
        "cpus": f"{os.cpu_count()} (1-min load average {load_before:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after)",
    }
    print_table(figures, header)


if __name__ == "__main__":
    main()
