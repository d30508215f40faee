"""Where a run reports: metrics.jsonl always, TensorBoard when installed, progress on stderr.

Only the main process (rank 0) writes; the others get a tracker that does nothing.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, TextIO

METRICS = "metrics.jsonl"


class Tracker:
    """Log lines or a progress bar, the metrics log and TensorBoard scalars of one run."""

    def __init__(
        self,
        out: Path | None,
        log: TextIO,
        total: int,
        start: int = 0,
        progress: bool = False,
        tensorboard: bool = False,
        log_every: int = 25,
    ) -> None:
        self.out, self.log, self.total, self.log_every = out, log, total, log_every
        self.started, self.start = time.time(), start
        self.losses: list[float] = []
        self._bar = _bar(log, total, start) if progress and out is not None else None
        self._tb = _tensorboard(out, start, log) if tensorboard and out is not None else None
        if out is not None:
            _truncate(out / METRICS, start)

    def say(self, message: str) -> None:
        """A line for the user (above the bar when there is one)."""
        if self.out is None:
            return
        if self._bar is not None:
            self._bar[0].console.print(message, markup=False, highlight=False)
        else:
            print(message, file=self.log, flush=True)

    def step(self, step: int, loss: float, lr: float, batch: int) -> None:
        """One optimiser step done: advance the bar, log every log_every steps."""
        self.losses.append(loss)
        if self.out is None:
            return
        rate = (step - self.start) * batch / max(time.time() - self.started, 1e-9)
        if self._bar is not None:
            self._bar[0].update(self._bar[1], completed=step, loss=loss)
        elif step % self.log_every == 0:
            self.say(f"step {step}/{self.total} loss {self.mean_loss():.4f} {rate:.1f} samples/s")
        if self._tb is not None and step % self.log_every == 0:
            self._tb.add_scalar("train/loss", self.mean_loss(), step)
            self._tb.add_scalar("train/lr", lr, step)
            self._tb.add_scalar("train/samples_per_s", rate, step)

    def mean_loss(self) -> float:
        recent = self.losses[-self.log_every :]
        return float(sum(recent) / len(recent)) if recent else float("nan")

    def record(self, entry: dict[str, Any]) -> None:
        """Append a line to metrics.jsonl and its numbers to TensorBoard."""
        if self.out is None:
            return
        with (self.out / METRICS).open("a") as handle:
            handle.write(json.dumps(entry) + "\n")
        if self._tb is not None:
            for key, value in _flatten(entry).items():
                if key != "step" and isinstance(value, (int, float)):
                    self._tb.add_scalar(key, value, entry.get("step", 0))
            self._tb.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar[0].stop()
            self._bar = None
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def _bar(log: TextIO, total: int, start: int) -> tuple[Any, Any]:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("train"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"),
        TimeRemainingColumn(),
        console=Console(file=log),
    )
    task = progress.add_task("train", total=total, completed=start, loss=float("nan"))
    progress.start()
    return progress, task


def _tensorboard(out: Path, start: int, log: TextIO) -> Any:
    """A SummaryWriter in RUN_DIR/tensorboard, or None with a notice when it is not installed."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        print("notice: tensorboard is not installed; metrics go to metrics.jsonl only", file=log)
        return None
    return SummaryWriter(str(out / "tensorboard"), purge_step=start or None)


def _truncate(path: Path, step: int) -> None:
    """Drop log lines past the step a run restarts from (written after its last checkpoint)."""
    if not path.is_file():
        return
    if step == 0:
        path.unlink()
        return
    lines = path.read_text().splitlines()
    keep = [line for line in lines if json.loads(line).get("step", 0) <= step]
    path.write_text("".join(line + "\n" for line in keep))


def _flatten(entry: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested metric dicts as 'val/overall/auc'-style keys."""
    flat: dict[str, Any] = {}
    for key, value in entry.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "/"))
        else:
            flat[name] = value
    return flat
