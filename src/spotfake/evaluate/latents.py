"""Latent features of a torch detector, layer by layer: what the network makes of each image.

Forward hooks on named modules record their outputs while the detector scores exactly what it
always sees (its own ``views``: centre crop or multi-crop windows, normalised); each layer's
map is global-average-pooled to one vector per view and the vectors of an image's views are
averaged. Deterministic: eval mode, inference only, no sampling.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from spotfake.data.members import member_reader
from spotfake.evaluate.perturb import Condition
from spotfake.evaluate.scoring import prepare_image
from spotfake.progress import Progress
from spotfake.records import ImageRecord

if TYPE_CHECKING:
    from spotfake.models.base import Detector

PRE_LOGITS = "pre_logits"  # the input of the classifier's last linear layer
_POOLING = ("MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool", "Flatten", "Linear")


@dataclass
class Latents:
    """Pooled features per layer (images x channels), the readable records and the unreadable."""

    layers: dict[str, np.ndarray]
    records: list[ImageRecord]
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)

    @property
    def labels(self) -> np.ndarray:
        """The records' labels (1 generated, 0 real)."""
        return np.array([int(r.label or 0) for r in self.records], dtype=int)


@dataclass(frozen=True)
class LayerSpec:
    """A module to hook: its name, and its channel count when known (to find the channel axis)."""

    name: str
    channels: int | None = None


def check_torch_detector(detector: Detector) -> None:
    """Raise TypeError unless the detector has a torch ``model`` and per-image ``views``."""
    if not hasattr(detector, "model") or not callable(getattr(detector, "views", None)):
        name = detector.spec.architecture
        raise TypeError(f"{name}: latent indicators need a torch detector (a CNN)")


def default_layers(model: Any) -> list[LayerSpec]:
    """timm's ``feature_info`` stages when the model has them, else its top-level children
    (pooling, flatten and linear layers left out); then the pre-logits features if the model
    ends in a linear layer."""
    info = getattr(model, "feature_info", None)
    if info is not None and hasattr(info, "get_dicts"):
        info = info.get_dicts()
    if info:
        layers = [LayerSpec(str(d["module"]), d.get("num_chs")) for d in info]
    else:
        layers = [
            LayerSpec(name)
            for name, child in model.named_children()
            if not type(child).__name__.startswith(_POOLING)
        ]
    from torch import nn

    has_linear = any(isinstance(m, nn.Linear) for m in model.modules())
    return [*layers, LayerSpec(PRE_LOGITS)] if has_linear else layers


def pool(output: Any, channels: int | None = None) -> Any:
    """One vector per item: the mean over every axis but the batch and the channel axis.

    4-D maps are NCHW unless their last axis has the known channel count (Swin's NHWC);
    token sequences (N, L, C) are averaged over tokens; 2-D features pass through.
    """
    if output.ndim == 2:
        return output
    if output.ndim == 3:
        return output.mean(dim=1)
    if channels is not None and output.shape[-1] == channels and output.shape[1] != channels:
        return output.mean(dim=(1, 2))
    return output.flatten(2).mean(dim=2)


Reduce = Callable[[Any, "int | None"], Any]  # (layer output, channel count) -> kept tensor


@contextmanager
def hooked(
    model: Any, layers: Sequence[LayerSpec], reduce: Reduce | None = None
) -> Iterator[dict[str, Any]]:
    """Record each layer's output (pre-logits: the last linear layer's input) per pass, reduced
    by ``reduce`` (default: ``pool``, one vector per item).

    Yields a dict layer name -> the latest reduced tensor; hooks are removed on exit. A layer
    whose output is not a tensor of 2 to 4 axes records nothing.
    """
    reduce = reduce or pool
    modules = dict(model.named_modules())
    captured: dict[str, Any] = {}
    handles = []
    for layer in layers:
        if layer.name == PRE_LOGITS:
            linear = _last_linear(model)
            handles.append(linear.register_forward_pre_hook(_pre_hook(captured, reduce)))
            continue
        if layer.name not in modules:
            raise ValueError(f"no module named {layer.name!r} in the model")
        handles.append(modules[layer.name].register_forward_hook(_hook(captured, layer, reduce)))
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def _hook(captured: dict[str, Any], layer: LayerSpec, reduce: Reduce) -> Callable[..., None]:
    def record(module: Any, args: Any, output: Any) -> None:
        if hasattr(output, "ndim") and 2 <= output.ndim <= 4:
            captured[layer.name] = reduce(output, layer.channels).float()

    return record


def _pre_hook(captured: dict[str, Any], reduce: Reduce) -> Callable[..., None]:
    def record(module: Any, args: tuple[Any, ...]) -> None:
        captured[PRE_LOGITS] = reduce(args[0], None).float()

    return record


def _last_linear(model: Any) -> Any:
    from torch import nn

    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise ValueError("the model has no linear classifier, so no pre-logits features")
    return linears[-1]


def view_features(
    detector: Any,
    images: Sequence[np.ndarray],
    layers: Sequence[LayerSpec],
    reduce: Reduce | None = None,
) -> dict[str, np.ndarray]:
    """Per layer, (images, features) float64: each view's reduced output (default: pooled
    channels), averaged over each image's views.

    Views of one shape share a forward pass, as in scoring.
    """
    import torch

    views = [detector.views(image) for image in images]
    flat = [view for per_image in views for view in per_image]
    owner = np.repeat(np.arange(len(images)), [len(v) for v in views])
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, view in enumerate(flat):
        groups.setdefault(view.shape, []).append(index)
    per_view: dict[str, np.ndarray] = {}
    detector.model.eval()
    with hooked(detector.model, layers, reduce) as captured, torch.inference_mode():
        for indices in groups.values():
            batch = torch.from_numpy(np.stack([flat[i] for i in indices])).to(
                getattr(detector, "device", "cpu")
            )
            captured.clear()
            detector.model(batch.contiguous(memory_format=torch.channels_last))
            for name, tensor in captured.items():
                values = tensor.cpu().numpy().astype(np.float64)
                if name not in per_view:
                    per_view[name] = np.zeros((len(flat), values.shape[1]))
                per_view[name][indices] = values
    counts = np.bincount(owner, minlength=len(images))[:, None]
    return {
        layer.name: _sum_by_owner(per_view[layer.name], owner, len(images)) / counts
        for layer in layers
        if layer.name in per_view
    }


def _sum_by_owner(values: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, values.shape[1]))
    np.add.at(out, owner, values)
    return out


def extract_latents(
    detector: Detector,
    records: Sequence[ImageRecord],
    layers: Sequence[LayerSpec] | None = None,
    batch_size: int = 16,
    progress: Progress | None = None,
) -> Latents:
    """Decode each record (clean, as stored), run the detector and keep each layer's features.

    Records that carry an error or fail to decode go to ``unreadable``, as in scoring.
    """
    check_torch_detector(detector)
    model: Any = detector
    chosen = list(layers) if layers is not None else default_layers(model.model)
    clean = [Condition("clean")]
    kept: list[ImageRecord] = []
    parts: dict[str, list[np.ndarray]] = {}
    unreadable = [(r.path, str(r.error)) for r in records if r.error is not None]
    todo = [r for r in records if r.error is None]
    with member_reader() as read:
        for start in range(0, len(todo), batch_size):
            chunk = todo[start : start + batch_size]
            good: list[tuple[ImageRecord, np.ndarray]] = []
            for record in chunk:
                prepared = prepare_image(record.path, read, clean)
                if isinstance(prepared, str):
                    unreadable.append((record.path, prepared))
                else:
                    good.append((record, prepared[0]))
            if good:
                kept += [r for r, _ in good]
                for name, values in view_features(model, [p for _, p in good], chosen).items():
                    parts.setdefault(name, []).append(values)
            if progress is not None:
                progress(len(chunk))
    features = {name: np.concatenate(values) for name, values in parts.items()}
    return Latents(features, kept, unreadable)
