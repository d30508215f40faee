"""One training loop for pixel detectors: balanced sampling, augmentation, eval, checkpoints."""

from __future__ import annotations

import json
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from spotfake.data.augment import augment, jpeg_roundtrip, random_crop
from spotfake.data.sources import Item, list_items, load_pixels
from spotfake.evaluate.metrics import detection_metrics
from spotfake.train.config import TrainConfig


@dataclass
class Example:
    """A decoded image kept in memory with what the sampler and augmenter need."""

    pixels: np.ndarray
    label: int
    source: str
    quality: int | None


def load_examples(items: list[Item], threads: int = 2) -> list[Example]:
    """Decode every item once, in parallel threads (Pillow releases the GIL while decoding)."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        decoded = list(pool.map(lambda item: load_pixels(item.location), items))
    return [
        Example(pixels, item.label, item.source, quality)
        for item, (pixels, quality) in zip(items, decoded, strict=True)
    ]


class BalancedSampler:
    """Each draw picks a class with equal odds, then a source by weight, then an image."""

    def __init__(self, examples: list[Example], weights: dict[str, float], seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.by_source: dict[str, list[int]] = {}
        for index, example in enumerate(examples):
            self.by_source.setdefault(example.source, []).append(index)
        self.sources_of: dict[int, list[str]] = {}
        for name, indices in self.by_source.items():
            self.sources_of.setdefault(examples[indices[0]].label, []).append(name)
        self.weights = weights
        # What the other class's files look like: the cross-quality control samples from it.
        self.qualities = {
            label: [examples[i].quality for n in names for i in self.by_source[n]]
            for label, names in self.sources_of.items()
        }

    def draw(self) -> int:
        labels = sorted(self.sources_of)
        names = self.sources_of[labels[int(self.rng.integers(len(labels)))]]
        p = np.array([self.weights.get(n, 1.0) for n in names], dtype=float)
        name = names[int(self.rng.choice(len(names), p=p / p.sum()))]
        pool = self.by_source[name]
        return pool[int(self.rng.integers(len(pool)))]

    def other_quality(self, label: int) -> int | None:
        others = [q for lab, qs in self.qualities.items() if lab != label for q in qs]
        return others[int(self.rng.integers(len(others)))] if others else None


def make_view(example: Example, cfg: TrainConfig, sampler: BalancedSampler) -> np.ndarray:
    """One training crop: window, cross-class JPEG quality, blur/JPEG/flip, final random crop."""
    rng = sampler.rng
    view = random_crop(example.pixels, cfg.train_crop + 32, rng)
    if rng.random() < cfg.cross_quality_p:
        quality = sampler.other_quality(example.label)
        if quality is not None:
            view = jpeg_roundtrip(view, quality)
    view = augment(view, cfg.augment, rng)
    return random_crop(view, cfg.train_crop, rng)


def evaluate_examples(detector: Any, examples: list[Example], batch: int = 32) -> np.ndarray:
    """Scores of a detector on decoded examples with its own input policy."""
    scores = [
        detector.score([e.pixels for e in examples[i : i + batch]])
        for i in range(0, len(examples), batch)
    ]
    return np.concatenate(scores) if scores else np.empty(0)


def per_source_metrics(examples: list[Example], scores: np.ndarray) -> dict[str, Any]:
    """Metrics overall and per source (a source against every example of the other class)."""
    labels = np.array([e.label for e in examples])
    sources = np.array([e.source for e in examples])
    out: dict[str, Any] = {"overall": detection_metrics(labels, scores)}
    for name in sorted(set(sources)):
        mine = sources == name
        other = labels != labels[mine][0]
        keep = mine | other
        out[name] = detection_metrics(labels[keep], scores[keep])
        out[name]["accuracy_own"] = detection_metrics(labels[mine], scores[mine])["accuracy"]
    return out


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to zero."""
    o = cfg.optim
    if step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    progress = (step - o.warmup_steps) / max(1, o.steps - o.warmup_steps)
    return o.lr * 0.5 * (1 + math.cos(math.pi * progress))


def train_step(detector: Any, batch: Any, labels: Any, opt: Any) -> float:
    import torch

    detector.model.train()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(detector.logits(batch), labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return float(loss.detach())


def make_batch(train: list[Example], cfg: TrainConfig, sampler: BalancedSampler) -> tuple[Any, Any]:
    import torch

    from spotfake.models.cnn import preprocess
    from spotfake.models.spec import InputPolicy

    policy = InputPolicy(crop=None)
    views, labels = [], []
    for _ in range(cfg.optim.batch_size):
        example = train[sampler.draw()]
        views.append(preprocess(make_view(example, cfg, sampler), policy))
        labels.append(float(example.label))
    batch = torch.from_numpy(np.stack(views)).contiguous(memory_format=torch.channels_last)
    return batch, torch.tensor(labels)


def fit(cfg: TrainConfig, out: Path, log: TextIO = sys.stderr) -> dict[str, Any]:
    """Train the recipe, keep the best checkpoint by validation AUC, evaluate held-out sets."""
    import torch

    from spotfake.models.cnn import CNNDetector
    from spotfake.models.pretrained import load_init_weights
    from spotfake.models.registry import create_detector

    torch.manual_seed(cfg.optim.seed)
    if cfg.optim.threads:
        torch.set_num_threads(cfg.optim.threads)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2) + "\n")
    root = Path(cfg.data.root)
    items = [i for s in cfg.data.sources for i in list_items(s, root, cfg.data.val_fraction)]
    train = load_examples([i for i in items if i.split == "train"])
    val = load_examples([i for i in items if i.split == "val"])
    print(f"loaded {len(train)} training and {len(val)} validation images", file=log)
    detector = create_detector(cfg.model, crop=cfg.eval_crop)
    if not isinstance(detector, CNNDetector):
        raise ValueError(f"{cfg.model}: this loop trains pixel (CNN) detectors only")
    if cfg.init:
        load_init_weights(detector.model, cfg.init)
    detector.model.to(memory_format=torch.channels_last)
    weights = {s.name: s.weight for s in cfg.data.sources}
    sampler = BalancedSampler(train, weights, cfg.optim.seed)
    opt = torch.optim.AdamW(
        detector.model.parameters(), lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay
    )
    best = _loop(detector, train, val, cfg, sampler, opt, out, log)
    return _finish(detector, cfg, out, best, log)


def _loop(
    detector: Any,
    train: list[Example],
    val: list[Example],
    cfg: TrainConfig,
    sampler: BalancedSampler,
    opt: Any,
    out: Path,
    log: TextIO,
) -> dict[str, Any]:
    best: dict[str, Any] = {"auc": -1.0}
    started, losses = time.time(), []
    with (out / "metrics.jsonl").open("a") as metrics_log:
        for step in range(cfg.optim.steps):
            for group in opt.param_groups:
                group["lr"] = lr_at(step, cfg)
            losses.append(train_step(detector, *make_batch(train, cfg, sampler), opt))
            if (step + 1) % 25 == 0:
                rate = (step + 1) * cfg.optim.batch_size / (time.time() - started)
                print(
                    f"step {step + 1}/{cfg.optim.steps} loss {np.mean(losses[-25:]):.4f} "
                    f"{rate:.1f} samples/s",
                    file=log,
                    flush=True,
                )
            if (step + 1) % cfg.optim.eval_every == 0 or step + 1 == cfg.optim.steps:
                metrics = per_source_metrics(val, evaluate_examples(detector, val))
                record = {"step": step + 1, "loss": float(np.mean(losses[-25:])), "val": metrics}
                metrics_log.write(json.dumps(record) + "\n")
                metrics_log.flush()
                auc = metrics["overall"]["auc"]
                print(
                    f"val step {step + 1}: auc {auc:.4f} acc {metrics['overall']['accuracy']:.4f}",
                    file=log,
                    flush=True,
                )
                if auc > best["auc"]:
                    best = {"auc": auc, "step": step + 1, "val": metrics}
                    detector.save(out / "best")
    detector.save(out / "last")
    return best


def evaluate_heldout(detector: Any, cfg: TrainConfig, log: TextIO) -> dict[str, Any]:
    """Each held-out group scored on its own; a one-class group is paired with validation images
    of the other class, so unseen fakes are measured against reals the model did not train on."""
    root = Path(cfg.data.root)
    val_items = [
        i
        for s in cfg.data.sources
        for i in list_items(s, root, cfg.data.val_fraction)
        if i.split == "val"
    ]
    groups: dict[str, list[Any]] = {}
    for source in cfg.data.heldout:
        groups.setdefault(source.group or source.name, []).append(source)
    results: dict[str, Any] = {}
    for group, sources in groups.items():
        items = [i for s in sources for i in list_items(s, root, 0.0)]
        labels = {i.label for i in items}
        if len(labels) == 1:
            items += [i for i in val_items if i.label not in labels]
        examples = load_examples(items)
        scores = evaluate_examples(detector, examples)
        results[group] = per_source_metrics(examples, scores)
        print(f"held-out {group}: {results[group]['overall']}", file=log, flush=True)
    return results


def _finish(
    detector: Any, cfg: TrainConfig, out: Path, best: dict[str, Any], log: TextIO
) -> dict[str, Any]:
    """Reload the best checkpoint, evaluate held-out sources, write the spec's training summary."""
    from spotfake.models.base import load_detector_file

    best_model = load_detector_file(out / "best.safetensors")
    heldout = evaluate_heldout(best_model, cfg, log)
    summary = {
        "recipe": cfg.name,
        "sources": {s.name: {"path": s.path, "label": s.label} for s in cfg.data.sources},
        "best_step": best.get("step"),
        "val": best.get("val"),
        "heldout": heldout,
    }
    best_model.spec.name = cfg.name
    best_model.spec.training = summary
    best_model.save(out / "best")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({"val_overall": (best.get("val") or {}).get("overall")}), file=log)
    return summary
