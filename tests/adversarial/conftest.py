"""Fixtures for the attack tests: a tiny detector trained on noisy (generated) vs smooth (real)
32 x 32 images, and a labelled folder of such images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def toy_images(n: int, seed: int, fake: bool, size: int = 32) -> list[np.ndarray]:
    """Flat colour with a ramp; 'generated' ones carry strong pixel noise, 'real' ones little."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        base = rng.uniform(40, 200, (1, 1, 3)) + np.linspace(0, 30, size)[:, None, None]
        image = np.broadcast_to(base, (size, size, 3)) + rng.normal(0, 12 if fake else 2,
                                                                    (size, size, 3))  # fmt: skip
        out.append(np.clip(image, 0, 255).astype(np.uint8))
    return out


@pytest.fixture(name="toy_images", scope="session")
def toy_images_fixture() -> object:
    """toy_images(n, seed, fake, size=32), for the tests."""
    return toy_images


@pytest.fixture(scope="session")
def toy_detector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cnn-cifar-resnet (width 8) trained for a few seconds to tell the two kinds apart,
    saved with a threshold of 0.5; returns the .safetensors path."""
    import torch

    from spotfake.models.registry import create_detector

    torch.manual_seed(0)
    detector = create_detector("cnn-cifar-resnet", crop=32, width=8)
    optimiser = torch.optim.Adam(detector.model.parameters(), 3e-3)
    detector.model.train()
    for step in range(40):
        images = toy_images(16, step, False) + toy_images(16, 1000 + step, True)
        batch = torch.from_numpy(np.stack([detector.preprocess(i) for i in images]))
        target = torch.tensor([0.0] * 16 + [1.0] * 16)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(detector.logits(batch), target)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    detector.model.eval()
    detector.weights_changed()
    return detector.save(tmp_path_factory.mktemp("toy") / "toy")


@pytest.fixture
def toy_folder(tmp_path: Path) -> Path:
    """real/ (4 smooth PNGs, one 40 x 48) and fake/ (4 noisy PNGs) plus a corrupt fake file."""
    root = tmp_path / "toy"
    for label, fake in (("real", False), ("fake", True)):
        (root / label).mkdir(parents=True)
        for i, image in enumerate(toy_images(4, 7 + fake, fake)):
            Image.fromarray(image).save(root / label / f"{label}{i}.png")
    big = toy_images(1, 9, False, size=48)[0][:40]
    Image.fromarray(big).save(root / "real" / "wide.png")
    (root / "fake" / "broken.png").write_bytes(b"not an image")
    return root
