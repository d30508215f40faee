"""The Detector contract: score decoded images, predict records for paths, save and load."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spotfake.errors import ImageReadError, ModelLoadError
from spotfake.models.spec import DetectorSpec
from spotfake.prediction import Prediction, label_for
from spotfake.records import ImageRecord

ImageInput = Any  # str | os.PathLike | PIL.Image.Image | np.ndarray

_EVIDENCE_FIELDS = ("format", "mode", "width", "height", "jpeg_quality", "chroma_subsampling")


@dataclass
class _Loaded:
    name: str
    pixels: np.ndarray | None
    record: ImageRecord | None
    error: str | None


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
        self, inputs: ImageInput | Iterable[ImageInput], batch_size: int = 16
    ) -> list[Prediction]:
        """One Prediction per input (path, PIL image or array), in order; bad files get an error."""
        return list(self.iter_predict(inputs, batch_size=batch_size))

    def iter_predict(
        self,
        inputs: ImageInput | Iterable[ImageInput],
        batch_size: int = 16,
        threshold: float | None = None,
        workers: int = 2,
    ) -> Iterator[Prediction]:
        """Stream Predictions in input order, decoding the next images while the model runs."""
        items = _as_items(inputs)
        thr = self.spec.threshold if threshold is None else threshold
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for chunk in _prefetched_chunks(pool, items, batch_size):
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
        return self.make_record(item.name, score, threshold, item.record, item.error)

    def make_record(
        self,
        name: str,
        score: float | None,
        threshold: float,
        record: ImageRecord | None = None,
        error: str | None = None,
    ) -> Prediction:
        """The record of one input; public so the HTTP service, which decodes uploads, matches."""
        evidence: dict[str, Any] = {}
        if record is not None:
            evidence["image"] = {k: getattr(record, k) for k in _EVIDENCE_FIELDS}
        return Prediction(
            path=name,
            score=None if score is None else round(score, 6),
            label=None if score is None else label_for(score, threshold),
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


def _as_items(inputs: ImageInput | Iterable[ImageInput]) -> Iterable[ImageInput]:
    if isinstance(inputs, (str, Path, np.ndarray)) or hasattr(inputs, "getpixel"):
        return [inputs]
    return inputs


def _load(index: int, source: ImageInput) -> _Loaded:
    from spotfake.io import as_rgb_array, read_image

    if isinstance(source, (str, Path)):
        try:
            image = read_image(source)
        except ImageReadError as exc:
            return _Loaded(str(source), None, None, str(exc))
        return _Loaded(str(source), image.pixels, image.record, None)
    name = f"<input {index}>"
    try:
        return _Loaded(name, as_rgb_array(source), None, None)
    except ImageReadError as exc:
        return _Loaded(name, None, None, str(exc))


def _prefetched_chunks(
    pool: ThreadPoolExecutor, items: Iterable[ImageInput], batch_size: int
) -> Iterator[list[_Loaded]]:
    """Chunks of decoded images; the next chunk decodes in the pool while this one is scored."""
    pending: list[Future[_Loaded]] = []
    for index, source in enumerate(items):
        pending.append(pool.submit(_load, index, source))
        if len(pending) == 2 * batch_size:
            yield [f.result() for f in pending[:batch_size]]
            pending = pending[batch_size:]
    while pending:
        yield [f.result() for f in pending[:batch_size]]
        pending = pending[batch_size:]
