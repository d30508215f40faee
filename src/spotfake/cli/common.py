"""What several commands share: the device and model options, loading a model as a usage error,
and whether a stream is a terminal."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import IO, TYPE_CHECKING, Annotated

import typer

from spotfake.errors import BackendError, DeviceError, SpotfakeError

if TYPE_CHECKING:
    from spotfake.models.base import Detector


class Device(StrEnum):
    """Where the model runs."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Backend(StrEnum):
    """What runs the network: PyTorch, ONNX Runtime on the CPU, or the faster one available."""

    auto = "auto"
    torch = "torch"
    onnx = "onnx"


class Precision(StrEnum):
    """The forward pass's floating-point precision (reduced: autocast, torch CNN models)."""

    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


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
BackendOpt = Annotated[
    Backend,
    typer.Option(
        help="What runs the network: onnx (ONNX Runtime, CPU; exported once into a cache), "
        "torch, or auto (onnx for CNN models on the CPU when onnxruntime is installed).",
    ),
]

PrecisionOpt = Annotated[
    Precision,
    typer.Option(
        help="Forward pass precision: fp32, the one thresholds were calibrated in, or fp16 / "
        "bf16 (AMP, faster on a GPU; scores move slightly); needs --backend torch.",
    ),
]


def load_model(
    model: str | None,
    device: Device,
    crops: int | None = None,
    backend: Backend = Backend.auto,
    precision: Precision = Precision.fp32,
) -> Detector:
    """Load the detector; a failure is a usage error (exit 2) on the option that caused it."""
    from spotfake.detect import DEFAULT_MODEL, embedded_models, load_detector

    if model is None and DEFAULT_MODEL not in embedded_models():
        message = "no default model is shipped with this install; pass --model NAME|FILE"
        raise typer.BadParameter(message, param_hint="'--model'")
    try:
        return load_detector(
            model, device=device.value, crops=crops, backend=backend.value,
            precision=precision.value,
        )  # fmt: skip
    except ValueError as exc:  # only --crops: bad model files raise ModelLoadError
        raise typer.BadParameter(str(exc), param_hint="'--crops'") from exc
    except BackendError as exc:
        hint = "'--precision'" if str(exc).startswith("precision") else "'--backend'"
        raise typer.BadParameter(str(exc), param_hint=hint) from exc
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


SHOWN_PER_REASON = 3  # files named per failure reason; the rest are counted


def report_failures(failed: Sequence[tuple[str, str]], data: str | None = None) -> None:
    """One stderr line per failed file, but at most SHOWN_PER_REASON for any one reason: a
    listing whose paths all miss gives three lines and a count, not a line per file. With a CSV
    listing whose files were not found, say how its relative paths are resolved."""
    by_reason: dict[str, list[str]] = {}
    for path, reason in failed:
        by_reason.setdefault(reason, []).append(path)
    for reason, paths in by_reason.items():
        for path in paths[:SHOWN_PER_REASON]:
            typer.echo(f"error: {path}: {reason}", err=True)
        if len(paths) > SHOWN_PER_REASON:
            more = len(paths) - SHOWN_PER_REASON
            typer.echo(f"error: ... and {more} more files: {reason}", err=True)
    missing = sum(len(paths) for reason, paths in by_reason.items() if "not found" in reason)
    if missing and data is not None and data.lower().endswith(".csv"):
        typer.echo(
            f"note: {missing} files of {data} were not found; relative paths in a CSV listing "
            "are resolved against the listing's own folder",
            err=True,
        )
