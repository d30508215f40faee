"""The GPU path of CNN detectors, exercised on the CPU: uint8 windows normalised by torch on the
device, tensor images (device decode), reduced precision under autocast, and their refusals."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from spotfake.detect import load_detector
from spotfake.errors import BackendError
from spotfake.models.cnn import CNNDetector
from spotfake.models.registry import create_detector
from spotfake.models.spec import InputPolicy


def _images(seed: int = 0) -> list[np.ndarray]:
    """Larger than cnn-tiny's 64 px crop, a strip, crop-sized and smaller than the crop."""
    rng = np.random.default_rng(seed)
    shapes = [(150, 200), (64, 300), (190, 130), (64, 64), (40, 50)]
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in shapes]


def _tiny(crops: int = 1, **config: Any) -> CNNDetector:
    torch.manual_seed(0)
    detector = create_detector("cnn-tiny", **config)
    assert isinstance(detector, CNNDetector)
    policy = detector.spec.input
    detector.spec.input = InputPolicy(crop=policy.crop, crops=crops, crops_min_side=0)
    return detector


def _on_device(detector: CNNDetector) -> CNNDetector:
    """The preprocessing a GPU gets (to("cuda") turns it on), on the CPU."""
    detector.device_preprocess = True
    return detector


@pytest.mark.parametrize("crops", [1, 4])
def test_device_normalisation_gives_the_cpu_scores(crops: int) -> None:
    detector = _tiny(crops)
    expected = detector.score(_images())
    got = _on_device(detector).score(_images())
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def test_trimmed_and_upscaled_views_match_too() -> None:
    detector = _tiny(4, upscale=2)
    detector.multiple = 8  # as Swin's patch size asks, here 8 so that trimming happens
    expected = detector.score(_images())
    assert [v.shape[1:] for v in detector.views(_images()[4])] == [(64, 64)] * 4
    np.testing.assert_allclose(_on_device(detector).score(_images()), expected, atol=1e-6)


def test_tensor_images_score_as_arrays_on_both_paths() -> None:
    """Pixels decoded by torchvision arrive as HWC uint8 tensors (permuted CHW, not copied)."""
    images = _images()
    tensors = [torch.from_numpy(np.ascontiguousarray(i.transpose(2, 0, 1))).permute(1, 2, 0)
               for i in images]  # fmt: skip
    detector = _tiny(4)
    expected = detector.score(images)
    np.testing.assert_allclose(detector.score(tensors), expected, atol=1e-6)
    mixed = [tensors[0], images[1], tensors[2], images[3], tensors[4]]
    np.testing.assert_allclose(_on_device(detector).score(mixed), expected, atol=1e-6)
    upscaled = _tiny(1, upscale=2)  # a tensor image that needs Pillow goes to the host first
    np.testing.assert_allclose(
        _on_device(upscaled).score(tensors), _tiny(1, upscale=2).score(images), atol=1e-6
    )


def test_reduced_precision_runs_under_autocast_and_stays_close() -> None:
    detector = _tiny(4)
    full = detector.score(_images())
    logits = np.log(full / (1 - full))
    reduced = detector.set_precision("bf16").score(_images())
    assert detector.precision == "bf16"
    # bfloat16 keeps 8 bits of mantissa: logits move, but by far less than their spread.
    moved = np.abs(np.log(reduced / (1 - reduced)) - logits)
    assert moved.max() < 0.05 * max(1.0, float(np.abs(logits).max()))
    with pytest.raises(ValueError, match="precision must be one of"):
        detector.set_precision("int8")


def test_load_detector_precision(tmp_path: Any) -> None:
    weights = _tiny().save(tmp_path / "tiny")
    plain = load_detector(weights, device="cpu", backend="torch")
    assert isinstance(plain, CNNDetector) and plain.precision == "fp32"  # the default
    assert load_detector(weights, backend="torch", precision="bf16").precision == "bf16"  # type: ignore[attr-defined]
    pytest.importorskip("onnxruntime")
    with pytest.raises(BackendError, match="only CNN detectors on the torch backend"):
        load_detector(weights, backend="onnx", precision="fp16")
    with pytest.raises(ValueError, match="precision must be one of"):
        load_detector(weights, backend="torch", precision="half")


def test_to_cpu_keeps_numpy_preprocessing() -> None:
    detector = _tiny()
    detector.to("cpu")
    assert detector.device_preprocess is False
    assert isinstance(detector.stack([np.zeros((3, 8, 8), np.float32)]), np.ndarray)
