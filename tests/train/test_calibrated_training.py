"""Recipes with `calibration`: the saved threshold is chosen on validation reals of each source."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from tiny_sets import encoded, real_and_fake, torchrun_train, write_recipe

from spotfake.cli import main
from spotfake.models.base import load_detector_file
from spotfake.train.config import CalibrationConfig, load_config, save_config
from spotfake.train.data import list_samples
from spotfake.train.loop import fit

TARGET = 0.2
REAL_SOURCES = {"photos", "paintings"}


def _data(root: Path) -> dict[str, object]:
    """Two real sources (photos: JPEG q90, paintings: blurred PNG) and one of fakes, 12 each."""
    for name in ("photos", "paintings", "fakes"):
        (root / name).mkdir(parents=True)
    for i in range(12):
        photo, fake = real_and_fake(i)
        painting = real_and_fake(300 + i)[0]
        (root / "photos" / f"photo{i}.jpg").write_bytes(encoded(photo, "JPEG"))
        (root / "paintings" / f"painting{i}.png").write_bytes(encoded(painting, "PNG"))
        (root / "fakes" / f"fake{i}.png").write_bytes(encoded(fake, "PNG"))
    return {
        "root": str(root),
        "val_fraction": 0.4,
        "sources": [
            {"name": "photos", "path": "photos", "label": 0},
            {"name": "paintings", "path": "paintings", "label": 0},
            {"name": "fakes", "path": "fakes", "label": 1},
        ],
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A tiny run with calibration on: (run directory, its training log)."""
    tmp = tmp_path_factory.mktemp("calibrated")
    recipe = write_recipe(
        tmp / "r.yaml", data=_data(tmp / "data"), calibration={"max_real_flag": TARGET}
    )
    log = io.StringIO()
    fit(load_config(recipe), tmp / "run", log=log)
    return tmp / "run", log.getvalue()


def test_training_writes_the_calibrated_threshold_into_the_spec(trained: tuple[Path, str]) -> None:
    run, log = trained
    calibration = json.loads((run / "calibration.json").read_text())
    detector = load_detector_file(run / "best.safetensors")
    assert detector.spec.threshold == calibration["threshold"]
    assert detector.spec.training["calibration"] == calibration
    assert json.loads((run / "summary.json").read_text())["calibration"] == calibration
    assert set(calibration["sources"]) == REAL_SOURCES and calibration["max_flag_rate"] == TARGET
    for rates in calibration["sources"].values():
        assert rates["n"] >= 2 and rates["flag_rate"] <= TARGET
    assert "calibrated threshold" in log
    assert all(f"  {name}: " in log for name in REAL_SOURCES)
    # The reused validation scores are the saved weights' own: rescoring agrees.
    _, val = list_samples(load_config(run / "config.yaml").data)
    reals = [s for s in val if s.label == 0]
    scores = detector.score([_pixels(s.location) for s in reals])
    for name in REAL_SOURCES:
        mine = np.array([s.group == name for s in reals])
        assert (scores[mine] >= detector.spec.threshold).mean() <= TARGET


def _pixels(location: str) -> np.ndarray:
    from spotfake.data.dataset import read_pixels

    return read_pixels(location)


def test_calibrate_command_on_the_trained_model(
    trained: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = trained
    best, recipe = str(run / "best.safetensors"), str(run / "config.yaml")
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*")}
    assert main(["calibrate", best, "--recipe", recipe, "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert "flagged at 0.5" in text and all(name in text for name in REAL_SOURCES)
    assert "fake recall" in text and "ECE" in text
    assert {p: p.stat().st_mtime_ns for p in run.rglob("*")} == before  # without -o: print only
    out = tmp_path / "out"
    args = ["calibrate", best, "-r", recipe, "--max-flag", "0.2", "-o", str(out)]
    assert main([*args, "--device", "cpu"]) == 0
    written = json.loads((out / "calibration.json").read_text())
    trained_threshold = json.loads((run / "calibration.json").read_text())["threshold"]
    assert written["threshold"] == pytest.approx(trained_threshold, abs=1e-6)
    copy = load_detector_file(out / "best.safetensors")
    assert copy.spec.threshold == written["threshold"]
    assert copy.model_hash == load_detector_file(run / "best.safetensors").model_hash
    assert (out / "best.safetensors").read_bytes() == (run / "best.safetensors").read_bytes()


def test_calibrate_command_for_other_crop_windows(
    trained: tuple[Path, str], tmp_path: Path
) -> None:
    """--crops calibrates the model as it will score (four windows on these 48 px images) and
    writes that input policy into the new spec."""
    run, _ = trained
    out = tmp_path / "windows"
    args = ["calibrate", str(run / "best.safetensors"), "-r", str(run / "config.yaml")]
    assert main([*args, "--crops", "4", "--crops-min-side", "48", "-o", str(out)]) == 0
    copy = load_detector_file(out / "best.safetensors")
    assert (copy.spec.input.crops, copy.spec.input.crops_min_side) == (4, 48)
    _, val = list_samples(load_config(run / "config.yaml").data)
    reals = [s for s in val if s.label == 0]
    scores = copy.score([_pixels(s.location) for s in reals])
    assert all(len(copy.views(_pixels(s.location))) == 4 for s in reals)
    for name in REAL_SOURCES:
        mine = np.array([s.group == name for s in reals])
        assert (scores[mine] >= copy.spec.threshold).mean() <= TARGET


def test_calibrate_command_usage_errors(
    trained: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run, _ = trained
    best, recipe = str(run / "best.safetensors"), str(run / "config.yaml")
    assert main(["calibrate", best, "--recipe", recipe, "--max-flag", "1.5"]) == 2
    assert main(["calibrate", best]) == 2  # --recipe is required
    assert main(["calibrate", str(run / "nothing.safetensors"), "--recipe", recipe]) == 2
    assert main(["calibrate", best, "--recipe", recipe, "--crops-min-side", "64"]) == 2
    assert main(["calibrate", best, "--recipe", recipe, "-o", str(run)]) == 2  # itself
    assert "MODEL itself" in " ".join(capsys.readouterr().err.replace("│", " ").split())


def test_resumed_run_calibrates_once_it_completes(tmp_path: Path) -> None:
    recipe = write_recipe(
        tmp_path / "r.yaml", data=_data(tmp_path / "data"), calibration={"max_real_flag": 0.1}
    )
    run = tmp_path / "run"
    assert main(["train", str(recipe), "-o", str(run), "--set", "optim.stop_at=2"]) == 0
    assert not (run / "calibration.json").exists()  # interrupted: not calibrated yet
    assert main(["train", "--resume", str(run)]) == 0
    calibration = json.loads((run / "calibration.json").read_text())
    assert load_detector_file(run / "best.safetensors").spec.threshold == calibration["threshold"]
    assert all(r["flag_rate"] <= 0.1 for r in calibration["sources"].values())


def test_closed_form_detector_calibrates_on_its_validation_scores(tmp_path: Path) -> None:
    recipe = write_recipe(
        tmp_path / "r.yaml", model="spectral-svm", data=_data(tmp_path / "data"), calibration={}
    )
    run = tmp_path / "run"
    assert main(["train", str(recipe), "-o", str(run)]) == 0
    calibration = json.loads((run / "calibration.json").read_text())
    assert load_detector_file(run / "best.safetensors").spec.threshold == calibration["threshold"]
    assert calibration["max_flag_rate"] == 0.05 and set(calibration["sources"]) == REAL_SOURCES
    assert all(r["flag_rate"] <= 0.05 for r in calibration["sources"].values())


def test_calibration_needs_validation_reals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = {**_data(tmp_path / "data"), "val_fraction": 0.0}
    recipe = write_recipe(tmp_path / "r.yaml", data=data, calibration={})
    assert main(["train", str(recipe), "-o", str(tmp_path / "run")]) == 2
    words = " ".join(capsys.readouterr().err.replace("│", " ").split())
    assert "no real images to calibrate on" in words


@pytest.mark.parametrize("value", ["1.5", "abc", "-0.1", "1", "true"])
def test_recipe_rejects_a_bad_max_real_flag(tmp_path: Path, value: str) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(f"model: cnn-tiny\ncalibration: {{max_real_flag: {value}}}\n")
    with pytest.raises(ValueError, match=r"calibration\.max_real_flag"):
        load_config(path)


def test_recipe_calibration_is_off_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("model: cnn-tiny\n")
    assert load_config(path).calibration is None
    assert load_config(path, ["calibration=null"]).calibration is None
    assert load_config(path, ["calibration={}"]).calibration == CalibrationConfig(0.05)
    cfg = load_config(path, ["calibration.max_real_flag=0"])
    assert cfg.calibration == CalibrationConfig(0.0)
    # YAML reads 5e-2 (no dot) as a string; the typed recipe takes the number it means.
    assert load_config(path, ["calibration.max_real_flag=5e-2"]).calibration == CalibrationConfig(
        0.05
    )
    save_config(cfg, tmp_path)  # the run directory's copy reads back the same
    assert load_config(tmp_path / "config.yaml").calibration == CalibrationConfig(0.0)
    with pytest.raises(ValueError, match="unknown keys"):
        load_config(path, ["calibration.max_flag=0.1"])


@pytest.mark.slow
def test_torchrun_two_processes_calibrate_once(tmp_path: Path) -> None:
    recipe = write_recipe(
        tmp_path / "r.yaml",
        data=_data(tmp_path / "data"),
        calibration={"max_real_flag": TARGET},
        optim={"steps": 2, "eval_every": 1},
    )
    run = tmp_path / "run"
    done = torchrun_train(recipe, run)
    assert done.returncode == 0, done.stderr[-3000:]
    calibration = json.loads((run / "calibration.json").read_text())
    assert load_detector_file(run / "best.safetensors").spec.threshold == calibration["threshold"]
    assert done.stderr.count("calibrated threshold") == 1  # rank 0 decides and writes
    n_real = sum(r["n"] for r in calibration["sources"].values())
    assert n_real == calibration["n_real"] and n_real + calibration["n_fake"] == len(
        list_samples(load_config(run / "config.yaml").data)[1]
    )
