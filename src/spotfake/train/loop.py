"""One training loop for every registered detector: gradient descent, or a closed-form fit.

``fit(cfg, out)`` is what ``spotfake train`` runs. A ``ClosedFormDetector`` (the spectral ones)
learns in one pass over decoded images (``closed_form``); a ``TorchDetector``'s module is
trained here, torchvision-references style: ``load_data``, ``train_one_epoch``,
``evaluate``, with checkpoints at every evaluation so a run can resume where it stopped.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from spotfake.data.dataset import TrainViews
from spotfake.models.base import ClosedFormDetector, Detector, TorchDetector
from spotfake.train import checkpoint as ckpt
from spotfake.train.config import TrainConfig, save_config, with_absolute_paths
from spotfake.train.data import TrainData, load_data
from spotfake.train.distributed import Dist, barrier, init_distributed, shutdown, wrap
from spotfake.train.evaluation import group_metrics, score_samples
from spotfake.train.rundir import check_calibration, finish, summarise
from spotfake.train.sampling import DrawSampler, epoch_draws, pair_draws, steps_per_epoch
from spotfake.train.schedule import Schedule, build_optimizer, build_schedule, set_lr
from spotfake.train.tracking import Tracker
from spotfake.train.views import ViewMaker, quality_mix


class RunDirError(ValueError):
    """The run directory and the resume request disagree."""


@dataclass
class TrainingRun:
    """Everything one gradient-descent run carries from step to step."""

    cfg: TrainConfig
    out: Path
    detector: Any
    net: Any  # what trains: the model, or its DistributedDataParallel wrapper
    optimizer: Any
    schedule: Schedule
    scaler: Any
    data: TrainData
    views: TrainViews
    dist: Dist
    device: str
    total: int
    epoch_steps: int
    tracker: Tracker
    amp: Any = None  # the autocast dtype, or None (float32)
    step: int = 0
    best: dict[str, Any] = field(default_factory=dict)
    best_scores: Any = None  # validation scores of the best weights when scored in this process
    stopped: str = "completed"


def fit(
    cfg: TrainConfig, out: Path, resume: bool = False, log: TextIO = sys.stderr
) -> dict[str, Any]:
    """Train the recipe into the run directory out; returns the summary (empty off rank 0)."""
    import torch

    cfg = with_absolute_paths(cfg)
    if cfg.optim.threads:
        torch.set_num_threads(cfg.optim.threads)
    dist, device = init_distributed(cfg.runtime.device)
    try:
        resuming = _check_run_dir(out, resume or cfg.resume, explicit=resume)
        if dist.main:
            out.mkdir(parents=True, exist_ok=True)
            save_config(cfg, out)
        detector = _create(cfg)
        data = load_data(cfg.data, dist.world, log if dist.main else None)
        check_calibration(cfg, data)
        if isinstance(detector, ClosedFormDetector):
            from spotfake.train.closed_form import fit_closed_form

            return fit_closed_form(cfg, detector, data, out, dist, log) if dist.main else {}
        if not isinstance(detector, TorchDetector):
            raise ValueError(
                f"{cfg.model} is neither a TorchDetector nor a ClosedFormDetector: "
                "spotfake train has nothing to optimise or fit"
            )
        run = _start(cfg, out, detector, data, dist, device, resuming, log)
        train(run)
        run.tracker.close()
        return _wrap_up(run, log)
    finally:
        shutdown(dist)


def _check_run_dir(out: Path, resume: bool, explicit: bool) -> bool:
    """Whether to resume: refuse to overwrite a checkpoint, or to resume without one."""
    has_checkpoint = (out / ckpt.CHECKPOINT).is_file()
    if explicit and not has_checkpoint:
        raise RunDirError(f"{out}: no {ckpt.CHECKPOINT} to resume from")
    if has_checkpoint and not resume:
        raise RunDirError(
            f"{out} holds a training checkpoint: resume it (--resume {out}) or choose another -o"
        )
    return has_checkpoint and resume


def _create(cfg: TrainConfig) -> Detector:
    """The untrained detector of the recipe, with its initial weights (local files only)."""
    import torch

    from spotfake.models.registry import DETECTORS

    torch.manual_seed(cfg.optim.seed)  # the same initial weights on every rank and rerun
    factory = DETECTORS.factory(cfg.model)
    detector = factory(**_input_options(cfg, factory), **cfg.model_config)
    detector.spec.name = cfg.name
    if cfg.eval_crops > 1:  # the recipe's inference windows (checked by TrainConfig)
        detector.spec = detector.spec.with_crops(cfg.eval_crops, cfg.eval_crops_min_side)
    if cfg.init:
        from spotfake.models.pretrained import load_init_weights

        if not isinstance(detector, TorchDetector):
            raise ValueError(f"init: {cfg.model} has no torch model to initialise")
        load_init_weights(detector.model, cfg.init)
    return detector


def _input_options(cfg: TrainConfig, factory: Callable[..., Any]) -> dict[str, Any]:
    """The recipe's eval_crop and upscale, for the factories that declare those options (crop-fed
    detectors); spectral ones take the whole image and no options of the kind."""
    declared = inspect.signature(factory).parameters
    options: dict[str, Any] = {"crop": cfg.eval_crop} if "crop" in declared else {}
    if cfg.upscale != 1:
        if "upscale" not in declared:
            raise ValueError(f"{cfg.model} takes no upscale option")
        options.update(upscale=cfg.upscale, upscale_method=cfg.upscale_method)
    return options


def total_steps(cfg: TrainConfig, epoch_steps: int) -> int:
    """The run's length: optim.steps when set, else optim.epochs in steps."""
    if cfg.optim.steps is not None:
        return cfg.optim.steps
    if cfg.optim.epochs is None:
        raise ValueError("optim: set steps or epochs")
    return max(1, math.ceil(cfg.optim.epochs * epoch_steps))


def _start(
    cfg: TrainConfig,
    out: Path,
    detector: TorchDetector,
    data: TrainData,
    dist: Dist,
    device: str,
    resuming: bool,
    log: TextIO,
) -> TrainingRun:
    """Build the run (optimiser, schedule, scaler, views), restore it when resuming."""
    import torch

    _check_crop(cfg, detector)
    detector.to(device)
    memory = torch.channels_last if cfg.runtime.channels_last else torch.contiguous_format
    detector.model.to(memory_format=memory)
    epoch_steps = steps_per_epoch(len(data.train), cfg.optim.batch_size, dist.world)
    total = total_steps(cfg, epoch_steps)
    optimizer = build_optimizer(detector.model.parameters(), cfg.optim)
    amp = _amp(cfg, device, log if dist.main else None)
    scaler = torch.amp.GradScaler("cuda", enabled=amp == torch.float16)
    run = TrainingRun(
        cfg, out, detector, detector.model, optimizer, build_schedule(cfg.optim, total), scaler,
        data, _views(cfg, data), dist, device, total, epoch_steps, Tracker(None, log, total),
        amp=amp,
    )  # fmt: skip
    torch.manual_seed(cfg.optim.seed + 1000 * dist.rank)  # dropout and the like, per rank
    state = ckpt.load_checkpoint(out / ckpt.CHECKPOINT) if resuming else {}
    if state:
        ckpt.restore(run, state)
    run.net = wrap(detector.model, dist, device)
    run.tracker = _tracker(cfg, out if dist.main else None, log, total, run.step)
    run.tracker.losses = list(state.get("losses", []))
    run.tracker.say(f"training {cfg.model} for {total} steps ({epoch_steps} per epoch)")
    return run


def _check_crop(cfg: TrainConfig, detector: TorchDetector) -> None:
    if cfg.train_crop % detector.multiple:
        raise ValueError(f"train_crop must be a multiple of {detector.multiple} for {cfg.model}")


def _amp(cfg: TrainConfig, device: str, log: TextIO | None) -> Any:
    """The autocast dtype, or None: mixed precision runs on CUDA only."""
    import torch

    if cfg.runtime.amp == "off":
        return None
    if not device.startswith("cuda"):
        if log is not None:
            print(f"notice: amp {cfg.runtime.amp} is for CUDA only; training in float32", file=log)
        return None
    return torch.bfloat16 if cfg.runtime.amp == "bf16" else torch.float16


def _views(cfg: TrainConfig, data: TrainData) -> TrainViews:
    labels = [s.label for s in data.train]
    maker = ViewMaker(
        crop=cfg.train_crop,
        augment=cfg.augment,
        cross_quality_p=cfg.cross_quality_p,
        upscale=cfg.upscale,
        upscale_method=cfg.upscale_method,
        other_qualities=quality_mix(labels, [s.quality for s in data.train]),
    )
    return TrainViews(data.train_store, labels, maker)


def _tracker(cfg: TrainConfig, out: Path | None, log: TextIO, total: int, start: int) -> Tracker:
    r = cfg.runtime
    progress = r.progress if r.progress is not None else log.isatty()
    return Tracker(out, log, total, start, progress, r.tensorboard, r.log_every)


def train(run: TrainingRun) -> None:
    """Epochs of training until the step budget, the schedule or stop_at ends the run."""
    while run.step < run.total:
        epoch, done = divmod(run.step, run.epoch_steps)
        if not train_one_epoch(run, epoch, done):
            break


def loader_for(run: TrainingRun, epoch: int, done: int) -> Any:
    """This rank's DataLoader for an epoch, skipping the `done` steps already taken."""
    from torch.utils.data import DataLoader

    o, dist = run.cfg.optim, run.dist
    n = run.epoch_steps * o.batch_size * dist.world
    labels = [s.label for s in run.data.train]
    groups = [s.group for s in run.data.train]
    indices, seeds = epoch_draws(
        labels, groups, run.data.weights, run.cfg.data.sampling, o.seed, epoch, n
    )
    if run.cfg.data.paired:
        indices = pair_draws(indices, labels, run.data.twins, o.batch_size * dist.world)
    sampler = DrawSampler(indices, seeds, dist.rank, dist.world, done * o.batch_size)
    workers = run.cfg.data.workers
    if workers is None:
        workers = 0 if run.device == "cpu" else 8
    return DataLoader(
        run.views,
        batch_size=o.batch_size,
        sampler=sampler,
        num_workers=workers,
        pin_memory=run.device.startswith("cuda"),
        drop_last=True,
    )


def train_one_epoch(run: TrainingRun, epoch: int, done: int = 0) -> bool:
    """Train the rest of one epoch; False when the run must stop."""
    run.net.train()
    for images, labels in loader_for(run, epoch, done):
        lr = run.schedule.lr(run.step)
        set_lr(run.optimizer, lr)
        loss = train_step(run, images, labels)
        run.step += 1
        run.tracker.step(run.step, loss, lr, run.cfg.optim.batch_size * run.dist.world)
        if run.step % (run.cfg.optim.eval_every or run.epoch_steps) == 0 or run.step >= run.total:
            if not evaluate_and_checkpoint(run):
                return False
            run.net.train()
        if run.step >= run.total:
            return False
        if run.step == run.cfg.optim.stop_at:
            run.stopped = f"stop_at {run.step}"
            save_state(run)
            return False
    return True


def train_step(run: TrainingRun, images: Any, labels: Any) -> float:
    """One optimiser step on a batch of uint8 NHWC views."""
    import torch

    batch = _normalised(run, images)
    labels = labels.to(run.device, non_blocking=True)
    amp = run.amp
    with torch.autocast("cuda", dtype=amp) if amp is not None else contextlib.nullcontext():
        logits = run.net(batch).reshape(-1).float()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    if run.cfg.optim.grad_clip:
        run.scaler.unscale_(run.optimizer)
        torch.nn.utils.clip_grad_norm_(run.net.parameters(), run.cfg.optim.grad_clip)
    run.scaler.step(run.optimizer)
    run.scaler.update()
    return float(loss.detach())


def _normalised(run: TrainingRun, images: Any) -> Any:
    """uint8 NHWC -> normalised float NCHW on the device (channels_last by construction)."""
    import torch

    policy = run.detector.spec.input
    mean = torch.tensor(policy.mean, device=run.device).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(policy.std, device=run.device).view(1, 3, 1, 1) * 255.0
    batch = images.to(run.device, non_blocking=True).permute(0, 3, 1, 2).float()
    batch = (batch - mean) / std
    return batch if run.cfg.runtime.channels_last else batch.contiguous()


def evaluate(run: TrainingRun) -> dict[str, Any]:
    """Validation metrics overall and per group (empty without validation images)."""
    return _validate(run)[0]


def _validate(run: TrainingRun) -> tuple[dict[str, Any], Any]:
    """(metrics, per-image scores in data.val order); ({}, None) without validation images."""
    data = run.data
    if not data.val:
        return {}, None
    scores = score_samples(run.detector, data.val, data.val_store, run.dist)
    return group_metrics(data.val, scores), scores


def evaluate_and_checkpoint(run: TrainingRun) -> bool:
    """Validate, log, keep the best weights, checkpoint; False when the schedule says stop."""
    metrics, scores = _validate(run)
    value = (metrics.get("overall") or {}).get(run.cfg.optim.monitor)
    go_on = run.schedule.observe(value)
    entry = {"step": run.step, "loss": run.tracker.mean_loss(), "lr": run.schedule.lr(run.step)}
    run.tracker.record({**entry, "val": metrics})
    overall = metrics.get("overall") or {}
    run.tracker.say(
        f"val step {run.step}: auc {overall.get('auc')} accuracy {overall.get('accuracy')}"
    )
    if _improves(run.best, value):
        run.best = {"step": run.step, "value": value, "val": metrics}
        run.best_scores = scores  # what calibration reuses instead of scoring again
        if run.dist.main:
            run.detector.save(run.out / "best")
    if not go_on:
        run.stopped = f"plateau: lr below {run.cfg.optim.stop_lr}"
    save_state(run)
    return go_on


def _improves(best: dict[str, Any], value: float | None) -> bool:
    """Whether a validation value beats the best so far (without validation: always)."""
    previous = best.get("value")
    return not best or value is None or previous is None or value > previous


def save_state(run: TrainingRun) -> None:
    """Last weights and the training checkpoint (rank 0), then every rank waits for them."""
    if run.dist.main:
        run.detector.save(run.out / "last")
        ckpt.save_checkpoint(run.out / ckpt.CHECKPOINT, ckpt.training_state(run))
    barrier(run.dist)


def _wrap_up(run: TrainingRun, log: TextIO) -> dict[str, Any]:
    """Write summary.json (rank 0) with the best validation metrics and held-out results."""
    if not run.dist.main:
        return {}
    progress = {
        "steps": run.step,
        "total_steps": run.total,
        "epochs": round(run.step / run.epoch_steps, 3),
        "stopped": run.stopped,
        "processes": run.dist.world,
    }
    n = {"train": len(run.data.train), "val": len(run.data.val)}
    summary = summarise(run.cfg, run.best, progress, n)
    val = (run.data.val, run.data.val_store)
    return finish(run.cfg, run.out, summary, val, log, val_scores=run.best_scores)
