"""Training recipe: typed sections read from YAML, where an unknown key is an error."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from spotfake.data.augment import AugmentConfig
from spotfake.data.sources import DataConfig, SourceConfig, SynthSourceConfig

CHOICES: dict[str, tuple[str, ...]] = {
    "optim.optimizer": ("adamw", "adam", "sgd"),
    "optim.schedule": ("cosine", "plateau", "constant"),
    "optim.monitor": ("auc", "accuracy", "ap"),
    "runtime.amp": ("off", "bf16", "fp16"),
    "data.sampling": ("balanced", "shuffle"),
    "data.split_rule": ("group", "path"),
    "upscale_method": ("nearest", "bicubic"),
}


@dataclass
class OptimConfig:
    """Optimiser, learning-rate schedule and the run's length (in steps, or in epochs)."""

    steps: int | None = None  # optimiser steps; wins over epochs when both are set
    epochs: float | None = None  # passes over the training set (an epoch = len(train) draws)
    batch_size: int = 32  # per process: the global batch is this times the number of processes
    optimizer: str = "adamw"
    lr: float = 2e-4
    weight_decay: float = 1e-4
    momentum: float = 0.9  # sgd (Nesterov)
    betas: tuple[float, float] = (0.9, 0.999)  # adam, adamw
    grad_clip: float | None = None  # max gradient norm
    schedule: str = "cosine"  # cosine to min_lr, constant, or plateau (CNNDetection)
    warmup_steps: int = 50
    min_lr: float = 0.0
    patience: int = 5  # plateau: evaluations without a min_delta gain before the lr drops
    factor: float = 0.1  # plateau: the lr is multiplied by this at each drop
    min_delta: float = 0.001
    stop_lr: float = 1e-6  # plateau: training stops when the lr falls below this
    monitor: str = "auc"  # validation metric that picks the best checkpoint (and drives plateau)
    eval_every: int | None = None  # steps between evaluations (None: once per epoch)
    stop_at: int | None = None  # leave after this step, checkpointed, as if interrupted
    seed: int = 0
    threads: int | None = None  # torch CPU threads


@dataclass
class RuntimeConfig:
    """Where and how the run executes: device, mixed precision, logging."""

    device: str = "auto"  # auto (CUDA when present), cpu, cuda
    amp: str = "off"  # bf16 or fp16 autocast, on CUDA only
    channels_last: bool = True
    tensorboard: bool = True  # when the tensorboard package is installed
    progress: bool | None = None  # a progress bar (None: when stderr is a terminal)
    log_every: int = 25  # steps between log lines


@dataclass
class CalibrationConfig:
    """Choose the saved threshold on validation reals (``spotfake.evaluate.calibration``).

    The threshold is the smallest at which at most max_real_flag of each real source's
    validation images is called generated, so no kind of real (photos, paintings, ...) is
    flagged more often than that.
    """

    max_real_flag: float = 0.05

    def __post_init__(self) -> None:
        value = self.max_real_flag
        # bool is an int to Python: refuse it (load_config has already turned "5e-2" into 0.05).
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
            raise ValueError(
                f"calibration.max_real_flag is {value!r}; expected a number in [0, 1), e.g. 0.05"
            )
        self.max_real_flag = float(value)


@dataclass
class TrainConfig:
    """A whole recipe: model, initial weights, data, augmentation, optimisation, runtime."""

    model: str = "cnn-efficientnet-lite0"
    name: str = "model"
    init: str | None = None  # a local .safetensors/.pth, or efficientnet-lite{0,1,2}-imagenet
    model_config: dict[str, Any] = field(default_factory=dict)  # more create_detector options
    train_crop: int = 128
    eval_crop: int = 224
    # Inference windows saved in the spec (InputPolicy.crops, crops_min_side); validation and
    # calibration score through them too. 1: the centre crop alone.
    eval_crops: int = 1
    eval_crops_min_side: int = 0
    upscale: int = 1  # enlarge every image by this integer factor, in training and inference
    upscale_method: str = "bicubic"
    cross_quality_p: float = 0.5
    resume: bool = False  # continue from RUN_DIR/checkpoint.pt when there is one
    calibration: CalibrationConfig | None = None  # None: keep the detector's threshold (0.5)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    def __post_init__(self) -> None:
        if self.eval_crops < 1 or self.eval_crops_min_side < 0:
            raise ValueError("eval_crops must be >= 1 and eval_crops_min_side >= 0")
        if self.eval_crops_min_side and self.eval_crops < 2:
            raise ValueError("eval_crops_min_side applies only with eval_crops >= 2")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(self)))
        return data


_SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "augment": AugmentConfig,
    "optim": OptimConfig,
    "runtime": RuntimeConfig,
}


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Instantiate a dataclass from a dict, recursing into nested sections; reject unknown keys
    and values of the wrong type, naming the key (``optim.lr: ... got 'abc'``)."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {data!r}")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; allowed: {sorted(known)}")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if cls is TrainConfig and key == "calibration":
            value = None if value is None else _build(CalibrationConfig, value, f"{where}.{key}")
        elif cls is TrainConfig and key in _SECTIONS:
            value = _build(_SECTIONS[key], value or {}, f"{where}.{key}")
        elif cls is DataConfig and key in _SOURCE_LISTS:
            if not isinstance(value, list):
                raise ValueError(f"{where}.{key}: expected a list of sources, got {value!r}")
            kind = _SOURCE_LISTS[key]
            value = [_build(kind, v, f"{where}.{key}[{i}]") for i, v in enumerate(value)]
        else:
            value = _typed(cls, key, value, f"{where}.{key}")
        kwargs[key] = value
    return cls(**kwargs)


_SOURCE_LISTS: dict[str, type] = {
    "sources": SourceConfig,
    "heldout": SourceConfig,
    "synth": SynthSourceConfig,
}


def _typed(cls: type, key: str, value: Any, where: str) -> Any:
    """The value checked (and converted: a YAML list to a tuple, "1e-3" to 0.001) against the
    field's annotation by pydantic; ValueError naming the key when it does not fit."""
    from pydantic import ValidationError

    hint = _hints(cls)[key]
    try:
        return _adapter(hint).validate_python(value)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise ValueError(
            f"{where}: {reason} (expected {_type_name(hint)}, got {value!r})"
        ) from None


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """A dataclass's field annotations, resolved once per class."""
    return typing.get_type_hints(cls)


@functools.cache
def _adapter(hint: Any) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(hint)


def _type_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")


def _check_choices(cfg: TrainConfig, where: str) -> None:
    for dotted, allowed in CHOICES.items():
        value: Any = cfg
        for part in dotted.split("."):
            value = getattr(value, part)
        if value not in allowed:
            raise ValueError(f"{where}: {dotted} is {value!r}; allowed: {list(allowed)}")


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
    _check_choices(config, Path(path).name)
    return config


def with_absolute_paths(cfg: TrainConfig) -> TrainConfig:
    """The recipe with its paths made absolute, so a run directory can resume from anywhere."""
    data = dataclasses.replace(
        cfg.data,
        root=os.path.abspath(cfg.data.root),
        train=_absolute(cfg.data.train),
        val=_absolute(cfg.data.val),
        synth=[dataclasses.replace(s, path=os.path.abspath(s.path)) for s in cfg.data.synth],
    )
    init = cfg.init
    if init is not None and Path(init).suffix in (".safetensors", ".pth", ".pt", ".bin"):
        init = os.path.abspath(init)
    return dataclasses.replace(cfg, data=data, init=init)


def _absolute(path: str | None) -> str | None:
    return None if path is None else os.path.abspath(path)


def save_config(cfg: TrainConfig, folder: Path) -> None:
    """Write the resolved recipe as config.yaml (load_config reads it back) and config.json."""
    data = cfg.to_dict()
    (folder / "config.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (folder / "config.json").write_text(json.dumps(data, indent=2) + "\n")
