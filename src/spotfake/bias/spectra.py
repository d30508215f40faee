"""Spectral view of a dataset (Durall et al. 2019): mean 1-D and 2-D spectra per group.

Upsampling generators leave periodic peaks in the Fourier spectrum; averaged over a few hundred
images of a group they stand out where one image's spectrum is noise. Images are centre-cropped,
never resized (resizing destroys the traces), to one size per (class, generator) group: ``crop``,
or the group's smallest side when its images are smaller. The 1-D spectra are the paper's feature
(``spotfake.features.spectrum``), resampled to ``bins`` so groups of different crops compare; the
class 2-D means and their difference share one size, the smallest group crop.

Only the sample (``limit`` files per group) is probed and decoded, never the whole dataset, so a
million-image set costs what its sample costs; decoded pixels are streamed into running sums.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from spotfake.data.members import member_reader
from spotfake.data.sampling import GroupKey, Selection, group_order
from spotfake.data.sources import load_pixels
from spotfake.errors import SpotfakeError
from spotfake.features.spectrum import (
    DEFAULT_BINS,
    azimuthal_average,
    log_magnitude_spectrum,
    profile_to_feature,
    to_gray,
)
from spotfake.io.convert import center_crop
from spotfake.progress import Progress
from spotfake.records import GENERATED, REAL, ImageRecord

CLASS_NAMES = {REAL: "real", GENERATED: "generated"}
DEFAULT_CROP = 256
MIN_SIDE = 8  # smaller images have too few rings for a spectrum and are skipped
_CROP_PERCENTILE = 0.10  # a group's crop fits all but its smallest tenth of images
_BATCH_PIXELS = 1 << 22  # pixels transformed at once: 64 crops of 256 x 256 (~200 MB peak)
_MAX_BATCH = 512  # keeps the progress bar moving on tiny crops

Task = tuple[GroupKey, ImageRecord]
Measured = tuple[np.ndarray, np.ndarray, np.ndarray]  # 1-D features, 2-D spectra, 2-D at crop_2d


@dataclass
class GroupSpectra:
    """Running sums of one group's 1-D features and 2-D log spectra; means and spread on demand."""

    name: str
    label: int
    generator: str | None
    crop: int
    bins: int
    available: int = 0
    count: int = 0
    sum1d: np.ndarray = field(init=False, repr=False)
    sumsq1d: np.ndarray = field(init=False, repr=False)
    sum2d: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Zeroed sums of the right shapes."""
        self.sum1d = np.zeros(self.bins)
        self.sumsq1d = np.zeros(self.bins)
        self.sum2d = np.zeros((self.crop, self.crop))

    def add(self, features: np.ndarray, spectra: np.ndarray) -> None:
        """Count images: their 1-D features (N, bins) and 2-D log spectra (N, crop, crop)."""
        self.count += len(features)
        self.sum1d += features.sum(axis=0)
        self.sumsq1d += np.square(features).sum(axis=0)
        self.sum2d += spectra.sum(axis=0)

    @property
    def mean1d(self) -> np.ndarray:
        """Mean 1-D spectrum (NaN for an empty group)."""
        return self.sum1d / self.count if self.count else np.full(self.bins, np.nan)

    @property
    def std1d(self) -> np.ndarray:
        """Population standard deviation of the 1-D spectra, bin by bin."""
        if not self.count:
            return np.full(self.bins, np.nan)
        return np.sqrt(np.maximum(self.sumsq1d / self.count - self.mean1d**2, 0.0))

    @property
    def mean2d(self) -> np.ndarray:
        """Mean 2-D log-magnitude spectrum, DC at the centre."""
        return self.sum2d / max(self.count, 1)


@dataclass
class SpectraResult:
    """Per-class and per-generator spectra of a dataset, with what was skipped and why."""

    classes: dict[int, GroupSpectra]  # 2-D sums at crop_2d; 1-D over all the class's groups
    generators: dict[GroupKey, GroupSpectra]  # each at its own crop
    crop: int  # requested
    crop_2d: int
    bins: int
    limit: int
    seed: int
    files: int = 0
    unlabelled: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (location, reason)


def group_name(label: int, generator: str | None) -> str:
    """'real', 'generated', or 'generated/<generator>' ('unnamed' when the layout names none)."""
    return f"{CLASS_NAMES[label]}/{generator or 'unnamed'}"


def group_crop(records: list[ImageRecord], crop: int) -> int:
    """``crop``, or the group's 10th-percentile shorter side when that is smaller.

    A percentile rather than the minimum, so that one thumbnail among photos does not shrink
    the whole group's crop; the few images smaller than the crop are skipped and counted.
    """
    sides = sorted(min(r.width or 0, r.height or 0) for r in _usable(records))
    if not sides:
        return crop
    return min(crop, sides[int(_CROP_PERCENTILE * (len(sides) - 1))])


def _usable(records: list[ImageRecord]) -> Iterator[ImageRecord]:
    """Readable records with a known size of at least MIN_SIDE pixels a side."""
    for r in records:
        if r.error is None and r.width and r.height and min(r.width, r.height) >= MIN_SIDE:
            yield r


# -- measuring -----------------------------------------------------------------------------------


def batch_spectra(
    gray: np.ndarray, bins: int = DEFAULT_BINS, crop_2d: int | None = None
) -> Measured:
    """1-D features and 2-D log spectra of a stack (N, C, C) of gray crops, and of their centres.

    The third array holds the spectra of each crop's central crop_2d x crop_2d pixels (the same
    array when crop_2d is None or C), so groups of different crops share one 2-D size.
    """
    spectra = log_magnitude_spectrum(gray)
    features = profile_to_feature(azimuthal_average(spectra), bins)
    size = gray.shape[-1]
    if crop_2d is None or crop_2d == size:
        return features, spectra, spectra
    start = (size - crop_2d) // 2
    inner = gray[..., start : start + crop_2d, start : start + crop_2d]
    return features, spectra, log_magnitude_spectrum(inner)


def compute_spectra(
    selection: Selection,
    crop: int = DEFAULT_CROP,
    bins: int = DEFAULT_BINS,
    workers: int = 2,
    progress: Progress | None = None,
) -> SpectraResult:
    """Stream the sample through decode, centre crop and FFT into per-group running sums.

    Threads decode and crop the next batch while this one is transformed (scipy's FFT uses all
    cores). Unreadable files go to ``skipped``; SpotfakeError when no image could be used.
    """
    crops = {key: group_crop(records, crop) for key, records in selection.groups.items()}
    tasks, skipped = _plan(selection, crops)
    result = _empty_result(selection, [key for key, _ in tasks], crops, crop, bins)
    result.skipped = skipped
    with member_reader() as read, ThreadPoolExecutor(max(1, workers)) as pool:

        def load(task: Task) -> np.ndarray | str:
            return _load_gray(task[1].path, read, crops[task[0]])

        for batch, loaded in _pipelined(pool, load, _batches(tasks, crops)):
            _accumulate(result, batch, loaded)
            if progress is not None:
                progress(len(batch))
    if not any(group.count for group in result.classes.values()):
        raise SpotfakeError(_nothing_usable(selection, len(skipped)))
    return result


def _batches(tasks: list[Task], crops: dict[GroupKey, int]) -> list[list[Task]]:
    """Runs of tasks of one group, each small enough to transform in one go."""
    batches: list[list[Task]] = []
    for task in tasks:
        key = task[0]
        size = max(1, min(_MAX_BATCH, _BATCH_PIXELS // crops[key] ** 2))
        if not batches or batches[-1][0][0] != key or len(batches[-1]) >= size:
            batches.append([])
        batches[-1].append(task)
    return batches


def _pipelined(
    pool: ThreadPoolExecutor, load: Callable[[Task], np.ndarray | str], batches: list[list[Task]]
) -> Iterator[tuple[list[Task], list[np.ndarray | str]]]:
    """Each batch with its loaded crops, the next batch already submitted while one is used."""
    ahead: tuple[list[Task], list[Future[np.ndarray | str]]] | None = None
    for batch in [*batches, None]:
        submitted = None if batch is None else (batch, [pool.submit(load, t) for t in batch])
        if ahead is not None:
            yield ahead[0], [future.result() for future in ahead[1]]
        ahead = submitted


def _accumulate(result: SpectraResult, batch: list[Task], loaded: list[np.ndarray | str]) -> None:
    """Add a batch of one group to its group and class sums; note the unreadable ones."""
    good = []
    for (_, record), crop in zip(batch, loaded, strict=True):
        if isinstance(crop, str):
            result.skipped.append((record.path, crop))
        else:
            good.append(crop)
    if not good:
        return
    key = batch[0][0]
    features, spectra, spectra_2d = batch_spectra(np.stack(good), result.bins, result.crop_2d)
    result.generators[key].add(features, spectra)
    result.classes[key[0]].add(features, spectra_2d)


def _empty_result(
    selection: Selection, keys: list[GroupKey], crops: dict[GroupKey, int], crop: int, bins: int
) -> SpectraResult:
    """Zeroed groups: one per class at the common 2-D crop, one per generator at its own."""
    unique = sorted(set(keys), key=group_order)
    crop_2d = min((crops[key] for key in unique), default=crop)
    generators = {
        key: GroupSpectra(group_name(*key), key[0], key[1], crops[key], bins,
                          available=selection.available.get(key, 0))
        for key in unique
    }  # fmt: skip
    classes = {}
    for label in sorted({key[0] for key in unique}):
        group = GroupSpectra(CLASS_NAMES[label], label, None, crop_2d, bins)
        group.available = sum(g.available for g in generators.values() if g.label == label)
        classes[label] = group
    return SpectraResult(
        classes, generators, crop, crop_2d, bins, selection.limit, selection.seed,
        files=selection.files, unlabelled=selection.unlabelled,
    )  # fmt: skip


def _plan(
    selection: Selection, crops: dict[GroupKey, int]
) -> tuple[list[Task], list[tuple[str, str]]]:
    """The images to measure, group by group, and the records already known to be unusable."""
    tasks: list[Task] = []
    skipped: list[tuple[str, str]] = []
    for key, records in selection.groups.items():
        usable = {id(r) for r in _usable(records) if min(r.width or 0, r.height or 0) >= crops[key]}
        for record in records:
            if id(record) in usable:
                tasks.append((key, record))
            else:
                reason = f"smaller than the group's {crops[key]}-pixel crop"
                skipped.append((record.path, record.error or reason))
    if not tasks:
        raise SpotfakeError(_nothing_usable(selection, len(skipped)))
    return tasks, skipped


def _nothing_usable(selection: Selection, unreadable: int) -> str:
    """Why there is no spectrum to compute, with the counts that say where the files went."""
    return (
        f"no labelled readable images ({selection.files} files: {selection.unlabelled} "
        f"unlabelled, {unreadable} unreadable); labels come from real/ and fake/ folders "
        "(or GenImage, CNNDetection layouts) or a CSV listing path,label"
    )


def _load_gray(location: str, read: Callable[[str], bytes | None], crop: int) -> np.ndarray | str:
    """The gray centre crop of one image, or the reason it could not be read."""
    from spotfake.io.convert import DECODE_ERRORS

    errors: tuple[type[Exception], ...] = (SpotfakeError, zipfile.BadZipFile, *DECODE_ERRORS)
    try:
        pixels, _ = load_pixels(location, read(location))
    except errors as exc:
        return str(exc) or type(exc).__name__
    if min(pixels.shape[:2]) < crop:
        return f"decoded size {pixels.shape[1]}x{pixels.shape[0]} is smaller than the crop {crop}"
    return to_gray(center_crop(pixels, crop))
