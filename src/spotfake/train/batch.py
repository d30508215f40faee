"""Several `spotfake train` runs as subprocesses, a few at a time: what ablation and
leave-one-out benchmarks share. A run whose summary says it completed is done and skipped; one
with a checkpoint resumes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

Command = Callable[[Path, int], list[str]]  # (run directory, torch threads) -> argv


def finished(run: Path) -> bool:
    """Whether a run directory holds a completed training."""
    summary = run / "summary.json"
    return summary.is_file() and json.loads(summary.read_text()).get("stopped") == "completed"


def train_command(recipe: str | Path, run: Path, sets: list[str]) -> list[str]:
    """argv of `spotfake train RECIPE -o RUN --set ...`, resuming a run that has a checkpoint."""
    command = [sys.executable, "-m", "spotfake", "train", str(recipe), "-o", str(run)]
    for item in sets:
        command += ["--set", item]
    if (run / "checkpoint.pt").is_file():
        command += ["--resume", str(run)]
    return command


def run_all(jobs: dict[str, Command], work: Path, parallel: int) -> dict[str, int]:
    """Run each job not finished yet in WORK/runs/NAME, `parallel` at a time (one torch thread
    each when more than one), logging to WORK/NAME.log; exit codes by name."""
    todo = [name for name in jobs if not finished(work / "runs" / name)]
    threads = 1 if parallel > 1 else (os.cpu_count() or 1)
    running: list[tuple[str, subprocess.Popen[bytes], float]] = []
    codes: dict[str, int] = {}
    while todo or running:
        while todo and len(running) < parallel:
            name = todo.pop(0)
            run = work / "runs" / name
            run.mkdir(parents=True, exist_ok=True)
            log = open(work / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
            command = jobs[name](run, threads)
            print(f"training {name}: {' '.join(command[2:])}", file=sys.stderr)
            running.append((name, subprocess.Popen(command, stdout=log, stderr=log), time.time()))
        time.sleep(1)
        for item in list(running):
            name, process, started = item
            if process.poll() is not None:
                running.remove(item)
                codes[name] = process.returncode
                state = "done" if process.returncode == 0 else f"FAILED ({process.returncode})"
                print(f"{name}: {state} in {(time.time() - started) / 60:.1f} min", file=sys.stderr)
    return codes
