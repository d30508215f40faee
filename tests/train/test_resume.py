"""An interrupted run resumed from its checkpoint ends exactly where an uninterrupted one does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from tiny_sets import write_recipe

from spotfake.cli import main

STEPS = 6


def _recipe(tmp_path: Path, root: Path) -> Path:
    data = {"train": str(root), "val_fraction": 0.3, "sampling": "balanced", "workers": 0}
    optim = {"steps": STEPS, "eval_every": 3, "schedule": "cosine", "warmup_steps": 2}
    augment = {"blur_p": 0.5, "jpeg_p": 0.5}
    return write_recipe(tmp_path / "r.yaml", data=data, optim=optim, augment=augment)


def _val_lines(run: Path) -> list[dict[str, object]]:
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [{"step": x["step"], "loss": x["loss"], "val": x["val"]} for x in lines]


def test_resume_reproduces_the_uninterrupted_run(tmp_path: Path, folder: Path) -> None:
    recipe = _recipe(tmp_path, folder)
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert main(["train", str(recipe), "-o", str(whole)]) == 0
    # Interrupted after step 2 (between evaluations), then resumed to the end.
    assert main(["train", str(recipe), "-o", str(parts), "--set", "optim.stop_at=2"]) == 0
    state = torch.load(parts / "checkpoint.pt", weights_only=True)
    assert state["step"] == 2
    assert json.loads((parts / "summary.json").read_text())["stopped"] == "stop_at 2"
    assert main(["train", "--resume", str(parts)]) == 0
    final, resumed = load_file(whole / "last.safetensors"), load_file(parts / "last.safetensors")
    assert final.keys() == resumed.keys()
    for name in final:
        assert torch.equal(final[name], resumed[name]), name
    assert _val_lines(parts) == _val_lines(whole)
    whole_summary = json.loads((whole / "summary.json").read_text())
    parts_summary = json.loads((parts / "summary.json").read_text())
    assert parts_summary["metrics"] == whole_summary["metrics"]
    assert parts_summary["steps"] == STEPS and parts_summary["stopped"] == "completed"


def test_a_checkpoint_is_never_overwritten_by_a_fresh_run(tmp_path: Path, folder: Path) -> None:
    recipe = _recipe(tmp_path, folder)
    run = tmp_path / "run"
    assert main(["train", str(recipe), "-o", str(run), "--set", "optim.stop_at=1"]) == 0
    assert main(["train", str(recipe), "-o", str(run)]) == 2  # usage error: use --resume
    assert main(["train", str(recipe), "-o", str(run), "--set", "resume=true"]) == 0
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == STEPS


def test_resume_needs_a_checkpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "config.yaml").write_text("model: cnn-tiny\n")
    assert main(["train", "--resume", str(tmp_path / "empty")]) == 2
    words = " ".join(capsys.readouterr().err.replace("│", " ").split())
    assert "checkpoint.pt to resume from" in words
