"""`spotfake attack`: attack a labelled dataset's images, save them losslessly, report the damage.

Layout of OUT:

- ``clean/<key>.png``: every decoded image of the sample, as PNG (so a detector of attacks that
  compares clean and attacked files cannot tell them apart by their format);
- ``<attack>/<key>__<attack>.png``: the attacked images (``pgd-e4/``, ``deepfool/``, ...). A file
  and its clean copy share the group ``<key>`` (``spotfake.data.groups``), so a train/validation
  split never separates them;
- ``manifest.csv``: one row per saved file: ``path`` (relative to OUT), ``label`` (1 generated,
  0 real: the image's own label, so ``spotfake evaluate MODEL OUT/manifest.csv`` scores the
  attacked files per attack, the ``generator`` column), ``split`` (by group), the source file,
  the attack, eps, target, the scores before and after (re-scored from the saved 8-bit pixels)
  and the perturbation (L-inf in 1/255 units, L2 with pixels in [0, 1], PSNR in dB);
- ``adversarial.csv``: the same files labelled 1 attacked / 0 clean, for training a detector of
  attacks (``adv-spectral-*``) with ``data.train``;
- ``summary.json`` and ``report.md``: per attack, the detector's accuracy and AUC before and
  after, the success rate and the mean perturbation.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from spotfake.adversarial.attacks import AttackPlan, attack_images, attackable
from spotfake.data.groups import GROUP_SEPARATOR
from spotfake.data.sources import split_of
from spotfake.models.base import Detector
from spotfake.records import ImageRecord

MANIFEST_FIELDS = (
    "path", "label", "generator", "split", "source", "attack", "eps", "target",
    "score_clean", "score", "linf", "l2", "psnr",
)  # fmt: skip
REPORT_COLUMNS = (
    "success_rate", "accuracy_before", "accuracy_after", "auc_before", "auc_after",
    "linf", "l2", "psnr", "seconds_per_image",
)  # fmt: skip
VAL_FRACTION = 0.2  # the split column of both listings, by group


@dataclass
class AttackRun:
    """What `attack_dataset` did: the per-attack summary rows and the files it could not read."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    unreadable: list[tuple[str, str]] = field(default_factory=list)
    threshold: float = 0.5
    model: str = ""
    model_hash: str = ""
    n_images: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_hash": self.model_hash,
            "threshold": self.threshold,
            "images": self.n_images,
            "attacks": self.rows,
            "unreadable": [{"path": p, "error": e} for p, e in self.unreadable],
        }


def targets_for(labels: Sequence[int], target: str) -> list[int | None]:
    """Each image's target verdict (0 real, 1 generated), or None where it is not attacked."""
    if target == "real":
        return [0 if label == 1 else None for label in labels]
    if target == "fake":
        return [1 if label == 0 else None for label in labels]
    if target == "both":
        return [1 - int(label) for label in labels]
    raise ValueError(f"target must be real, fake or both, not {target!r}")


def unique_keys(locations: Sequence[str]) -> list[str]:
    """A distinct file-name stem per image (the group of its clean and attacked files)."""
    keys: list[str] = []
    seen: set[str] = set()
    for location in locations:
        stem = PurePosixPath(location.replace("\\", "/").split("!")[-1]).stem
        stem = stem.replace(GROUP_SEPARATOR, "_") or "image"
        key, n = stem, 1
        while key in seen:
            n += 1
            key = f"{stem}-{n}"
        seen.add(key)
        keys.append(key)
    return keys


def attack_dataset(
    detector: Detector,
    records: Sequence[ImageRecord],
    plans: Sequence[AttackPlan],
    out: Path,
    target: str = "real",
    batch_size: int = 8,
    seed: int = 0,
    progress: Callable[[int], None] | None = None,
    model_name: str = "",
) -> AttackRun:
    """Attack every image of ``records`` with each plan, write OUT (see the module doc)."""
    from spotfake.data.members import member_reader
    from spotfake.evaluate.perturb import CLEAN, Condition
    from spotfake.evaluate.scoring import prepare_image

    cnn = attackable(detector)
    threshold = cnn.spec.threshold
    run = AttackRun(threshold=threshold, model=model_name, model_hash=cnn.model_hash)
    images: list[np.ndarray] = []
    kept: list[ImageRecord] = []
    with member_reader() as read:
        for record in records:
            prepared = prepare_image(record.path, read, [Condition(CLEAN)])
            if isinstance(prepared, str):  # why it could not be read
                run.unreadable.append((record.path, prepared))
                continue
            images.append(prepared[0])
            kept.append(record)
    run.n_images = len(kept)
    labels = np.array([int(r.label or 0) for r in kept], dtype=int)
    keys = unique_keys([r.path for r in kept])
    wanted = targets_for(labels.tolist(), target)
    attacked = [i for i, t in enumerate(wanted) if t is not None]
    out.mkdir(parents=True, exist_ok=True)
    clean_scores = cnn.score(images) if images else np.empty(0)
    rows: list[dict[str, Any]] = []
    for i, key in enumerate(keys):
        path = f"clean/{key}.png"
        write_png(out / path, images[i])
        rows.append(_row(path, kept[i], key, "clean", None, None, clean_scores[i], clean_scores[i]))
    for plan in plans:
        started = time.perf_counter()
        results = attack_images(
            cnn, [images[i] for i in attacked], [int(wanted[i] or 0) for i in attacked], plan,
            batch_size=batch_size, seed=seed, clean=clean_scores[attacked],
        )  # fmt: skip
        seconds = time.perf_counter() - started
        after = clean_scores.copy()
        for i, result in zip(attacked, results, strict=True):
            path = f"{plan.tag}/{keys[i]}{GROUP_SEPARATOR}{plan.tag}.png"
            write_png(out / path, result.pixels)
            after[i] = result.score_saved
            rows.append(
                _row(path, kept[i], keys[i], plan.tag, plan.eps, wanted[i], clean_scores[i],
                     result.score_saved, result.linf, result.l2, result.psnr)
            )  # fmt: skip
        run.rows.append(_summary(plan, labels, clean_scores, after, attacked, wanted, results,
                                 threshold, seconds))  # fmt: skip
        if progress is not None:
            progress(1)
    _write_listings(out, rows)
    (out / "summary.json").write_text(json.dumps(run.to_dict(), indent=2) + "\n")
    (out / "report.md").write_text(report_markdown(run) + "\n")
    return run


def write_png(path: Path, pixels: np.ndarray) -> None:
    """Save RGB uint8 pixels losslessly (PNG, fast compression)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, "PNG", compress_level=1)


def _row(
    path: str,
    record: ImageRecord,
    key: str,
    attack: str,
    eps: float | None,
    target: int | None,
    clean: float,
    score: float,
    linf: float = 0.0,
    l2: float = 0.0,
    psnr: float = math.inf,
) -> dict[str, Any]:
    return {
        "path": path,
        "label": int(record.label or 0),
        "generator": attack,
        "split": split_of(key, VAL_FRACTION),
        "source": record.path,
        "attack": attack,
        "eps": "" if eps is None else f"{eps:g}",
        "target": "" if target is None else ("fake" if target else "real"),
        "score_clean": f"{clean:.6f}",
        "score": f"{score:.6f}",
        "linf": f"{linf:g}",
        "l2": f"{l2:.6f}",
        "psnr": "inf" if math.isinf(psnr) else f"{psnr:.2f}",
    }


def _write_listings(out: Path, rows: list[dict[str, Any]]) -> None:
    with (out / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=MANIFEST_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    with (out / "adversarial.csv").open("w", newline="") as handle:
        listing = csv.writer(handle)
        listing.writerow(["path", "label", "generator", "split"])
        for row in rows:
            label = 0 if row["attack"] == "clean" else 1
            listing.writerow([row["path"], label, row["attack"], row["split"]])


def _summary(
    plan: AttackPlan,
    labels: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    attacked: list[int],
    wanted: list[int | None],
    results: Sequence[Any],
    threshold: float,
    seconds: float,
) -> dict[str, Any]:
    from spotfake.evaluate.metrics import detection_metrics

    clean = detection_metrics(labels, before, threshold)
    hit = detection_metrics(labels, after, threshold)
    success = [(r.score_saved >= threshold) == bool(wanted[i])
               for i, r in zip(attacked, results, strict=True)]  # fmt: skip
    moved = [r for r in results if r.attacked]
    finite = [r.psnr for r in moved if math.isfinite(r.psnr)]
    return {
        "attack": plan.tag,
        "name": plan.name,
        "eps": plan.eps,
        "attacked": len(results),
        "success_rate": float(np.mean(success)) if success else None,
        "accuracy_before": clean["accuracy"],
        "accuracy_after": hit["accuracy"],
        "auc_before": clean["auc"],
        "auc_after": hit["auc"],
        "linf": float(np.mean([r.linf for r in moved])) if moved else 0.0,
        "l2": float(np.mean([r.l2 for r in moved])) if moved else 0.0,
        "psnr": float(np.mean(finite)) if finite else None,
        "seconds_per_image": seconds / len(results) if results else 0.0,
    }


def report_markdown(run: AttackRun) -> str:
    """The per-attack table as Markdown."""
    lines = [
        f"# Attacks on {run.model or 'the detector'} ({run.model_hash}, threshold "
        f"{run.threshold:.4g}), {run.n_images} images",
        "",
        "| attack | attacked | success | accuracy before | after | AUC before | after | "
        "L-inf (/255) | L2 | PSNR dB | s/image |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in run.rows:
        cells = [row["attack"], str(row["attacked"])] + [_fmt(row[k]) for k in REPORT_COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    if run.unreadable:
        lines += ["", f"{len(run.unreadable)} files could not be read (see summary.json)."]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 100 else f"{value:.1f}"
    return str(value)
