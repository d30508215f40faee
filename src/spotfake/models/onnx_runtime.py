"""The ONNX Runtime backend of CNN detectors: the network exported once to ONNX, run on the CPU.

Only the forward pass changes. The views (crops, windows, normalisation), their batching, the
window logit aggregation and the sigmoid are ``WindowScorer``'s, the code the PyTorch detector
runs; thresholds, verdicts and records are the pipeline's (``spotfake.detect``).

The exported graph is cached, not shipped: ``<cache>/<key>.onnx``, where the key hashes the
weights file, the architecture and its config (what the graph holds) and the export format
version. The input policy (crop, windows, threshold) stays outside the graph, so changing it
never invalidates the cache. The cache folder is ``$SPOTFAKE_ONNX_CACHE``, else
``$XDG_CACHE_HOME/spotfake/onnx``, else ``~/.cache/spotfake/onnx``. Loading from the cache needs
onnxruntime only: neither torch nor timm is imported. Exporting (on a miss) is
``spotfake.models.onnx_export``'s and needs torch, timm and onnx.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from spotfake.errors import BackendError, DeviceError, ModelLoadError
from spotfake.models.base import Detector
from spotfake.models.scoring import WindowScorer
from spotfake.models.spec import DetectorSpec

ENV_CACHE = "SPOTFAKE_ONNX_CACHE"
# Bump when the exported graph or its metadata change: old cache entries are then ignored.
EXPORT_VERSION = 1
INPUT_NAME = "pixels"
OUTPUT_NAME = "logits"
INSTALL_HINT = "pip install 'spotfake[onnx]'"


def onnxruntime_available() -> bool:
    """Whether onnxruntime can be imported (without importing it)."""
    return importlib.util.find_spec("onnxruntime") is not None


def cache_folder(folder: str | Path | None = None) -> Path:
    """Where exported graphs live: ``folder``, $SPOTFAKE_ONNX_CACHE, or the user cache."""
    if folder is not None:
        return Path(folder).expanduser()
    if os.environ.get(ENV_CACHE):
        return Path(os.environ[ENV_CACHE]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "spotfake" / "onnx"


def graph_key(weights: Path, spec: DetectorSpec) -> str:
    """A content key of what the graph holds: the weights bytes, architecture and config."""
    digest = hashlib.sha256()
    what = {"export": EXPORT_VERSION, "architecture": spec.architecture, "config": spec.config}
    digest.update(json.dumps(what, sort_keys=True, default=str).encode())
    with weights.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:24]


def graph_path(weights: Path, spec: DetectorSpec, folder: str | Path | None = None) -> Path:
    """The cache file of the exported graph of these weights (which may not exist yet)."""
    return cache_folder(folder) / f"{graph_key(weights, spec)}.onnx"


def failure_path(graph: Path) -> Path:
    """Beside a graph that could not be exported: why, so that `auto` does not retry each run."""
    return graph.with_suffix(".failed")


def default_threads() -> int:
    """The torch path's CPU threads: torch's own setting when torch is loaded, else the rule
    torch starts with (OMP_NUM_THREADS, else the CPUs this process may use)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        return int(torch.get_num_threads())
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


class OnnxDetector(WindowScorer, Detector):
    """A CNN detector whose network runs in ONNX Runtime (CPU); everything else as in torch.

    ``graph``: an exported .onnx file or its bytes, whose metadata carry what the views need
    beyond the spec (upscale, trim multiple) and the torch weights' ``model_hash``, so records
    name the same model whichever backend scored them. ``weights``: the .safetensors file the
    graph came from (``state_dict`` and ``save`` read it). ``threads``: ONNX Runtime's intra-op
    threads (None: ``default_threads()``).
    """

    backend = "onnx"
    device = "cpu"

    def __init__(
        self,
        spec: DetectorSpec,
        graph: str | Path | bytes,
        weights: Path | None = None,
        threads: int | None = None,
    ) -> None:
        import onnxruntime as ort

        super().__init__(spec)
        self.threads = threads or default_threads()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle threads sleep rather than spin: on a CPU shared with decoding threads (or other
        # work) spinning cost 10-40% of the model's throughput here.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        source = graph if isinstance(graph, bytes) else str(graph)
        try:
            self.session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own types for unreadable graphs
            raise ModelLoadError(f"cannot load the ONNX graph {_name(graph)}: {exc}") from exc
        meta = self.session.get_modelmeta().custom_metadata_map
        try:
            self._hash = meta["model_hash"]
            self.upscale = int(meta["upscale"])
            self.upscale_method = meta["upscale_method"]
            self.multiple = int(meta["multiple"])
        except (KeyError, ValueError) as exc:
            raise ModelLoadError(f"{_name(graph)} is not a spotfake export: {exc}") from exc
        self.weights = weights

    def forward(self, batch: np.ndarray) -> np.ndarray:
        """ONNX Runtime's logits for a normalised NCHW float32 batch."""
        (logits,) = self.session.run([OUTPUT_NAME], {INPUT_NAME: batch})
        return np.asarray(logits, dtype=np.float32).reshape(-1)

    def to(self, device: str) -> OnnxDetector:
        """The ONNX backend runs on the CPU only: another device is an error."""
        if device != "cpu":
            raise DeviceError(f"the onnx backend runs on the CPU, not {device}: use torch")
        return self

    def state_dict(self) -> dict[str, Any]:
        """The torch weights the graph was exported from, read from their file."""
        if self.weights is None:
            raise ModelLoadError("this ONNX detector was built without its weights file")
        from safetensors.torch import load_file

        return dict(load_file(str(self.weights)))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Refused: the graph holds its weights; change them in torch and export again."""
        raise TypeError(
            "an ONNX detector's weights are fixed in its graph: load the model with "
            "backend='torch' to change them"
        )


def load_onnx(weights: Path, required: bool, folder: str | Path | None = None) -> Detector:
    """The detector of ``weights`` on the ONNX backend: from the cache, else exported into it.

    When the model cannot run on ONNX (not a CNN, an export that failed, no exporter), the
    torch detector is returned where ``required`` is False (backend auto), and BackendError
    is raised where it is True (backend onnx).
    """
    if not onnxruntime_available():
        return _refuse(weights, required, f"the onnx backend needs onnxruntime: {INSTALL_HINT}")
    try:
        spec = DetectorSpec.read(weights.with_suffix(".json"))
    except (OSError, ValueError, TypeError) as exc:
        raise ModelLoadError(f"bad model spec {weights.with_suffix('.json')}: {exc}") from exc
    graph = graph_path(weights, spec, folder)
    if graph.is_file():
        return OnnxDetector(spec, graph, weights)
    reason = previous_failure(graph)
    if reason is not None:
        hint = f" (delete {failure_path(graph)} to try again)"
        return _refuse(weights, required, reason + hint)
    from spotfake.models.base import load_detector_file
    from spotfake.models.onnx_export import NotExportableError, export_to_cache

    detector = load_detector_file(weights)
    try:
        source = export_to_cache(detector, graph)
    except NotExportableError as exc:
        if required:
            raise BackendError(str(exc)) from exc
        return detector
    return OnnxDetector(detector.spec, source, weights)


def previous_failure(graph: Path) -> str | None:
    """Why this torch version failed to export the graph before, or None (never, or another
    torch version: exporters change, so a new one gets its own try)."""
    marker = failure_path(graph)
    if not marker.is_file():
        return None
    try:
        record = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    if record.get("torch") != torch_version():
        return None
    return str(record.get("reason", "the export failed"))


def torch_version() -> str:
    """The installed torch's version, read from its metadata (torch is not imported)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "none"


def _refuse(weights: Path, required: bool, reason: str) -> Detector:
    if required:
        raise BackendError(reason)
    from spotfake.models.base import load_detector_file

    return load_detector_file(weights)


def _name(graph: str | Path | bytes) -> str:
    return "<in memory>" if isinstance(graph, bytes) else str(graph)
