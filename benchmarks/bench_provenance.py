"""Provenance: its added cost per image, the watermark's survival, its false-alarm rate.

Run:  .venv/bin/python benchmarks/bench_provenance.py [--n 200] [--rounds 6] [--no-e2e]

1. Cost on images without marks: N shared ImageNet reals (JPEG, ~500x375) and N synthetic
   512x512 PNGs. ``read_provenance`` alone on one thread (what each image costs in CPU), then
   ``Detector.iter_predict`` with and without provenance (the default model, paired rounds,
   median difference): what ``spotfake detect`` pays.
2. Cost on files with marks (A1111 PNG, XMP JPEG, C2PA JPEG).
3. Watermark survival: images marked with invisible-watermark's own encoder (SD 1.x bytes,
   SDXL bits) at several sizes, then PNG and JPEG 95/90/75 with 4:2:0 and 4:4:4 chroma.
4. False alarms: the best bit agreement on the shared reals and unmarked SD images.

Needs the dev extra (invisible-watermark, c2pa-python, cryptography) and ../shared/data.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

import spotfake

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(REPO / "tests" / "provenance"))  # the tests' file builders

from marked_images import (  # noqa: E402
    a1111_png,
    c2pa_signed,
    encode,
    make_signer,
    reencode,
    watermark,
    xmp_jpeg,
)

from spotfake.provenance import read_provenance  # noqa: E402
from spotfake.provenance import watermark as wm  # noqa: E402

CONDITIONS: tuple[tuple[str, int | None, str], ...] = (
    ("PNG", None, ""),
    ("JPEG 95 4:2:0", 95, "4:2:0"),
    ("JPEG 90 4:2:0", 90, "4:2:0"),
    ("JPEG 75 4:2:0", 75, "4:2:0"),
    ("JPEG 95 4:4:4", 95, "4:4:4"),
    ("JPEG 90 4:4:4", 90, "4:4:4"),
    ("JPEG 75 4:4:4", 75, "4:4:4"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="images per unmarked set")
    parser.add_argument("--rounds", type=int, default=6, help="paired end-to-end rounds")
    parser.add_argument("--survival-images", type=int, default=12, help="reals per size")
    parser.add_argument("--no-e2e", action="store_true", help="skip the Detector timing")
    return parser.parse_args(argv)


def unmarked_sets(folder: Path, n: int) -> dict[str, list[str]]:
    """Shared ImageNet JPEGs as they are, and synthetic 512x512 PNGs and JPEGs in folder."""
    reals = [str(p) for p in sorted((DATA / "imagenet-real").glob("*.JPEG"))[:n]]
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 200, 512)[None, :, None] + np.linspace(0, 40, 512)[:, None, None]
    pngs, jpegs = [], []
    for i in range(n):
        rgb = np.clip(ramp + rng.normal(0, 20, (512, 512, 3)), 0, 255).astype(np.uint8)
        path = folder / f"synthetic-{i:04d}.png"
        Image.fromarray(rgb).save(path)
        pngs.append(str(path))
        jpeg = path.with_suffix(".jpg")
        Image.fromarray(rgb).save(jpeg, quality=90)  # 4:2:0, as most cameras and sites
        jpegs.append(str(jpeg))
    return {
        "ImageNet JPEG (as stored)": reals,
        "synthetic PNG 512x512": pngs,
        "synthetic JPEG 512x512 q90 4:2:0": jpegs,
    }


def per_image_ms(paths: list[str], reader: Callable[[str, np.ndarray], object]) -> list[float]:
    """Milliseconds per image of reader(path, pixels), pixels decoded beforehand."""
    from spotfake.io import read_image

    times = []
    for path in paths:
        pixels = read_image(path).pixels
        start = time.perf_counter()
        reader(path, pixels)
        times.append((time.perf_counter() - start) * 1000)
    return times


def cost_alone(sets: dict[str, list[str]]) -> None:
    print("\n## read_provenance alone, one thread (ms per image)\n")
    print("| images | n | all readers mean | p95 | metadata only mean | watermark decode mean |")
    print("|---|---|---|---|---|---|")
    for name, paths in sets.items():
        per_image_ms(paths[:10], read_provenance)  # warm-up (imports, OpenCV)
        total = per_image_ms(paths, read_provenance)
        meta = per_image_ms(paths, lambda p, _: read_provenance(p, watermarks=False))
        marks = per_image_ms(paths, lambda _, px: read_provenance(None, px))
        p95 = float(np.percentile(total, 95))
        print(
            f"| {name} | {len(paths)} | {statistics.mean(total):.2f} | {p95:.2f} "
            f"| {statistics.mean(meta):.2f} | {statistics.mean(marks):.2f} |"
        )


def cost_end_to_end(sets: dict[str, list[str]], rounds: int) -> None:
    """Wall time per image of iter_predict without and with provenance, in paired rounds.

    Each round runs both settings back to back (in alternating order), so a load that drifts
    over seconds (another job on the machine) hits both alike; the median of the paired
    differences is the added cost, the spread of the differences its uncertainty.
    """
    from spotfake.detect import load_detector

    detector = load_detector("default", device="cpu")
    print(f"\n## Detector.iter_predict, default model, {rounds} paired rounds\n")
    print("| images | ms/image without (median) | with | added: median | min..max |")
    print("|---|---|---|---|---|")
    for name, paths in sets.items():
        list(spotfake.iter_predict(detector, paths[:32], provenance=True))  # warm-up
        times: dict[bool, list[float]] = {False: [], True: []}
        for round_ in range(rounds):
            for provenance in (False, True) if round_ % 2 == 0 else (True, False):
                start = time.perf_counter()
                list(spotfake.iter_predict(detector, paths, provenance=provenance))
                times[provenance].append((time.perf_counter() - start) * 1e3 / len(paths))
        added = [w - wo for w, wo in zip(times[True], times[False], strict=True)]
        print(
            f"| {name} | {statistics.median(times[False]):.1f} "
            f"| {statistics.median(times[True]):.1f} | {statistics.median(added):+.1f} "
            f"| {min(added):+.1f}..{max(added):+.1f} |"
        )


def cost_marked(folder: Path) -> None:
    plain = encode(np.zeros((64, 64, 3), np.uint8), "JPEG")
    files = {
        "A1111 PNG": a1111_png(),
        "XMP JPEG": xmp_jpeg(),
        "C2PA JPEG": c2pa_signed(plain, "image/jpeg", make_signer()),
    }
    print("\n## read_provenance on files with marks (ms per image, mean of 50)\n")
    print("| file | ms | decided by |")
    print("|---|---|---|")
    for name, data in files.items():
        path = folder / name.replace(" ", "-")
        path.write_bytes(data)
        read_provenance(str(path))
        start = time.perf_counter()
        for _ in range(50):
            findings = read_provenance(str(path))
        ms = (time.perf_counter() - start) * 1000 / 50
        print(f"| {name} | {ms:.2f} | {findings[0].signal} ({findings[0].strength}) |")


def survival_images(count: int) -> dict[str, list[np.ndarray]]:
    """Real photos centre-cropped to 256 and 512 px, and the 1024 px example SD images."""
    reals = sorted((DATA / "imagenet-real").glob("*.JPEG"))
    sets: dict[str, list[np.ndarray]] = {"256x256 (ImageNet crops)": [], "512x512 (upscaled)": []}
    for path in reals:
        image = Image.open(path).convert("RGB")
        if min(image.size) < 256 or len(sets["256x256 (ImageNet crops)"]) >= count:
            continue
        side = min(image.size)
        box = ((image.width - side) // 2, (image.height - side) // 2)
        square = image.crop((*box, box[0] + side, box[1] + side))
        crop = square.crop((0, 0, 256, 256)) if side >= 256 else square
        sets["256x256 (ImageNet crops)"].append(np.asarray(crop))
        sets["512x512 (upscaled)"].append(np.asarray(square.resize((512, 512), Image.BICUBIC)))
    examples = REPO / "examples"
    sets["512/1024 px example photos and SD images"] = [
        np.asarray(Image.open(examples / name).convert("RGB"))
        for name in ("astronaut.png", "sd15-sample.png", "Ansel-Adams.webp", "Alessio-Albi.webp")
    ]
    return sets


def survival(count: int) -> None:
    print("\n## Watermark survival: mean bit agreement (share of images >= 0.9, decisive)\n")
    print("| images | message | " + " | ".join(c[0] for c in CONDITIONS) + " |")
    print("|---|---|" + "---|" * len(CONDITIONS))
    for name, images in survival_images(count).items():
        for key in ("sd1", "sdxl"):
            cells = []
            marked = [watermark(rgb, key) for rgb in images]
            for _, quality, subsampling in CONDITIONS:
                found = [wm.agreements(reencode(m, quality, subsampling))[key] for m in marked]
                share = np.mean(np.array(found) >= wm.DECISIVE_AGREEMENT)
                cells.append(f"{np.mean(found):.2f} ({share:.0%})")
            print(f"| {name} ({len(images)}) | {key} | " + " | ".join(cells) + " |")


def false_alarms() -> None:
    print("\n## False alarms: best agreement over sd1/sd2/sdxl on unmarked images\n")
    print("| images | n | max | 99th pct | >= 0.8 (supporting) | >= 0.9 (decisive) |")
    print("|---|---|---|---|---|---|")
    for folder in ("imagenet-real", "faces-hard/real", "drawbench-sd/sd14", "drawbench-sd/sd21"):
        best = []
        for path in sorted((DATA / folder).glob("*.*")):
            if path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
                continue
            rgb = np.asarray(Image.open(path).convert("RGB"))
            if rgb.shape[0] * rgb.shape[1] >= wm.MIN_PIXELS:
                best.append(max(wm.agreements(rgb).values()))
        values = np.array(best)
        print(
            f"| {folder} | {len(values)} | {values.max():.3f} | {np.percentile(values, 99):.3f} "
            f"| {(values >= 0.8).sum()} | {(values >= 0.9).sum()} |"
        )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if not DATA.is_dir():
        raise SystemExit(f"needs the shared data at {DATA}")
    print(f"# bench_provenance (load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs)")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sets = unmarked_sets(folder, args.n)
        cost_alone(sets)
        if not args.no_e2e:
            cost_end_to_end(sets, args.rounds)
        cost_marked(folder)
    survival(args.survival_images)
    false_alarms()


if __name__ == "__main__":
    main()
