"""What several commands share: the device and model options, loading a model as a usage error,
and whether a stream is a terminal."""

from __future__ import annotations

from enum import StrEnum
from typing import IO, TYPE_CHECKING, Annotated

import typer

from spotfake.errors import DeviceError, SpotfakeError

if TYPE_CHECKING:
    from spotfake.models.base import Detector


class Device(StrEnum):
    """Where the model runs."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


ModelOpt = Annotated[
    str | None,
    typer.Option(
        "--model",
        "-m",
        metavar="NAME|FILE",
        help="Shipped model name or .safetensors file (default: the embedded model).",
        show_default=False,
    ),
]
DeviceOpt = Annotated[Device, typer.Option(help="Where the model runs.")]


def load_model(model: str | None, device: Device, crops: int | None = None) -> Detector:
    """Load the detector; a failure is a usage error (exit 2) on the option that caused it."""
    from spotfake.detect import DEFAULT_MODEL, embedded_models, load_detector

    if model is None and DEFAULT_MODEL not in embedded_models():
        message = "no default model is shipped with this install; pass --model NAME|FILE"
        raise typer.BadParameter(message, param_hint="'--model'")
    try:
        return load_detector(model, device=device.value, crops=crops)
    except ValueError as exc:  # only --crops: bad model files raise ModelLoadError
        raise typer.BadParameter(str(exc), param_hint="'--crops'") from exc
    except DeviceError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--device'") from exc
    except SpotfakeError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--model'") from exc


def is_terminal(stream: IO[str]) -> bool:
    """Whether a stream is an interactive terminal (False for pipes, files and closed streams)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
