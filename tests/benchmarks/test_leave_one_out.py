"""benchmarks/leave_one_out.py end to end on tiny images with a closed-form spectral detector."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import yaml
from PIL import Image

from spotfake.data.manifest import open_dataset
from spotfake.synth.make import MakeOptions, make_fakes
from spotfake.synth.reals import select_reals

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "leave_one_out.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("leave_one_out", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _images(folder: Path, n: int, seed: int, upsample: Image.Resampling | None) -> None:
    """n 48x48 PNGs: noise, or noise at half size enlarged 2x (a generator-like trace)."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        side = 24 if upsample is not None else 48
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        if upsample is not None:
            image = image.resize((48, 48), upsample)
        image.save(folder / f"{seed}-{i:03d}.png")


def _halved(pixels: np.ndarray) -> np.ndarray:
    """A stand-in generator: the image at half size, enlarged back by repetition."""
    h, w = pixels.shape[:2]
    return np.ascontiguousarray(pixels[::2, ::2].repeat(2, 0).repeat(2, 1)[:h, :w])


@pytest.mark.slow
def test_each_family_is_held_out_of_its_own_run_and_scored(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _images(data / "real", 30, 0, None)
    _images(data / "nearest", 30, 1, Image.Resampling.NEAREST)
    _images(data / "bilinear", 30, 2, Image.Resampling.BILINEAR)
    _images(data / "box", 20, 3, Image.Resampling.BOX)
    twins = tmp_path / "twins"  # a `synth make` folder: each real's fake, named after it
    reals = select_reals(open_dataset(str(data / "real")))
    make_fakes(_halved, reals, twins, "synth-halved", MakeOptions(reals="manifest"))
    recipe = {
        "model": "spectral-logreg",
        "name": "lofo-test",
        "eval_crop": 48,
        "runtime": {"tensorboard": False},
        "data": {
            "root": str(data),
            "val_fraction": 0.3,
            "sources": [
                {"name": "real", "path": "real", "label": 0},
                {"name": "nearest", "path": "nearest", "label": 1},
                {"name": "bilinear", "path": "bilinear", "label": 1},
            ],
            "heldout": [{"name": "box", "path": "box", "label": 1}],
            "synth": [{"name": "synth-halved", "path": str(twins)}],
        },
    }
    path = tmp_path / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe))
    work = tmp_path / "work"
    argv = ["--recipe", str(path), "--work", str(work), "--test-limit", "20"]
    assert _script().main([*argv, "--set", "optim.seed=7"]) == 0
    for family, other in (("nearest", "bilinear"), ("bilinear", "nearest")):
        trained = yaml.safe_load((work / "runs" / f"{family}.yaml").read_text())
        names = {s["name"] for s in trained["data"]["sources"]}
        assert family not in names and {"real", other} <= names
        assert trained["optim"]["seed"] == 7  # the override reaches every family's recipe
    report = json.loads((work / "leave_one_out.json").read_text())
    assert set(report["results"]) == {"nearest", "bilinear", "synth-halved"}
    for family, metrics in report["results"].items():
        assert set(metrics) == {family, "held out: box"}
        assert 0 <= metrics[family]["auc"] <= 1
    assert report["sizes"]["nearest"] == [report["sizes"]["nearest"][0], 20]
    n_twins, n_fakes = report["sizes"]["synth-halved"]  # fakes of validation reals, and those
    assert n_twins == n_fakes == report["sizes"]["nearest"][0]
    table = (work / "leave_one_out.md").read_text()
    assert "| nearest |" in table and "Mean AUC over held-out families" in table


class _CountingDetector:
    """A stand-in detector that scores by mean brightness and counts what it scores."""

    def __init__(self, weights: str) -> None:
        self.model_hash = weights
        self.spec = type("Spec", (), {"threshold": 0.5, "input": "centre"})()
        self.scored = 0

    def score(self, images: list[np.ndarray]) -> np.ndarray:
        self.scored += len(images)
        return np.array([float(i.mean()) / 255 for i in images])


def test_the_cache_scores_a_column_once_per_distinct_model(monkeypatch: pytest.MonkeyPatch) -> None:
    module = _script()
    made: list[_CountingDetector] = []

    def load(path: str, **_: object) -> _CountingDetector:
        made.append(_CountingDetector(Path(path).stem))
        return made[-1]

    monkeypatch.setattr(module, "load_detector", load)
    example = module.Example  # the data type of a column
    dark = [example(pixels=np.zeros((8, 8, 3), np.uint8), label=0, source="r", quality=None)]
    bright = [example(np.full((8, 8, 3), 200, np.uint8), label=1, source="f", quality=None)]
    sets = {"family": (dark, bright), "held out: x": (dark, bright)}
    cache: dict = {}
    first = module.evaluate(Path("a.safetensors"), sets, cache=cache)
    again = module.evaluate(Path("a.safetensors"), sets, cache=cache)
    other = module.evaluate(Path("b.safetensors"), sets, cache=cache)
    assert first == again == other and first["family"]["auc"] == 1.0
    assert [d.scored for d in made] == [4, 0, 4]
