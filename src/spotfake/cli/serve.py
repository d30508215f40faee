"""`spotfake serve`: the HTTP service and web page around a detector loaded once at start-up."""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated

import typer

from spotfake.cli.common import (
    Backend,
    BackendOpt,
    Device,
    ModelOpt,
    Precision,
    PrecisionOpt,
    load_model,
)
from spotfake.errors import SpotfakeError

if TYPE_CHECKING:
    from spotfake.serve.settings import ServeSettings

HostOpt = Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")]
PortOpt = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]
WorkersOpt = Annotated[
    int,
    typer.Option(min=1, help="Server processes; each loads its own copy of the model."),
]
KeepOpt = Annotated[
    Path | None,
    typer.Option(
        "--keep-uploads",
        metavar="DIR",
        file_okay=False,
        help="Save every uploaded file in DIR (by default nothing is written to disk).",
    ),
]
MaxFilesOpt = Annotated[int, typer.Option(min=1, help="Most files in one request.")]
MaxUploadOpt = Annotated[float, typer.Option(min=0.001, help="Largest file, in MB.")]
MaxRequestOpt = Annotated[float, typer.Option(min=0.001, help="Largest request body, in MB.")]
MaxPixelsOpt = Annotated[
    int, typer.Option(min=1, help="Most pixels (width x height) an image may have.")
]
TimeoutOpt = Annotated[float, typer.Option(min=0.1, help="Seconds one request may take.")]
BatchOpt = Annotated[int, typer.Option(min=1, help="Most images in one forward pass.")]
ProvenanceOpt = Annotated[
    bool,
    typer.Option(
        "--provenance/--no-provenance",
        help="Read C2PA, XMP, generator text chunks, EXIF and watermarks (as detect does).",
    ),
]
CheckAdversarialOpt = Annotated[
    bool,
    typer.Option(
        "--check-adversarial",
        help="Add evidence.adversarial to every record (the SpectralDefense model shipped for "
        "the served model's weights), as detect --check-adversarial does.",
    ),
]
WaitOpt = Annotated[
    float, typer.Option(min=0.0, help="Milliseconds an idle model waits to batch more images.")
]


def serve(
    model: ModelOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    workers: WorkersOpt = 1,
    device: Annotated[Device, typer.Option(help="Where the model runs.")] = Device.auto,
    keep_uploads: KeepOpt = None,
    max_files: MaxFilesOpt = 16,
    max_upload_mb: MaxUploadOpt = 25.0,
    max_request_mb: MaxRequestOpt = 100.0,
    max_pixels: MaxPixelsOpt = 50_000_000,
    timeout: TimeoutOpt = 60.0,
    batch_size: BatchOpt = 16,
    batch_wait_ms: WaitOpt = 5.0,
    provenance: ProvenanceOpt = True,
    check_adversarial: CheckAdversarialOpt = False,
    backend: BackendOpt = Backend.auto,
    precision: PrecisionOpt = Precision.fp32,
) -> None:
    """Serve the detector over HTTP: the web page at /, the API under /v1, docs at /docs.

    There is no authentication: keep the default 127.0.0.1 unless a proxy guards the port.
    """
    from spotfake.serve.settings import MIB, ServeSettings

    settings = ServeSettings(
        max_files=max_files,
        max_file_bytes=int(max_upload_mb * MIB),
        max_request_bytes=int(max_request_mb * MIB),
        max_pixels=max_pixels,
        timeout_s=timeout,
        max_batch=batch_size,
        batch_wait_ms=batch_wait_ms,
        keep_uploads=keep_uploads,
        provenance=provenance,
        check_adversarial=check_adversarial,
        backend=backend.value,
        precision=precision.value,
    )
    uvicorn = _import_server()
    if provenance:
        _print_provenance_notice()
    if workers > 1:
        _serve_workers(uvicorn, model, device, settings, host, port, workers)
        return
    app, banner = _build_app(model, device, settings)
    typer.echo(f"{banner}; open http://{_shown_host(host)}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)


def _import_server() -> ModuleType:
    """uvicorn (after FastAPI and python-multipart), or a usage error naming the extra."""
    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401
        import uvicorn
    except ImportError as exc:
        message = f"needs {exc.name}: pip install 'spotfake[serve]'"
        raise typer.BadParameter(message, param_hint="serve") from exc
    return uvicorn


def _build_app(model: str | None, device: Device, settings: ServeSettings) -> tuple[object, str]:
    """Load the detector once (a usage error when it cannot be), then build the app."""
    from spotfake.detect import resolve_model
    from spotfake.serve.app import backend_of, create_app, warm_up
    from spotfake.serve.model_info import read_model_card

    detector = load_model(
        model, device, backend=Backend(settings.backend), precision=Precision(settings.precision)
    )
    warm_up(detector)
    chosen = str(getattr(detector, "device", "cpu"))
    card = read_model_card(resolve_model(model))
    try:
        app = create_app(detector, settings, model_card=card, device=chosen)
    except SpotfakeError as exc:  # only --check-adversarial without a shipped check
        raise typer.BadParameter(str(exc), param_hint="'--check-adversarial'") from exc
    name = detector.spec.display_name
    on = f"{chosen}, {backend_of(detector)}"
    return app, f"spotfake serve: {name} ({detector.model_hash}) on {on}"


def _serve_workers(
    uvicorn: ModuleType,
    model: str | None,
    device: Device,
    settings: ServeSettings,
    host: str,
    port: int,
    workers: int,
) -> None:
    """Several processes: each re-imports the app factory, configured through the environment."""
    from spotfake.detect import pick_device, resolve_model
    from spotfake.errors import DeviceError, SpotfakeError
    from spotfake.serve.app import ENV_DEVICE, ENV_MODEL, ENV_SETTINGS

    try:  # fail here, once, with a plain message; each worker then loads the model itself
        pick_device(device.value)
    except DeviceError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--device'") from exc
    try:
        resolve_model(model)
    except SpotfakeError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--model'") from exc
    if settings.backend != Backend.torch or settings.precision != Precision.fp32:
        # Export once here, and refuse here what cannot run, not in every worker.
        load_model(
            model, device, backend=Backend(settings.backend),
            precision=Precision(settings.precision),
        )  # fmt: skip
    os.environ[ENV_MODEL] = model or ""
    os.environ[ENV_DEVICE] = device.value
    os.environ[ENV_SETTINGS] = settings.to_json()
    shown = f"http://{_shown_host(host)}:{port}/"
    typer.echo(f"spotfake serve: {workers} worker processes; open {shown}", err=True)
    uvicorn.run(
        "spotfake.serve.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def _print_provenance_notice() -> None:
    """One stderr line when a provenance reader is disabled by a missing library."""
    from spotfake.provenance.read import disabled_readers, notice_text

    disabled = disabled_readers()
    if disabled:
        typer.echo(f"spotfake serve: {notice_text(disabled)}", err=True)


def _shown_host(host: str) -> str:
    """The address to print for people: a wildcard is reached through loopback."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def register(app: typer.Typer) -> None:
    """Add `serve` to the spotfake command."""
    app.command("serve")(serve)
