"""Do latent-clustering indicators of clean images predict a detector's robustness?

Run:  .venv/bin/python benchmarks/indicators.py --models MODEL [MODEL ...] \\
          (--data DATASET [DATASET ...] | --real DIR [DIR ...] --fake DIR [DIR ...]) \\
          [--limit 100] [--seed 0] [--split val] [--corruptions jpeg=50,resize=0.5,blur=1] \\
          [--out DIR] [--batch-size 16] [--workers 2] [--threads 1] [--device auto]

MODEL is a weights file (its spec .json beside it), a training run folder (its
best.safetensors) or a shipped name; a shell glob such as 'runs/*/best.safetensors' may be
given quoted. DATASET is what `spotfake evaluate` takes (folders with real/ and fake/,
GenImage or CNNDetection layouts, zip archives, CSV listings); --real/--fake folders are
written into a listing OUT/data.csv instead. --limit is per generator and class, seeded, as in
`spotfake evaluate`.

For each model, on the same clean images: the indicators of spotfake.evaluate.indicators
(per layer; the pre-logits layer's silhouette at k=2, purity at k=2, best-k silhouette, mean
silhouette over k=2..8 = the indicator, and the mean over layers of the k=2 silhouette), then
AUC clean and under each corruption (spotfake.evaluate.protocol.evaluate, as `spotfake evaluate
--robustness` runs it) and the drop from clean. Across models: the Spearman correlation of each
indicator with each corrupted AUC, each drop and the mean drop, and with the clean AUC as a
control (an indicator that only tracks clean accuracy says little about robustness); n/a with
fewer than 3 models.
Prints Markdown tables; writes OUT/indicators.json and OUT/indicators.png (indicator against
AUC, one panel each). Each model's figures are cached in OUT/cache/ under its weights hash and
the settings, so a rerun with more models only computes the new ones.
"""

from __future__ import annotations

import argparse
import csv
import glob
import hashlib
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spotfake.detect import load_detector
from spotfake.evaluate.indicators import ClusterSettings, latent_indicators
from spotfake.evaluate.latents import PRE_LOGITS
from spotfake.evaluate.perturb import CLEAN, Condition, parse_robustness
from spotfake.evaluate.protocol import ALL, DatasetSample, evaluate, model_info, open_datasets
from spotfake.io import iter_image_paths

INDICATORS = ("mean_silhouette", "best_silhouette", "silhouette_k2", "purity_k2", "layers_sil2")


def model_paths(items: Sequence[str]) -> list[str]:
    """Weights files from files, run folders (best.safetensors) and quoted globs, in order."""
    paths: list[str] = []
    for item in items:
        matches = sorted(glob.glob(item)) if any(c in item for c in "*?[") else [item]
        for match in matches:
            run = Path(match) / "best.safetensors"
            paths.append(str(run) if Path(match).is_dir() and run.is_file() else match)
    return list(dict.fromkeys(paths))


def label_of(path: str) -> str:
    """A short model label: the two folders above a run's weights ('lofo-npr/SD'), else the stem."""
    parts = [p for p in Path(path).parts[:-1] if p != "runs"]
    if Path(path).stem in ("best", "last") and len(parts) >= 2:
        return "/".join(parts[-2:])
    return Path(path).stem


def write_listing(reals: Sequence[str], fakes: Sequence[str], target: Path) -> str:
    """A CSV listing (path,label,generator) of the images in the real and fake folders."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "generator"])
        for folders, label in ((reals, 0), (fakes, 1)):
            for folder in folders:
                name = Path(folder).name if label else ""
                for path in sorted(iter_image_paths([folder], recursive=True)):
                    writer.writerow([os.path.abspath(path), label, name])
    return str(target)


def measure(
    path: str, samples: list[DatasetSample], conditions: list[Condition], args: argparse.Namespace
) -> dict[str, Any]:
    """One model's indicators and AUC per condition on the samples (cached by weights hash)."""
    detector = load_detector(path, device=args.device, backend="torch")  # feature maps
    key = json.dumps([detector.model_hash, args.data_key, args.seed, [c.name for c in conditions]])
    cache = Path(args.out) / "cache" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    if cache.is_file():
        return dict(json.loads(cache.read_text()), label=label_of(path), path=path)
    info = model_info(detector, path, None)
    result = evaluate([detector], [info], samples, conditions, args.batch_size, args.workers)
    dataset = ALL if len(samples) > 1 else samples[0].name
    auc = {r["condition"]: r["auc"] for r in result.rows
           if r["dataset"] == dataset and r["generator"] == ALL}  # fmt: skip
    records = [r for sample in samples for r in sample.records]
    settings = ClusterSettings(seed=args.seed)
    found = latent_indicators(detector, records, label_of(path), settings, None, args.batch_size)
    row = {"hash": detector.model_hash, "auc": auc, "indicators": found.to_dict(),
           "unreadable": len(result.unreadable)}  # fmt: skip
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(row, indent=2) + "\n")
    return dict(row, label=label_of(path), path=path)


def indicator_values(found: dict[str, Any]) -> dict[str, float | None]:
    """The figures correlated with robustness: the pre-logits layer's, and a mean over layers."""
    layers = found["layers"]
    head = next((x for x in layers if x["layer"] == PRE_LOGITS), layers[-1] if layers else {})
    values: dict[str, float | None] = {k: head.get(k) for k in INDICATORS[:-1]}
    sil2 = [x["silhouette_k2"] for x in layers if x["silhouette_k2"] is not None]
    values["layers_sil2"] = float(np.mean(sil2)) if sil2 else None
    return values


def targets(auc: dict[str, float | None], conditions: list[Condition]) -> dict[str, float | None]:
    """AUC clean (a control) and under each corruption, the drop from clean, the mean drop."""
    clean = auc.get(CLEAN)
    out: dict[str, float | None] = {CLEAN: clean}
    drops = []
    for condition in conditions[1:]:
        value = auc.get(condition.name)
        out[condition.name] = value
        drop = None if value is None or clean is None else clean - value
        out[f"drop {condition.name}"] = drop
        drops += [drop] if drop is not None else []
    out["mean drop"] = float(np.mean(drops)) if drops else None
    return out


def correlations(rows: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Spearman rho and p of each indicator with each target over the models (n/a if < 3)."""
    from scipy.stats import spearmanr

    table: dict[str, dict[str, dict[str, Any]]] = {}
    for name in INDICATORS:
        table[name] = {}
        for target in rows[0]["targets"] if rows else []:
            pairs = [(r["values"][name], r["targets"][target]) for r in rows]
            pairs = [(x, y) for x, y in pairs if x is not None and y is not None]
            rho = p = None
            if (
                len(pairs) >= 3
                and len({x for x, _ in pairs}) > 1
                and len({y for _, y in pairs}) > 1
            ):
                result = spearmanr([x for x, _ in pairs], [y for _, y in pairs])
                rho, p = float(result.statistic), float(result.pvalue)
            table[name][target] = {"rho": rho, "p": p, "n": len(pairs)}
    return table


def markdown(rows: list[dict[str, Any]], corr: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The per-model table, then the correlation table (rho, p in brackets)."""
    if not rows:
        return "no models\n"
    values, goals = list(rows[0]["values"]), list(rows[0]["targets"])
    heads = ["model", *values, *(g if "drop" in g else f"AUC {g}" for g in goals)]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for row in rows:
        cells = [row["label"], *(row["values"][v] for v in values),
                 *(row["targets"][g] for g in goals)]  # fmt: skip
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += ["", f"Spearman rho (p) over {len(rows)} models", ""]
    lines += ["| indicator | " + " | ".join(goals) + " |", "|" + "---|" * (len(goals) + 1)]
    for name, by_goal in corr.items():
        cells = [f"{_cell(c['rho'])} ({_cell(c['p'])})" for c in by_goal.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def scatter(rows: list[dict[str, Any]], corr: dict[str, Any], path: Path) -> None:
    """The indicator (mean silhouette) against each corrupted AUC and the mean drop."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    goals = [g for g in (rows[0]["targets"] if rows else []) if not g.startswith("drop ")]
    fig, axes = plt.subplots(1, max(1, len(goals)), figsize=(4 * max(1, len(goals)), 3.6))
    for ax, goal in zip(np.atleast_1d(axes), goals, strict=False):
        xs = [r["values"]["mean_silhouette"] for r in rows]
        ys = [r["targets"][goal] for r in rows]
        kept = [(x, y, r["label"]) for x, y, r in zip(xs, ys, rows, strict=True)
                if x is not None and y is not None]  # fmt: skip
        ax.scatter([x for x, _, _ in kept], [y for _, y, _ in kept], s=18)
        for x, y, label in kept:
            ax.annotate(label, (x, y), fontsize=6, alpha=0.7)
        rho = corr["mean_silhouette"][goal]["rho"]
        ax.set_title(f"{goal}: rho {_cell(rho)}", fontsize=9)
        ax.set_xlabel("mean silhouette (pre-logits, k=2..8)", fontsize=8)
        ax.set_ylabel("AUC drop" if goal == "mean drop" else "AUC", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--models", nargs="+", required=True)
    parser.add_argument("--data", nargs="+", default=[])
    parser.add_argument("--real", nargs="+", default=[])
    parser.add_argument("--fake", nargs="+", default=[])
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default=None)
    parser.add_argument("--corruptions", default="jpeg=50,resize=0.5,blur=1")
    parser.add_argument("--out", default="indicators-out")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)
    if not args.data and not (args.real and args.fake):
        parser.error("give --data DATASET..., or --real DIR... and --fake DIR...")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    import torch

    args = parse(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    data = list(args.data)
    if args.real and args.fake:
        data.append(write_listing(args.real, args.fake, out / "data.csv"))
    conditions = parse_robustness(args.corruptions)
    samples = open_datasets(data, limit=args.limit, seed=args.seed, split=args.split)
    paths = sorted(os.path.abspath(r.path) for s in samples for r in s.records)
    args.data_key = hashlib.sha256("\n".join(paths).encode()).hexdigest()[:16]
    rows = []
    for path in model_paths(args.models):
        row = measure(path, samples, conditions, args)
        row["values"] = indicator_values(row["indicators"])
        row["targets"] = targets(row["auc"], conditions)
        rows.append(row)
        print(f"{row['label']}: indicator {_cell(row['values']['mean_silhouette'])}, "
              f"clean AUC {_cell(row['auc'].get(CLEAN))}", flush=True)  # fmt: skip
    corr = correlations(rows)
    print(markdown(rows, corr))
    report = {"settings": {k: v for k, v in vars(args).items()}, "data": data,
              "images": len(paths), "models": rows, "spearman": corr}  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    (out / "indicators.json").write_text(json.dumps(report, indent=2) + "\n")
    scatter(rows, corr, out / "indicators.png")
    print(f"wrote {out / 'indicators.json'} and {out / 'indicators.png'}")
    return report


if __name__ == "__main__":
    main()
