"""The detection pipeline, the one the CLI, the Python API and the HTTP service share.

``load_detector`` gives a ready detector (shipped by name, or weights from a local path);
``predict`` / ``iter_predict`` decode files (or take PIL images and arrays), read their provenance
marks in the decoding threads, score the pixels in batches and make one ``Prediction`` per input,
in order, with the verdict; ``decode_bytes`` and ``make_record`` are the same steps for inputs
that arrive as bytes (the service's uploads). A detector itself only scores decoded pixels.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spotfake.errors import BackendError, DeviceError, ImageReadError, ModelLoadError
from spotfake.models.base import Detector, load_detector_file
from spotfake.prediction import Prediction, label_for
from spotfake.records import ImageRecord

if TYPE_CHECKING:
    from spotfake.provenance import Finding

ImageInput = Any  # str | os.PathLike | PIL.Image.Image | np.ndarray

_EVIDENCE_FIELDS = ("format", "mode", "width", "height", "jpeg_quality", "chroma_subsampling")

DEFAULT_MODEL = "default"


def embedded_models() -> dict[str, Path]:
    """Models shipped inside the package: name -> weights path."""
    folder = Path(str(resources.files("spotfake") / "weights"))
    return {p.stem: p for p in sorted(folder.glob("*.safetensors"))}


def resolve_model(name_or_path: str | Path | None) -> Path:
    """Map a shipped model name or a local weights path to the .safetensors file."""
    name = DEFAULT_MODEL if name_or_path is None else str(name_or_path)
    shipped = embedded_models()
    if name in shipped:
        return shipped[name]
    path = Path(name).expanduser()
    if path.is_dir():
        candidates = sorted(path.glob("*.safetensors"))
        if len(candidates) != 1:
            raise ModelLoadError(f"{path} must hold exactly one .safetensors file")
        return candidates[0]
    if path.suffix in ("", ".json"):
        path = path.with_suffix(".safetensors")
    if not path.is_file():
        known = ", ".join(shipped) or "none"
        raise ModelLoadError(f"no model {name!r}: not a shipped model ({known}) nor a file")
    return path


def load_detector(
    name_or_path: str | Path | None = None,
    device: str = "auto",
    crops: int | None = None,
    crops_min_side: int = 0,
    backend: str = "auto",
    precision: str = "fp32",
) -> Detector:
    """Load a shipped model by name (default: the embedded default) or weights from a local path.

    Nothing is downloaded: the weights are in the package or in the file the user names.
    ``crops`` overrides the spec's number of crop windows per image (InputPolicy.crops) for this
    detector only, files untouched, on images whose shorter side is at least ``crops_min_side``
    (0: every image): ValueError for a model without a crop (spectral ones).
    ``backend``: "torch", "onnx" (CNN detectors on the CPU through ONNX Runtime, exported once
    into a cache: spotfake.models.onnx_runtime; BackendError where it cannot run) or "auto"
    (onnx where the model runs on the CPU and can be exported, else torch).
    ``precision``: "fp32" (the precision thresholds were calibrated in: a GPU gives the
    CPU's scores), or "fp16" / "bf16" (AMP: autocast, CNN detectors on the torch backend).
    """
    detector = _load_on_backend(resolve_model(name_or_path), device, backend)
    _apply_precision(detector, precision)
    if crops is not None:
        try:
            detector.spec = detector.spec.with_crops(crops, crops_min_side)
        except ValueError as exc:
            raise ValueError(
                f"crops={crops} for model {detector.spec.display_name}: {exc}"
            ) from exc
    return detector


BACKENDS = ("auto", "torch", "onnx")
DECODERS = ("cpu", "device")  # where iter_predict decodes JPEG files (spotfake.detect_device)


def _load_on_backend(weights: Path, device: str, backend: str) -> Detector:
    """The detector of ``weights`` on the backend asked for (see load_detector)."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "onnx" and device not in ("auto", "cpu"):
        raise BackendError(f"the onnx backend runs on the CPU, not {device}: use --backend torch")
    target = "cpu" if backend == "onnx" else pick_device(device)
    if backend == "torch" or target != "cpu":
        return load_detector_file(weights).to(target)
    from spotfake.models.onnx_runtime import load_onnx

    return load_onnx(weights, required=backend == "onnx")


PRECISIONS = ("fp32", "fp16", "bf16")


def _apply_precision(detector: Detector, precision: str) -> None:
    """Run a CNN detector's forward pass in ``precision`` (see load_detector)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    set_precision = getattr(detector, "set_precision", None)
    if set_precision is None:
        if precision != "fp32":
            raise BackendError(
                f"precision {precision}: only CNN detectors on the torch backend run in reduced "
                "precision (use --backend torch)"
            )
        return
    set_precision(precision)


def pick_device(device: str = "auto") -> str:
    """'auto' picks CUDA when torch sees a GPU, else the CPU; asking for a missing GPU fails.

    'cpu', and 'auto' where no GPU device can exist (no NVIDIA or ROCm device node on Linux;
    macOS), answer without importing torch, which keeps start-up light on the onnx backend.
    """
    if device == "cpu" or (device == "auto" and not _gpu_possible()):
        return "cpu"
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"--device {device}: torch sees no CUDA device")
    return device


_GPU_NODES = ("/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd", "/dev/dxg")


def _gpu_possible() -> bool:
    """False only where torch.cuda cannot see a device: Linux without GPU nodes, or macOS."""
    if sys.platform == "darwin":
        return False
    if sys.platform.startswith("linux"):
        return any(os.path.exists(node) for node in _GPU_NODES)
    return True


# --- the pipeline -----------------------------------------------------------------------------
@dataclass
class Decoded:
    """One input after decoding: its pixels and file record, or why it could not be read."""

    name: str
    pixels: np.ndarray | Any | None  # Any: an HWC uint8 torch tensor decoded on the device
    record: ImageRecord | None
    error: str | None
    findings: list[Finding] | None = None  # provenance; None: not read
    data: bytes | None = None  # a JPEG's bytes waiting for the device decoder


def predict(
    detector: Detector,
    inputs: ImageInput | Iterable[ImageInput],
    batch_size: int = 16,
    provenance: bool = True,
    check_adversarial: bool | Detector = False,
) -> list[Prediction]:
    """One Prediction per input (path, PIL image or array), in order; bad files get an error.

    With ``provenance`` (the default) each file's marks (C2PA, XMP, generator text chunks,
    EXIF, watermarks) are read beside the score and a decisive one decides the label.
    ``check_adversarial``: True adds ``evidence["adversarial"]`` from the SpectralDefense model
    shipped for this detector's weights (``adversarial_guard``), or pass such a model.
    """
    guard = None
    if check_adversarial is not False:
        given = None if check_adversarial is True else check_adversarial
        guard = given if isinstance(given, Detector) else adversarial_guard(detector)
    return list(
        iter_predict(
            detector, inputs, batch_size=batch_size, provenance=provenance, adversarial=guard
        )
    )


def iter_predict(
    detector: Detector,
    inputs: ImageInput | Iterable[ImageInput],
    batch_size: int = 16,
    threshold: float | None = None,
    workers: int = 2,
    provenance: bool = True,
    adversarial: Detector | None = None,
    decode: str = "cpu",
) -> Iterator[Prediction]:
    """Stream Predictions in input order, decoding the next images while the model scores.

    Provenance is read in the decoding threads, on the pixels decoded there. ``adversarial``:
    a detector of attacks (``adversarial_guard``) whose verdict goes into each record's
    ``evidence["adversarial"]``. ``decode="device"``: JPEG files the device decoder takes
    (spotfake.io.device) are decoded a batch at a time on the detector's device (nvJPEG on a
    GPU), the rest on the CPU; it needs a torch CNN detector and reads no provenance.
    """
    items = _as_items(inputs)
    chosen = detector.spec.threshold if threshold is None else threshold
    if decode != "cpu":
        from spotfake.detect_device import check_decode

        check_decode(detector, decode, provenance, adversarial)
    if provenance:
        from spotfake.provenance.read import warn_disabled_readers

        warn_disabled_readers()  # once per process, for readers a missing library disables
    load: Callable[[int, ImageInput], Decoded] = partial(decode_input, provenance=provenance)
    if decode == "device":
        from spotfake.detect_device import decode_on_device, read_for_device_input

        load = read_for_device_input
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for chunk in _prefetched_chunks(pool, items, batch_size, load):
            if decode == "device":
                decode_on_device(chunk, str(getattr(detector, "device", "cpu")))
            pixels = [item.pixels for item in chunk if item.pixels is not None]
            scores = iter(detector.score(pixels) if pixels else np.empty(0))
            checks = iter(adversarial_evidence(adversarial, pixels) if adversarial else [])
            for item in chunk:
                score = None if item.pixels is None else float(next(scores))
                check = next(checks) if adversarial and item.pixels is not None else None
                yield make_record(detector, item, score, chosen, check)


def decode_input(index: int, source: ImageInput, provenance: bool = False) -> Decoded:
    """Decode one input and, when asked, read its provenance too (never raises for bad files).

    Paths get every reader (their bytes and pixels); in-memory images only the watermark.
    """
    from spotfake.io import as_rgb_array, read_image

    if isinstance(source, (str, Path)):
        try:
            image = read_image(source)
        except ImageReadError as exc:
            return Decoded(str(source), None, None, str(exc))
        findings = _findings(source, image.pixels) if provenance else None
        return Decoded(str(source), image.pixels, image.record, None, findings)
    name = f"<input {index}>"
    try:
        pixels = as_rgb_array(source)
    except ImageReadError as exc:
        return Decoded(name, None, None, str(exc))
    return Decoded(name, pixels, None, None, _findings(None, pixels) if provenance else None)


def decode_bytes(data: bytes, name: str, max_pixels: int, provenance: bool = True) -> Decoded:
    """decode_input for a file that arrives as bytes (an upload): the same checks and messages."""
    from spotfake.io.read import read_image_bytes

    try:
        image = read_image_bytes(data, name, max_pixels)
    except ImageReadError as exc:
        return Decoded(name, None, None, str(exc))
    findings = _findings(data, image.pixels) if provenance else None
    return Decoded(name, image.pixels, image.record, None, findings)


def make_record(
    detector: Detector,
    item: Decoded,
    score: float | None,
    threshold: float,
    adversarial: dict[str, Any] | None = None,
) -> Prediction:
    """The record of one decoded input: the verdict (a decisive provenance mark first, then the
    score against the threshold), the file's facts and marks as evidence, the model's identity,
    and the adversarial check when one was made.
    """
    evidence: dict[str, Any] = {}
    if item.record is not None:
        evidence["image"] = {k: getattr(item.record, k) for k in _EVIDENCE_FIELDS}
    label, decided_by = _verdict(score, threshold, item.findings)
    if item.findings is not None:
        evidence["provenance"] = [finding.to_dict() for finding in item.findings]
    if adversarial is not None:
        evidence["adversarial"] = adversarial
    return Prediction(
        path=item.name,
        score=None if score is None else round(score, 6),
        label=label,
        decided_by=decided_by,
        threshold=threshold,
        model=detector.spec.display_name,
        model_hash=detector.model_hash,
        error=item.error,
        evidence=evidence,
    )


# weights/adversarial/: the shipped SpectralDefense models, found by the hash they protect.
ADVERSARIAL_FOLDER = "adversarial"


def adversarial_guard(detector: Detector, path: str | Path | None = None) -> Detector:
    """The detector of attacks on ``detector``: the model at ``path``, else the one shipped for
    this detector's exact weights (``weights/adversarial/``). ModelLoadError when there is none,
    or when the model was trained for other weights (its spec's ``protected_hash``)."""
    if path is not None:
        guard = load_detector_file(resolve_model(path))
    else:
        folder = Path(str(resources.files("spotfake") / "weights" / ADVERSARIAL_FOLDER))
        matches = [
            weights
            for weights in sorted(folder.glob("*.safetensors"))
            if _protected_hash(weights) == detector.model_hash
        ]
        if not matches:
            raise ModelLoadError(
                f"no adversarial check is shipped for model {detector.model_hash}: train one "
                "(README, 'Attacks on detectors') and pass it as a file"
            )
        guard = load_detector_file(matches[0])
    trained_for = guard.spec.config.get("protected_hash")
    if trained_for not in (None, detector.model_hash):
        raise ModelLoadError(
            f"{guard.spec.display_name} was trained against model {trained_for}, not "
            f"{detector.model_hash}: retrain it for this model"
        )
    return guard


def _protected_hash(weights: Path) -> str | None:
    import json

    try:
        config = json.loads(weights.with_suffix(".json").read_text()).get("config", {})
    except (OSError, ValueError):
        return None
    value = config.get("protected_hash")
    return str(value) if value is not None else None


def adversarial_evidence(guard: Detector, pixels: Sequence[np.ndarray]) -> list[dict[str, Any]]:
    """evidence["adversarial"] for each image: P(adversarial), the verdict at the guard's own
    threshold, and the guard's name."""
    if not pixels:
        return []
    name = guard.spec.display_name
    return [
        {
            "score": round(float(p), 6),
            "verdict": "adversarial" if p >= guard.spec.threshold else "clean",
            "detector": name,
        }
        for p in guard.score(list(pixels))
    ]


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


def _as_items(inputs: ImageInput | Iterable[ImageInput]) -> Iterable[ImageInput]:
    if isinstance(inputs, (str, Path, np.ndarray)) or hasattr(inputs, "getpixel"):
        return [inputs]
    return inputs


def _findings(source: str | Path | bytes | None, pixels: np.ndarray) -> list[Finding]:
    from spotfake.provenance import read_provenance

    return read_provenance(source, pixels)


def _prefetched_chunks(
    pool: ThreadPoolExecutor,
    items: Iterable[ImageInput],
    batch_size: int,
    load: Callable[[int, ImageInput], Decoded] = decode_input,
) -> Iterator[list[Decoded]]:
    """Chunks of decoded images; the next chunk decodes in the pool while this one is scored."""
    pending: list[Future[Decoded]] = []
    for index, source in enumerate(items):
        pending.append(pool.submit(load, index, source))
        if len(pending) == 2 * batch_size:
            yield [f.result() for f in pending[:batch_size]]
            pending = pending[batch_size:]
    while pending:
        yield [f.result() for f in pending[:batch_size]]
        pending = pending[batch_size:]
