"""SpectralDefense: the Fourier features are the ones the paper defines (exactly at 32 x 32),
they respond to a perturbation where it lives, the detectors learn to see attacks, and a layer
model refuses a protected detector whose weights changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spotfake.adversarial.attacks import AttackPlan, attack_images
from spotfake.errors import ModelLoadError
from spotfake.models.base import load_detector_file
from spotfake.models.registry import create_detector


def test_input_features_are_the_magnitude_spectrum_at_32px() -> None:
    image = np.random.default_rng(0).integers(0, 256, (40, 36, 3), dtype=np.uint8)
    detector = create_detector("adv-spectral-input", crop=32, grid=32)
    crop = image[4:36, 2:34].astype(np.float64) / 255.0  # the centre 32 x 32
    expected = [np.log1p(np.abs(np.fft.fftshift(np.fft.fft2(crop[:, :, c])))) for c in range(3)]
    features = detector.features([image])
    assert features.shape == (1, 3 * 32 * 32)
    assert features[0] == pytest.approx(np.stack(expected).reshape(-1), abs=1e-5)


def test_a_perturbation_shows_at_its_own_frequency() -> None:
    ramp = np.linspace(60, 180, 64)
    smooth = np.broadcast_to(ramp[None, :, None], (64, 64, 3)).astype(np.uint8)
    checker = 4 * (-1) ** np.add.outer(np.arange(64), np.arange(64))  # the highest frequency
    perturbed = (smooth + checker[:, :, None]).astype(np.uint8)
    detector = create_detector("adv-spectral-input", crop=64, grid=8)
    before, after = detector.features([smooth, perturbed]).reshape(2, 3, 8, 8)
    change = after - before
    # fftshift puts the Nyquist frequency (32, 32) at index (0, 0): the first block.
    assert all(np.unravel_index(np.argmax(c), c.shape) == (0, 0) for c in change)
    assert (np.delete(change.reshape(3, -1), 0, axis=1) < 0.1 * change[:, 0, 0, None]).all()


def test_input_detector_learns_to_see_pgd(toy_detector: Path, toy_images) -> None:
    protected = load_detector_file(toy_detector)
    clean = toy_images(48, 90, False)  # smooth images, pushed to "generated"
    targets = [1] * 48
    attacked = [r.pixels for r in attack_images(protected, clean, targets, AttackPlan("pgd", 4),
                                                threshold=0.5)]  # fmt: skip
    train = list(range(0, 48, 2))
    test = list(range(1, 48, 2))
    detector = create_detector("adv-spectral-input", crop=32, grid=8)
    detector.fit_images([clean[i] for i in train] + [attacked[i] for i in train],
                        np.array([0] * len(train) + [1] * len(train)))  # fmt: skip
    scores = detector.score([clean[i] for i in test] + [attacked[i] for i in test])
    from sklearn.metrics import roc_auc_score

    labels = [0] * len(test) + [1] * len(test)
    assert roc_auc_score(labels, scores) > 0.9
    again = create_detector("adv-spectral-input", crop=32, grid=8)
    again.fit_images([clean[i] for i in train] + [attacked[i] for i in train],
                     np.array([0] * len(train) + [1] * len(train)))  # fmt: skip
    assert again.model_hash == detector.model_hash  # deterministic


@pytest.mark.parametrize(("spectrum", "per_layer"), [("magnitude", 1), ("phase", 1), ("both", 2)])
def test_layer_features_have_one_width_for_any_image_size(
    toy_detector: Path, spectrum: str, per_layer: int
) -> None:
    detector = create_detector("adv-spectral-layer", protected=str(toy_detector),
                               spectrum=spectrum, grid=4)  # fmt: skip
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in
              [(32, 32, 3), (50, 40, 3), (20, 24, 3)]]  # fmt: skip
    features = detector.features(images)
    assert features.shape[0] == 3 and np.isfinite(features).all()
    assert detector.spec.config["protected_hash"] == load_detector_file(toy_detector).model_hash
    assert features.shape[1] >= per_layer * len(detector.layers) * 16


def test_layer_model_refuses_changed_protected_weights(toy_detector: Path, tmp_path: Path) -> None:
    import shutil

    protected = tmp_path / "protected.safetensors"
    shutil.copy(toy_detector, protected)
    shutil.copy(toy_detector.with_suffix(".json"), protected.with_suffix(".json"))
    detector = create_detector("adv-spectral-layer", protected=str(protected), grid=4)
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(8)]
    detector.fit_images(images, np.array([0, 1] * 4))
    saved = detector.save(tmp_path / "adv")
    assert load_detector_file(saved).score(images[:2]).shape == (2,)
    other = create_detector("cnn-cifar-resnet", crop=32, width=8)  # different weights
    other.save(protected.with_suffix(""))
    with pytest.raises(ModelLoadError, match="retrain"):
        load_detector_file(saved)
