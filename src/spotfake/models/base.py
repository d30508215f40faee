"""The Detector contract: score decoded images, predict records for paths, save and load."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spotfake.errors import ImageReadError, ModelLoadError
from spotfake.models.spec import DetectorSpec
from spotfake.prediction import Prediction, label_for
from spotfake.records import ImageRecord

if TYPE_CHECKING:
    from spotfake.provenance import Finding

ImageInput = Any  # str | os.PathLike | PIL.Image.Image | np.ndarray

_EVIDENCE_FIELDS = ("format", "mode", "width", "height", "jpeg_quality", "chroma_subsampling")


@dataclass
class _Loaded:
    name: str
    pixels: np.ndarray | None
    record: ImageRecord | None
    error: str | None
    findings: list[Finding] | None = None  # None: provenance not read


class Detector(ABC):
    """A detector maps RGB uint8 images to P(generated) in [0, 1] (1 means generated)."""

    spec: DetectorSpec

    def __init__(self, spec: DetectorSpec) -> None:
        self.spec = spec
        self._hash: str | None = None

    # --- what every detector implements -------------------------------------------------
    @abstractmethod
    def score(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """P(generated) for each HxWx3 uint8 RGB array, shape (len(images),), float in [0, 1]."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """The learned state as named torch tensors (what goes into safetensors)."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore the learned state written by state_dict()."""

    def to(self, device: str) -> Detector:
        """Move to a torch device; detectors without torch state ignore it."""
        return self

    # --- shared behaviour -----------------------------------------------------------------
    @property
    def model_hash(self) -> str:
        """A short content hash of the weights, so a record names the exact model that made it."""
        if self._hash is None:
            digest = hashlib.sha256()
            for key, tensor in sorted(self.state_dict().items()):
                digest.update(key.encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
            self._hash = digest.hexdigest()[:12]
        return self._hash

    def weights_changed(self) -> None:
        """Say that the weights changed in place (a fit, a load): model_hash is computed anew."""
        self._hash = None

    def save(self, path: str | Path) -> Path:
        """Write PATH.safetensors and PATH.json (the spec); returns the weights path."""
        from safetensors.torch import save_file

        weights = Path(path).with_suffix(".safetensors")
        weights.parent.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.state_dict().items()}
        save_file(state, str(weights), metadata={"architecture": self.spec.architecture})
        weights.with_suffix(".json").write_text(self.spec.to_json() + "\n")
        return weights

    def predict(
        self,
        inputs: ImageInput | Iterable[ImageInput],
        batch_size: int = 16,
        provenance: bool = True,
    ) -> list[Prediction]:
        """One Prediction per input (path, PIL image or array), in order; bad files get an error.

        With ``provenance`` (the default) each file's marks (C2PA, XMP, generator text chunks,
        EXIF, watermarks) are read beside the score and a decisive one decides the label.
        """
        return list(self.iter_predict(inputs, batch_size=batch_size, provenance=provenance))

    def iter_predict(
        self,
        inputs: ImageInput | Iterable[ImageInput],
        batch_size: int = 16,
        threshold: float | None = None,
        workers: int = 2,
        provenance: bool = True,
    ) -> Iterator[Prediction]:
        """Stream Predictions in input order, decoding the next images while the model runs.

        Provenance is read in the decoding threads, on the pixels decoded there.
        """
        items = _as_items(inputs)
        thr = self.spec.threshold if threshold is None else threshold
        if provenance:
            _notice_disabled_readers()
        load = partial(_load, provenance=provenance)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for chunk in _prefetched_chunks(pool, items, batch_size, load):
                yield from self._predict_chunk(chunk, thr)

    def _predict_chunk(self, chunk: list[_Loaded], threshold: float) -> Iterator[Prediction]:
        good = [item for item in chunk if item.pixels is not None]
        scores = iter(self.score([item.pixels for item in good]) if good else [])  # type: ignore[misc]
        for item in chunk:
            if item.pixels is None:
                yield self._record(item, None, threshold)
            else:
                yield self._record(item, float(next(scores)), threshold)

    def _record(self, item: _Loaded, score: float | None, threshold: float) -> Prediction:
        return self.make_record(
            item.name, score, threshold, item.record, item.error, provenance=item.findings
        )

    def make_record(
        self,
        name: str,
        score: float | None,
        threshold: float,
        record: ImageRecord | None = None,
        error: str | None = None,
        provenance: Sequence[Finding] | None = None,
    ) -> Prediction:
        """The record of one input; public so the HTTP service, which decodes uploads, matches.

        ``provenance`` holds the findings when they were read (None: not read): a decisive one
        sets the label and ``decided_by``, and all are listed under evidence["provenance"].
        """
        evidence: dict[str, Any] = {}
        if record is not None:
            evidence["image"] = {k: getattr(record, k) for k in _EVIDENCE_FIELDS}
        label, decided_by = _verdict(score, threshold, provenance)
        if provenance is not None:
            evidence["provenance"] = [finding.to_dict() for finding in provenance]
        return Prediction(
            path=name,
            score=None if score is None else round(score, 6),
            label=label,
            decided_by=decided_by,
            threshold=threshold,
            model=self.spec.display_name,
            model_hash=self.model_hash,
            error=error,
            evidence=evidence,
        )


def load_detector_file(path: str | Path) -> Detector:
    """Rebuild a detector from PATH.safetensors and the spec PATH.json beside it."""
    from safetensors.torch import load_file

    from spotfake.models.registry import create_detector

    weights = Path(path)
    if weights.suffix != ".safetensors":
        weights = weights.with_suffix(".safetensors")
    spec_path = weights.with_suffix(".json")
    if not weights.is_file() or not spec_path.is_file():
        raise ModelLoadError(f"model not found: need {weights} and {spec_path}")
    try:
        spec = DetectorSpec.read(spec_path)
        detector = create_detector(spec.architecture, **spec.config)
    except (OSError, ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        raise ModelLoadError(f"bad model spec {spec_path}: {exc}") from exc
    detector.spec = spec
    try:
        state = load_file(str(weights))
    except Exception as exc:  # safetensors raises its own error types for corrupt headers
        raise ModelLoadError(f"cannot read weights {weights}: {exc}") from exc
    try:
        detector.load_state_dict(state)
    except (RuntimeError, KeyError, ValueError) as exc:
        raise ModelLoadError(f"weights {weights} do not fit {spec.architecture}: {exc}") from exc
    return detector


def _verdict(
    score: float | None, threshold: float, findings: Sequence[Finding] | None
) -> tuple[str | None, str | None]:
    """(label, decided_by): none for unreadable inputs, else provenance first, then pixels."""
    if score is None:
        return None, None
    if findings is None:
        return label_for(score, threshold), "pixels"
    from spotfake.provenance import combine

    return combine(findings, score, threshold)


def _notice_disabled_readers() -> None:
    """Warn once per process about provenance readers that a missing library disables."""
    from spotfake.provenance.read import warn_disabled_readers

    warn_disabled_readers()


def _as_items(inputs: ImageInput | Iterable[ImageInput]) -> Iterable[ImageInput]:
    if isinstance(inputs, (str, Path, np.ndarray)) or hasattr(inputs, "getpixel"):
        return [inputs]
    return inputs


def _load(index: int, source: ImageInput, provenance: bool = False) -> _Loaded:
    """Decode one input (in a pool thread) and, when asked, read its provenance there too.

    Paths get every reader (their bytes and pixels); in-memory images only the watermark.
    """
    from spotfake.io import as_rgb_array, read_image

    if isinstance(source, (str, Path)):
        try:
            image = read_image(source)
        except ImageReadError as exc:
            return _Loaded(str(source), None, None, str(exc))
        findings = _findings(source, image.pixels) if provenance else None
        return _Loaded(str(source), image.pixels, image.record, None, findings)
    name = f"<input {index}>"
    try:
        pixels = as_rgb_array(source)
    except ImageReadError as exc:
        return _Loaded(name, None, None, str(exc))
    return _Loaded(name, pixels, None, None, _findings(None, pixels) if provenance else None)


def _findings(source: str | Path | None, pixels: np.ndarray) -> list[Finding]:
    from spotfake.provenance import read_provenance

    return read_provenance(source, pixels)


def _prefetched_chunks(
    pool: ThreadPoolExecutor,
    items: Iterable[ImageInput],
    batch_size: int,
    load: Callable[[int, ImageInput], _Loaded] = _load,
) -> Iterator[list[_Loaded]]:
    """Chunks of decoded images; the next chunk decodes in the pool while this one is scored."""
    pending: list[Future[_Loaded]] = []
    for index, source in enumerate(items):
        pending.append(pool.submit(load, index, source))
        if len(pending) == 2 * batch_size:
            yield [f.result() for f in pending[:batch_size]]
            pending = pending[batch_size:]
    while pending:
        yield [f.result() for f in pending[:batch_size]]
        pending = pending[batch_size:]
