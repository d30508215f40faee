"""The Python API: load_detector() and spotfake.predict() on paths, PIL images and arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import spotfake
from spotfake.detect import embedded_models, pick_device, resolve_model
from spotfake.errors import DeviceError, ModelLoadError
from spotfake.models.registry import create_detector

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def default() -> spotfake.Detector:
    return spotfake.load_detector()


def test_default_model_is_embedded() -> None:
    assert "default" in embedded_models()
    weights = resolve_model(None)
    assert weights.stat().st_size < 25 * 1024 * 1024
    assert weights.with_suffix(".json").is_file()
    assert weights.with_suffix(".md").is_file(), "the model card ships beside the weights"


def test_predict_on_paths_pil_and_arrays_agree(default: spotfake.Detector) -> None:
    path = EXAMPLES / "coffee.png"
    pixels = np.asarray(Image.open(path).convert("RGB"))
    by_path, by_pil, by_array = spotfake.predict(default, [path, Image.open(path), pixels])
    assert by_path.path == str(path) and by_pil.path == "<input 1>"
    assert by_path.score == by_pil.score == by_array.score
    assert by_path.evidence["image"]["format"] == "PNG"
    assert by_path.model == default.spec.display_name


def test_single_input_gives_one_record(default: spotfake.Detector) -> None:
    (record,) = spotfake.predict(default, EXAMPLES / "rocket.jpg")
    assert record.ok and 0.0 <= (record.score or -1) <= 1.0
    assert record.evidence["image"]["jpeg_quality"] is not None


def test_bad_input_is_a_record_not_an_exception(default: spotfake.Detector) -> None:
    records = spotfake.predict(default, [np.zeros((4, 4, 7), np.uint8), EXAMPLES / "missing.png"])
    assert [r.ok for r in records] == [False, False]
    assert all(r.score is None and r.label is None and r.error for r in records)


def test_load_from_local_path(tmp_path: Path) -> None:
    create_detector("cnn-tiny").save(tmp_path / "tiny")
    for form in (
        tmp_path / "tiny.safetensors",
        tmp_path / "tiny.json",
        tmp_path / "tiny",
        tmp_path,
    ):
        assert spotfake.load_detector(form, device="cpu").spec.architecture == "cnn-tiny"


def test_crops_override_is_for_this_detector_only(tmp_path: Path) -> None:
    create_detector("cnn-tiny").save(tmp_path / "tiny")
    spec_text = (tmp_path / "tiny.json").read_text()
    detector = spotfake.load_detector(tmp_path, device="cpu", crops=4)
    assert detector.spec.input.crops == 4
    assert spotfake.load_detector(tmp_path, device="cpu").spec.input.crops == 1
    assert (tmp_path / "tiny.json").read_text() == spec_text
    with pytest.raises(ValueError, match="crops=0 for model cnn-tiny"):
        spotfake.load_detector(tmp_path, device="cpu", crops=0)


def test_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(ModelLoadError, match="no model 'nope'"):
        spotfake.load_detector("nope")


def test_corrupt_weights_are_a_clear_error(tmp_path: Path) -> None:
    create_detector("cnn-tiny").save(tmp_path / "tiny")
    (tmp_path / "tiny.safetensors").write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="cannot read weights"):
        spotfake.load_detector(tmp_path / "tiny.safetensors")


def test_missing_gpu_is_a_clear_error() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(DeviceError, match="no CUDA device"):
        pick_device("cuda")
    assert pick_device("auto") == "cpu"
