"""The evaluation protocol as data: samples, per-generator groups, metric rows, sweeps, matrix.

A generator's fakes are scored against the reals of the same generator subset when the layout
has them (GenImage ``<gen>/val/{ai,nature}``, CNNDetection ``<gen>/<class>/{0_real,1_fake}``),
else against every real of the dataset; each row says which ("own" or "shared"). Every group
is measured under every condition with the same metrics (``metrics.full_metrics``).
"""

from __future__ import annotations

import math
import os
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np

from spotfake.data.layouts import is_zip_location, split_zip_location
from spotfake.evaluate.metrics import METRIC_KEYS, full_metrics
from spotfake.evaluate.perturb import Condition
from spotfake.evaluate.scoring import Scored, score_records
from spotfake.progress import Progress
from spotfake.records import GENERATED, REAL, ImageRecord

if TYPE_CHECKING:
    from spotfake.models.base import Detector

ALL = "all"
UNNAMED = "unnamed"
ROW_KEYS: tuple[str, ...] = (
    "model", "dataset", "generator", "reals", "condition", "perturbation", "level", "threshold",
    *METRIC_KEYS,
)  # fmt: skip


@dataclass
class DatasetSample:
    """The labelled records of one dataset to evaluate (a seeded sample when limited)."""

    name: str
    location: str
    records: list[ImageRecord]
    files: int  # files in the dataset, before the limit
    unlabelled: int  # files under no class folder, left out


@dataclass
class ModelInfo:
    """What names a model in the results: its label, where it came from, its weights hash."""

    name: str
    source: str
    model_hash: str
    threshold: float
    architecture: str
    trained_on: list[str] = field(default_factory=list)  # training source paths from the spec


@dataclass
class Group:
    """The images one metric row is computed on: a generator's fakes with their reals."""

    dataset: str
    generator: str  # ALL for the dataset as a whole
    reals: str  # "own", "shared" (all the dataset's reals) or ALL
    mask: np.ndarray  # over the dataset's scored records


def open_datasets(
    locations: Sequence[str],
    limit: int | None = None,
    seed: int = 0,
    workers: int | None = None,
    split: str | None = None,
) -> list[DatasetSample]:
    """Each dataset's labelled records, at most ``limit`` per (generator, class), seeded.

    split: keep only records of that split (GenImage's val, ...), sampled after filtering.
    Only the sample is probed unless a split is asked for. Raises FileNotFoundError or
    ValueError for a bad dataset.
    """
    from spotfake.data.sampling import sample_groups, select

    samples: list[DatasetSample] = []
    names: set[str] = set()
    for location in locations:
        first = sys.maxsize if split or not limit else limit
        picked = select(location, limit=first, seed=seed, workers=workers)
        records = [r for members in picked.groups.values() for r in members]
        if split is not None:
            records = [r for r in records if r.split == split]
            kept = sample_groups(records, limit or sys.maxsize, seed)
            records = [r for members in kept.values() for r in members]
        name = dataset_name(location)
        while name in names:
            name += "+"
        names.add(name)
        samples.append(DatasetSample(name, location, records, picked.files, picked.unlabelled))
    return samples


def dataset_name(location: str) -> str:
    """A short name for a dataset: its folder or file stem, plus a zip prefix when given."""
    head, prefix = location, ""
    if is_zip_location(location):
        head, prefix = split_zip_location(location)
    stem = PurePosixPath(os.path.abspath(head).replace(os.sep, "/")).name
    for suffix in (".zip", ".csv", ".parquet"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
    return f"{stem}/{prefix.strip('/')}" if prefix.strip("/") else stem


def model_info(detector: Detector, source: str, threshold: float | None) -> ModelInfo:
    """A model's label (spec name, else its recipe, else the file's stem) and identity."""
    spec = detector.spec
    name = spec.name or spec.training.get("recipe") or PurePosixPath(source).stem or source
    chosen = spec.threshold if threshold is None else threshold
    sources = spec.training.get("sources") or {}
    paths = [str(s["path"]) for s in sources.values() if isinstance(s, dict) and s.get("path")]
    return ModelInfo(
        str(name), source, detector.model_hash, float(chosen), spec.architecture, paths
    )


def training_overlap(trained_on: Sequence[str], paths: Sequence[str]) -> dict[str, int]:
    """How many of these image paths lie under a folder named like each training source.

    A heuristic on folder names (the model's training root is not known): a hit means the
    figures may include images the model was trained on, which inflates them.
    """
    sources = {s: _path_parts(s, absolute=False) for s in trained_on}
    counts: dict[str, int] = {}
    for folder, n in Counter(os.path.dirname(p) for p in paths).items():
        parts = _path_parts(folder)
        for source, src in sources.items():
            if src and any(
                parts[i : i + len(src)] == src for i in range(len(parts) - len(src) + 1)
            ):
                counts[source] = counts.get(source, 0) + n
    return counts


def _path_parts(location: str, absolute: bool = True) -> tuple[str, ...]:
    """A path's folder names, a zip location's member prefix included ("a.zip!x/" -> a.zip, x)."""
    head, member = location, ""
    if is_zip_location(location):
        head, member = split_zip_location(location)
    head = os.path.abspath(head) if absolute else head
    text = f"{head}/{member}".replace(os.sep, "/")
    return tuple(p for p in text.split("/") if p not in ("", ".", ".."))


def unique_model_names(models: list[ModelInfo]) -> None:
    """Make clashing model labels distinct: add the file's stem, then a number if still needed."""
    names = [m.name for m in models]
    for model in models:
        if names.count(model.name) > 1:
            model.name = f"{model.name} ({PurePosixPath(model.source).stem})"
    seen: set[str] = set()
    for i, model in enumerate(models, start=1):
        if model.name in seen:
            model.name = f"{model.name} #{i}"
        seen.add(model.name)


def generator_groups(records: Sequence[ImageRecord], dataset: str) -> list[Group]:
    """The dataset as a whole, then one group per named generator of its fakes.

    Fakes of a generator go with the reals of the same generator when there are any ("own"),
    else with all the dataset's reals ("shared"). A dataset whose fakes name no generator has
    the whole-dataset group only.
    """
    labels = np.array([r.label for r in records])
    names = np.array([r.generator or UNNAMED for r in records], dtype=object)
    groups = [Group(dataset, ALL, ALL, np.ones(len(records), dtype=bool))]
    generators = sorted({str(n) for n in names[labels == GENERATED]})
    if generators in ([], [UNNAMED]):
        return groups
    for generator in generators:
        fakes = (labels == GENERATED) & (names == generator)
        own = (labels == REAL) & (names == generator)
        reals, kind = (own, "own") if own.any() else (labels == REAL, "shared")
        groups.append(Group(dataset, generator, kind, fakes | reals))
    return groups


def metric_rows(
    labels: np.ndarray,
    scores: np.ndarray,
    groups: Sequence[Group],
    conditions: Sequence[Condition],
    models: Sequence[ModelInfo],
) -> list[dict[str, Any]]:
    """One row of ROW_KEYS per model, group and condition; scores are (models, images, conds)."""
    rows = []
    for m, model in enumerate(models):
        for group in groups:
            for c, condition in enumerate(conditions):
                metrics = full_metrics(
                    labels[group.mask], scores[m, group.mask, c], model.threshold
                )
                rows.append({
                    "model": model.name, "dataset": group.dataset, "generator": group.generator,
                    "reals": group.reals, "condition": condition.name,
                    "perturbation": condition.kind, "level": condition.level,
                    "threshold": model.threshold, **metrics,
                })  # fmt: skip
    return rows


@dataclass
class Evaluation:
    """Everything one run measured: models, datasets, their scores, the metric rows."""

    models: list[ModelInfo]
    datasets: list[DatasetSample]
    scored: list[Scored]
    groups: list[list[Group]]  # per dataset
    conditions: list[Condition]
    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def unreadable(self) -> list[tuple[str, str, str]]:
        """(dataset, path, reason) of every file that could not be read."""
        return [
            (d.name, path, reason)
            for d, s in zip(self.datasets, self.scored, strict=True)
            for path, reason in s.unreadable
        ]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: models, datasets with counts, conditions, rows, unreadable."""
        datasets = [
            {"name": d.name, "location": d.location, "files": d.files, "sampled": len(d.records),
             "scored": len(s.records), "unlabelled": d.unlabelled,
             "unreadable": len(s.unreadable)}
            for d, s in zip(self.datasets, self.scored, strict=True)
        ]  # fmt: skip
        return {
            "models": [vars(m) for m in self.models],
            "datasets": datasets,
            "conditions": [c.name for c in self.conditions],
            "warnings": self.warnings,
            "rows": [_jsonable(row) for row in self.rows],
            "unreadable": [{"dataset": d, "path": p, "reason": r} for d, p, r in self.unreadable],
        }


def evaluate(
    detectors: Sequence[Detector],
    models: list[ModelInfo],
    samples: Sequence[DatasetSample],
    conditions: Sequence[Condition],
    batch_size: int = 16,
    workers: int = 2,
    progress: Progress | None = None,
) -> Evaluation:
    """Score every dataset with every model under every condition and compute all the rows.

    With several datasets, rows for the datasets together (dataset ALL) come last.
    """
    conditions = list(conditions)
    result = Evaluation(models, list(samples), [], [], conditions)
    for model in models:
        for sample in samples:
            hits = training_overlap(model.trained_on, [r.path for r in sample.records])
            if hits:
                result.warnings.append(
                    f"{model.name} was trained on folders named {', '.join(hits)}; "
                    f"{sum(hits.values())} of the {len(sample.records)} images of {sample.name} "
                    "lie in such folders, so its figures there may include training images"
                )
    for sample in samples:
        scored = score_records(detectors, sample.records, conditions, batch_size, workers,
                               progress)  # fmt: skip
        groups = generator_groups(scored.records, sample.name)
        result.scored.append(scored)
        result.groups.append(groups)
        result.rows += metric_rows(scored.labels, scored.scores, groups, conditions, models)
    if len(samples) > 1:
        labels = np.concatenate([s.labels for s in result.scored])
        scores = np.concatenate([s.scores for s in result.scored], axis=1)
        together = Group(ALL, ALL, ALL, np.ones(labels.size, dtype=bool))
        result.rows += metric_rows(labels, scores, [together], conditions, models)
    return result


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    """A row with NaN as None (JSON has no NaN)."""
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
