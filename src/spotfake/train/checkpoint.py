"""The training checkpoint (RUN_DIR/checkpoint.pt): everything a resumed run needs to go on.

Model, optimiser, schedule and gradient-scaler states, torch's random generators, the step
reached and the best validation result so far. Augmentation randomness needs no saving: each
view's seed comes from (seed, epoch, position) (see ``sampling``). The file holds only tensors
and plain Python values, so it loads with ``weights_only=True`` (no pickled code).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from spotfake.train.loop import TrainingRun

CHECKPOINT = "checkpoint.pt"


def rng_state() -> dict[str, Any]:
    """torch's CPU and CUDA generator states."""
    import torch

    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what rng_state() returned (CUDA states only where CUDA is in use)."""
    import torch

    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write the checkpoint atomically: a crash while writing keeps the previous one."""
    import torch

    partial = path.with_suffix(".partial")
    torch.save(state, partial)
    os.replace(partial, path)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by save_checkpoint, onto the CPU."""
    import torch

    state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    return state


def training_state(run: TrainingRun) -> dict[str, Any]:
    """What a TrainingRun must save to continue later."""
    return {
        "step": run.step,
        "world": run.dist.world,
        "model": run.detector.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "schedule": run.schedule.state_dict(),
        "scaler": run.scaler.state_dict(),
        "rng": rng_state(),
        "best": run.best,
        "losses": run.tracker.losses[-run.cfg.runtime.log_every :],  # the logged running mean
    }


def restore(run: TrainingRun, state: dict[str, Any]) -> None:
    """Put a TrainingRun back where training_state() left it."""
    run.detector.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.schedule.load_state_dict(state["schedule"])
    run.scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    run.step = int(state["step"])
    run.best = state["best"]
