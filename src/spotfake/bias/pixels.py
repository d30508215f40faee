"""The pixel-statistics baseline: how well cheap global image statistics separate the classes.

The metadata baseline (``shortcut``) asks what a detector could learn without decoding a pixel.
This one asks what it could learn from pixels without any generation trace: brightness,
contrast, saturation, colourfulness (Hasler & Suesstrunk 2003), sharpness (Laplacian variance),
noise level (Immerkaer 1996), JPEG blockiness and the share of fine detail. CIFAKE's fakes and
reals, for instance, differ in colour and sharpness statistics, which a CNN learns as readily as
a trace. A high AUC here means the data can be separated by content or processing statistics,
so a detector's accuracy on it says little about generation traces.

Statistics are taken at native resolution, never resized, over at most the central
``MAX_CROP`` square (aligned to the 8x8 JPEG grid, so blockiness reads the stored blocks). Only a
stratified sample of at most ``rows`` images is decoded, in worker processes as the indexer does;
files that cannot be decoded are listed with the reason, never fatal. The classifier, its
cross-validation, intervals and verdicts are the metadata baseline's (``shortcut_auc``,
``audit.verdict``).
"""

from __future__ import annotations

import math
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from spotfake.bias.audit import GeneratorAudit, generator_audit, is_confident, verdict
from spotfake.bias.shortcut import shortcut_auc, subsample
from spotfake.data.layouts import is_zip_location
from spotfake.data.members import read_member
from spotfake.data.workers import map_chunks
from spotfake.errors import SpotfakeError
from spotfake.io.convert import center_crop
from spotfake.progress import Progress
from spotfake.records import GENERATED, REAL, ImageRecord

FEATURES: tuple[str, ...] = (
    "luma_mean", "luma_std", "saturation_mean", "saturation_std", "colourfulness",
    "laplacian_var", "noise_sigma", "blockiness", "fine_detail_ratio",
)  # fmt: skip
DEFAULT_ROWS = 2000
MAX_CROP = 1024
MIN_SIDE = 9  # one 8x8 block boundary at least, and room for 3x3 filters
_CHUNK = 16  # images per worker task
_PARALLEL_MIN = 64  # below this many images, decoding here beats starting workers
_LUMA = np.asarray([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as Pillow's "L"

Measured = np.ndarray | str  # a feature vector, or why the image could not be measured


@dataclass
class PixelFeature:
    """One statistic: how well it alone separates the classes, and its median per class."""

    name: str
    verdict: str
    auc: float  # the classifier on this statistic alone
    ci_low: float
    ci_high: float
    confident: bool
    drop: float  # full classifier's AUC minus its AUC without this statistic
    real_median: float
    generated_median: float


@dataclass
class PixelBaseline:
    """The pixel-statistics classifier's cross-validated AUC, verdict and what carries it."""

    auc: float
    fold_std: float
    ci_low: float
    ci_high: float
    verdict: str
    confident: bool
    rows_used: int  # images measured and given to the classifier
    sampled: int  # images drawn for the sample (rows_used plus the unreadable ones)
    crop: int
    features: list[PixelFeature]  # by AUC alone, highest first
    per_generator: list[GeneratorAudit]
    unreadable: dict[str, str] = field(default_factory=dict)  # path -> reason

    def carrying(self, limit: int = 3) -> list[PixelFeature]:
        """The statistics that separate the classes alone (weak or strong), strongest first."""
        return [f for f in self.features if f.verdict in ("weak", "strong")][:limit]


# -- the statistics of one image -------------------------------------------------------------


def image_features(pixels: np.ndarray) -> np.ndarray:
    """FEATURES of an HxWx3 uint8 RGB image, over its central MAX_CROP square at most (float64)."""
    crop = center_crop(pixels, MAX_CROP, grid=(8, 8))
    rgb = crop.astype(np.float32)
    luma = rgb @ _LUMA
    channels = [crop[..., c] for c in range(3)]  # reducing over the short last axis is slow
    high = np.maximum(np.maximum(*channels[:2]), channels[2]).astype(np.float32)
    low = np.minimum(np.minimum(*channels[:2]), channels[2]).astype(np.float32)
    saturation = (high - low) / np.maximum(high, 1.0)  # HSV saturation; 0 for black
    laplacian = 4 * luma[1:-1, 1:-1] - luma[:-2, 1:-1] - luma[2:, 1:-1]
    laplacian -= luma[1:-1, :-2] + luma[1:-1, 2:]
    values = (
        luma.mean(), luma.std(), saturation.mean(), saturation.std(), colourfulness(rgb),
        laplacian.var(), noise_sigma(luma), blockiness(luma), fine_detail_ratio(luma),
    )  # fmt: skip
    return np.asarray(values, dtype=np.float64)


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Suesstrunk's colourfulness: spread plus a third of the mean of the opponent axes."""
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = red - green
    yb = 0.5 * (red + green) - blue
    spread = math.sqrt(float(rg.var() + yb.var()))
    return spread + 0.3 * math.sqrt(float(rg.mean()) ** 2 + float(yb.mean()) ** 2)


def noise_sigma(luma: np.ndarray) -> float:
    """Immerkaer's fast noise estimate: mean absolute response to a Laplacian-difference mask.

    The 3x3 mask [[1,-2,1],[-2,4,-2],[1,-2,1]] is the outer product of [1,-2,1] with itself, so it
    is applied as a second difference along rows, then along columns.
    """
    rows = luma[:, :-2] - 2 * luma[:, 1:-1] + luma[:, 2:]
    response = rows[:-2] - 2 * rows[1:-1] + rows[2:]
    return float(math.sqrt(math.pi / 2) * np.abs(response).mean() / 6)


def blockiness(luma: np.ndarray) -> float:
    """Mean jump across the 8x8 grid's boundaries over the mean jump inside blocks (1: none).

    JPEG quantises each 8x8 block on its own, so luminance steps between blocks grow with
    compression; a never-compressed image has no reason to change more there than elsewhere.
    """
    ratios = []
    for steps in (np.abs(np.diff(luma, axis=1)), np.abs(np.diff(luma, axis=0)).T):
        boundary = np.zeros(steps.shape[1], dtype=bool)
        boundary[7::8] = True  # the step from column 8k-1 to 8k
        inside = float(steps[:, ~boundary].mean())
        ratios.append(float(steps[:, boundary].mean()) / inside if inside > 0 else 1.0)
    return float(np.mean(ratios))


def fine_detail_ratio(luma: np.ndarray) -> float:
    """Share of the luminance variance that a 2x2 block average removes (the top octave)."""
    height, width = luma.shape[0] // 2 * 2, luma.shape[1] // 2 * 2
    even = luma[:height, :width]
    corners = [even[i::2, j::2] for i in (0, 1) for j in (0, 1)]
    coarse = (corners[0] + corners[1] + corners[2] + corners[3]) / 4
    detail = sum(float(np.square(corner - coarse).mean()) for corner in corners) / 4
    total = float(even.var())
    return detail / total if total > 0 else 0.0


# -- measuring a sample ------------------------------------------------------------------------


def measure_location(location: str) -> Measured:
    """One file's (or zip member's) features, or the reason it could not be decoded."""
    from spotfake.io.read import read_image, read_image_bytes

    try:
        if is_zip_location(location):
            loaded = read_image_bytes(read_member(location), location)
        else:
            loaded = read_image(location)
    except (SpotfakeError, KeyError, OSError, zipfile.BadZipFile) as exc:
        return str(exc) or type(exc).__name__
    height, width = loaded.pixels.shape[:2]
    if min(height, width) < MIN_SIDE:
        return f"too small for pixel statistics ({width}x{height} < {MIN_SIDE} a side)"
    return image_features(loaded.pixels)


def measure_chunk(locations: list[str]) -> list[Measured]:
    """Measure a list of locations (the task a worker runs)."""
    return [measure_location(location) for location in locations]


def measure(
    locations: Sequence[str], workers: int | None = None, progress: Progress | None = None
) -> Iterator[Measured]:
    """Measure locations in order, in worker processes when there are many."""
    return map_chunks(
        measure_chunk,
        locations,
        chunk=_CHUNK,
        parallel_min=_PARALLEL_MIN,
        workers=workers,
        progress=progress,
    )


# -- the baseline ------------------------------------------------------------------------------


def pixel_sample(
    records: Sequence[ImageRecord], rows: int = DEFAULT_ROWS, seed: int = 0
) -> list[ImageRecord]:
    """Labelled readable records, a seeded sample of at most ``rows`` stratified by class."""
    usable = [r for r in records if r.error is None and r.label in (REAL, GENERATED)]
    labels = np.asarray([r.label for r in usable], dtype=np.int64)
    return [usable[i] for i in subsample(len(usable), labels, rows, seed)]


def pixel_baseline(
    records: Sequence[ImageRecord],
    rows: int = DEFAULT_ROWS,
    folds: int = 5,
    seed: int = 0,
    workers: int | None = None,
    progress: Progress | None = None,
) -> PixelBaseline:
    """Decode a sample (``pixel_sample``), measure FEATURES, cross-validate the classifier.

    progress(n) is called as images are measured. The AUC is NaN (verdict n/a) when fewer than
    two measured images of a class are left per fold.
    """
    sample = pixel_sample(records, rows, seed)
    measured = list(measure([r.path for r in sample], workers, progress))
    kept = [(r, m) for r, m in zip(sample, measured, strict=True) if not isinstance(m, str)]
    unreadable = {r.path: m for r, m in zip(sample, measured, strict=True) if isinstance(m, str)}
    values = np.asarray([m for _, m in kept], dtype=np.float64).reshape(-1, len(FEATURES))
    labels = np.asarray([r.label for r, _ in kept], dtype=np.int64)
    overall = shortcut_auc(values, labels, folds, seed)
    word = verdict(overall.auc)
    features = [_feature(i, values, labels, overall.auc, folds, seed) for i in range(len(FEATURES))]
    return PixelBaseline(
        auc=overall.auc,
        fold_std=overall.fold_std,
        ci_low=overall.ci_low,
        ci_high=overall.ci_high,
        verdict=word,
        confident=is_confident(word, overall.ci_low, overall.ci_high),
        rows_used=len(kept),
        sampled=len(sample),
        crop=MAX_CROP,
        features=sorted(features, key=lambda f: -f.auc if not math.isnan(f.auc) else 0.0),
        per_generator=_per_generator([r for r, _ in kept], values, folds, seed),
        unreadable=unreadable,
    )


def _feature(
    column: int, values: np.ndarray, labels: np.ndarray, full_auc: float, folds: int, seed: int
) -> PixelFeature:
    """One statistic's own AUC (with its interval), the loss without it, its class medians."""
    alone = shortcut_auc(values[:, [column]], labels, folds, seed)
    others = [i for i in range(values.shape[1]) if i != column]
    without = shortcut_auc(values[:, others], labels, folds, seed, resamples=0).auc
    word = verdict(alone.auc)
    real, fake = (values[labels == c, column] for c in (REAL, GENERATED))
    return PixelFeature(
        FEATURES[column], word, alone.auc, alone.ci_low, alone.ci_high,
        is_confident(word, alone.ci_low, alone.ci_high), full_auc - without,
        _median(real), _median(fake),
    )  # fmt: skip


def _per_generator(
    records: list[ImageRecord], values: np.ndarray, folds: int, seed: int
) -> list[GeneratorAudit]:
    """The classifier on each generator's fakes against its own reals (else all the reals)."""
    generators = sorted({r.generator for r in records if r.label == GENERATED and r.generator})
    results = []
    for name in generators:
        fakes = [i for i, r in enumerate(records) if r.label == GENERATED and r.generator == name]
        reals = [i for i, r in enumerate(records) if r.label == REAL and r.generator == name]
        kind = "own" if reals else "shared"
        if not reals:
            reals = [i for i, r in enumerate(records) if r.label == REAL]
        rows = reals + fakes
        labels = np.asarray([records[i].label for i in rows], dtype=np.int64)
        result = shortcut_auc(values[rows], labels, folds, seed)
        results.append(generator_audit(name, len(reals), len(fakes), kind, result))
    return results


def _median(values: np.ndarray) -> float:
    """The median, NaN for no values (without numpy's warning)."""
    return float(np.median(values)) if len(values) else float("nan")
