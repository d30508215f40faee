"""benchmarks/indicators.py end to end on tiny synthetic images with three untrained tiny CNNs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image


def _folder(folder: Path, n: int, seed: int, flat: bool) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        pixels = (np.full((36, 40, 3), 30 * i, np.uint8) if flat
                  else rng.integers(0, 256, (36, 40, 3), dtype=np.uint8))  # fmt: skip
        Image.fromarray(pixels).save(folder / f"{i}.png")
    return folder


def test_table_correlations_plot_and_cache(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    benchmark_script: Callable[[str], ModuleType],
) -> None:
    script = benchmark_script("indicators")
    import torch

    from spotfake.models.registry import create_detector

    for i in range(3):
        torch.manual_seed(i)
        create_detector("cnn-tiny", crop=32).save(tmp_path / f"recipe{i}" / "runs" / "fam" / "best")
    real = _folder(tmp_path / "real", 4, 0, flat=True)
    fake = _folder(tmp_path / "fake", 4, 1, flat=False)
    out = tmp_path / "out"
    argv = ["--models", str(tmp_path / "recipe*" / "runs" / "fam"), "--real", str(real),
            "--fake", str(fake), "--limit", "3", "--corruptions", "jpeg=50,blur=1",
            "--out", str(out), "--device", "cpu"]  # fmt: skip
    report = script.main(argv)
    text = capsys.readouterr().out
    assert [m["label"] for m in report["models"]] == [f"recipe{i}/fam" for i in range(3)]
    assert report["images"] == 6 and "Spearman rho (p) over 3 models" in text
    rho = report["spearman"]["mean_silhouette"]["jpeg-q50"]
    assert rho["n"] == 3 and (rho["rho"] is None or -1.0 <= rho["rho"] <= 1.0)
    assert set(report["models"][0]["targets"]) == {
        "clean", "jpeg-q50", "drop jpeg-q50", "blur-s1", "drop blur-s1", "mean drop",
    }  # fmt: skip
    assert (out / "indicators.png").stat().st_size > 0
    assert json.loads((out / "indicators.json").read_text())["images"] == 6
    assert len(list((out / "cache").glob("*.json"))) == 3
    again = script.main(argv)  # from the cache
    assert [m["auc"] for m in again["models"]] == [m["auc"] for m in report["models"]]
