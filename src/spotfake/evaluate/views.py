"""What the report shows of an evaluation: robustness curves per perturbation and the
cross-generator matrix, derived from the protocol's metric rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spotfake.evaluate.perturb import CLEAN, NEUTRAL
from spotfake.evaluate.protocol import ALL, Evaluation


def series_name(dataset: str, generator: str, several: bool) -> str:
    """How a (dataset, generator) row is named in plots and the matrix."""
    if dataset == ALL:
        return "all datasets"
    if generator == ALL:
        return f"{dataset} (all)" if several else "all"
    return f"{dataset}/{generator}" if several else generator


Curve = list[tuple[float | None, float | None, float | None]]  # (level, accuracy, AP)


def robustness_curves(rows: Sequence[dict[str, Any]], model: str, kind: str) -> dict[str, Curve]:
    """Accuracy and AP against a perturbation's level, one curve per dataset and generator.

    The clean condition sits at the kind's neutral level (scale 1, sigma 0; None for JPEG,
    drawn as "as stored"); JPEG runs from high quality to low. Whole-dataset curves come first.
    """
    several = len({r["dataset"] for r in rows if r["dataset"] != ALL}) > 1
    curves: dict[str, Curve] = {}
    for row in rows:
        if row["model"] != model or row["perturbation"] not in (kind, CLEAN):
            continue
        level = NEUTRAL[kind] if row["perturbation"] == CLEAN else row["level"]
        name = series_name(row["dataset"], row["generator"], several)
        curves.setdefault(name, []).append((level, row["accuracy"], row["ap"]))
    first = [n for n in curves if n in ("all", "all datasets")]
    first += [n for n in curves if n.endswith(" (all)")]
    ordered = first + [n for n in curves if n not in first]
    sign = -1.0 if kind == "jpeg" else 1.0  # JPEG runs from high quality to low

    def severity(point: tuple[float | None, ...]) -> float:
        return -np.inf if point[0] is None else sign * point[0]

    return {n: sorted(curves[n], key=severity) for n in ordered}


@dataclass
class Matrix:
    """Cross-generator matrix: rows the models, columns the test generators, AP and accuracy."""

    models: list[str]
    columns: list[str]
    ap: np.ndarray  # (models, columns), NaN where undefined
    accuracy: np.ndarray

    @staticmethod
    def row_means(values: np.ndarray) -> np.ndarray:
        """Each model's mean over the columns it has a value for (NaN when none)."""
        counts = np.sum(~np.isnan(values), axis=1)
        sums = np.nansum(values, axis=1)
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the two matrices and their row means (NaN as None)."""

        def clean(values: np.ndarray) -> list[Any]:
            return [None if math.isnan(v) else float(v) for v in values.tolist()]

        return {
            "models": self.models,
            "columns": self.columns,
            "ap": [clean(row) for row in self.ap],
            "accuracy": [clean(row) for row in self.accuracy],
            "ap_row_mean": clean(self.row_means(self.ap)),
            "accuracy_row_mean": clean(self.row_means(self.accuracy)),
        }


def cross_matrix(evaluation: Evaluation) -> Matrix:
    """The clean-condition matrix: a column per generator of each dataset (or the dataset)."""
    several = len(evaluation.datasets) > 1
    keys: list[tuple[str, str]] = []
    for groups in evaluation.groups:
        named = [g for g in groups if g.generator != ALL]
        keys += [(g.dataset, g.generator) for g in (named or groups)]
    cells = {
        (r["model"], r["dataset"], r["generator"]): r
        for r in evaluation.rows
        if r["condition"] == CLEAN
    }
    models = [m.name for m in evaluation.models]
    shape = (len(models), len(keys))
    ap, accuracy = np.full(shape, np.nan), np.full(shape, np.nan)
    for i, model in enumerate(models):
        for j, (dataset, generator) in enumerate(keys):
            row = cells.get((model, dataset, generator))
            if row is not None:
                ap[i, j] = np.nan if row["ap"] is None else row["ap"]
                accuracy[i, j] = np.nan if row["accuracy"] is None else row["accuracy"]
    columns = [series_name(d, g, several) if g != ALL else d for d, g in keys]
    return Matrix(models, columns, ap, accuracy)
