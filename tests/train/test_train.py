"""Real (tiny) training runs through `spotfake train`, and the recipe loader's strictness."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_sets import encoded, real_and_fake, write_recipe

from spotfake.cli import main
from spotfake.data.sources import split_of
from spotfake.models.base import load_detector_file
from spotfake.models.registry import create_detector
from spotfake.train.config import load_config

METRIC_KEYS = {"accuracy", "real_accuracy", "fake_accuracy", "ap", "auc"}


def _sources_recipe(tmp_path: Path, root: Path, **extra: object) -> Path:
    data = {
        "root": str(root),
        "val_fraction": 0.3,
        "sources": [
            {"name": "reals", "path": "real", "label": 0},
            {"name": "fakes", "path": "fake", "label": 1},
        ],
        "heldout": [{"name": "fakes-again", "path": "fake", "label": 1}],
    }
    return write_recipe(tmp_path / "recipe.yaml", data=data, **extra)


def test_train_writes_a_loadable_run(tmp_path: Path, folder: Path) -> None:
    run = tmp_path / "run"
    assert main(["train", str(_sources_recipe(tmp_path, folder)), "-o", str(run)]) == 0
    for name in ("best", "last"):
        assert (run / f"{name}.safetensors").is_file() and (run / f"{name}.json").is_file()
    for name in ("config.yaml", "config.json", "checkpoint.pt", "summary.json"):
        assert (run / name).is_file(), name
    lines = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [2, 4]
    assert set(lines[-1]["val"]["overall"]) >= METRIC_KEYS
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["metrics"]) >= METRIC_KEYS and summary["stopped"] == "completed"
    detector = load_detector_file(run / "best.safetensors")
    assert detector.spec.name == "tiny-test"
    assert detector.spec.input.crop == 40
    assert detector.spec.training["best_step"] in (2, 4)
    assert set(detector.spec.training["val"]) >= {"overall", "reals", "fakes"}
    assert "fakes-again" in detector.spec.training["heldout"]
    # The resolved recipe reloads as it was run.
    assert load_config(run / "config.yaml").data.root == str(folder)


def test_recipe_inference_windows_reach_the_spec(
    tmp_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    recipe = _sources_recipe(tmp_path, folder, eval_crops=4, eval_crops_min_side=48)
    assert main(["train", str(recipe), "-o", str(run)]) == 0
    policy = load_detector_file(run / "best.safetensors").spec.input
    assert (policy.crop, policy.crops, policy.crops_min_side) == (40, 4, 48)
    lonely = _sources_recipe(tmp_path, folder, eval_crops_min_side=48)  # without eval_crops
    assert main(["train", str(lonely), "-o", str(tmp_path / "lonely")]) == 2
    assert "eval_crops >= 2" in capsys.readouterr().err


def test_best_checkpoint_scores_like_the_trained_model(tmp_path: Path, folder: Path) -> None:
    """Evaluated only at the last step, best = last = the model the checkpoint holds."""
    run = tmp_path / "run"
    recipe = _sources_recipe(tmp_path, folder, optim={"eval_every": 4})
    assert main(["train", str(recipe), "-o", str(run)]) == 0
    trained = create_detector("cnn-tiny", crop=40)
    state = torch.load(run / "checkpoint.pt", weights_only=True)
    trained.load_state_dict(state["model"])
    loaded = load_detector_file(run / "best.safetensors")
    images = [*real_and_fake(7), np.zeros((30, 50, 3), np.uint8)]
    np.testing.assert_array_equal(loaded.score(images), trained.score(images))
    assert state["step"] == 4 and loaded.spec.training["best_step"] == 4


def test_train_on_a_zip_read_lazily(tmp_path: Path, archive: Path) -> None:
    run = tmp_path / "run"
    data = {"train": str(archive), "val_fraction": 0.4, "in_memory": False, "sampling": "shuffle"}
    optim = {"steps": None, "epochs": 1, "eval_every": None}
    recipe = write_recipe(tmp_path / "r.yaml", data=data, optim=optim)
    assert main(["train", str(recipe), "-o", str(run)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    # by a hash of each member's group: REAL/3.jpg and FAKE/3.jpg fall on the same side
    n_val = 2 * sum(split_of(str(i), 0.4) == "val" for i in range(16))
    assert (summary["n_train"], summary["n_val"]) == (32 - n_val, n_val) and 0 < n_val < 32
    # 1 epoch of 4-image batches; validation once per epoch by default.
    assert summary["total_steps"] == (32 - n_val) // 4
    lines = (run / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [(32 - n_val) // 4]
    assert set(summary["metrics"]) >= METRIC_KEYS
    assert set(summary["val"]) >= {"real", "fake"}  # groups: the layout names no generator


def test_genimage_folder_keeps_its_own_split_and_upscales(tmp_path: Path) -> None:
    for split, n in (("train", 8), ("val", 3)):
        for label in ("ai", "nature"):
            (tmp_path / "gi" / "sdx" / split / label).mkdir(parents=True)
        for i in range(n):
            real, fake = real_and_fake(200 + i)
            (tmp_path / "gi" / "sdx" / split / "nature" / f"{i}.jpg").write_bytes(
                encoded(real[:16, :16], "JPEG")
            )
            (tmp_path / "gi" / "sdx" / split / "ai" / f"{i}.png").write_bytes(
                encoded(fake[:16, :16], "PNG")
            )
    recipe = write_recipe(
        tmp_path / "r.yaml",
        data={"train": str(tmp_path / "gi")},
        upscale=2,
        upscale_method="nearest",
        optim={"steps": 2},
    )
    run = tmp_path / "run"
    assert main(["train", str(recipe), "-o", str(run)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert (summary["n_train"], summary["n_val"]) == (16, 6)
    assert set(summary["val"]) == {"overall", "sdx"}
    detector = load_detector_file(run / "best.safetensors")
    assert detector.spec.config == {"crop": 40, "upscale": 2, "upscale_method": "nearest"}


def test_spectral_detector_trains_through_the_same_command(tmp_path: Path, folder: Path) -> None:
    data = {"train": str(folder), "val_fraction": 0.3}
    recipe = write_recipe(tmp_path / "r.yaml", model="spectral-svm", data=data)
    run = tmp_path / "run"
    assert main(["train", str(recipe), "-o", str(run)]) == 0
    summary = json.loads((run / "summary.json").read_text())
    assert set(summary["metrics"]) >= METRIC_KEYS
    assert summary["metrics"]["auc"] > 0.9  # spectra see the 2x upsampling at once
    detector = load_detector_file(run / "best.safetensors")
    assert detector.spec.architecture == "spectral-svm"
    assert detector.spec.training["fit"]["n_samples"] == summary["n_train"]
    assert (run / "last.safetensors").is_file() and (run / "metrics.jsonl").is_file()


def test_recipe_rejects_unknown_keys_and_values(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model: cnn-tiny\noptim: {stepz: 3}\n")
    with pytest.raises(ValueError, match="unknown keys \\['stepz'\\]"):
        load_config(path)
    path.write_text("model: cnn-tiny\noptim: {schedule: linear}\n")
    with pytest.raises(ValueError, match=r"optim\.schedule is 'linear'"):
        load_config(path)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("optim.lr=abc", r"optim\.lr: Input should be a valid number.*got 'abc'"),
        ("optim.steps=2.5", r"optim\.steps: .*valid integer"),
        ("augment.blur_sigma=[1]", r"augment\.blur_sigma.*tuple\[float, float\].*got \[1\]"),
        ("data.val_fraction=[0.1]", r"data\.val_fraction: .*valid number"),
        ("runtime.channels_last=maybe", r"runtime\.channels_last: .*valid boolean"),
        ("data.sources=3", r"data\.sources: expected a list of sources"),
    ],
)
def test_recipe_values_of_the_wrong_type_name_their_key(
    tmp_path: Path, override: str, message: str
) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("model: cnn-tiny\n")
    with pytest.raises(ValueError, match=message):
        load_config(path, [override])


def test_recipe_numbers_yaml_reads_as_strings_become_numbers(tmp_path: Path) -> None:
    """YAML 1.1 reads 1e-3 (no dot) as a string; the recipe takes it as the number it means."""
    path = tmp_path / "r.yaml"
    path.write_text("model: cnn-tiny\noptim: {lr: 1e-3, weight_decay: 5e-5}\n")
    cfg = load_config(path)
    assert cfg.optim.lr == 0.001 and cfg.optim.weight_decay == 5e-5


def test_overrides_are_parsed_as_yaml(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("model: cnn-tiny\n")
    overrides = ["optim.steps=7", "augment.jpeg_quality=[50, 60]", "init=null", "runtime.amp=bf16"]
    cfg = load_config(path, overrides)
    assert cfg.optim.steps == 7
    assert cfg.augment.jpeg_quality == (50, 60)
    assert cfg.init is None and cfg.runtime.amp == "bf16"


CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.mark.parametrize("name", sorted(p.name for p in CONFIGS.glob("*.yaml")))
def test_shipped_recipes_load(name: str) -> None:
    from spotfake.models.registry import list_detectors

    cfg = load_config(CONFIGS / name)
    assert cfg.model in list_detectors()
    closed_form = cfg.model.startswith(("spectral-", "adv-spectral-"))  # one fit, no steps
    assert closed_form or cfg.optim.steps or cfg.optim.epochs
    if name in ("default.yaml", "cnndetection-resnet50.yaml", "fake-or-jpeg-swin.yaml"):
        assert cfg.augment.jpeg_p > 0  # CNNDetection's JPEG augmentation


def test_default_recipe_is_the_shipped_models() -> None:
    repo = Path(__file__).resolve().parents[2]
    cfg = load_config(repo / "configs" / "default.yaml")
    spec = json.loads((repo / "src" / "spotfake" / "weights" / "default.json").read_text())
    assert cfg.model == spec["architecture"] == "cnn-efficientnet-lite0"
    assert cfg.cross_quality_p > 0 and cfg.augment.blur_p > 0
    training = spec["training"]
    assert training["recipe"] == cfg.name and training["steps"] == cfg.optim.steps
    assert set(training["sources"]) == {s.name for s in cfg.data.sources}
    # the shipped threshold is the one calibrated at the end of that training
    assert cfg.calibration is not None and spec["threshold"] == training["calibration"]["threshold"]
    # and it scores through the recipe's inference windows
    policy = spec["input"]
    assert policy["crop"] == cfg.eval_crop
    assert (policy.get("crops", 1), policy.get("crops_min_side", 0)) == (
        cfg.eval_crops,
        cfg.eval_crops_min_side,
    )
