"""One training loop for pixel detectors: balanced sampling, augmentation, eval, checkpoints."""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from spotfake.data.augment import augment, jpeg_roundtrip, random_crop, random_rescale
from spotfake.data.sources import Example, list_items, load_examples
from spotfake.evaluate.sources import evaluate_examples, evaluate_heldout, per_source_metrics
from spotfake.train.config import TrainConfig


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
        self.labels = sorted(self.sources_of)
        self.source_odds = {
            label: _normalised([weights.get(n, 1.0) for n in names])
            for label, names in self.sources_of.items()
        }
        # What the other class's files look like: the cross-quality control samples from it.
        qualities = {
            label: [examples[i].quality for n in names for i in self.by_source[n]]
            for label, names in self.sources_of.items()
        }
        self.other_qualities = {
            label: [q for other, qs in qualities.items() if other != label for q in qs]
            for label in self.labels
        }

    def draw(self) -> int:
        label = self.labels[int(self.rng.integers(len(self.labels)))]
        names = self.sources_of[label]
        name = names[int(self.rng.choice(len(names), p=self.source_odds[label]))]
        pool = self.by_source[name]
        return pool[int(self.rng.integers(len(pool)))]

    def other_quality(self, label: int) -> int | None:
        """A JPEG quality drawn from the files of the other class (None: lossless or none)."""
        others = self.other_qualities[label]
        return others[int(self.rng.integers(len(others)))] if others else None


def _normalised(weights: list[float]) -> np.ndarray:
    p = np.asarray(weights, dtype=float)
    return p / p.sum()


def make_view(example: Example, cfg: TrainConfig, sampler: BalancedSampler) -> np.ndarray:
    """One training crop: window (maybe rescaled), cross-class JPEG, blur/JPEG/flip, final crop."""
    rng = sampler.rng
    size = cfg.train_crop + 32
    if rng.random() < cfg.augment.resize_p:
        scale = float(np.exp(rng.uniform(*np.log(cfg.augment.resize_scale))))
        view = random_rescale(example.pixels, scale, size, rng)
    else:
        view = random_crop(example.pixels, size, rng)
    if rng.random() < cfg.cross_quality_p:
        quality = sampler.other_quality(example.label)
        if quality is not None:
            view = jpeg_roundtrip(view, quality)
    view = augment(view, cfg.augment, rng)
    return random_crop(view, cfg.train_crop, rng)


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
    return _finish(cfg, out, best, log)


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


def _finish(cfg: TrainConfig, out: Path, best: dict[str, Any], log: TextIO) -> dict[str, Any]:
    """Reload the best checkpoint, evaluate held-out sources, write the spec's training summary."""
    from spotfake.models.base import load_detector_file

    best_model = load_detector_file(out / "best.safetensors")
    heldout = evaluate_heldout(best_model, cfg.data, log)
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
