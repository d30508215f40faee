"""`spotfake detect --backend`: the same records from torch and ONNX Runtime; refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spotfake.cli import main
from spotfake.models.registry import create_detector

pytest.importorskip("onnxruntime")

Capture = pytest.CaptureFixture[str]


def _records(capsys: Capture, *args: str) -> tuple[int, list[dict[str, object]], str]:
    code = main(["detect", "-q", "--format", "jsonl", *args])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_torch_and_onnx_give_the_same_records(
    capsys: Capture, tiny_model: Path, good_dir: Path
) -> None:
    runs = {}
    for backend in ("torch", "onnx", "auto"):
        code, records, _ = _records(
            capsys, str(good_dir), "--model", str(tiny_model), "--backend", backend
        )
        assert code == 0 and len(records) == 3
        runs[backend] = records
    for got in (runs["onnx"], runs["auto"]):
        for a, b in zip(got, runs["torch"], strict=True):
            assert abs(float(a["score"]) - float(b["score"])) <= 1e-4  # type: ignore[arg-type]
            assert {**a, "score": None} == {**b, "score": None}


def test_onnx_on_a_model_it_cannot_run_is_a_usage_error(
    capsys: Capture, tmp_path: Path, good_dir: Path
) -> None:
    spectral = create_detector("spectral-logreg")
    rng = np.random.default_rng(0)
    spectral.fit(rng.random((8, spectral.n_bins)), np.array([0, 1] * 4))  # type: ignore[attr-defined]
    model = spectral.save(tmp_path / "spectral")
    code, records, err = _records(capsys, str(good_dir), "--model", str(model), "--backend", "onnx")
    assert code == 2 and records == []
    words = " ".join(err.replace("│", " ").split())  # the error box wraps lines
    assert "'--backend'" in words and "not a CNN detector" in words
    code, records, _ = _records(capsys, str(good_dir), "--model", str(model))  # auto: its own
    assert code == 0 and len(records) == 3
