"""The shortcut baseline: how well metadata alone (no pixel) separates real from generated.

A gradient-boosted tree classifier sees only what a file's headers say (format, JPEG quality,
the JPEG quantisation tables' values, chroma subsampling, width, height, aspect, bytes per pixel,
colour mode) and is cross-validated:
its out-of-fold AUC is what a detector could reach without looking at the image. Trees are used
because the shortcuts are thresholds and exact values ("512x512 means fake", "quality 96 means
real") that a linear model would miss.

The tables' values are their own group: two encoders "at q85" with different tables look alike
to the quality number and apart to the tables (and to a CNN, which sees the quantisation grid).

Each AUC carries a 95% interval (``auc_interval``): a stratified bootstrap of the out-of-fold
scores (classifiers are not refitted per resample), so it measures the sampling uncertainty of
the evaluation, not the variance of training. Because a percentile bootstrap collapses to a point
when the scores separate the classes perfectly (every resample is separated too), the interval
is widened to cover what the AUC would become if about four more images of the smaller class
(z^2 = 3.84, the pseudo-count of Wilson's score interval) were ranked all wrong or all right:
``[n*auc / (n + z^2), (n*auc + z^2) / (n + z^2)]`` with n the smaller class count. That term
is negligible from a few hundred images on and keeps ten against ten from looking certain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spotfake.io.jpeg import IJG_CHROMA_TABLE, ijg_table, parse_tables
from spotfake.records import ImageRecord

# Confound groups: each is one storage property a detector could learn instead of generation.
GROUPS: tuple[str, ...] = (
    "format", "jpeg_quality", "jpeg_tables", "chroma_subsampling", "size", "aspect",
    "bytes_per_pixel", "mode",
)  # fmt: skip
_NOT_JPEG = -1.0
TABLE_COLUMNS: tuple[str, ...] = tuple(
    f"{kind}[{i}]" for kind in ("luma", "chroma") for i in range(64)
)
BOOTSTRAP_RESAMPLES = 400
_Z = 1.959964  # two-sided 95% normal quantile
_BOOTSTRAP_CELLS = 1 << 22  # resample x score-level counts held at once (32 MiB)


@dataclass
class FeatureMatrix:
    """Metadata features of labelled records: columns and the confound group of each column."""

    values: np.ndarray  # (n, columns) float64
    columns: list[str]
    groups: list[str]  # GROUPS entry of each column
    labels: np.ndarray  # (n,) int, 1 generated

    def only(self, wanted: Sequence[str]) -> np.ndarray:
        """The columns of the given groups."""
        keep = [i for i, g in enumerate(self.groups) if g in wanted]
        return self.values[:, keep]


def feature_matrix(records: Sequence[ImageRecord]) -> FeatureMatrix:
    """Features of labelled, readable records (others must be filtered out beforehand)."""
    columns: list[tuple[str, str, list[float]]] = []  # name, group, values
    for group, attribute in (("format", "format"), ("chroma_subsampling", "chroma_subsampling"),
                             ("mode", "mode")):  # fmt: skip
        values = [getattr(r, attribute) or "none" for r in records]
        for level in sorted(set(values)):
            columns.append((f"{attribute}={level}", group, [float(v == level) for v in values]))
    quality = [float(r.jpeg_quality) if r.jpeg_quality is not None else _NOT_JPEG for r in records]
    width = [float(r.width or 0) for r in records]
    height = [float(r.height or 0) for r in records]
    aspect = [w / h if h else 0.0 for w, h in zip(width, height, strict=True)]
    bpp = [np.log(r.bytes_per_pixel) if r.bytes_per_pixel else 0.0 for r in records]
    tables = table_values(records)
    columns += [(name, "jpeg_tables", list(tables[:, i])) for i, name in enumerate(TABLE_COLUMNS)]
    columns += [
        ("tables_standard", "jpeg_tables", [_flag(r.jpeg_tables_standard) for r in records]),
        ("tables_ijg_distance", "jpeg_tables", [_ijg_distance(r) for r in records]),
    ]
    columns += [
        ("jpeg_quality", "jpeg_quality", quality),
        ("width", "size", width),
        ("height", "size", height),
        ("aspect", "aspect", aspect),
        ("log_bytes_per_pixel", "bytes_per_pixel", bpp),
    ]
    matrix = np.asarray([c[2] for c in columns], dtype=np.float64).T.reshape(len(records), -1)
    labels = np.asarray([r.label for r in records], dtype=np.int64)
    names = [str(c[0]) for c in columns]
    groups = [str(c[1]) for c in columns]
    return FeatureMatrix(matrix, names, groups, labels)


def _flag(value: bool | None) -> float:
    return _NOT_JPEG if value is None else float(value)


def _ijg_distance(record: ImageRecord) -> float:
    """Sum of |differences| between a file's tables and IJG's at its estimated quality: 0 for
    IJG tables, small for tables that round to a quality. One column a tree splits on at once,
    where the raw values may differ from IJG's in a different entry for each encoder."""
    if not record.jpeg_tables or record.jpeg_quality is None:
        return _NOT_JPEG
    tables = parse_tables(record.jpeg_tables)
    luma = ijg_table(record.jpeg_quality)
    chroma = ijg_table(record.jpeg_quality, IJG_CHROMA_TABLE)
    references = (luma, *([chroma] * (len(tables) - 1)))
    pairs = zip(tables, references, strict=True)
    return float(sum(np.abs(np.subtract(t, r)).sum() for t, r in pairs))


def table_values(records: Sequence[ImageRecord]) -> np.ndarray:
    """(n, 128) luminance then chrominance table values; -1 where a file has no such table."""
    values = np.full((len(records), len(TABLE_COLUMNS)), _NOT_JPEG)
    for row, record in enumerate(records):
        if record.jpeg_tables:
            tables = parse_tables(record.jpeg_tables)[:2]
            values[row, : 64 * len(tables)] = np.concatenate(tables)
    return values


@dataclass
class CrossValidatedAUC:
    """Out-of-fold AUC of the metadata classifier, its spread over folds and its 95% interval."""

    auc: float
    fold_std: float
    n: int
    ci_low: float = float("nan")  # see auc_interval; NaN when not computed or undefined
    ci_high: float = float("nan")


def shortcut_auc(
    features: np.ndarray,
    labels: np.ndarray,
    folds: int = 5,
    seed: int = 0,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> CrossValidatedAUC:
    """Cross-validated AUC of a tree classifier on metadata features (0.5: no shortcut).

    With fewer than two examples of a class per fold the AUC is undefined (NaN). The interval
    comes from ``auc_interval`` on the out-of-fold scores; resamples=0 skips it (NaN).
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    counts = np.bincount(labels, minlength=2)
    splits = min(folds, int(counts.min()))
    if splits < 2:
        return CrossValidatedAUC(float("nan"), float("nan"), len(labels))
    if features.shape[1] == 0 or not np.ptp(features, axis=0).any():
        # nothing varies: nothing to learn, every score ties (the interval is that of 0.5)
        return _with_interval(
            CrossValidatedAUC(0.5, 0.0, len(labels)), labels, np.zeros(len(labels)), resamples, seed
        )
    scores = np.zeros(len(labels))
    fold_aucs = []
    folding = StratifiedKFold(splits, shuffle=True, random_state=seed)
    # One OpenMP thread: these fits are small, and spinning threads on a busy machine made them
    # fifty times slower.
    with threadpool_limits(limits=1, user_api="openmp"):
        for train, test in folding.split(features, labels):
            model = _classifier(seed).fit(features[train], labels[train])
            scores[test] = model.predict_proba(features[test])[:, 1]
            fold_aucs.append(roc_auc_score(labels[test], scores[test]))
    result = CrossValidatedAUC(
        float(roc_auc_score(labels, scores)), float(np.std(fold_aucs)), len(labels)
    )
    return _with_interval(result, labels, scores, resamples, seed)


def _with_interval(
    result: CrossValidatedAUC, labels: np.ndarray, scores: np.ndarray, resamples: int, seed: int
) -> CrossValidatedAUC:
    """The result with its 95% interval filled in (left NaN when resamples is 0)."""
    if resamples > 0:
        result.ci_low, result.ci_high = auc_interval(labels, scores, resamples, seed)
    return result


def auc_interval(
    labels: np.ndarray, scores: np.ndarray, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0
) -> tuple[float, float]:
    """95% interval of the AUC of fixed scores: stratified bootstrap, widened for small classes.

    Rows are resampled with replacement within each class (the class counts stay fixed), the
    AUC of each resample is taken, and the 2.5th and 97.5th percentiles kept; the interval is
    then widened to the Wilson pseudo-count range (module docstring), which always holds the
    point AUC. NaN, NaN without two classes.
    """
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    n_fake, n_real = int((labels == 1).sum()), int((labels == 0).sum())
    if not n_fake or not n_real:
        return float("nan"), float("nan")
    fake, real = _class_counts(labels, scores)
    low, high = np.percentile(_bootstrap_aucs(fake, real, resamples, seed), [2.5, 97.5])
    auc = float(_aucs(fake[None], real[None])[0])
    n, pseudo = min(n_fake, n_real), _Z**2
    low = min(float(low), n * auc / (n + pseudo))
    high = max(float(high), (n * auc + pseudo) / (n + pseudo))
    return low, high


def _bootstrap_aucs(fake: np.ndarray, real: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """AUCs of stratified resamples, each held as how often every distinct score was drawn."""
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOTSTRAP_CELLS // len(fake))
    aucs = []
    for start in range(0, resamples, chunk):
        size = min(chunk, resamples - start)
        aucs.append(_aucs(_resample(rng, fake, size), _resample(rng, real, size)))
    return np.concatenate(aucs)


def _resample(rng: np.random.Generator, counts: np.ndarray, size: int) -> np.ndarray:
    """``size`` resamples with replacement of a class given as counts per level: (size, levels).

    Few levels (tree scores): multinomial counts, O(levels) per resample; many levels
    (continuous scores): drawn rows binned, O(rows), which is then the cheaper of the two.
    """
    total = int(counts.sum())
    if len(counts) * 8 < total:
        return rng.multinomial(total, counts / total, size=size).astype(np.float64)
    rows = np.repeat(np.arange(len(counts)), counts.astype(np.int64))
    drawn = rows[rng.integers(0, total, size=(size, total))]
    drawn += np.arange(size)[:, None] * len(counts)
    binned = np.bincount(drawn.ravel(), minlength=size * len(counts))
    return binned.reshape(size, len(counts)).astype(np.float64)


def _class_counts(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How many fakes and how many reals hold each distinct score (levels ascending)."""
    levels, index = np.unique(scores, return_inverse=True)
    fake, real = (np.bincount(index[labels == c], minlength=len(levels)) for c in (1, 0))
    return fake.astype(np.float64), real.astype(np.float64)


def _aucs(fake: np.ndarray, real: np.ndarray) -> np.ndarray:
    """AUC of each row of per-level counts (R, levels): P(fake > real) + P(tie) / 2, by ranks."""
    real_below = np.cumsum(real, axis=1) - real
    pairs = fake.sum(axis=1) * real.sum(axis=1)
    result: np.ndarray = (fake * (real_below + 0.5 * real)).sum(axis=1) / pairs
    return result


def _classifier(seed: int) -> Any:
    """Small boosted trees: enough to find thresholds and exact values, quick on 100k rows."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=40, learning_rate=0.25, max_leaf_nodes=15, random_state=seed
    )


def subsample(n: int, labels: np.ndarray, limit: int, seed: int) -> np.ndarray:
    """Indices of at most `limit` rows, stratified by label (all rows when n <= limit)."""
    if n <= limit:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    keep = []
    for value in (0, 1):
        rows = np.flatnonzero(labels == value)
        take = round(limit * len(rows) / n)
        keep.append(rng.choice(rows, size=take, replace=False))
    return np.sort(np.concatenate(keep))
