"""Export a CNN detector's network to ONNX, check it against PyTorch, and cache it atomically.

The graph takes normalised NCHW float32 views and returns one logit per view. Batch, height
and width are dynamic axes: a pass holds every window of a batch of images, and images smaller
than the crop are scored whole, at their own size. The exporter is torch's TorchScript one
(``dynamo=False``, opset 17): on EfficientNet-Lite0 it exports in about 2 s where the
torch.export-based one took minutes, and its graph ran about 3x faster in ONNX Runtime here.
Every export is checked against the torch model on two view shapes before it is written; one
that differs is refused (and remembered, so that ``auto`` does not retry it on every run).
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import json
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import spotfake
from spotfake.errors import BackendError
from spotfake.models.base import Detector
from spotfake.models.cnn import CNNDetector
from spotfake.models.onnx_runtime import (
    EXPORT_VERSION,
    INPUT_NAME,
    INSTALL_HINT,
    OUTPUT_NAME,
    failure_path,
    torch_version,
)

OPSET = 17
# An export must give the torch logits within this (absolute + relative): 4e-4 in logit moves
# a score by at most 1e-4.
LOGIT_ATOL = 4e-4
LOGIT_RTOL = 1e-3
DEFAULT_SIDE = 224  # the example view side of models without a crop (whole images)


class NotExportableError(BackendError):
    """This detector cannot run on the ONNX backend (not a CNN, or an export that failed)."""


def export_onnx(detector: Detector) -> bytes:
    """The ONNX graph of a CNN detector's network, checked against torch, with its metadata."""
    cnn = exportable(detector)
    graph = _torch_export(cnn)
    check_export(cnn, graph)
    return graph


def exportable(detector: Detector) -> CNNDetector:
    """The detector as a CNNDetector, or NotExportableError saying why it cannot be exported."""
    if not isinstance(detector, CNNDetector):
        raise NotExportableError(
            f"{detector.spec.display_name} ({type(detector).__name__}) is not a CNN detector: "
            "only CNN detectors run on the onnx backend"
        )
    if importlib.util.find_spec("onnx") is None:  # torch's exporter needs it
        raise NotExportableError(f"exporting to ONNX needs onnx: {INSTALL_HINT}")
    return detector


def export_to_cache(detector: Detector, graph: Path) -> Path | bytes:
    """Export into the cache file ``graph`` (atomically) and return its path; where the cache
    cannot be written, the graph's bytes (used once, exported again next run).

    A failed or inexact export is remembered beside ``graph`` (``failure_path``) and raises
    NotExportableError; a missing package or a non-CNN detector is not remembered.
    """
    cnn = exportable(detector)
    try:
        data = _torch_export(cnn)
        check_export(cnn, data)
    except Exception as exc:  # the exporter and ONNX Runtime raise many types
        reason = str(exc)
        if not isinstance(exc, NotExportableError):
            reason = f"exporting {detector.spec.display_name} to ONNX failed: {exc}"
        _remember_failure(graph, reason)
        raise NotExportableError(reason) from exc
    try:
        write_atomically(graph, data)
    except OSError as exc:
        warnings.warn(
            f"cannot cache the ONNX graph in {graph.parent} ({exc.strerror}): it is exported "
            "again next time; set SPOTFAKE_ONNX_CACHE to a writable folder",
            stacklevel=2,
        )
        return data
    return graph


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file whole or not at all: a temporary file beside it, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide a shared cache from others
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_export(detector: CNNDetector, graph: bytes) -> None:
    """Run the graph in ONNX Runtime and torch on random views of two shapes (the crop, and a
    smaller odd one as images under the crop give); NotExportableError where logits differ."""
    from spotfake.models.onnx_runtime import OnnxDetector

    runtime = OnnxDetector(detector.spec, graph, threads=1)
    rng = np.random.default_rng(0)
    for batch in (2, 1):
        shape = _example_shape(detector, small=batch == 1)
        views = rng.standard_normal((batch, *shape)).astype(np.float32)
        want = detector.forward(views)
        got = runtime.forward(views)
        if not np.allclose(got, want, atol=LOGIT_ATOL, rtol=LOGIT_RTOL):
            worst = float(np.max(np.abs(got - want)))
            raise NotExportableError(
                f"the ONNX export of {detector.spec.display_name} differs from torch by "
                f"{worst:.3g} in logit on views of shape {shape}"
            )


def _torch_export(detector: CNNDetector) -> bytes:
    """torch.onnx.export of the network on the CPU, with dynamic batch, height and width."""
    import copy

    import onnx
    import torch

    model = copy.deepcopy(detector.model).to("cpu").eval()
    example = torch.zeros((2, *_example_shape(detector)), dtype=torch.float32)
    options: dict[str, Any] = {}
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        options["dynamo"] = False  # the TorchScript exporter: see the module docstring
    buffer: Any = io.BytesIO()  # the TorchScript exporter writes to streams too
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's deprecation and tracer notes
        torch.onnx.export(
            model,
            (example,),
            buffer,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_axes={
                INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                OUTPUT_NAME: {0: "batch"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            **options,
        )
    proto = onnx.load_from_string(buffer.getvalue())
    meta = {
        "model_hash": detector.model_hash,
        "architecture": detector.spec.architecture,
        "config": json.dumps(detector.spec.config, sort_keys=True, default=str),
        "upscale": str(detector.upscale),
        "upscale_method": detector.upscale_method,
        "multiple": str(detector.multiple),
        "export_version": str(EXPORT_VERSION),
        "spotfake": spotfake.__version__,
        "torch": torch.__version__,
    }
    for key, value in meta.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    return bytes(proto.SerializeToString())


def _example_shape(detector: CNNDetector, small: bool = False) -> tuple[int, int, int]:
    """(3, h, w) of a view: the crop, or a smaller odd-sized one, trimmed as views are."""
    side = detector.spec.input.crop or DEFAULT_SIDE
    height, width = (side * 3 // 4 + 1, side // 2 + 1) if small else (side, side)
    step = detector.multiple
    return 3, max(step, height - height % step), max(step, width - width % step)


def _remember_failure(graph: Path, reason: str) -> None:
    """Write why the export failed beside the graph, for this torch version (best effort)."""
    record = {"torch": torch_version(), "reason": reason}
    with contextlib.suppress(OSError):
        write_atomically(failure_path(graph), json.dumps(record).encode())
