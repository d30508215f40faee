"""Spectral detectors of Durall et al. 2019: a 1-D azimuthal spectrum and a tiny classifier.

Three registered variants share one detector class and differ in their head:

- ``spectral-logreg``: logistic regression (liblinear, as in the paper) on standardised spectra.
- ``spectral-svm``: a linear SVM; probabilities from a Platt sigmoid fitted on out-of-fold
  decision values (Platt 1999, with his smoothed targets), then the SVM is refitted on all data.
- ``spectral-kmeans``: unsupervised 2-means. With labels the clusters are named by which holds
  the larger share of generated images; without labels the tighter cluster (smaller mean squared
  distance to its centroid) is called generated, because images of one generator have far more
  uniform spectra than photos from many cameras (CelebA spectra: variance 0.045 vs 0.24). This is a
  heuristic: check it on data you know before trusting unlabelled naming.

Spectra are standardised with the training mean and std (bin 0, always 1.0, is left as is).
k-means scores P(generated) as a softmax over negative squared distances to the two centroids,
divided by the mean squared distance of the training spectra to their own centroid.

scikit-learn only fits. The learned state is plain arrays (standardisation, weights, centroids)
saved as tensors, and scoring is numpy arithmetic on them, so saved models never hold pickles.
The whole image is used: no crop, no resize (InputPolicy(crop=None, resize=None)).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit

from spotfake.errors import SpotfakeError
from spotfake.features.spectrum import DEFAULT_BINS, azimuthal_spectra
from spotfake.models.base import FeatureDetector
from spotfake.models.registry import register_detector
from spotfake.models.spec import DetectorSpec, InputPolicy

State = dict[str, np.ndarray]
_MIN_STD = 1e-12  # features with no spread (bin 0 is always 1.0) are left unscaled


class NotFittedError(SpotfakeError, RuntimeError):
    """A spectral detector was asked to score or save before fit() or load_state_dict()."""


class _Head(ABC):
    """How a spectral detector learns from standardised spectra and maps them to P(generated)."""

    needs_labels: ClassVar[bool] = True

    @abstractmethod
    def shapes(self, n_bins: int) -> dict[str, tuple[int, ...]]:
        """Name and shape of every array in the learned state."""

    @abstractmethod
    def fit(self, z: np.ndarray, labels: np.ndarray | None) -> tuple[State, dict[str, Any]]:
        """Learn the state from standardised features; also return a summary for the spec."""

    @abstractmethod
    def score(self, z: np.ndarray, state: State) -> np.ndarray:
        """P(generated) for standardised features, using only the state arrays."""


class LogisticHead(_Head):
    """L2-regularised logistic regression (liblinear, as the paper); its sigmoid is P(generated).

    ``balanced`` weighs each class by the inverse of its share, so that 0.5 stays a sensible
    threshold when one class outnumbers the other (several attacked versions per clean image).
    """

    def __init__(self, C: float, seed: int, balanced: bool = False) -> None:
        self.C = C
        self.seed = seed
        self.balanced = balanced

    def shapes(self, n_bins: int) -> dict[str, tuple[int, ...]]:
        return {"weight": (n_bins,), "bias": (1,)}

    def fit(self, z: np.ndarray, labels: np.ndarray | None) -> tuple[State, dict[str, Any]]:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(
            C=self.C,
            solver="liblinear",
            max_iter=5000,
            random_state=self.seed,
            class_weight="balanced" if self.balanced else None,
        )
        model.fit(z, labels)
        return {"weight": model.coef_[0], "bias": model.intercept_[:1]}, {}

    def score(self, z: np.ndarray, state: State) -> np.ndarray:
        return np.asarray(expit(z @ state["weight"] + state["bias"][0]))


class _SvmHead(_Head):
    """Linear SVM (liblinear) whose decision values go through a Platt sigmoid."""

    def __init__(self, C: float, seed: int, platt_folds: int) -> None:
        self.C = C
        self.seed = seed
        self.platt_folds = platt_folds

    def shapes(self, n_bins: int) -> dict[str, tuple[int, ...]]:
        return {"weight": (n_bins,), "bias": (1,), "platt": (2,)}

    def _svm(self) -> Any:
        from sklearn.svm import LinearSVC

        return LinearSVC(C=self.C, max_iter=20000, random_state=self.seed)

    def _held_out_decisions(self, z: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, str]:
        """Decision values of models that did not see the sample, so Platt is not overconfident."""
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        folds = min(self.platt_folds, int(np.bincount(labels, minlength=2).min()))
        if folds < 2:  # a class with one sample cannot be held out; fall back to training fit
            return self._svm().fit(z, labels).decision_function(z), "in-sample"
        splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=self.seed)
        decisions = cross_val_predict(
            self._svm(), z, labels, cv=splitter, method="decision_function"
        )
        return np.asarray(decisions), f"{folds}-fold"

    def fit(self, z: np.ndarray, labels: np.ndarray | None) -> tuple[State, dict[str, Any]]:
        assert labels is not None  # guaranteed by SpectralDetector.fit (needs_labels)
        decisions, how = self._held_out_decisions(z, labels)
        slope, offset = fit_platt(decisions, labels)
        model = self._svm().fit(z, labels)
        state = {
            "weight": model.coef_[0],
            "bias": model.intercept_[:1],
            "platt": np.array([slope, offset]),
        }
        return state, {"platt": how}

    def score(self, z: np.ndarray, state: State) -> np.ndarray:
        decision = z @ state["weight"] + state["bias"][0]
        slope, offset = state["platt"]
        return np.asarray(expit(slope * decision + offset))


class _KMeansHead(_Head):
    """2-means; P(generated) is a softmax over negative squared distances to the two centroids."""

    needs_labels = False

    def __init__(self, seed: int, n_init: int) -> None:
        self.seed = seed
        self.n_init = n_init

    def shapes(self, n_bins: int) -> dict[str, tuple[int, ...]]:
        return {"centroids": (2, n_bins), "temperature": (1,)}

    def fit(self, z: np.ndarray, labels: np.ndarray | None) -> tuple[State, dict[str, Any]]:
        from sklearn.cluster import KMeans
        from threadpoolctl import threadpool_limits

        # Two centroids in ~80 dimensions: OpenMP threads cost more than they give (0.03 s on one
        # thread vs 0.1 to 13 s threaded for 2000 spectra on a busy 2-core machine).
        with threadpool_limits(limits=1):
            model = KMeans(n_clusters=2, n_init=self.n_init, random_state=self.seed).fit(z)
        assigned = np.asarray(model.labels_)
        if np.unique(assigned).size < 2:
            raise ValueError("2-means needs at least two distinct spectra")
        centroids = np.asarray(model.cluster_centers_, dtype=np.float64)
        sq_dist = ((z - centroids[assigned]) ** 2).sum(axis=1)
        if labels is None:
            spread = [sq_dist[assigned == k].mean() for k in (0, 1)]
            generated, rule = int(np.argmin(spread)), "tighter cluster"
        else:
            share = [labels[assigned == k].mean() for k in (0, 1)]
            generated, rule = int(np.argmax(share)), "majority vote"
        # The typical squared distance of a sample to its centroid sets the softmax's scale.
        temperature = max(float(sq_dist.mean()), _MIN_STD)
        state = {
            "centroids": centroids[[1 - generated, generated]],
            "temperature": np.array([temperature]),
        }
        return state, {"cluster_naming": rule}

    def score(self, z: np.ndarray, state: State) -> np.ndarray:
        sq = ((z[:, None, :] - state["centroids"][None, :, :]) ** 2).sum(axis=2)
        return np.asarray(expit((sq[:, 0] - sq[:, 1]) / state["temperature"][0]))


def fit_platt(decisions: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Platt's sigmoid P = 1 / (1 + exp(-(a * f + b))), fitted with his smoothed targets.

    The targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2) keep the slope finite on separable data.
    """
    f = np.asarray(decisions, dtype=np.float64)
    n_pos = float(np.sum(labels == 1))
    n_neg = float(labels.size - n_pos)
    target = np.where(labels == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        logit = params[0] * f + params[1]
        residual = expit(logit) - target
        value = float(np.sum(np.logaddexp(0.0, logit) - target * logit))
        return value, np.array([residual @ f, residual.sum()])

    start = np.array([0.0, np.log((n_pos + 1.0) / (n_neg + 1.0))])
    result = minimize(loss, start, jac=True, method="L-BFGS-B")
    return float(result.x[0]), float(result.x[1])


class SpectralDetector(FeatureDetector):
    """Durall et al.'s detector: azimuthal spectrum of the whole image, then a small head."""

    def __init__(self, architecture: str, head: _Head, config: dict[str, Any]) -> None:
        n_bins = int(config.get("n_bins", DEFAULT_BINS))
        if n_bins < 2:
            raise ValueError(f"n_bins must be at least 2, got {n_bins}")
        spec = DetectorSpec(
            architecture=architecture,
            config=dict(config),
            input=InputPolicy(crop=None, resize=None),
        )
        super().__init__(spec)
        self.n_bins = n_bins
        self._head = head
        self._state: State | None = None

    @property
    def is_fitted(self) -> bool:
        """Whether fit() or load_state_dict() has given the detector a learned state."""
        return self._state is not None

    def features(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """Azimuthal spectra of RGB (or gray) arrays, shape (N, n_bins); images are not resized."""
        return azimuthal_spectra(images, self.n_bins)

    def fit(self, features: np.ndarray, labels: np.ndarray | None = None) -> SpectralDetector:
        """Learn from spectra (N, n_bins); labels 1 = generated, 0 = real (k-means: optional)."""
        x = self._check_features(features)
        y = _check_labels(labels, len(x), self._head.needs_labels, self.spec.architecture)
        mean = x.mean(axis=0)
        std = x.std(axis=0)
        std = np.where(std < _MIN_STD, 1.0, std)
        head_state, summary = self._head.fit((x - mean) / std, y)
        self._state = {"feature_mean": mean, "feature_std": std, **head_state}
        self.weights_changed()
        self.spec.training["fit"] = {**_training_summary(y, len(x)), **summary}
        return self

    def score(self, images: Sequence[np.ndarray]) -> np.ndarray:
        if self._state is None:  # fail before the (comparatively costly) FFTs
            raise self._not_fitted()
        return self.score_features(self.features(images))

    def score_features(self, features: np.ndarray) -> np.ndarray:
        """P(generated) in [0, 1] for spectra (N, n_bins) computed by features()."""
        if self._state is None:
            raise self._not_fitted()
        x = self._check_features(features)
        z = (x - self._state["feature_mean"]) / self._state["feature_std"]
        return np.clip(self._head.score(z, self._state), 0.0, 1.0)

    def state_dict(self) -> dict[str, Any]:
        import torch

        if self._state is None:
            raise self._not_fitted()
        return {name: torch.from_numpy(array.copy()) for name, array in self._state.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        expected = self._expected_shapes()
        missing, extra = expected.keys() - state.keys(), state.keys() - expected.keys()
        if missing or extra:
            raise KeyError(f"missing {sorted(missing)}, unexpected {sorted(extra)}")
        arrays = {name: _to_numpy(value) for name, value in state.items()}
        for name, shape in expected.items():
            if arrays[name].shape != shape:
                raise ValueError(f"{name} has shape {arrays[name].shape}, expected {shape}")
        self._state = arrays
        self.weights_changed()

    def _expected_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {"feature_mean": (self.n_bins,), "feature_std": (self.n_bins,)}
        return {**shapes, **self._head.shapes(self.n_bins)}

    def _check_features(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_bins:
            raise ValueError(f"expected spectra of shape (N, {self.n_bins}), got {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("spectra contain NaN or infinite values")
        return x

    def _not_fitted(self) -> NotFittedError:
        return NotFittedError(
            f"{self.spec.architecture} is not fitted: call fit() or fit_images(), "
            "or load saved weights with load_detector_file()"
        )


def _check_labels(
    labels: np.ndarray | None, n: int, required: bool, name: str
) -> np.ndarray | None:
    """Labels as an int array of 0/1 matching n samples; supervised heads need both classes."""
    if n < 2:
        raise ValueError(f"need at least 2 spectra to fit {name}, got {n}")
    if labels is None:
        if required:
            raise ValueError(f"{name} needs labels (1 = generated, 0 = real)")
        return None
    y = np.asarray(labels).ravel()
    if y.shape[0] != n:
        raise ValueError(f"{y.shape[0]} labels for {n} spectra")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (generated)")
    y = y.astype(np.intp)
    if required and np.unique(y).size < 2:
        raise ValueError(f"{name} needs both real (0) and generated (1) examples")
    return y


def _training_summary(labels: np.ndarray | None, n: int) -> dict[str, Any]:
    if labels is None:
        return {"n_samples": n, "labelled": False}
    n_generated = int(labels.sum())
    return {"n_samples": n, "n_generated": n_generated, "n_real": n - n_generated, "labelled": True}


def _to_numpy(value: Any) -> np.ndarray:
    """A torch tensor or array-like as a float64 numpy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


@register_detector("spectral-logreg")
def spectral_logreg(n_bins: int = DEFAULT_BINS, C: float = 1.0, seed: int = 0) -> SpectralDetector:
    """Azimuthal spectrum + logistic regression (supervised)."""
    config = {"n_bins": n_bins, "C": C, "seed": seed}
    return SpectralDetector("spectral-logreg", LogisticHead(C, seed), config)


@register_detector("spectral-svm")
def spectral_svm(
    n_bins: int = DEFAULT_BINS, C: float = 1.0, seed: int = 0, platt_folds: int = 5
) -> SpectralDetector:
    """Azimuthal spectrum + linear SVM with Platt-scaled probabilities (supervised)."""
    config = {"n_bins": n_bins, "C": C, "seed": seed, "platt_folds": platt_folds}
    return SpectralDetector("spectral-svm", _SvmHead(C, seed, platt_folds), config)


@register_detector("spectral-kmeans")
def spectral_kmeans(
    n_bins: int = DEFAULT_BINS, seed: int = 0, n_init: int = 10
) -> SpectralDetector:
    """Azimuthal spectrum + 2-means clustering (unsupervised; labels only name the clusters)."""
    config = {"n_bins": n_bins, "seed": seed, "n_init": n_init}
    return SpectralDetector("spectral-kmeans", _KMeansHead(seed, n_init), config)
