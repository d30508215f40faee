"""The Detector contract: a spec, P(generated) for decoded RGB arrays, and weights to save and
load. Files, batching, provenance and records are the pipeline's (``spotfake.detect``)."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spotfake.errors import ModelLoadError
from spotfake.models.spec import DetectorSpec


class Detector(ABC):
    """A detector maps RGB uint8 images to P(generated) in [0, 1] (1 means generated)."""

    spec: DetectorSpec

    def __init__(self, spec: DetectorSpec) -> None:
        self.spec = spec
        self._hash: str | None = None

    # --- what every detector implements -------------------------------------------------
    @abstractmethod
    def score(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """P(generated) for each HxWx3 uint8 RGB array, shape (len(images),), float in [0, 1]."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """The learned state as named torch tensors (what goes into safetensors)."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the learned state written by state_dict()."""

    def to(self, device: str) -> Detector:
        """Move to a torch device; detectors without torch state ignore it."""
        return self

    # --- shared behaviour -----------------------------------------------------------------
    @property
    def model_hash(self) -> str:
        """A short content hash of the weights, so a record names the exact model that made it."""
        if self._hash is None:
            digest = hashlib.sha256()
            for key, tensor in sorted(self.state_dict().items()):
                digest.update(key.encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            self._hash = digest.hexdigest()[:12]
        return self._hash

    def weights_changed(self) -> None:
        """Say that the weights changed in place (a fit, a load): model_hash is computed anew."""
        self._hash = None

    def save(self, path: str | Path) -> Path:
        """Write PATH.safetensors and PATH.json (the spec); returns the weights path."""
        from safetensors.torch import save_file

        weights = Path(path).with_suffix(".safetensors")
        weights.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(weights), metadata={"architecture": self.spec.architecture})
        weights.with_suffix(".json").write_text(self.spec.to_json() + "\n")
        return weights


class TorchDetector(Detector):
    """A detector the training loop optimises by gradient steps.

    ``model`` is a torch module that takes normalised NCHW float crops (the spec's input policy:
    ``spec.input.mean`` and ``std``) and returns one logit per crop; training crops have sides
    that are a multiple of ``multiple``. ``spotfake train`` builds the optimiser on
    ``model.parameters()``, moves the detector with ``to(device)`` and saves it with ``save``.
    """

    model: Any  # torch.nn.Module
    multiple: int = 1


class ClosedFormDetector(Detector):
    """A detector learned in one pass over decoded training images, without gradient steps."""

    @abstractmethod
    def fit_images(self, images: Sequence[np.ndarray], labels: np.ndarray) -> ClosedFormDetector:
        """Learn from RGB uint8 arrays and their labels (1 = generated, 0 = real)."""


class FeatureDetector(ClosedFormDetector):
    """A closed-form detector whose fit is on per-image features, which training computes in
    parallel worker processes before a single fit."""

    @abstractmethod
    def features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """One feature row per image, shape (N, D)."""

    @abstractmethod
    def fit(self, features: np.ndarray, labels: np.ndarray | None = None) -> FeatureDetector:
        """Learn from features (N, D) computed by features()."""

    def fit_images(
        self, images: Sequence[np.ndarray], labels: np.ndarray | None = None
    ) -> FeatureDetector:
        return self.fit(self.features(images), labels)


def load_detector_file(path: str | Path) -> Detector:
    """Rebuild a detector from PATH.safetensors and the spec PATH.json beside it."""
    from safetensors.torch import load_file

    from spotfake.models.registry import create_detector

    weights = Path(path)
    if weights.suffix != ".safetensors":
        weights = weights.with_suffix(".safetensors")
    spec_path = weights.with_suffix(".json")
    if not weights.is_file() or not spec_path.is_file():
        raise ModelLoadError(f"model not found: need {weights} and {spec_path}")
    try:
        spec = DetectorSpec.read(spec_path)
        detector = create_detector(spec.architecture, **spec.config)
    except (OSError, ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        raise ModelLoadError(f"bad model spec {spec_path}: {exc}") from exc
    detector.spec = spec
    try:
        state = load_file(str(weights))
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise ModelLoadError(f"cannot read weights {weights}: {exc}") from exc
    try:
        detector.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise ModelLoadError(f"weights {weights} do not fit {spec.architecture}: {exc}") from exc
    return detector
