"""Leave one family out: train a recipe once per fake family held out entirely, and score each
model on the family it never saw.

    .venv/bin/python benchmarks/leave_one_out.py --recipe configs/default.yaml \\
        [--family SD=sd14,sd15 --family GAN-faces=faces-stylegan2 ...] [--work runs/lofo] \\
        [--steps N] [--parallel 2] [--only FAMILY ...] [--no-train] [--test-limit 300] \\
        [--real-sources A,B] [--crops N] [--set KEY=VALUE ...]

A family is one or more of the recipe's fake sources (``data.sources`` with label 1) or
``data.synth`` entries, by name; by default each is a family of its own. A family may also name
real sources made from it (a `synth make` folder's counterparts): they leave training with it and
are not scored. For each family the
recipe is written again without it (WORK/runs/FAMILY/recipe.yaml) and trained (runs already
finished are reused; an interrupted one resumes). Each model is then scored on:

- its held-out family: a folder family's fakes (a fixed subset of ``--test-limit``) against the
  validation reals of the test real sources (``--real-sources``; by default every real source
  no family names); a `synth make` family's fakes whose real twins are validation reals of any
  source, against those twins (content-matched; a fixed subset of ``--test-limit`` pairs);
- the recipe's ``data.heldout`` sources, which no run trains on (a ``group`` of them is scored
  on its own, a source without one against the validation reals).

AUC, and accuracy at the model's own threshold (its spec). Prints a Markdown table with the
mean and the worst family, and writes WORK/leave_one_out.{md,json}; ``--crops N`` scores N
crops per image instead of the spec's and writes WORK/leave_one_out-cropsN.{md,json}. This is
the protocol that judges a recipe's generalisation: never choose a recipe on a single held-out
source.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path
from typing import TypeVar

import numpy as np
import yaml

from spotfake.data.sources import Example, Item, SourceConfig, list_items, load_examples
from spotfake.detect import load_detector
from spotfake.evaluate.metrics import detection_metrics
from spotfake.records import GENERATED, REAL
from spotfake.synth.make import read_pairs
from spotfake.train.batch import Command, finished, run_all, train_command
from spotfake.train.config import TrainConfig, load_config, with_absolute_paths

Sets = dict[str, tuple[list[Example], list[Example]]]
T = TypeVar("T")


def parse_families(values: list[str], cfg: TrainConfig) -> dict[str, list[str]]:
    """Family name -> the fake sources, synth entries and derived real sources it holds (each
    fake source or synth entry alone by default). A family needs at least one fake member."""
    fakes = [s.name for s in cfg.data.sources if s.label == GENERATED]
    fakes += [s.name for s in cfg.data.synth]
    reals = [s.name for s in cfg.data.sources if s.label == REAL]
    if not values:
        return {name: [name] for name in fakes}
    families: dict[str, list[str]] = {}
    for value in values:
        name, sep, members = value.partition("=")
        chosen = [m.strip() for m in members.split(",") if m.strip()]
        unknown = [m for m in chosen if m not in fakes and m not in reals]
        if not sep or unknown or not any(m in fakes for m in chosen):
            raise SystemExit(
                f"--family {value!r}: expected NAME=SOURCE[,SOURCE...] with at least one of the "
                f"recipe's fake sources or synth entries ({', '.join(fakes)}), and optionally "
                "real sources made from them"
            )
        families[name] = chosen
    return families


def without(cfg: TrainConfig, held: list[str]) -> TrainConfig:
    """The recipe (paths absolute) with the held-out sources and synth entries taken out."""
    cfg = with_absolute_paths(cfg)
    data = dataclasses.replace(
        cfg.data,
        sources=[s for s in cfg.data.sources if s.name not in held],
        synth=[s for s in cfg.data.synth if s.name not in held],
    )
    return dataclasses.replace(cfg, data=data)


def train_all(
    cfg: TrainConfig,
    families: dict[str, list[str]],
    work: Path,
    steps: int | None,
    parallel: int,
) -> None:
    """Train every family's run not finished yet, `parallel` at a time."""
    recipes = work / "runs"
    recipes.mkdir(parents=True, exist_ok=True)

    def job(name: str) -> Command:
        recipe = recipes / f"{name}.yaml"
        recipe.write_text(yaml.safe_dump(without(cfg, families[name]).to_dict()))
        extra = [f"optim.steps={steps}"] if steps else []
        return lambda run, threads: train_command(recipe, run, [f"optim.threads={threads}", *extra])

    run_all({name: job(name) for name in families}, work, parallel)


def _subset(items: list[T], limit: int | None) -> list[T]:
    """A fixed random subset (the same every run), in the original order."""
    if limit is None or len(items) <= limit:
        return items
    keep = np.sort(np.random.default_rng(0).permutation(len(items))[:limit])
    return [items[i] for i in keep]


def test_real_sources(
    cfg: TrainConfig, families: dict[str, list[str]], chosen: list[str] | None = None
) -> list[str]:
    """The real sources whose validation images face folder families: `chosen`, or every real
    source that no family names (a family's counterparts are not plain reals)."""
    reals = [s.name for s in cfg.data.sources if s.label == REAL]
    if chosen:
        unknown = [name for name in chosen if name not in reals]
        if unknown:
            raise SystemExit(f"--real-sources: not real sources of the recipe: {unknown}")
        return chosen
    named = {m for members in families.values() for m in members}
    return [name for name in reals if name not in named]


def test_sets(
    cfg: TrainConfig,
    families: dict[str, list[str]],
    limit: int | None,
    real_sources: list[str] | None = None,
) -> Sets:
    """Column name -> (real examples, fake examples), decoded once (see the module doc)."""
    root, data = Path(cfg.data.root), cfg.data
    items = [
        i for s in data.sources for i in list_items(s, root, data.val_fraction, data.split_rule)
    ]
    plain = set(test_real_sources(cfg, families, real_sources))
    val = [i for i in items if i.split == "val" and i.label == REAL]
    reals = load_examples(_subset([i for i in val if i.source in plain], limit))
    by_name = {s.name: s for s in data.sources if s.label == GENERATED}
    synth = {s.name: s for s in data.synth}
    val_reals = {os.path.realpath(i.location) for i in val}
    sets: Sets = {}
    for family, members in families.items():
        folder = [i for m in members if m in by_name for i in list_items(by_name[m], root, 0.0)]
        made_by = [synth[m].path for m in members if m in synth]
        pairs = _subset(_synth_val(made_by, val_reals), limit)
        real_side = (reals if folder else []) + load_examples(
            [Item("twin", REAL, twin, "val") for twin, _ in pairs]
        )
        made = [Item(family, GENERATED, fake, "val") for _, fake in pairs]
        sets[family] = (real_side, load_examples(_subset(folder, limit) + made))
    return sets | _heldout_sets(data.heldout, root, reals)


def _synth_val(folders: list[str], val_reals: set[str]) -> list[tuple[str, str]]:
    """(twin, fake) of `synth make` folders whose twins are validation reals."""
    return [
        (real, fake)
        for folder in folders
        for fake, real in read_pairs(folder)
        if os.path.realpath(real) in val_reals
    ]


def _heldout_sets(sources: list[SourceConfig], root: Path, reals: list[Example]) -> Sets:
    """A group of held-out sources scored on its own; a source without one against the reals."""
    columns: dict[str, list[SourceConfig]] = {}
    for source in sources:
        columns.setdefault(source.group or source.name, []).append(source)
    sets: Sets = {}
    for name, members in columns.items():
        examples = load_examples([i for s in members for i in list_items(s, root, 0.0)])
        own = [e for e in examples if e.label == REAL]
        sets[f"held out: {name}"] = (own or reals, [e for e in examples if e.label == GENERATED])
    return sets


def evaluate(
    model: Path,
    sets: Sets,
    crops: int | None = None,
    cache: dict[tuple[str, str], dict[str, float]] | None = None,
) -> dict[str, dict[str, float]]:
    """AUC and accuracies at the model's own threshold, per column (crops: override the
    spec's number of crops per image). With a cache, a column already scored by a model with
    the same weights and spec is taken from it: families that share a model (a baseline scored
    as every family's model) score the held-out sources once."""
    detector = load_detector(str(model), device="cpu", crops=crops)
    threshold = detector.spec.threshold
    key = f"{detector.model_hash}/{threshold}/{detector.spec.input}/{crops}"
    out = {}
    for name, (reals, fakes) in sets.items():
        if cache is not None and (key, name) in cache:
            out[name] = cache[key, name]
            continue
        labels = np.array([0] * len(reals) + [1] * len(fakes))
        scores = detector.score([e.pixels for e in reals + fakes])
        metrics = detection_metrics(labels, scores, threshold)
        out[name] = {k: float(v) for k, v in metrics.items() if v is not None}
        if cache is not None:
            cache[key, name] = out[name]
    return out


def markdown(results: dict[str, dict[str, dict[str, float]]], sizes: dict[str, list[int]]) -> str:
    """One row per held-out family: its own AUC and accuracy, then the held-out sources."""
    extra = [c for c in sizes if c.startswith("held out: ")]
    header = ["held-out family", "AUC on it", "accuracy", "fake accuracy", *extra]
    lines = ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    aucs = {}
    for family, metrics in results.items():
        own = metrics[family]
        aucs[family] = own["auc"]
        cells = [f"{own['auc']:.3f}", f"{own['accuracy']:.3f}", f"{own['fake_accuracy']:.3f}"]
        cells += [f"{metrics[c]['auc']:.3f}" for c in extra]
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    if aucs:
        worst = min(aucs, key=lambda f: aucs[f])
        mean = float(np.mean(list(aucs.values())))
        lines.append(
            f"\nMean AUC over held-out families {mean:.3f}; worst {worst} {aucs[worst]:.3f}."
        )
    counts = ", ".join(f"{c}: {r} real + {f} fake" for c, (r, f) in sizes.items())
    lines.append(f"Images per column: {counts}. Accuracy at each model's own threshold.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=Path("configs/default.yaml"))
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="recipe override, as in `spotfake train --set` (e.g. 'model_config={residual: npr}')",
    )
    parser.add_argument("--family", action="append", default=[], help="NAME=SOURCE[,SOURCE]")
    parser.add_argument("--work", type=Path, default=Path("runs/leave-one-out"))
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's steps")
    parser.add_argument("--parallel", type=int, default=1, help="trainings at once")
    parser.add_argument("--only", nargs="*", help="these families only")
    parser.add_argument("--no-train", action="store_true", help="evaluate finished runs only")
    parser.add_argument("--test-limit", type=int, default=300, help="images per test side")
    parser.add_argument(
        "--crops", type=int, default=None, help="crops per image at scoring (default: the spec's)"
    )
    parser.add_argument(
        "--real-sources",
        default="",
        help="comma-separated real sources facing folder families (default: those no family names)",
    )
    args = parser.parse_args(argv)
    cfg = load_config(args.recipe, args.set)
    families = parse_families(args.family, cfg)
    if args.only:
        families = {k: v for k, v in families.items() if k in args.only}
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    if not args.no_train:
        train_all(cfg, families, args.work, args.steps, args.parallel)
    chosen = [name for name in args.real_sources.split(",") if name]
    sets = test_sets(cfg, families, args.test_limit, chosen or None)
    sizes = {name: [len(r), len(f)] for name, (r, f) in sets.items()}
    results = {}
    cache: dict[tuple[str, str], dict[str, float]] = {}
    for family in families:
        model = args.work / "runs" / family / "best.safetensors"
        if model.is_file() and finished(model.parent):
            columns = {family: sets[family]} | _extra(sets)
            results[family] = evaluate(model, columns, args.crops, cache)
    text = markdown(results, sizes)
    print(text)
    print(f"\n({(time.time() - started) / 60:.1f} min)")
    stem = "leave_one_out" + (f"-crops{args.crops}" if args.crops else "")
    (args.work / f"{stem}.md").write_text(text + "\n")
    report = {
        "recipe": str(args.recipe),
        "overrides": args.set,
        "families": families,
        "real_sources": test_real_sources(cfg, families, chosen or None),
        "sizes": sizes,
    }
    (args.work / f"{stem}.json").write_text(json.dumps(report | {"results": results}, indent=2))
    return 0 if len(results) == len(families) else 1


def _extra(sets: Sets) -> Sets:
    return {k: v for k, v in sets.items() if k.startswith("held out: ")}


if __name__ == "__main__":
    sys.exit(main())
