"""Attacks through the detector's own preprocessing: the module repeats score(), the attacks
stay within their budget and flip a trained detector, bad requests are refused."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from spotfake.adversarial.attacks import (
    AttackPlan,
    attack_images,
    attackable,
    detector_module,
    plans,
)
from spotfake.models.base import load_detector_file
from spotfake.models.registry import create_detector


def _module_scores(detector, image: np.ndarray, threshold: float) -> float:
    module = detector_module(detector, image.shape[0], image.shape[1], threshold)
    x = torch.from_numpy(image.astype(np.float32).transpose(2, 0, 1)[None] / 255.0)
    with torch.no_grad():
        z = module(x)[0, 1].item()
    return 1 / (1 + math.exp(-(z + math.log(threshold / (1 - threshold)))))


@pytest.mark.parametrize(
    ("make", "shape"),
    [
        (lambda: create_detector("cnn-tiny", crop=32), (40, 48)),  # centre crop
        (lambda: create_detector("cnn-tiny", crop=16), (10, 40)),  # a side below the crop
        (
            lambda: create_detector(
                "cnn-cifar-resnet", crop=32, width=8, upscale=2, upscale_method="nearest"
            ),
            (20, 24),
        ),
    ],
)
def test_module_reproduces_the_detector_score(make, shape) -> None:
    torch.manual_seed(0)
    detector = make()
    image = np.random.default_rng(3).integers(0, 256, (*shape, 3), dtype=np.uint8)
    expected = detector.score([image])[0]
    assert _module_scores(detector, image, 0.7) == pytest.approx(expected, abs=1e-5)


def test_module_follows_the_multi_crop_windows() -> None:
    torch.manual_seed(0)
    detector = create_detector("cnn-tiny", crop=32)
    detector.spec = detector.spec.with_crops(4)
    image = np.random.default_rng(4).integers(0, 256, (80, 96, 3), dtype=np.uint8)
    expected = detector.score([image])[0]
    single = create_detector("cnn-tiny", crop=32)
    single.load_state_dict(detector.state_dict())
    assert single.score([image])[0] != pytest.approx(expected, abs=1e-6)  # the windows matter
    assert _module_scores(detector, image, 0.5) == pytest.approx(expected, abs=1e-5)


def test_fgsm_spends_exactly_its_budget_and_lowers_the_score(
    toy_detector: Path, toy_images
) -> None:
    detector = load_detector_file(toy_detector)
    fakes = toy_images(4, 50, True)
    results = attack_images(detector, fakes, [0] * 4, AttackPlan("fgsm", 4), threshold=0.5)
    assert [r.linf for r in results] == [4.0] * 4
    assert all(r.score_saved < r.score_clean for r in results)
    assert all(30 < r.psnr < 50 for r in results)


def test_pgd_flips_the_verdict_within_eps(toy_detector: Path, toy_images) -> None:
    detector = load_detector_file(toy_detector)
    candidates = toy_images(10, 60, True)
    fakes = [f for f, p in zip(candidates, detector.score(candidates), strict=True) if p >= 0.5]
    assert len(fakes) >= 6  # the detector is right on most of them before the attack
    fakes = fakes[:6]
    results = attack_images(detector, fakes, [0] * 6, AttackPlan("pgd", 8), threshold=0.5)
    assert all(r.linf <= 8 for r in results)
    assert sum(r.score_saved < 0.5 for r in results) >= 5
    rescored = detector.score([r.pixels for r in results])  # the 8-bit images themselves
    assert rescored == pytest.approx([r.score_saved for r in results], abs=1e-6)


@pytest.mark.parametrize("name", ["deepfool", "cw"])
def test_minimal_attacks_flip_after_rounding(toy_detector: Path, toy_images, name: str) -> None:
    detector = load_detector_file(toy_detector)
    candidates = toy_images(10, 70, True)
    fakes = [f for f, p in zip(candidates, detector.score(candidates), strict=True) if p >= 0.5]
    fakes = fakes[:4]
    assert len(fakes) == 4
    results = attack_images(detector, fakes, [0] * 4, AttackPlan(name), threshold=0.5)
    assert sum(r.score_saved < 0.5 for r in results) >= 3
    assert all(r.attacked for r in results)


def test_deepfool_leaves_images_already_on_the_target_side(toy_detector: Path, toy_images) -> None:
    detector = load_detector_file(toy_detector)
    reals = toy_images(2, 80, False)  # scored real: already where a "push to real" attack goes
    results = attack_images(detector, reals, [0, 0], AttackPlan("deepfool"), threshold=0.5)
    assert not any(r.attacked for r in results)
    assert all(np.array_equal(r.pixels, image) for r, image in zip(results, reals, strict=True))


def test_plans_and_refusals() -> None:
    assert [p.tag for p in plans(["fgsm", "deepfool"], [1, 2.5])] == [
        "fgsm-e1", "fgsm-e2.5", "deepfool",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="unknown attack"):
        plans(["nope"], [1])
    with pytest.raises(ValueError, match="eps must be > 0"):
        plans(["pgd"], [0])
    with pytest.raises(ValueError, match="not a pixel CNN"):
        attackable(create_detector("spectral-logreg"))
