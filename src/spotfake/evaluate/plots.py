"""The evaluation's plots as PNG files: ROC curves, robustness curves, the cross-generator matrix.

matplotlib runs without a display (Agg); each function draws one figure into one file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from spotfake.evaluate.perturb import AXIS_LABELS
from spotfake.evaluate.views import Curve, Matrix

_OVERALL_STYLE = {"color": "black", "linewidth": 2.2}


def _pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str) -> None:
    """ROC curves, one per (name: labels, scores), each labelled with its AUC; first one bold."""
    from sklearn.metrics import roc_auc_score, roc_curve

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for i, (name, (labels, scores)) in enumerate(curves.items()):
        if len(set(labels.tolist())) < 2:
            continue
        fpr, tpr, _ = roc_curve(labels, scores)
        auc = roc_auc_score(labels, scores)
        style = _OVERALL_STYLE if i == 0 else {"linewidth": 1.2}
        ax.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})", **style)
    ax.plot([0, 1], [0, 1], color="#999", linestyle=":", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("false positive rate (reals called generated)")
    ax.set_ylabel("true positive rate (fakes caught)")
    ax.set_title(title, fontsize=10)
    _legend(ax, "lower right")
    _save(fig, path)


def plot_reliability(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, title: str, bins: int = 15
) -> None:
    """Reliability diagram: accuracy against confidence of the predicted class, per curve.

    The bins are those of the ECE (metrics.calibration_bins); a marker's area is its bin's count.
    """
    from spotfake.evaluate.metrics import calibration_bins, expected_calibration_error

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, (labels, scores) in curves.items():
        if not len(labels):
            continue
        confidence, accuracy, count = calibration_bins(labels, scores, bins)
        used = count > 0
        ece = expected_calibration_error(labels, scores, bins) or 0.0
        line = ax.plot(confidence[used], accuracy[used], linewidth=1.2,
                       label=f"{name} (ECE {ece:.3f})")[0]  # fmt: skip
        sizes = 200 * count[used] / count.sum()
        ax.scatter(confidence[used], accuracy[used], s=sizes, color=line.get_color(), alpha=0.6)
    ax.plot([0.5, 1], [0.5, 1], color="#999", linestyle=":", linewidth=0.8)
    ax.set_xlim(0.48, 1.01)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("confidence of the call, max(p, 1 - p)")
    ax.set_ylabel("accuracy of the calls in the bin")
    ax.set_title(title, fontsize=10)
    _legend(ax, "lower right")
    _save(fig, path)


def plot_robustness(curves: dict[str, Curve], kind: str, path: Path, title: str) -> None:
    """Accuracy and AP against the perturbation level, one line per curve (the first bold)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    ticks: list[tuple[float, str]] = []
    for i, (name, points) in enumerate(curves.items()):
        x, ticks = _positions(kind, [p[0] for p in points])
        style = _OVERALL_STYLE if i == 0 else {"linewidth": 1.2}
        for ax, column in zip(axes, (1, 2), strict=True):
            y = [np.nan if p[column] is None else p[column] for p in points]
            ax.plot(x, y, marker="o", markersize=3, label=name, **style)
    for ax, metric in zip(axes, ("accuracy at the threshold", "average precision"), strict=True):
        ax.set_xlabel(AXIS_LABELS[kind])
        ax.set_ylabel(metric)
        ax.set_ylim(-0.02, 1.02)
        ax.axhline(0.5, color="#999", linestyle=":", linewidth=0.8)
        if ticks:
            ax.set_xticks([t for t, _ in ticks], [label for _, label in ticks], fontsize=8)
        ax.grid(alpha=0.3)
    _legend(axes[1], "lower left")
    fig.suptitle(title, fontsize=10)
    _save(fig, path)


def _positions(
    kind: str, levels: list[float | None]
) -> tuple[list[float], list[tuple[float, str]]]:
    """x positions of the levels: evenly spaced named ticks for JPEG, else the values themselves.

    JPEG's grid is uneven and its clean images have no quality ("as stored" comes first).
    """
    if kind != "jpeg":
        return [float(v or 0.0) for v in levels], []
    x = [float(i) for i in range(len(levels))]
    labels = ["as stored" if v is None else f"q{v:g}" for v in levels]
    return x, list(zip(x, labels, strict=True))


def plot_matrix(matrix: Matrix, path: Path) -> None:
    """Heatmaps of AP and accuracy (models x test generators) with a row-mean column."""
    plt = _pyplot()
    cols = [*matrix.columns, "mean"]
    width = max(6.0, 0.9 * len(cols) * 2 + 3)
    height = 1.2 + 0.5 * len(matrix.models)
    fig, axes = plt.subplots(1, 2, figsize=(width, height))
    for ax, (name, values) in zip(axes, (("AP", matrix.ap), ("accuracy", matrix.accuracy)),
                                  strict=True):  # fmt: skip
        full = np.column_stack([values, Matrix.row_means(values)])
        ax.imshow(np.ma.masked_invalid(full), cmap="RdYlGn", vmin=0.5, vmax=1.0, aspect="auto")
        for (i, j), value in np.ndenumerate(full):
            text = "n/a" if np.isnan(value) else f"{value:.2f}"
            ax.text(j, i, text, ha="center", va="center", fontsize=8)
        ax.set_xticks(range(len(cols)), cols, rotation=40, ha="right", fontsize=8)
        ax.set_yticks(range(len(matrix.models)), matrix.models, fontsize=8)
        ax.axvline(len(cols) - 1.5, color="black", linewidth=1)
        ax.set_title(name, fontsize=10)
    _save(fig, path)


def _legend(ax: Any, loc: str) -> None:
    """A small legend, only when something was drawn (an empty group draws nothing)."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc=loc)


def _save(fig: Any, path: Path) -> None:
    """Save a figure as PNG and free it."""
    plt = _pyplot()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
