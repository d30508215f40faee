"""Throughput of detection on a CUDA GPU: AMP against float32, and nvJPEG against CPU decoding.

Run:  .venv/bin/python benchmarks/bench_gpu.py [--n 1000] [--batch-size 64] [--model default]
      [--workers 8] [--device cuda]

Without a CUDA device it prints why and exits 0 (nothing to measure). ``--device cpu`` runs the
same stages on the CPU (the device decoder is then torchvision's libjpeg-turbo): a check that
the script works, not a GPU figure.

Images are bench_detect's N synthetic 512x512 JPEGs (q90). Stages, each after a warm-up batch:
"decode" is Pillow (read_image, one thread) against the batched device decoder; "model" is
Detector.score on images decoded beforehand, float32 and AMP (fp16; predict runs in fp16 too);
"predict" is iter_predict end to end with CPU decoding in --workers threads, then with
``decode="device"``. Agreement: the largest logit change AMP makes against float32, and the
largest score change device decoding makes against Pillow's pixels. Peak GPU memory from
torch.cuda.max_memory_allocated.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from spotfake.detect import iter_predict, load_detector

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_detect import SIDE, Figure, make_images, print_table, timed


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options of the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="number of synthetic images")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=8, help="CPU decode threads")
    parser.add_argument("--model", default="default", help="shipped name or weights file")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu")
    return parser.parse_args(argv)


def cuda_missing(device: str) -> str | None:
    """Why the benchmark cannot run on ``device``, or None."""
    if not device.startswith("cuda"):
        return None
    import torch

    if not torch.cuda.is_available():
        return "torch sees no CUDA device"
    return None


def batched(items: list[Any], size: int) -> list[list[Any]]:
    """Consecutive slices of at most ``size`` items."""
    return [items[start : start + size] for start in range(0, len(items), size)]


def synchronise(device: str) -> None:
    """Wait for the device's queued work, so that wall times include it."""
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def bench_decoders(paths: list[str], args: argparse.Namespace) -> tuple[list[Figure], list[Any]]:
    """Pillow on the CPU, one thread, against batched device decoding; the device's pixels."""
    from spotfake.io import read_image
    from spotfake.io.device import decode_jpegs, read_for_device

    cpu = timed(lambda: list(map(read_image, paths)), len(paths), "decode Pillow", "1 thread")
    datas = [item.data for item in map(read_for_device, paths) if item is not None]
    assert len(datas) == len(paths), "every benchmark image is a baseline JPEG"
    decode_jpegs(datas[: args.batch_size], args.device)  # warm-up (nvJPEG handles)
    pixels: list[Any] = []

    def run() -> None:
        for chunk in batched(datas, args.batch_size):
            pixels.extend(decode_jpegs(chunk, args.device))
        synchronise(args.device)

    note = f"batches of {args.batch_size}, bytes read beforehand"
    return [cpu, timed(run, len(paths), f"decode device ({args.device})", note)], pixels


def bench_model(
    detector: Any, images: list[Any], args: argparse.Namespace
) -> tuple[Figure, np.ndarray]:
    """Detector.score on decoded images (arrays or device tensors), a batch at a time."""
    detector.score(images[: args.batch_size])
    scores: list[np.ndarray] = []

    def run() -> None:
        for chunk in batched(images, args.batch_size):
            scores.append(detector.score(chunk))
        synchronise(args.device)

    kind = "tensors" if not isinstance(images[0], np.ndarray) else "arrays"
    figure = timed(run, len(images), f"model {detector.precision}", f"decoded {kind}")
    return figure, np.concatenate(scores)


def bench_predict(
    detector: Any, paths: list[str], args: argparse.Namespace, decode: str
) -> tuple[Figure, np.ndarray]:
    """iter_predict end to end, without provenance, decoding on the CPU or on the device."""
    options = {"batch_size": args.batch_size, "provenance": False, "decode": decode}
    list(iter_predict(detector, paths[: args.batch_size], **options))
    scores: list[float] = []

    def run() -> None:
        records = iter_predict(detector, paths, workers=args.workers, **options)
        scores.extend(float(record.score) for record in records)  # type: ignore[arg-type]

    stage = f"predict {detector.precision} decode {decode}"
    return timed(run, len(paths), stage, "no provenance"), np.asarray(scores)


def logit(p: np.ndarray) -> np.ndarray:
    """log(p / (1 - p)), clipped away from 0 and 1."""
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def main(argv: list[str] | None = None) -> int:
    """Time each stage on the device and print the figures; exit 0 without a CUDA device."""
    args = parse_args(argv)
    why = cuda_missing(args.device)
    if why is not None:
        print(f"bench_gpu: skipped: {why}; nothing measured")
        return 0
    import torch

    from spotfake.io import read_image

    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="spotfake-bench-gpu-") as tmp:
        paths = make_images(Path(tmp), args.n)
        decoders, device_pixels = bench_decoders(paths, args)
        figures += decoders
        pixels = [read_image(path).pixels for path in paths]
        detector = load_detector(args.model, device=args.device, backend="torch")
        fp16 = "fp16" if args.device.startswith("cuda") else "bf16"  # CPU autocast: bfloat16
        scores = {}
        for precision in ("fp32", fp16):
            detector.set_precision(precision)  # type: ignore[attr-defined]
            figure, scores[precision] = bench_model(detector, pixels, args)
            figures.append(figure)
        figures.append(bench_model(detector, device_pixels, args)[0])
        for decode in ("cpu", "device"):
            figure, scores[decode] = bench_predict(detector, paths, args, decode)
            figures.append(figure)
    amp_shift = np.abs(logit(scores[fp16]) - logit(scores["fp32"]))
    decode_shift = np.abs(scores["device"] - scores["cpu"])
    memory = "n/a"
    if args.device.startswith("cuda"):
        memory = f"{torch.cuda.max_memory_allocated() / 2**20:.0f} MiB"
        name = torch.cuda.get_device_name()
    else:
        name = f"CPU, torch {torch.get_num_threads()} threads"
    header = {
        "device": name,
        "images": f"{args.n} x {SIDE}x{SIDE} JPEG q90",
        "batch size": str(args.batch_size),
        "model": f"{detector.spec.display_name} ({detector.model_hash[:12]})",
        "AMP vs fp32": f"largest logit change {amp_shift.max():.4f}, mean {amp_shift.mean():.4f}",
        "device decode": f"largest score change against Pillow's pixels {decode_shift.max():.5f}",
        "GPU memory": f"peak allocated {memory}",
        "time": time.strftime("%Y-%m-%d %H:%M"),
    }
    print_table(figures, header)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
