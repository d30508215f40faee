"""Audit a dataset for metadata shortcuts ("Fake or JPEG?"): what separates the classes besides
the pixels, how well, and through which storage property.

Verdicts come from cross-validated AUCs of the metadata-only classifier (``shortcut``):
below 0.6 none, below 0.75 weak, else strong. A confound's own AUC is the classifier's on that
property alone (it suffices to tell the classes apart); its "drop" is how much the full
classifier loses without it (it is needed, not replaced by another property).

Two more views: table identity (which exact JPEG quantisation tables each class carries, how far
they overlap, and the classifier on the table values alone: estimated qualities can agree while
the tables differ), and file metadata (EXIF, camera, XMP, ICC, PNG text, progressive), which a
pixel detector never sees and which is therefore reported apart from the storage shortcut.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from spotfake.bias import filemeta
from spotfake.bias.shortcut import GROUPS, FeatureMatrix, feature_matrix, shortcut_auc, subsample
from spotfake.bias.stats import describe, group_stats, table_label
from spotfake.records import GENERATED, REAL, ImageRecord

WEAK_AUC = 0.6
STRONG_AUC = 0.75
CLASS_NAMES = {REAL: "real", GENERATED: "generated"}


def verdict(auc: float) -> str:
    """none / weak / strong for a cross-validated metadata AUC (n/a when undefined)."""
    if math.isnan(auc):
        return "n/a"
    if auc >= STRONG_AUC:
        return "strong"
    return "weak" if auc >= WEAK_AUC else "none"


@dataclass
class Confound:
    """One storage property: how well it alone separates the classes, and the numbers behind."""

    name: str
    verdict: str
    auc: float  # the metadata classifier on this property alone
    drop: float  # full classifier's AUC minus its AUC without this property
    detail: str


@dataclass
class GeneratorAudit:
    """The shortcut on one generator's fakes against the reals they are paired with."""

    generator: str
    n_real: int
    n_fake: int
    shortcut_auc: float
    verdict: str
    reals: str  # "own" (the generator's subset has its reals) or "shared"


@dataclass
class TableIdentity:
    """Which exact quantisation tables each class's JPEGs carry, and how far they are shared."""

    jpegs: dict[str, int]  # class -> JPEG files
    tables: dict[str, dict[str, float]]  # class -> table label -> share of its JPEGs
    standard: dict[str, float]  # class -> share of its JPEGs with IJG tables of one quality
    shared: dict[str, float]  # class -> share of its JPEGs whose exact tables the other class has
    values_auc: float  # the classifier on the table values alone (the jpeg_tables confound)
    verdict: str


@dataclass
class MetadataAudit:
    """The file-metadata classifier (EXIF, camera, XMP, ICC, PNG text, progressive)."""

    shortcut_auc: float
    shortcut_auc_fold_std: float
    verdict: str
    properties: list[Confound]


@dataclass
class Audit:
    """Everything `spotfake audit` reports; to_dict() is the --json output."""

    counts: dict[str, int]
    shortcut_auc: float
    shortcut_auc_fold_std: float
    verdict: str
    confounds: list[Confound]
    per_generator: list[GeneratorAudit]
    stats: dict[str, dict[str, Any]]  # class name -> storage statistics
    generator_stats: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    rows_used: int = 0
    table_identity: TableIdentity | None = None
    file_metadata: MetadataAudit | None = None

    def to_dict(self) -> dict[str, Any]:
        return _finite(asdict(self))


def audit(
    records: Sequence[ImageRecord], folds: int = 5, seed: int = 0, max_rows: int = 100_000
) -> Audit:
    """Audit labelled records; unlabelled and unreadable ones are counted and left out.

    max_rows: the classifiers see a stratified sample of at most this many rows (speed).
    Raises ValueError when one class is missing.
    """
    usable = [r for r in records if r.error is None and r.label in (REAL, GENERATED)]
    counts = {
        "real": sum(r.label == REAL for r in usable),
        "generated": sum(r.label == GENERATED for r in usable),
        "unlabelled": sum(r.error is None and r.label is None for r in records),
        "unreadable": sum(r.error is not None for r in records),
    }
    if not counts["real"] or not counts["generated"]:
        raise ValueError(
            f"an audit needs both classes: {counts['real']} real and "
            f"{counts['generated']} generated readable images"
        )
    labels = np.asarray([r.label for r in usable])
    sample = [usable[i] for i in subsample(len(usable), labels, max_rows, seed)]
    matrix = feature_matrix(sample)
    overall = shortcut_auc(matrix.values, matrix.labels, folds, seed)
    stats = {CLASS_NAMES[c]: group_stats([r for r in usable if r.label == c]) for c in CLASS_NAMES}
    confounds = [_confound(name, matrix, overall.auc, stats, folds, seed) for name in GROUPS]
    per_generator, generator_stats = _per_generator(usable, folds, seed, max_rows)
    tables_auc = next(c.auc for c in confounds if c.name == "jpeg_tables")
    return Audit(
        counts=counts,
        shortcut_auc=overall.auc,
        shortcut_auc_fold_std=overall.fold_std,
        verdict=verdict(overall.auc),
        confounds=sorted(confounds, key=lambda c: -c.auc if not math.isnan(c.auc) else 0.0),
        per_generator=per_generator,
        stats=stats,
        generator_stats=generator_stats,
        rows_used=len(sample),
        table_identity=table_identity(usable, tables_auc),
        file_metadata=_file_metadata(sample, stats, folds, seed),
    )


def table_identity(records: Sequence[ImageRecord], values_auc: float) -> TableIdentity:
    """Per class: its JPEGs' tables by fingerprint, the IJG share, the share the other has."""
    jpegs = {c: [r for r in records if r.label == c and r.jpeg_tables_id] for c in CLASS_NAMES}
    ids = {c: {r.jpeg_tables_id for r in rs} for c, rs in jpegs.items()}
    shared = {}
    for c, rs in jpegs.items():
        other = ids[GENERATED if c == REAL else REAL]
        shared[CLASS_NAMES[c]] = (
            sum(r.jpeg_tables_id in other for r in rs) / len(rs) if rs else float("nan")
        )
    stats = {CLASS_NAMES[c]: group_stats(rs) for c, rs in jpegs.items()}
    return TableIdentity(
        jpegs={CLASS_NAMES[c]: len(rs) for c, rs in jpegs.items()},
        tables={CLASS_NAMES[c]: _shares([table_label(r) for r in rs]) for c, rs in jpegs.items()},
        standard={name: s["jpeg_tables_standard"] for name, s in stats.items()},
        shared=shared,
        values_auc=values_auc,
        verdict=verdict(values_auc),
    )


def _shares(labels: list[str]) -> dict[str, float]:
    """Share of each label, most common first."""
    counts = Counter(labels)
    return {k: n / len(labels) for k, n in counts.most_common()}


def _file_metadata(
    sample: list[ImageRecord], stats: dict[str, dict[str, Any]], folds: int, seed: int
) -> MetadataAudit:
    """The file-metadata classifier overall and per property, as the storage confounds are."""
    matrix = filemeta.metadata_matrix(sample)
    overall = shortcut_auc(matrix.values, matrix.labels, folds, seed)
    properties = [
        _confound(name, matrix, overall.auc, stats, folds, seed, filemeta.GROUPS)
        for name in filemeta.GROUPS
    ]
    return MetadataAudit(
        overall.auc,
        overall.fold_std,
        verdict(overall.auc),
        sorted(properties, key=lambda c: -c.auc if not math.isnan(c.auc) else 0.0),
    )


def _confound(
    name: str,
    matrix: FeatureMatrix,
    full_auc: float,
    stats: dict[str, dict[str, Any]],
    folds: int,
    seed: int,
    groups: Sequence[str] = GROUPS,
) -> Confound:
    """One property's own AUC, the full classifier's loss without it, and its numbers."""
    alone = shortcut_auc(matrix.only([name]), matrix.labels, folds, seed).auc
    others = [g for g in groups if g != name]
    without = shortcut_auc(matrix.only(others), matrix.labels, folds, seed).auc
    detail = describe(name, stats["real"], stats["generated"])
    return Confound(name, verdict(alone), alone, full_auc - without, detail)


def _per_generator(
    records: list[ImageRecord], folds: int, seed: int, max_rows: int
) -> tuple[list[GeneratorAudit], dict[str, dict[str, dict[str, Any]]]]:
    """Shortcut AUC for each generator's fakes against its own reals (else all reals)."""
    generators = sorted({r.generator for r in records if r.label == GENERATED and r.generator})
    results, all_stats = [], {}
    for name in generators:
        fakes = [r for r in records if r.label == GENERATED and r.generator == name]
        reals = [r for r in records if r.label == REAL and r.generator == name]
        kind = "own" if reals else "shared"
        if not reals:
            reals = [r for r in records if r.label == REAL]
        subset = reals + fakes
        labels = np.asarray([r.label for r in subset])
        picked = [subset[i] for i in subsample(len(subset), labels, max_rows, seed)]
        matrix = feature_matrix(picked)
        result = shortcut_auc(matrix.values, matrix.labels, folds, seed)
        results.append(
            GeneratorAudit(name, len(reals), len(fakes), result.auc, verdict(result.auc), kind)
        )
        all_stats[name] = {"real": group_stats(reals), "generated": group_stats(fakes)}
    return results, all_stats


def _finite(value: Any) -> Any:
    """NaN and infinities as None, so the JSON is valid for strict parsers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
