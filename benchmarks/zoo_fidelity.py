"""Fidelity, storage audit and speed of every available pretrained generator on real photos.

    .venv/bin/python benchmarks/zoo_fidelity.py [--data ../shared/data/imagenet-real]
        [--limit 100] [--measure 24] [--only taef2,realesrgan-x4plus] [--threads 2]
        [--work DIR] [--json FILE]

For each paired generator of `spotfake synth list` that is available here:

1. `synth make` with counterparts on the first `--limit` reals by name hash (reals kept in the
   manifest only), timed: images/s of the whole make (decode, generator, counterpart, encoding);
2. `spotfake audit` of the reals against the fakes (metadata shortcut AUC, goal <= 0.6), and of
   the counterparts against the fakes (the pair a detector is meant to learn traces from);
3. on the first `--measure` of those reals: PSNR to the twin, bytes-per-pixel ratio at the real's
   JPEG tables, high-frequency ratios (as `synth report`), for the fake and for the counterpart,
   and images/s of the generator alone.

Prints a Markdown table; --json writes every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from spotfake.bias.audit import audit
from spotfake.data.manifest import open_dataset, read_manifest
from spotfake.data.members import member_reader
from spotfake.errors import SpotfakeError
from spotfake.records import GENERATED, REAL
from spotfake.synth.fidelity import Fidelity, image_fidelity, summarize
from spotfake.synth.generators import open_generator
from spotfake.synth.make import COUNTERPART_SUFFIX, MakeOptions, make_fakes
from spotfake.synth.reals import hashed_order, read_source, select_reals
from spotfake.synth.zoo import zoo_entries
from spotfake.synth.zoo.base import PairedGenerator, RunOptions


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/imagenet-real")
    parser.add_argument("--limit", type=int, default=100, help="reals per make and audit")
    parser.add_argument("--measure", type=int, default=24, help="reals per fidelity figure")
    parser.add_argument("--only", default=None, help="comma-separated generator names")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="keep the make outputs here")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    return parser.parse_args()


def fidelity_of(generator: PairedGenerator, records: list[Any]) -> tuple[Fidelity, Fidelity]:
    """(fake, counterpart) fidelity to the reals; the fake's carries the generator's speed."""
    fakes, twins, seconds = [], [], 0.0
    with member_reader() as read:
        for record in records:
            try:
                pixels, storage = read_source(record.path, read)
            except SpotfakeError:
                continue
            started = time.perf_counter()
            fake = generator.fake(pixels)
            seconds += time.perf_counter() - started
            twin = generator.counterpart(pixels, fake)
            fakes.append(image_fidelity(record.path, pixels, fake, storage))
            twins.append(image_fidelity(record.path, pixels, twin, storage))
    return summarize(fakes, True, seconds), summarize(twins, True)


def audits(out: Path, name: str) -> dict[str, float]:
    """Metadata shortcut AUC of reals vs fakes and of counterparts vs fakes in a make output."""
    records = read_manifest(out / "manifest.csv")
    twin_name = name + COUNTERPART_SUFFIX
    reals = [r for r in records if r.label == REAL and r.generator == name]
    twins = [r for r in records if r.generator == twin_name]
    fakes = [r for r in records if r.label == GENERATED]
    as_real = [replace(r, generator=name) for r in twins]
    return {
        "audit_auc": audit([*reals, *fakes]).shortcut_auc,
        "counterpart_audit_auc": audit([*as_real, *fakes]).shortcut_auc if twins else float("nan"),
    }


def run_one(name: str, reals: list[Any], args: argparse.Namespace, work: Path) -> dict[str, Any]:
    options = RunOptions(threads=args.threads)
    generator = open_generator(name, options)
    assert isinstance(generator, PairedGenerator)
    out = work / name
    started = time.perf_counter()
    made = make_fakes(
        generator.fake,
        reals,
        out,
        name,
        MakeOptions(limit=args.limit, reals="manifest"),
        counterpart=generator.counterpart,
    )
    make_seconds = time.perf_counter() - started
    fake, twin = fidelity_of(generator, hashed_order(reals, args.measure))
    return {
        "generator": name,
        "card": generator.card.to_dict(),
        "pairs": len(made.pairs),
        "failed": len(made.failed),
        "make_images_per_s": len(made.pairs) / make_seconds,
        "generator_images_per_s": 1 / fake.seconds_per_image
        if fake.seconds_per_image
        else float("nan"),
        **audits(out, name),
        "fake": {k: v for k, v in fake.to_dict().items() if k != "per_image"},
        "counterpart": {k: v for k, v in twin.to_dict().items() if k != "per_image"},
    }


def row(f: dict[str, Any]) -> str:
    a, b = f["fake"], f["counterpart"]
    cells = [
        f["generator"],
        f["card"]["mode"],
        f"{a['psnr']:.1f}",
        f"{a['bpp_ratio']:.3f}",
        f"{a['hf_ratio']:.2f}",
        f"{a['hf_energy_ratio']:.2f}",
        f"{b['psnr']:.1f}",
        f"{b['bpp_ratio']:.3f}",
        f"{b['hf_energy_ratio']:.2f}",
        f"{f['audit_auc']:.2f}",
        f"{f['counterpart_audit_auc']:.2f}",
        f"{f['generator_images_per_s']:.2f}",
        f"{f['make_images_per_s']:.2f}",
    ]
    return "| " + " | ".join(cells) + " |"


HEADER = (
    "| generator | mode | PSNR | bpp | HF | HF-all | counterpart PSNR | counterpart bpp | "
    "counterpart HF-all | audit AUC real vs fake | audit AUC counterpart vs fake | "
    "generator img/s | make img/s |\n" + "|---" * 13 + "|"
)


def main() -> None:
    args = parse()
    reals = [r for r in select_reals(open_dataset(args.data)) if r.error is None]
    work = args.work or Path(tempfile.mkdtemp(prefix="zoo-fidelity-"))
    names = [e.card.name for e in zoo_entries() if e.available and e.card.mode != "sample"]
    if args.only:
        names = [n for n in args.only.split(",") if n in names]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{len(reals)} reals from {args.data}; make and audit on {args.limit}, fidelity on "
        f"{args.measure}; {args.threads} threads; load average {load}; work {work}",
        flush=True,
    )
    figures = []
    print(HEADER, flush=True)
    for name in names:
        figures.append(run_one(name, reals, args, work))
        print(row(figures[-1]), flush=True)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
