"""Two processes on the CPU (gloo) through torchrun: the documented multi-GPU command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_sets import torchrun_train, write_recipe


@pytest.mark.slow
def test_torchrun_two_processes_on_cpu(tmp_path: Path, folder: Path) -> None:
    data = {"train": str(folder), "val_fraction": 0.3}
    recipe = write_recipe(tmp_path / "r.yaml", data=data, optim={"steps": 2, "eval_every": 1})
    run = tmp_path / "run"
    done = torchrun_train(recipe, run)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 2
    # Each process draws half of an epoch; validation scores are gathered from both.
    assert summary["metrics"]["n"] == summary["n_val"]
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2]  # rank 0 writes, once
    assert done.stderr.count("training cnn-tiny") == 1
