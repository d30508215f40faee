"""The Detector contract, checked on every registered detector (scikit-learn style)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import spotfake
from spotfake.errors import RegistryError
from spotfake.models.base import (
    ClosedFormDetector,
    Detector,
    TorchDetector,
    load_detector_file,
)
from spotfake.models.registry import create_detector, list_detectors, register_detector
from spotfake.models.spec import DetectorSpec
from spotfake.prediction import Prediction

# Small inputs keep big backbones cheap; the contract does not depend on the crop size.
CHEAP_CONFIG: dict[str, dict[str, Any]] = {"cnn-resnet50": {"crop": 32}}


def _images(seed: int = 0) -> list[np.ndarray]:
    """Varied shapes: square, wide, tall, smaller than any crop."""
    rng = np.random.default_rng(seed)
    shapes = [(96, 96), (80, 120), (130, 70), (24, 24), (64, 64)]
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in shapes]


def _fit_if_needed(detector: Detector) -> Detector:
    """Detectors that learn in closed form (spectral) are fitted on noise vs smoothed noise."""
    if not isinstance(detector, ClosedFormDetector):
        return detector
    fit_images = detector.fit_images
    rng = np.random.default_rng(1)
    noise = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(12)]
    smooth = [np.repeat(np.repeat(n[::2, ::2], 2, 0), 2, 1) for n in noise]
    fit_images(noise + smooth, np.array([0] * 12 + [1] * 12))
    return detector


def _fit_flipped(detector: Detector) -> None:
    """Learn once more with the opposite labels: a closed-form fit, or a few optimiser steps."""
    if isinstance(detector, ClosedFormDetector):
        rng = np.random.default_rng(1)
        noise = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(12)]
        smooth = [np.repeat(np.repeat(n[::2, ::2], 2, 0), 2, 1) for n in noise]
        detector.fit_images(noise + smooth, np.array([1] * 12 + [0] * 12))
        return
    import torch

    assert isinstance(detector, TorchDetector), (
        f"{type(detector).__name__}: neither a fit nor a torch model"
    )
    model = detector.model
    views = [detector.preprocess(image) for image in _images(5)[:1] * 4]  # type: ignore[attr-defined]
    batch = torch.from_numpy(np.stack(views))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    for _ in range(3):
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            detector.logits(batch),
            torch.ones(len(views)),  # type: ignore[attr-defined]
        )
        loss.backward()
        optimizer.step()
    model.eval()


def check_score_depends_on_input(detector: Detector) -> None:
    """Different images get different scores: a detector that ignores its input fails."""
    scores = detector.score(_images())
    assert len(np.unique(np.round(scores, 9))) > 1, f"the same score for every image: {scores}"


def check_fitting_changes_scores(detector: Detector) -> None:
    """Learning from other labels moves the scores: a detector that learns nothing fails."""
    images = _images(4)
    before = detector.score(images)
    _fit_flipped(detector)
    after = detector.score(images)
    assert np.max(np.abs(after - before)) > 1e-6, f"fitting left the scores at {before}"


class _Constant(Detector):
    """The detector the checks above must reject: 0.5 for every image, nothing to learn."""

    def __init__(self) -> None:
        super().__init__(DetectorSpec(architecture="constant"))

    def score(self, images: Sequence[np.ndarray]) -> np.ndarray:
        return np.full(len(images), 0.5)

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


@pytest.fixture(params=list_detectors(), scope="module")
def detector(request: pytest.FixtureRequest) -> Detector:
    name = request.param
    return _fit_if_needed(create_detector(name, **CHEAP_CONFIG.get(name, {})))


@pytest.fixture(params=list_detectors())
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_scores_have_shape_and_range(detector: Detector) -> None:
    scores = detector.score(_images())
    assert scores.shape == (5,)
    assert np.all(np.isfinite(scores))
    assert np.all((scores >= 0) & (scores <= 1))


def test_score_depends_on_the_input(detector: Detector) -> None:
    check_score_depends_on_input(detector)


def test_fitting_changes_the_score(name: str) -> None:
    """On a fresh detector of its own: the shared fixture must keep its weights."""
    check_fitting_changes_scores(
        _fit_if_needed(create_detector(name, **CHEAP_CONFIG.get(name, {})))
    )


def test_the_checks_reject_a_constant_detector() -> None:
    constant = _Constant()
    with pytest.raises(AssertionError, match="the same score"):
        check_score_depends_on_input(constant)
    with pytest.raises(AssertionError, match="neither a fit nor a torch model"):
        check_fitting_changes_scores(constant)


def test_empty_batch(detector: Detector) -> None:
    assert detector.score([]).shape == (0,)


def test_deterministic(detector: Detector) -> None:
    images = _images()
    np.testing.assert_array_equal(detector.score(images), detector.score(images))


def test_batch_size_invariant(detector: Detector) -> None:
    images = _images()
    together = detector.score(images)
    alone = np.concatenate([detector.score([image]) for image in images])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)


def test_save_load_round_trip(detector: Detector, tmp_path: Path) -> None:
    weights = detector.save(tmp_path / "model")
    assert weights.suffix == ".safetensors" and weights.with_suffix(".json").is_file()
    loaded = load_detector_file(weights)
    assert type(loaded) is type(detector)
    assert loaded.spec == detector.spec
    assert loaded.model_hash == detector.model_hash
    images = _images(2)
    np.testing.assert_allclose(loaded.score(images), detector.score(images), rtol=1e-6)


def test_predict_records_in_order(detector: Detector, tmp_path: Path) -> None:
    from PIL import Image

    images = _images(3)
    good = tmp_path / "good.png"
    Image.fromarray(images[0]).save(good)
    bad = tmp_path / "bad.jpg"
    bad.write_text("not an image")
    records = spotfake.predict(detector, [good, bad, images[1]], batch_size=2)
    assert [type(r) for r in records] == [Prediction] * 3
    assert [r.path for r in records] == [str(good), str(bad), "<input 2>"]
    assert records[0].ok and records[2].ok and not records[1].ok
    assert records[1].score is None and "not an image" in (records[1].error or "")
    direct = detector.score([images[0], images[1]])
    assert records[0].score == pytest.approx(direct[0], abs=1e-6)
    assert records[2].score == pytest.approx(direct[1], abs=1e-6)
    for r in (records[0], records[2]):
        assert r.label == ("generated" if r.score >= r.threshold else "real")  # type: ignore[operator]
        assert r.model_hash == detector.model_hash


def test_registry_rejects_duplicates_and_unknown_names() -> None:
    name = list_detectors()[0]
    with pytest.raises(RegistryError, match="already registered"):
        register_detector(name)(lambda: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(RegistryError, match="unknown detector"):
        create_detector("no-such-detector")
