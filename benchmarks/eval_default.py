"""Evaluate a trained detector the way its model card reports it.

    .venv/bin/python benchmarks/eval_default.py [--model default] [--config configs/default.yaml]
        [--synth NAME=OUT ...]

Validation split of every training source, held-out sources, the shortcut check (format cues
swapped between classes) and the sample images; prints Markdown tables, writes JSON with -o.
Each --synth names a `spotfake synth make` folder: its fakes of the recipe's validation reals
are scored against those reals (a decoder family's traces with content and format matched).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

import spotfake
from spotfake.data.augment import gaussian_blur, jpeg_roundtrip
from spotfake.data.sources import Item, list_items, load_examples
from spotfake.detect import Detector, load_detector
from spotfake.evaluate.calibration import flag_rates, real_scores_by_source
from spotfake.evaluate.metrics import detection_metrics, expected_calibration_error
from spotfake.evaluate.shortcuts import Transform, shortcut_conditions, shortcut_report
from spotfake.evaluate.sources import evaluate_examples, evaluate_heldout, per_source_metrics
from spotfake.synth.make import read_pairs
from spotfake.train.config import load_config

COLUMNS = ("n", "accuracy", "real_accuracy", "fake_accuracy", "ap", "auc")


def table(title: str, rows: dict[str, dict[str, Any]]) -> str:
    """A Markdown table of metric rows."""
    lines = [
        f"\n### {title}\n",
        "| set | " + " | ".join(COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for name, m in rows.items():
        cells = [_cell(m.get(c)) for c in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def separating_qualities(examples: list[Any]) -> tuple[int, int]:
    """(reals' quality, fakes' quality): each class's most common JPEG quality that the other
    class has least of, i.e. the quality cue a shortcut would read."""
    counts = {
        label: collections.Counter(e.quality for e in examples if e.label == label and e.quality)
        for label in (0, 1)
    }
    share = {lab: {q: n / sum(c.values()) for q, n in c.items()} for lab, c in counts.items()}

    def cue(label: int) -> int:
        other = share[1 - label]
        return max(share[label], key=lambda q: share[label][q] - other.get(q, 0.0))

    return cue(0), cue(1)


def _half_size(pixels: np.ndarray, label: int) -> np.ndarray:
    from PIL import Image

    height, width = pixels.shape[:2]
    small = Image.fromarray(pixels).resize((width // 2, height // 2), Image.Resampling.BICUBIC)
    return np.asarray(small)


# Post-processing applied to both classes alike: where a pixel detector is known to weaken.
ROBUSTNESS: dict[str, Transform] = {
    "both classes JPEG q50": lambda pixels, label: jpeg_roundtrip(pixels, 50),
    "both classes resized to 0.5x (bicubic)": _half_size,
    "both classes blurred (sigma 1)": lambda pixels, label: gaussian_blur(pixels, 1.0),
}


def synth_families(
    detector: Detector,
    families: list[str],
    val: list[Item],
    val_scores: np.ndarray,
    trained: set[str],
    threshold: float = 0.5,
) -> dict[str, dict[str, Any]]:
    """Per `synth make` folder (NAME=OUT): its fakes of validation reals against those reals
    (the reals' scores are the validation scores already computed; only the fakes are scored)."""
    real_scores = {
        os.path.realpath(i.location): score
        for i, score in zip(val, val_scores, strict=True)
        if i.label == 0
    }
    rows = {}
    for value in families:
        name, _, out = value.partition("=")
        pairs = [(fake, os.path.realpath(real)) for fake, real in read_pairs(out)]
        pairs = [(fake, real) for fake, real in pairs if real in real_scores]
        fakes = load_examples([Item(name, 1, fake, "val") for fake, _ in pairs])
        scores = np.concatenate(
            [[real_scores[real] for _, real in pairs], evaluate_examples(detector, fakes)]
        )
        labels = np.array([0] * len(pairs) + [1] * len(fakes))
        seen = " (trained on this family)" if os.path.realpath(out) in trained else ""
        metrics = detection_metrics(labels, scores, threshold)
        rows[f"synth {name}{seen}"] = {"n": len(labels), **metrics}
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--examples", default="examples")
    parser.add_argument("--synth", action="append", default=[], help="NAME=SYNTH_MAKE_OUT")
    parser.add_argument("-o", "--output", type=Path)
    args = parser.parse_args(argv)
    started = time.time()
    detector = load_detector(args.model, device="cpu")
    threshold = detector.spec.threshold
    cfg = load_config(args.config)
    root = Path(cfg.data.root)
    items = [
        i
        for s in cfg.data.sources
        for i in list_items(s, root, cfg.data.val_fraction, cfg.data.split_rule)
    ]
    val_items = [i for i in items if i.split == "val"]
    val = load_examples(val_items)
    val_scores = evaluate_examples(detector, val)
    val_metrics = per_source_metrics(val, val_scores, threshold)
    heldout = evaluate_heldout(detector, cfg.data, sys.stderr, threshold)
    trained = {os.path.realpath(s.path) for s in cfg.data.synth}
    synth = synth_families(detector, args.synth, val_items, val_scores, trained, threshold)
    labels = np.array([e.label for e in val])
    reals = real_scores_by_source(labels, val_scores, [e.source for e in val])
    at_threshold, at_half = flag_rates(reals, threshold), flag_rates(reals, 0.5)
    flags = {
        name: {
            "n": int(scores.size),
            "flagged": at_threshold[name],
            "flagged_at_half": at_half[name],
        }
        for name, scores in reals.items()
    }
    ece = expected_calibration_error(labels, val_scores)
    conditions = shortcut_conditions(*separating_qualities(val), size=128)
    pixels = [e.pixels for e in val]
    shortcuts = shortcut_report(detector.score, pixels, labels, conditions, threshold)
    robustness = shortcut_report(detector.score, pixels, labels, ROBUSTNESS, threshold)
    samples = {
        r.path: r.score
        for r in spotfake.predict(detector, sorted(Path(args.examples).glob("*.*")))
        if not r.path.endswith(".md")
    }
    print(f"model {detector.spec.display_name} ({detector.model_hash}), threshold {threshold:.6g}")
    print("(accuracies at that threshold)")
    print(table("Validation split of the training sources", val_metrics))
    ece_text = "n/a" if ece is None else f"{ece:.4f}"
    print(f"\n### Validation reals flagged, per real source (ECE over the split: {ece_text})\n")
    print("| source | reals | flagged | flagged at 0.5 |\n|---|---|---|---|")
    for name, row in flags.items():
        print(f"| {name} | {row['n']} | {row['flagged']:.1%} | {row['flagged_at_half']:.1%} |")
    for group, metrics in heldout.items():
        print(table(f"Held out: {group}", metrics))
    if synth:
        print(table("Synthesised families (fakes of validation reals against them)", synth))
    print(table("Shortcut check on the validation split", shortcuts))
    print(table("Robustness on the validation split", robustness))
    print("\n### Sample images\n")
    for path, score in samples.items():
        if score is None:
            print(f"- {Path(path).name}: could not be read")
            continue
        verdict = "generated" if score >= threshold else "real"
        print(f"- {Path(path).name}: {score:.4f} ({verdict})")
    print(f"\n({time.time() - started:.0f} s)")
    if args.output:
        report = {
            "model": detector.spec.display_name,
            "model_hash": detector.model_hash,
            "threshold": threshold,
            "val": val_metrics,
            "real_flag_rates": flags,
            "ece": ece,
            "heldout": heldout,
            "synth": synth,
            "shortcuts": shortcuts,
            "robustness": robustness,
            "examples": samples,
        }
        args.output.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
