"""load_detector(): the one way the CLI, the service and users get a ready detector."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from spotfake.errors import DeviceError, ModelLoadError
from spotfake.models.base import Detector, load_detector_file

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
) -> Detector:
    """Load a shipped model by name (default: the embedded default) or weights from a local path.

    Nothing is downloaded: the weights are in the package or in the file the user names.
    ``crops`` overrides the spec's number of crop windows per image (InputPolicy.crops) for this
    detector only, files untouched, on images whose shorter side is at least ``crops_min_side``
    (0: every image): ValueError for a model without a crop (spectral ones).
    """
    target = pick_device(device)
    detector = load_detector_file(resolve_model(name_or_path))
    if crops is not None:
        try:
            detector.spec = detector.spec.with_crops(crops, crops_min_side)
        except ValueError as exc:
            raise ValueError(
                f"crops={crops} for model {detector.spec.display_name}: {exc}"
            ) from exc
    return detector.to(target)


def pick_device(device: str = "auto") -> str:
    """'auto' picks CUDA when torch sees a GPU, else the CPU; asking for a missing GPU fails."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"--device {device}: torch sees no CUDA device")
    return device
