"""Optimisers and learning-rate schedules of both papers, with linear warm-up.

- CNNDetection (Wang et al. 2020): Adam, lr 1e-4; the lr is divided by 10 when validation
  accuracy has not improved by ``min_delta`` for ``patience`` evaluations, and training stops
  once it falls below ``stop_lr`` (1e-6): ``schedule: plateau``.
- Fake-or-JPEG style: SGD or AdamW with cosine decay to ``min_lr``: ``schedule: cosine``.

A schedule maps a step to a learning rate and may react to validation metrics; its state is
part of the training checkpoint, so a resumed run continues the same curve.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from spotfake.train.config import OptimConfig


def build_optimizer(params: Iterable[Any], o: OptimConfig) -> Any:
    """The optimiser the recipe names, at its base learning rate."""
    import torch

    if o.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=o.lr,
            momentum=o.momentum,
            nesterov=o.momentum > 0,
            weight_decay=o.weight_decay,
        )
    kind = torch.optim.Adam if o.optimizer == "adam" else torch.optim.AdamW
    return kind(params, lr=o.lr, betas=o.betas, weight_decay=o.weight_decay)


class Schedule:
    """Constant learning rate after a linear warm-up; subclasses shape the curve."""

    def __init__(self, o: OptimConfig, total_steps: int) -> None:
        self.base = o.lr
        self.warmup = o.warmup_steps
        self.total = total_steps

    def lr(self, step: int) -> float:
        """The learning rate of the step about to run (0-based)."""
        if step < self.warmup:
            return self.base * (step + 1) / self.warmup
        return self.after_warmup(step)

    def after_warmup(self, step: int) -> float:
        return self.base

    def observe(self, value: float | None) -> bool:
        """Take a validation metric; False when training should stop."""
        return True

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what state_dict() returned."""


class CosineSchedule(Schedule):
    """Cosine decay from the base learning rate to min_lr over the steps after warm-up."""

    def __init__(self, o: OptimConfig, total_steps: int) -> None:
        super().__init__(o, total_steps)
        self.min_lr = o.min_lr

    def after_warmup(self, step: int) -> float:
        progress = (step - self.warmup) / max(1, self.total - self.warmup)
        cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        return self.min_lr + (self.base - self.min_lr) * cosine


class PlateauSchedule(Schedule):
    """Step down on plateau: lr times factor after patience evaluations without improvement."""

    def __init__(self, o: OptimConfig, total_steps: int) -> None:
        super().__init__(o, total_steps)
        self.patience = o.patience
        self.factor = o.factor
        self.min_delta = o.min_delta
        self.stop_lr = o.stop_lr
        self.drops = 0
        self.best: float | None = None
        self.stale = 0

    def after_warmup(self, step: int) -> float:
        return self.current

    @property
    def current(self) -> float:
        return float(self.base * self.factor**self.drops)

    def observe(self, value: float | None) -> bool:
        if value is None:
            return True
        if self.best is None or value > self.best + self.min_delta:
            self.best, self.stale = value, 0
            return True
        self.stale += 1
        if self.stale < self.patience:
            return True
        # As CNNDetection: drop, start counting afresh, stop once the lr is below the floor.
        self.drops += 1
        self.best, self.stale = None, 0
        return self.current >= self.stop_lr * (1 - 1e-9)

    def state_dict(self) -> dict[str, Any]:
        return {"drops": self.drops, "best": self.best, "stale": self.stale}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.drops, self.best, self.stale = state["drops"], state["best"], state["stale"]


def build_schedule(o: OptimConfig, total_steps: int) -> Schedule:
    """The schedule the recipe names."""
    kinds: dict[str, type[Schedule]] = {
        "cosine": CosineSchedule,
        "plateau": PlateauSchedule,
        "constant": Schedule,
    }
    return kinds[o.schedule](o, total_steps)


def set_lr(optimizer: Any, lr: float) -> None:
    """Set every parameter group's learning rate."""
    for group in optimizer.param_groups:
        group["lr"] = lr
