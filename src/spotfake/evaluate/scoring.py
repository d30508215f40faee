"""Score detectors on a dataset's records under each condition, streaming in bounded chunks.

Each image is decoded once; every condition (clean, JPEG, resize, blur) is applied to the
decoded pixels in worker threads while the models score the previous chunk, and every model
scores the same processed images. Memory holds two chunks of ``batch_size`` images times the
number of conditions, whatever the dataset's size. Unreadable files are reported, never fatal.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from spotfake.data.members import Reader, member_reader
from spotfake.data.sources import load_pixels
from spotfake.errors import SpotfakeError
from spotfake.evaluate.perturb import Condition
from spotfake.progress import Progress
from spotfake.records import ImageRecord

if TYPE_CHECKING:
    from spotfake.models.base import Detector

Prepared = list[np.ndarray] | str  # the image under every condition, or why it failed


@dataclass
class Scored:
    """Scores of models on the readable records of one dataset, under each condition."""

    records: list[ImageRecord]  # scored records, in input order
    conditions: list[Condition]
    scores: np.ndarray  # (models, records, conditions), P(generated)
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    @property
    def labels(self) -> np.ndarray:
        """The records' labels (1 generated, 0 real)."""
        return np.array([int(r.label or 0) for r in self.records], dtype=int)


def score_records(
    detectors: Sequence[Detector],
    records: Sequence[ImageRecord],
    conditions: Sequence[Condition],
    batch_size: int = 16,
    workers: int = 2,
    progress: Progress | None = None,
) -> Scored:
    """Decode each record once, apply every condition, and score it with every detector.

    Records that already carry an error (from indexing) or fail to decode go to ``unreadable``.
    progress(n) is called as images finish.
    """
    conditions = list(conditions)
    kept: list[ImageRecord] = []
    rows: list[np.ndarray] = []
    unreadable = [(r.path, r.error) for r in records if r.error is not None]  # from indexing
    todo = [r for r in records if r.error is None]
    chunks = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    if progress is not None and len(todo) < len(records):
        progress(len(records) - len(todo))
    with member_reader() as read, ThreadPoolExecutor(max(1, workers)) as pool:

        def prepare(record: ImageRecord) -> Prepared:
            return prepare_image(record.path, read, conditions)

        for chunk, prepared in _pipelined(pool, prepare, chunks):
            good = [(r, p) for r, p in zip(chunk, prepared, strict=True) if not isinstance(p, str)]
            unreadable += [(r.path, p) for r, p in zip(chunk, prepared, strict=True)
                           if isinstance(p, str)]  # fmt: skip
            if good:
                kept += [r for r, _ in good]
                rows.append(_score_chunk(detectors, [p for _, p in good], len(conditions)))
            if progress is not None:
                progress(len(chunk))
    empty = np.empty((len(detectors), 0, len(conditions)))
    scores = np.concatenate(rows, axis=1) if rows else empty
    return Scored(kept, conditions, scores, unreadable)


def _score_chunk(
    detectors: Sequence[Detector], prepared: list[list[np.ndarray]], n_conditions: int
) -> np.ndarray:
    """Scores (models, images, conditions) of a chunk: a forward pass per model and condition."""
    out = np.empty((len(detectors), len(prepared), n_conditions))
    for m, detector in enumerate(detectors):
        for c in range(n_conditions):
            out[m, :, c] = detector.score([images[c] for images in prepared])
    return out


def prepare_image(location: str, read: Reader, conditions: Sequence[Condition]) -> Prepared:
    """The decoded image under each condition, or the one-line reason it could not be read."""
    from spotfake.io.convert import DECODE_ERRORS

    errors: tuple[type[Exception], ...] = (SpotfakeError, zipfile.BadZipFile, *DECODE_ERRORS)
    try:
        pixels, _ = load_pixels(location, read(location))
        return [condition.apply(pixels) for condition in conditions]
    except errors as exc:
        return str(exc) or type(exc).__name__


def _pipelined(
    pool: ThreadPoolExecutor,
    prepare: Callable[[ImageRecord], Prepared],
    chunks: list[list[ImageRecord]],
) -> Iterator[tuple[list[ImageRecord], list[Prepared]]]:
    """Each chunk with its prepared images; the next chunk is prepared while this one is scored."""
    ahead: tuple[list[ImageRecord], list[Future[Prepared]]] | None = None
    for chunk in [*chunks, None]:
        submitted = None if chunk is None else (chunk, [pool.submit(prepare, r) for r in chunk])
        if ahead is not None:
            yield ahead[0], [future.result() for future in ahead[1]]
        ahead = submitted
