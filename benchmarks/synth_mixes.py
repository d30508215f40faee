"""Do synthesised training fakes help a detector on generators it never saw?

    .venv/bin/python benchmarks/synth_mixes.py \\
        --family nearest=OUT_N --family transposed=OUT_T --family ldm-vae=OUT_L [--parallel]

Each OUT is a `spotfake synth make` folder (reals of the recipe's real sources passed through
one decoder family). The benchmark trains configs/synth-mixes.yaml (reals: ImageNet and faces;
shared fakes: Stable Diffusion 1.4/1.5 only) once per training mix:

- ``shared``: the shared fakes alone;
- ``+FAMILY``: plus the synthesised fakes of one family (paired with their real twins);
- ``+all``: plus every family;
- ``npr-shared`` and ``npr+all`` (with ``--npr``): the same two mixes with the NPR input;
- ``spectral-shared`` and ``spectral+all`` (with ``--spectral``): the Durall spectrum
  (azimuthal average of the FFT, logistic regression).

and scores every model on sources no mix trains on: StyleGAN2 faces against the real faces'
validation split, the CelebA GAN against the ImageNet validation reals, SD 2.1 against the same,
CIFAKE (500 + 500, 32x32), and each family's synthesised fakes whose real twins are validation
images, against those twins. A family's own column is in-distribution for the mixes that train
on it (marked * in the table). Runs already finished in WORK are reused, so the benchmark can be
stopped and started again. Prints a Markdown table and writes WORK/synth_mixes.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from spotfake.data.sources import Example, Item, SourceConfig, list_items, load_examples
from spotfake.detect import load_detector
from spotfake.evaluate.metrics import detection_metrics
from spotfake.synth.make import read_pairs
from spotfake.train.batch import Command, finished, run_all, train_command
from spotfake.train.config import load_config

RECIPE = "configs/synth-mixes.yaml"


def parse_families(values: list[str]) -> dict[str, Path]:
    families = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not (Path(path) / "pairs.csv").is_file():
            raise SystemExit(f"--family {value!r}: expected NAME=OUT, a `synth make` folder")
        families[name] = Path(path).resolve()
    return families


def mixes(families: dict[str, Path], npr: bool, spectral: bool) -> dict[str, dict[str, Any]]:
    """Mix name -> what it trains on and how (families, model overrides)."""
    plan: dict[str, dict[str, Any]] = {"shared": {"families": []}}
    for name in families:
        plan[f"+{name}"] = {"families": [name]}
    if len(families) > 1:
        plan["+all"] = {"families": list(families)}
    last = "+all" if len(families) > 1 else next(iter(plan))
    if npr:
        plan["npr-shared"] = {"families": [], "npr": True}
        plan[f"npr{last}"] = {"families": plan[last]["families"], "npr": True}
    if spectral:
        plan["spectral-shared"] = {"families": [], "spectral": True}
        plan[f"spectral{last}"] = {"families": plan[last]["families"], "spectral": True}
    return plan


def train_sets(mix: dict[str, Any], families: dict[str, Path], steps: int | None) -> list[str]:
    """The --set overrides of one mix."""
    synth = [{"name": f"synth-{f}", "path": str(families[f])} for f in mix["families"]]
    sets = [f"data.synth={json.dumps(synth)}"]
    if steps:
        sets.append(f"optim.steps={steps}")
    if mix.get("npr"):
        sets.append("model_config={residual: npr}")
    if mix.get("spectral"):
        sets += ["model=spectral-logreg", "model_config={}", "init=null", "augment={}"]
    return sets


def train_all(
    plan: dict[str, dict[str, Any]],
    families: dict[str, Path],
    work: Path,
    steps: int | None,
    parallel: int,
) -> None:
    """Train every mix not finished yet, `parallel` at a time (one torch thread each if > 1)."""

    def job(name: str) -> Command:
        sets = train_sets(plan[name], families, steps)
        return lambda run, threads: train_command(RECIPE, run, [*sets, f"optim.threads={threads}"])

    run_all({name: job(name) for name in plan}, work, parallel)


def synth_val(family: Path, val_reals: set[str]) -> tuple[list[str], list[str]]:
    """(fakes, their real twins) of a synth make folder whose twins are validation reals."""
    pairs = [(fake, os.path.realpath(real)) for fake, real in read_pairs(family)]
    pairs = [(fake, real) for fake, real in pairs if real in val_reals]
    return [f for f, _ in pairs], [r for _, r in pairs]


def source_examples(root: Path, path: str, label: int, limit: int | None = None) -> list[Example]:
    """Every image (or a fixed subset) of a folder or zip prefix under root, decoded."""
    return load_examples(list_items(SourceConfig(path, path, label, limit=limit), root, 0.0))


def test_sets(families: dict[str, Path], root: Path, val_fraction: float) -> dict[str, Any]:
    """Held-out column name -> (real examples, fake examples), decoded once."""
    cfg = load_config(RECIPE)
    items = [
        i for s in cfg.data.sources for i in list_items(s, root, val_fraction, cfg.data.split_rule)
    ]
    val = [i for i in items if i.split == "val" and i.label == 0]
    by_source: dict[str, list[Any]] = {}
    for item in val:
        by_source.setdefault(item.source, []).append(item)

    imagenet = load_examples(by_source["imagenet-real"])
    faces = load_examples(by_source["faces-real"])
    sets: dict[str, Any] = {
        "StyleGAN2 faces": (faces, source_examples(root, "faces-hard/fake", 1)),
        "CelebA GAN (durall)": (
            imagenet + faces,
            source_examples(root, "durall/celeba-gan-fakes", 1, 500),
        ),
        "SD 2.1": (imagenet, source_examples(root, "drawbench-sd/sd21", 1)),
        "CIFAKE": (
            source_examples(root, "cifake-train.zip!train/REAL/", 0, 500),
            source_examples(root, "cifake-train.zip!train/FAKE/", 1, 500),
        ),
    }
    val_reals = {os.path.realpath(i.location) for i in val}
    for name, path in families.items():
        fakes, twins = synth_val(path, val_reals)
        sets[f"synth {name}"] = (
            load_examples([Item("twin", 0, t, "val") for t in twins]),
            load_examples([Item(name, 1, f, "val") for f in fakes]),
        )
    return sets


def evaluate(model: Path, sets: dict[str, Any]) -> dict[str, dict[str, float]]:
    detector = load_detector(str(model), device="cpu")
    out = {}
    for name, (reals, fakes) in sets.items():
        labels = np.array([0] * len(reals) + [1] * len(fakes))
        scores = detector.score([e.pixels for e in reals + fakes])
        metrics = detection_metrics(labels, scores)
        out[name] = {k: float(v) for k, v in metrics.items() if v is not None}
    return out


def markdown(
    results: dict[str, dict[str, dict[str, float]]],
    plan: dict[str, dict[str, Any]],
    sizes: dict[str, list[int]],
) -> str:
    columns = list(sizes)
    header = "| training mix | " + " | ".join(columns) + " | mean (shared sources) |"
    lines = [header, "|---" * (len(columns) + 2) + "|"]
    shared_columns = [c for c in columns if not c.startswith("synth ")]
    for mix, metrics in results.items():
        cells = []
        for column in columns:
            value = f"{metrics[column]['auc']:.3f}"
            if column.startswith("synth ") and column[6:] in plan[mix]["families"]:
                value += "*"
            cells.append(value)
        mean = np.mean([metrics[c]["auc"] for c in shared_columns])
        lines.append(f"| {mix} | " + " | ".join(cells) + f" | {mean:.3f} |")
    counts = ", ".join(f"{c}: {r} real + {f} fake" for c, (r, f) in sizes.items())
    lines.append(f"\nAUC. Images per column: {counts}. *: a family the mix trains on.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--family", action="append", default=[], help="NAME=SYNTH_MAKE_OUT")
    parser.add_argument("--work", type=Path, default=Path("runs/synth-mixes"))
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's steps")
    parser.add_argument("--parallel", type=int, default=1, help="trainings at once")
    parser.add_argument("--npr", action="store_true", help="also the NPR input")
    parser.add_argument("--spectral", action="store_true", help="also the Durall spectrum")
    parser.add_argument("--only", nargs="*", help="these mixes only")
    parser.add_argument("--no-train", action="store_true", help="evaluate finished runs only")
    args = parser.parse_args(argv)
    families = parse_families(args.family)
    plan = mixes(families, args.npr, args.spectral)
    if args.only:
        plan = {k: v for k, v in plan.items() if k in args.only}
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    if not args.no_train:
        train_all(plan, families, args.work, args.steps, args.parallel)
    cfg = load_config(RECIPE)
    sets = test_sets(families, Path(cfg.data.root), cfg.data.val_fraction)
    sizes = {name: [len(r), len(f)] for name, (r, f) in sets.items()}
    results = {}
    for name in plan:
        model = args.work / "runs" / name / "best.safetensors"
        if not (model.is_file() and finished(model.parent)):
            continue
        cache = model.parent / "synth_mixes_eval.json"  # reused while the sets are the same
        if cache.is_file() and (saved := json.loads(cache.read_text()))["sizes"] == sizes:
            results[name] = saved["results"]
            continue
        results[name] = evaluate(model, sets)
        cache.write_text(json.dumps({"sizes": sizes, "results": results[name]}, indent=2))
        print(f"{name}: evaluated", file=sys.stderr)
    text = markdown(results, plan, sizes)
    print(text)
    print(f"\n({(time.time() - started) / 60:.1f} min)")
    (args.work / "synth_mixes.md").write_text(text + "\n")
    report = {"families": {k: str(v) for k, v in families.items()}, "plan": plan}
    report |= {"sizes": sizes, "results": results}
    (args.work / "synth_mixes.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
