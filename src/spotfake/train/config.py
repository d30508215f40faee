"""Training recipe: typed sections read from YAML, where an unknown key is an error."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spotfake.data.augment import AugmentConfig
from spotfake.data.sources import DataConfig, SourceConfig


@dataclass
class OptimConfig:
    """AdamW with linear warm-up and cosine decay, counted in steps."""

    steps: int = 1500
    batch_size: int = 32
    lr: float = 2e-4
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    eval_every: int = 250
    seed: int = 0
    threads: int | None = None


@dataclass
class TrainConfig:
    """A whole recipe: model, initial weights, data, augmentation, optimisation."""

    model: str = "cnn-efficientnet-lite0"
    name: str = "model"
    init: str | None = None
    train_crop: int = 128
    eval_crop: int = 224
    cross_quality_p: float = 0.5
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Instantiate a dataclass from a dict, recursing into nested sections; reject unknown keys."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; allowed: {sorted(known)}")
    nested = {"data": DataConfig, "augment": AugmentConfig, "optim": OptimConfig}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if cls is TrainConfig and key in nested:
            value = _build(nested[key], value or {}, f"{where}.{key}")
        elif cls is DataConfig and key in ("sources", "heldout"):
            value = [_build(SourceConfig, v, f"{where}.{key}[{i}]") for i, v in enumerate(value)]
        elif cls is AugmentConfig and key in ("blur_sigma", "jpeg_quality", "resize_scale"):
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        data = data.setdefault(key, {})
    data[keys[-1]] = value


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML recipe and apply key=value overrides (values parsed as YAML)."""
    data = yaml.safe_load(Path(path).read_text()) or {}
    for item in overrides or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"override {item!r} is not key=value")
        _set(data, key.strip(), yaml.safe_load(raw))
    config: TrainConfig = _build(TrainConfig, data, Path(path).name)
    return config
