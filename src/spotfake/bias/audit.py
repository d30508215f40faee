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

Every AUC comes with a 95% interval (``shortcut.auc_interval``: a bootstrap of the out-of-fold
scores, widened for small classes). The verdict stays that of the point AUC, so scripts and
``--fail-on`` see the same words; ``confident`` says whether the whole interval lies in the
verdict's band (none: high end below 0.6; weak: 0.6 <= low end and high end below 0.75; strong:
low end at least 0.75; never for n/a). A verdict that is not confident is written with its
interval, "strong (uncertain: 95% CI 0.62-1.00, n=20)", so twenty images never read as a sure
strong shortcut, and a "none" from a small set does not read as proof of absence.
The pixel-statistics baseline (``pixels``) is reported beside the metadata one, not mixed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from spotfake.bias import filemeta
from spotfake.bias.shortcut import (
    GROUPS,
    CrossValidatedAUC,
    FeatureMatrix,
    feature_matrix,
    shortcut_auc,
    subsample,
)
from spotfake.bias.stats import describe, group_stats, shares, table_label
from spotfake.records import GENERATED, REAL, ImageRecord

if TYPE_CHECKING:
    from spotfake.bias.pixels import PixelBaseline

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


def is_confident(verdict_word: str, ci_low: float, ci_high: float) -> bool:
    """True when the whole 95% interval lies in the verdict's band (see the module docstring)."""
    if verdict_word == "n/a" or math.isnan(ci_low) or math.isnan(ci_high):
        return False
    if verdict_word == "strong":
        return ci_low >= STRONG_AUC
    if verdict_word == "weak":
        return ci_low >= WEAK_AUC and ci_high < STRONG_AUC
    return ci_high < WEAK_AUC


def interval_text(ci_low: float, ci_high: float, confident: bool, n: int) -> str:
    """ "95% CI 0.91-0.95", or "uncertain: 95% CI 0.62-1.00, n=20" when not confident."""
    if math.isnan(ci_low) or math.isnan(ci_high):
        return f"no interval, n={n}"
    text = f"95% CI {ci_low:.2f}-{ci_high:.2f}"
    return text if confident else f"uncertain: {text}, n={n}"


def verdict_text(verdict_word: str, ci_low: float, ci_high: float, confident: bool, n: int) -> str:
    """The verdict as people read it: "strong", or "strong (uncertain: 95% CI 0.62-1.00, n=20)"."""
    if confident or verdict_word == "n/a":
        return verdict_word
    return f"{verdict_word} ({interval_text(ci_low, ci_high, confident, n)})"


@dataclass
class Confound:
    """One storage property: how well it alone separates the classes, and the numbers behind."""

    name: str
    verdict: str
    auc: float  # the metadata classifier on this property alone
    drop: float  # full classifier's AUC minus its AUC without this property
    detail: str
    ci_low: float = float("nan")  # 95% interval of auc
    ci_high: float = float("nan")
    confident: bool = False  # the whole interval lies in the verdict's band


@dataclass
class GeneratorAudit:
    """The shortcut on one generator's fakes against the reals they are paired with."""

    generator: str
    n_real: int
    n_fake: int
    shortcut_auc: float
    verdict: str
    reals: str  # "own" (the generator's subset has its reals) or "shared"
    ci_low: float = float("nan")  # 95% interval of shortcut_auc
    ci_high: float = float("nan")
    confident: bool = False
    rows_used: int = 0  # rows the classifier saw (a stratified sample of at most max_rows)


@dataclass
class TableIdentity:
    """Which exact quantisation tables each class's JPEGs carry, and how far they are shared."""

    jpegs: dict[str, int]  # class -> JPEG files
    tables: dict[str, dict[str, float]]  # class -> table label -> share of its JPEGs
    standard: dict[str, float]  # class -> share of its JPEGs with IJG tables of one quality
    shared: dict[str, float]  # class -> share of its JPEGs whose exact tables the other class has
    values_auc: float  # the classifier on the table values alone (the jpeg_tables confound)
    verdict: str
    ci_low: float = float("nan")  # 95% interval of values_auc
    ci_high: float = float("nan")
    confident: bool = False


@dataclass
class MetadataAudit:
    """The file-metadata classifier (EXIF, camera, XMP, ICC, PNG text, progressive)."""

    shortcut_auc: float
    shortcut_auc_fold_std: float
    verdict: str
    properties: list[Confound]
    ci_low: float = float("nan")  # 95% interval of shortcut_auc
    ci_high: float = float("nan")
    confident: bool = False


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
    shortcut_auc_ci_low: float = float("nan")  # 95% interval of shortcut_auc
    shortcut_auc_ci_high: float = float("nan")
    confident: bool = False  # the whole interval lies in the verdict's band
    pixel_baseline: PixelBaseline | None = None  # pixels.pixel_baseline, when computed

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
    tables = next(c for c in confounds if c.name == "jpeg_tables")
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
        shortcut_auc_ci_low=overall.ci_low,
        shortcut_auc_ci_high=overall.ci_high,
        confident=is_confident(verdict(overall.auc), overall.ci_low, overall.ci_high),
        table_identity=table_identity(usable, tables, stats),
        file_metadata=_file_metadata(sample, stats, folds, seed),
    )


def table_identity(
    records: Sequence[ImageRecord], values: Confound, stats: dict[str, dict[str, Any]]
) -> TableIdentity:
    """Per class: its JPEGs' tables by fingerprint, the IJG share, the share the other has;
    values: the jpeg_tables confound (the classifier on the table values alone); stats: the
    classes' storage statistics, which already hold the IJG share of their JPEGs."""
    jpegs = {c: [r for r in records if r.label == c and r.jpeg_tables_id] for c in CLASS_NAMES}
    ids = {c: {r.jpeg_tables_id for r in rs} for c, rs in jpegs.items()}
    shared = {}
    for c, rs in jpegs.items():
        other = ids[GENERATED if c == REAL else REAL]
        shared[CLASS_NAMES[c]] = (
            sum(r.jpeg_tables_id in other for r in rs) / len(rs) if rs else float("nan")
        )
    return TableIdentity(
        jpegs={CLASS_NAMES[c]: len(rs) for c, rs in jpegs.items()},
        tables={CLASS_NAMES[c]: shares([table_label(r) for r in rs]) for c, rs in jpegs.items()},
        standard={name: stats[name]["jpeg_tables_standard"] for name in CLASS_NAMES.values()},
        shared=shared,
        values_auc=values.auc,
        verdict=values.verdict,
        ci_low=values.ci_low,
        ci_high=values.ci_high,
        confident=values.confident,
    )


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
    word = verdict(overall.auc)
    return MetadataAudit(
        overall.auc,
        overall.fold_std,
        word,
        sorted(properties, key=lambda c: -c.auc if not math.isnan(c.auc) else 0.0),
        overall.ci_low,
        overall.ci_high,
        is_confident(word, overall.ci_low, overall.ci_high),
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
    alone = shortcut_auc(matrix.only([name]), matrix.labels, folds, seed)
    others = [g for g in groups if g != name]
    without = shortcut_auc(matrix.only(others), matrix.labels, folds, seed, resamples=0).auc
    detail = describe(name, stats["real"], stats["generated"])
    word = verdict(alone.auc)
    confident = is_confident(word, alone.ci_low, alone.ci_high)
    return Confound(
        name, word, alone.auc, full_auc - without, detail, alone.ci_low, alone.ci_high, confident
    )


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
        results.append(generator_audit(name, len(reals), len(fakes), kind, result))
        all_stats[name] = {"real": group_stats(reals), "generated": group_stats(fakes)}
    return results, all_stats


def generator_audit(
    name: str, n_real: int, n_fake: int, reals: str, result: CrossValidatedAUC
) -> GeneratorAudit:
    """One generator's entry from its classifier's result, verdict and confidence included."""
    word = verdict(result.auc)
    return GeneratorAudit(
        name, n_real, n_fake, result.auc, word, reals, result.ci_low, result.ci_high,
        is_confident(word, result.ci_low, result.ci_high), result.n,
    )  # fmt: skip


def _finite(value: Any) -> Any:
    """NaN and infinities as None, so the JSON is valid for strict parsers."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
