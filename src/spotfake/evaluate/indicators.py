"""Robustness indicators from latent clustering: how cleanly a detector's features of clean
images fall into clusters, without labels, as a hint of how it holds up on corrupted images.

Per layer (latents.py: forward hooks, each map global-average-pooled to one vector per image,
averaged over the detector's views), on clean images only:

- the features are standardised (zero mean, unit variance per channel) and, when wider than
  ``pca_dims``, reduced by PCA (seeded) to ``pca_dims`` dimensions;
- k-means (scikit-learn, seeded, fixed ``n_init``) with k = 2 (the number of classes) and
  for each k of a sweep (2..8 by default); the silhouette score (scikit-learn, Euclidean) of
  every clustering;
- purity of the k = 2 clustering against the real/generated labels: the share of images in
  their cluster's majority class (0.5 to 1 on balanced data; the labels are used only here).

The indicator: the mean silhouette over the k sweep of the pre-logits features (the input of
the classifier's last linear layer). A mean over k rewards features that form compact,
separated groups at several granularities rather than at one lucky k. Whether it predicts
robustness is measured by benchmarks/indicators.py, not assumed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from spotfake.evaluate.latents import PRE_LOGITS, LayerSpec, extract_latents
from spotfake.progress import Progress
from spotfake.records import ImageRecord

if TYPE_CHECKING:
    from spotfake.models.base import Detector

DEFAULT_KS: tuple[int, ...] = tuple(range(2, 9))
INDICATOR = "mean silhouette over the k sweep of the pre-logits features"


@dataclass(frozen=True)
class ClusterSettings:
    """How the features are clustered: the k sweep, the PCA width, k-means restarts, the seed."""

    ks: tuple[int, ...] = DEFAULT_KS
    pca_dims: int | None = 32
    n_init: int = 4
    seed: int = 0


@dataclass
class LayerIndicators:
    """One layer's clustering figures; None where too few images or clusters to define them."""

    layer: str
    channels: int
    silhouette_k2: float | None
    purity_k2: float | None
    sweep: dict[str, float | None]  # str(k) -> silhouette (JSON keys are strings)
    best_k: int | None
    best_silhouette: float | None
    mean_silhouette: float | None


@dataclass
class Indicators:
    """Every layer's figures for one model on one set of clean images, and the indicator."""

    model: str
    n_real: int
    n_fake: int
    layers: list[LayerIndicators]
    indicator: float | None
    indicator_layer: str | None
    definition: str = INDICATOR
    settings: dict[str, Any] = field(default_factory=dict)
    unreadable: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (NaN written as None)."""
        return _jsonable(asdict(self))


def cluster_layer(
    name: str,
    features: np.ndarray,
    labels: np.ndarray | None = None,
    settings: ClusterSettings | None = None,
) -> LayerIndicators:
    """Silhouettes of seeded k-means over the k sweep, and purity against labels at k = 2."""
    settings = settings or ClusterSettings()
    points = reduce(features, settings.pca_dims, settings.seed)
    assignments = {k: kmeans(points, k, settings) for k in sorted({2, *settings.ks})}
    silhouettes = {k: silhouette(points, a) for k, a in assignments.items()}
    sweep = {str(k): silhouettes[k] for k in settings.ks}
    valid = {k: s for k, s in silhouettes.items() if k in settings.ks and s is not None}
    best_k = max(valid, key=lambda k: (valid[k], -k)) if valid else None
    return LayerIndicators(
        layer=name,
        channels=int(features.shape[1]),
        silhouette_k2=silhouettes[2],
        purity_k2=purity(assignments[2], labels),
        sweep=sweep,
        best_k=best_k,
        best_silhouette=valid[best_k] if best_k is not None else None,
        mean_silhouette=float(np.mean(list(valid.values()))) if valid else None,
    )


def reduce(features: np.ndarray, pca_dims: int | None, seed: int = 0) -> np.ndarray:
    """Standardised features, PCA-reduced (seeded) to pca_dims when wider and enough images."""
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    points = StandardScaler().fit_transform(np.asarray(features, dtype=np.float64))
    dims = min(pca_dims or points.shape[1], points.shape[0])
    if pca_dims is None or points.shape[1] <= dims:
        return points
    return PCA(n_components=dims, svd_solver="full", random_state=seed).fit_transform(points)


def kmeans(points: np.ndarray, k: int, settings: ClusterSettings) -> np.ndarray | None:
    """Cluster labels of seeded k-means, or None when there are no more images than clusters."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    if len(points) <= k:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # identical points: fewer clusters
        model = KMeans(n_clusters=k, n_init=settings.n_init, random_state=settings.seed)
        return np.asarray(model.fit_predict(points))


def silhouette(points: np.ndarray, assignment: np.ndarray | None) -> float | None:
    """The mean silhouette (-1..1), or None when it is undefined (one cluster, or singletons)."""
    from sklearn.metrics import silhouette_score

    if assignment is None or not 2 <= len(np.unique(assignment)) <= len(points) - 1:
        return None
    return float(silhouette_score(points, assignment))


def purity(assignment: np.ndarray | None, labels: np.ndarray | None) -> float | None:
    """Share of images in their cluster's majority class; None without two classes."""
    if assignment is None or labels is None or len(np.unique(labels)) < 2:
        return None
    labels = np.asarray(labels)
    majority = sum(np.bincount(labels[assignment == c]).max() for c in np.unique(assignment))
    return float(majority / len(labels))


def latent_indicators(
    detector: Detector,
    records: Sequence[ImageRecord],
    name: str,
    settings: ClusterSettings | None = None,
    layers: Sequence[LayerSpec] | None = None,
    batch_size: int = 16,
    progress: Progress | None = None,
) -> Indicators:
    """The indicators of a torch detector on these records' clean images (labels for purity).

    Unreadable files are listed and skipped. Raises TypeError for a detector without a torch
    model (spectral ones).
    """
    settings = settings or ClusterSettings()
    latents = extract_latents(detector, records, layers, batch_size, progress)
    labels = latents.labels
    rows = [cluster_layer(n, f, labels, settings) for n, f in latents.layers.items()]
    chosen = next((r for r in rows if r.layer == PRE_LOGITS), rows[-1] if rows else None)
    return Indicators(
        model=name,
        n_real=int((labels == 0).sum()),
        n_fake=int((labels == 1).sum()),
        layers=rows,
        indicator=chosen.mean_silhouette if chosen else None,
        indicator_layer=chosen.layer if chosen else None,
        settings={**asdict(settings), "ks": list(settings.ks)},
        unreadable=[{"path": p, "reason": r} for p, r in latents.unreadable],
    )


def format_table(result: Indicators) -> str:
    """A fixed-width table: one row per layer, then the indicator line."""
    heads = ("layer", "dim", "sil@2", "purity@2", "best k", "sil@best", "mean sil")
    width = max([len(heads[0]), *(len(r.layer) for r in result.layers)]) + 2
    lines = [
        f"{result.model}: latent indicators on {result.n_real} real, {result.n_fake} generated "
        "clean images",
        f"{heads[0]:<{width}}" + "".join(f"{h:>10}" for h in heads[1:]),
    ]
    for row in result.layers:
        cells = (row.channels, row.silhouette_k2, row.purity_k2, row.best_k,
                 row.best_silhouette, row.mean_silhouette)  # fmt: skip
        lines.append(f"{row.layer:<{width}}" + "".join(f"{_cell(c):>10}" for c in cells))
    definition = result.definition
    if result.indicator_layer not in (None, PRE_LOGITS):
        definition += f" (no linear layer: {result.indicator_layer} instead)"
    lines.append(f"indicator, {definition}: {_cell(result.indicator)}")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
