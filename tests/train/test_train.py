"""A real (tiny) training run through `spotfake train`, and the recipe loader's strictness."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from spotfake.cli import main
from spotfake.models.base import load_detector_file
from spotfake.train.config import load_config


def _make_dataset(root: Path) -> None:
    """Reals: smooth JPEGs; fakes: PNGs with a 2x nearest-upsampling pattern."""
    rng = np.random.default_rng(0)
    for name in ("real", "fake"):
        (root / name).mkdir(parents=True)
    for i in range(12):
        base = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
        Image.fromarray(base).resize((48, 48), Image.Resampling.BILINEAR).save(
            root / "real" / f"{i}.jpg", quality=90
        )
        Image.fromarray(np.repeat(np.repeat(base, 2, 0), 2, 1)).save(root / "fake" / f"{i}.png")


def _recipe(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    _make_dataset(data)
    recipe = {
        "model": "cnn-tiny",
        "name": "tiny-test",
        "train_crop": 32,
        "eval_crop": 40,
        "data": {
            "root": str(data),
            "val_fraction": 0.3,
            "sources": [
                {"name": "reals", "path": "real", "label": 0},
                {"name": "fakes", "path": "fake", "label": 1},
            ],
            "heldout": [{"name": "fakes-again", "path": "fake", "label": 1}],
        },
        "optim": {"steps": 4, "batch_size": 4, "eval_every": 2, "warmup_steps": 1},
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def test_train_writes_a_loadable_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    assert main(["train", str(_recipe(tmp_path)), "-o", str(run)]) == 0
    for name in ("best.safetensors", "best.json", "last.safetensors", "config.json"):
        assert (run / name).is_file(), name
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [2, 4]
    detector = load_detector_file(run / "best.safetensors")
    assert detector.spec.name == "tiny-test"
    assert detector.spec.input.crop == 40
    summary = detector.spec.training
    assert summary["best_step"] in (2, 4)
    assert set(summary["val"]) >= {"overall", "reals", "fakes"}
    assert "fakes-again" in summary["heldout"]
    scores = detector.score([np.zeros((48, 48, 3), np.uint8)])
    assert scores.shape == (1,) and 0 <= scores[0] <= 1


def test_recipe_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model: cnn-tiny\noptim: {stepz: 3}\n")
    with pytest.raises(ValueError, match="unknown keys \\['stepz'\\]"):
        load_config(path)


def test_overrides_are_parsed_as_yaml(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("model: cnn-tiny\n")
    cfg = load_config(path, ["optim.steps=7", "augment.jpeg_quality=[50, 60]", "init=null"])
    assert cfg.optim.steps == 7
    assert cfg.augment.jpeg_quality == (50, 60)
    assert cfg.init is None


def test_shipped_recipe_loads() -> None:
    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / "default.yaml")
    assert cfg.model == "cnn-efficientnet-lite0"
    assert cfg.augment.blur_p > 0 and cfg.augment.jpeg_p > 0 and cfg.cross_quality_p > 0
