"""Train each generator-like autoencoder briefly on real photos and print its fidelity.

    .venv/bin/python benchmarks/synth_fidelity.py [--data ../shared/data/imagenet-real]
        [--steps 200] [--patch 128] [--batch 8] [--archs nearest,ldm-vae] [--eval-limit 8]
        [--threads N] [--device auto] [--work DIR] [--json FILE]

For every architecture (default: all registered) it runs `spotfake.synth.train` with the
default architecture options, then measures on held-out reals (names the training left out):
PSNR to the real twin, bytes per pixel fake/real at the real's own JPEG tables (goal
0.95-1.05), high-frequency spectral energy fake/real (goal 0.9-1.1; HF-all includes the
decoder's own peaks), and seconds per training step. Figures after a few hundred CPU steps
describe an undertrained model: say how many steps whenever they are quoted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from spotfake.cli.synth import print_table
from spotfake.data.manifest import open_dataset
from spotfake.synth.base import list_generators
from spotfake.synth.reals import select_reals
from spotfake.synth.train import TrainOptions, train_generator


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/imagenet-real")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--patch", type=int, default=128)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--archs", default=",".join(list_generators()))
    parser.add_argument("--eval-limit", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--work", type=Path, default=None, help="keep the generators here")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    return parser.parse_args()


def main() -> None:
    args = parse()
    reals = [r for r in select_reals(open_dataset(args.data)) if r.error is None]
    work = args.work or Path(tempfile.mkdtemp(prefix="synth-fidelity-"))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{len(reals)} reals from {args.data}; {args.steps} steps of {args.batch} x "
        f"{args.patch} px patches per architecture; load average {load}; work {work}"
    )
    rows, figures = [], {}
    for arch in args.archs.split(","):
        options = TrainOptions(
            steps=args.steps,
            patch=args.patch,
            batch=args.batch,
            eval_limit=args.eval_limit,
            device=args.device,
            threads=args.threads,
            log_every=max(1, args.steps // 4),
        )
        started = time.perf_counter()
        spec, fidelity = train_generator(
            arch, {}, reals, work / arch, options, source=args.data, log=sys.stderr
        )
        rows.append((spec, fidelity))
        figures[arch] = {
            **{k: v for k, v in fidelity.to_dict().items() if k != "per_image"},
            "seconds_per_step": spec.training["seconds_per_step"],
            "steps": args.steps,
            "wall_seconds": round(time.perf_counter() - started, 1),
        }
    print_table(rows, sys.stdout)
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
