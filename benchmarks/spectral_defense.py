"""SpectralDefense reproduction: how well each variant detects each attack, and across attacks.

Reads the output folder of `spotfake attack MODEL DATA -o OUT` (best with --target both, so the
clean and attacked images have the same content mix), computes each variant's features of
every clean and attacked image once, and scores them by grouped 5-fold cross-validation: an
image's clean copy and all its attacked versions are always in the same fold, so no test image
has its twin in training. For every pair (train attack A, test attack B) the detector is fitted
on the training folds' clean images and their A versions and tested on the held-out folds'
clean images and their B versions; the diagonal is the paper's setting (same attack), the rest
says whether a detector of one attack sees the others. Prints AUC and accuracy at 0.5 tables
and writes them (JSON, Markdown) beside the attack output.

  .venv/bin/python benchmarks/spectral_defense.py OUT [--variants input,layer-magnitude,layer-phase]
      [--folds 5] [--grid-input 32] [--grid-layer 8] [--json FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ALL = "all"  # a training row with every attack at once (how the shipped check is trained)
VARIANTS = {
    "input": ("adv-spectral-input", {}),
    "layer-magnitude": ("adv-spectral-layer", {"spectrum": "magnitude"}),
    "layer-phase": ("adv-spectral-layer", {"spectrum": "phase"}),
    "layer-both": ("adv-spectral-layer", {"spectrum": "both"}),
}


def summarise_file(path: Path) -> str:
    """The summary table of a written spectral_defense.json."""
    results = json.loads(path.read_text())
    first = next(iter(results["variants"].values()))["table"]
    return summary_table(results, list(first))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("attack_output", type=Path)
    parser.add_argument("--variants", default="input,layer-magnitude,layer-phase")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--grid-input", type=int, default=32)
    parser.add_argument("--grid-layer", type=int, default=8)
    parser.add_argument("--crop", type=int, default=None, help="input crop (default: protected")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from spotfake.data.groups import group_key
    from spotfake.detect import load_detector
    from spotfake.io import read_image
    from spotfake.models.registry import create_detector

    torch.set_num_threads(1)
    out: Path = args.attack_output
    summary = json.loads((out / "summary.json").read_text())
    with (out / "adversarial.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    protected = summary["model"]
    crop = args.crop or load_detector(protected, device="cpu").spec.input.crop
    images = [read_image(out / r["path"]).pixels for r in rows]
    attacks = sorted({r["generator"] for r in rows} - {"clean"}, key=_attack_order)
    groups = np.array([group_key(r["path"]) for r in rows])
    kinds = np.array([r["generator"] for r in rows])
    print(f"{out}: {len(rows)} images, protected {protected} ({summary['model_hash']}), "
          f"attacks {', '.join(attacks)}", flush=True)  # fmt: skip
    results: dict[str, Any] = {"attack_output": str(out), "protected": protected,
                               "protected_hash": summary["model_hash"], "variants": {}}  # fmt: skip
    for variant in args.variants.split(","):
        architecture, options = VARIANTS[variant]
        if architecture == "adv-spectral-input":
            detector = create_detector(architecture, crop=crop, grid=args.grid_input)
        else:
            detector = create_detector(architecture, protected=protected, grid=args.grid_layer,
                                       **options)  # fmt: skip
        started = time.perf_counter()
        features = np.concatenate([detector.features(images[i : i + 16])
                                   for i in range(0, len(images), 16)])  # fmt: skip
        seconds = (time.perf_counter() - started) / len(images)
        table = cross_attack(detector, features, groups, kinds, attacks, args.folds)
        results["variants"][variant] = {"features": int(features.shape[1]),
                                        "seconds_per_image": seconds, "table": table}  # fmt: skip
        print(f"\n{variant} ({features.shape[1]} features, {seconds * 1000:.0f} ms/image): "
              "AUC, rows trained on, columns tested on", flush=True)  # fmt: skip
        print(markdown(table, attacks, "auc"))
        print(f"\n{variant}: accuracy at 0.5")
        print(markdown(table, attacks, "accuracy"))
    print("\nSame attack in training and test (AUC / accuracy at 0.5); last row: mean AUC on the "
          "other attacks")  # fmt: skip
    print(summary_table(results, attacks))
    path = args.json or out / "spectral_defense.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {path}")
    return 0


def _attack_order(tag: str) -> tuple[int, float]:
    name, _, eps = tag.partition("-e")
    order = ("fgsm", "bim", "pgd", "deepfool", "cw")
    return (order.index(name) if name in order else 99, float(eps or 0))


def cross_attack(
    detector: Any,
    features: np.ndarray,
    groups: np.ndarray,
    kinds: np.ndarray,
    attacks: list[str],
    folds: int,
) -> dict[str, dict[str, dict[str, float]]]:
    """AUC and accuracy for every (train attack, test attack) by grouped k-fold."""
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    clean = kinds == "clean"
    unique = np.unique(groups)
    splitter = GroupKFold(n_splits=min(folds, len(unique)))
    table: dict[str, dict[str, dict[str, float]]] = {}
    for train_attack in [*attacks, ALL]:
        scores: dict[str, list[tuple[int, float]]] = {b: [] for b in attacks}
        for train_idx, test_idx in splitter.split(features, groups=groups):
            fit = [i for i in train_idx
                   if clean[i] or kinds[i] == train_attack or train_attack == ALL]  # fmt: skip
            labels = (~clean[fit]).astype(int)
            if len(np.unique(labels)) < 2:
                continue
            detector.fit(features[fit], labels)
            for test_attack in attacks:
                test = [i for i in test_idx if clean[i] or kinds[i] == test_attack]
                predicted = detector.score_features(features[test])
                scores[test_attack] += list(zip((~clean[test]).astype(int), predicted, strict=True))
        table[train_attack] = {}
        for test_attack, pairs in scores.items():
            y = np.array([p[0] for p in pairs])
            s = np.array([p[1] for p in pairs])
            table[train_attack][test_attack] = {
                "auc": float(roc_auc_score(y, s)) if len(np.unique(y)) == 2 else float("nan"),
                "accuracy": float(((s >= 0.5) == y).mean()),
                "n_clean": int((y == 0).sum()),
                "n_attacked": int(y.sum()),
                "clean_flagged": float((s[y == 0] >= 0.5).mean()),
            }
    return table


def summary_table(results: dict[str, Any], attacks: list[str]) -> str:
    """Per attack, each variant's diagonal AUC / accuracy; then each variant's transfer AUC."""
    variants = list(results["variants"])
    lines = ["| attack | " + " | ".join(variants) + " |", "|---" * (len(variants) + 1) + "|"]
    for a in attacks:
        cells = []
        for v in variants:
            cell = results["variants"][v]["table"][a][a]
            cells.append(f"{cell['auc']:.3f} / {cell['accuracy']:.3f}")
        lines.append(f"| {a} | " + " | ".join(cells) + " |")
    transfer = []
    for v in variants:
        table = results["variants"][v]["table"]
        off = [table[a][b]["auc"] for a in attacks for b in attacks if a != b]
        transfer.append(f"{np.nanmean(off):.3f}" if off else "-")
    lines.append("| other attacks (mean AUC) | " + " | ".join(transfer) + " |")
    lines.append("| trained on all: mean AUC, clean flagged at 0.5 | " + " | ".join(
        "{:.3f}, {:.1%}".format(
            np.nanmean([results["variants"][v]["table"][ALL][b]["auc"] for b in attacks]),
            np.mean([results["variants"][v]["table"][ALL][b]["clean_flagged"] for b in attacks]),
        )
        for v in variants
    ) + " |")  # fmt: skip
    return "\n".join(lines)


def markdown(table: dict[str, Any], attacks: list[str], key: str) -> str:
    lines = ["| trained on \\ tested on | " + " | ".join(attacks) + " |",
             "|---" * (len(attacks) + 1) + "|"]  # fmt: skip
    for a in [*attacks, ALL]:
        lines.append(f"| {a} | " + " | ".join(f"{table[a][b][key]:.3f}" for b in attacks) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
