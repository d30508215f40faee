"""create_app(detector): the FastAPI app of `spotfake serve`, built around a loaded detector.

Routes: POST /v1/detect, GET /v1/models, GET /v1/reference-spectrum, GET /healthz, the web page
at / with its assets under /static, the OpenAPI schema at /openapi.json and a plain /docs page
(FastAPI's Swagger UI would load from a CDN). Nothing is fetched from outside the app.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.requests import ClientDisconnect

from spotfake import __version__
from spotfake.serve.docs_page import docs_html
from spotfake.serve.model_info import model_payload, read_model_card
from spotfake.serve.schemas import (
    DetectResponse,
    ErrorResponse,
    HealthResponse,
    ModelsResponse,
)
from spotfake.serve.service import DetectionService
from spotfake.serve.settings import ServeSettings
from spotfake.serve.spectrum import reference_spectrum
from spotfake.serve.uploads import BodySource, RequestRejected

if TYPE_CHECKING:
    from spotfake.models.base import Detector

ENV_MODEL = "SPOTFAKE_SERVE_MODEL"
ENV_DEVICE = "SPOTFAKE_SERVE_DEVICE"
ENV_SETTINGS = "SPOTFAKE_SERVE_SETTINGS"
# The page and /docs may load only what the app serves: a CDN reference would fail loudly.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "malformed multipart body",
        408: "the upload was too slow",
        413: "request too large, too many files, or the only file too large",
        415: "not an image upload, or the only file in an unsupported format",
        422: "no file, bad parameters, or the only file unreadable",
        503: "too many images waiting for the model",
        504: "detection took longer than the timeout",
    }.items()
}
_DETECT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {"type": "array", "items": {"type": "string", "format": "binary"}}
                    },
                    "required": ["files"],
                }
            },
            "image/*": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def static_dir() -> Path:
    """The page's assets, shipped as package data."""
    return Path(str(resources.files("spotfake.serve") / "static"))


def create_app(
    detector: Detector,
    settings: ServeSettings | None = None,
    model_card: str | None = None,
    device: str | None = None,
) -> FastAPI:
    """The service around an already loaded detector (loading is the caller's: done once)."""
    settings = settings or ServeSettings()
    service = DetectionService(detector, settings)
    device = device or str(getattr(detector, "device", "cpu"))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await service.close()

    app = FastAPI(
        title="spotfake",
        version=__version__,
        summary="Find AI-generated images and say how far to trust the answer.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.service = service
    app.add_exception_handler(RequestValidationError, _plain_validation_error)
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    _add_api_routes(app, service, model_card, device)
    _add_page_routes(app)
    return app


async def _plain_validation_error(_: Request, exc: Exception) -> Response:
    """A bad query parameter in words ('threshold: Input should be ...'), not a nested list."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    words = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'][1:]) or 'request'}: {error['msg']}"
        for error in errors
    )
    return _json({"detail": words or "invalid request"}, 422)


def _json(payload: Any, status: int = 200) -> Response:
    """JSON as the CLI writes it (non-ASCII kept, unknown types as strings)."""
    body = json.dumps(payload, ensure_ascii=False, default=str)
    return Response(body, status_code=status, media_type="application/json")


def _add_api_routes(app: FastAPI, service: DetectionService, card: str | None, device: str) -> None:
    """POST /v1/detect, GET /v1/models, GET /v1/reference-spectrum, GET /healthz."""
    detector = service.detector

    @app.post(
        "/v1/detect",
        summary="Say which uploaded images are AI-generated",
        response_model=DetectResponse,
        responses=_ERRORS,
        openapi_extra=_DETECT_BODY,
    )
    async def detect(
        request: Request,
        threshold: Annotated[float | None, Query(ge=0.0, le=1.0)] = None,
        details: Annotated[bool, Query(description="add file details and spectrum")] = False,
        filename: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        """One record per uploaded image, in order: multipart files, or one raw image body.

        A bad file gets its own record with an error and status (413 too large, 415 format,
        422 unreadable) while the others are scored. The answer's status is 200 when any
        image was scored, else the first file's status.
        """
        body = BodySource(
            request.headers.get("content-type"),
            request.headers.get("content-length"),
            request.stream(),
            filename,
        )
        try:
            status, answer = await service.detect(body, threshold, details)
        except ClientDisconnect:  # the client left mid-upload: nobody to answer
            return Response(status_code=400)
        except RequestRejected as exc:
            headers = {"Retry-After": "1"} if exc.status == 503 else None
            raise HTTPException(exc.status, exc.message, headers=headers) from None
        return _json(answer, status)

    @app.get("/v1/models", summary="The loaded model and the limits", response_model=ModelsResponse)
    def models() -> Response:
        """The model's spec (architecture, input policy, threshold, training summary), a
        summary of its model card, and the service's limits."""
        entry = model_payload(detector, card, device)
        provenance = {"enabled": service.settings.provenance, "disabled_readers": {}}
        if service.settings.provenance:
            from spotfake.provenance import disabled_readers

            provenance["disabled_readers"] = disabled_readers()
        limits = service.settings.public()
        return _json({"models": [entry], "limits": limits, "provenance": provenance})

    @app.get("/v1/reference-spectrum", summary="The spectrum of typical real photos")
    def reference() -> Response:
        """Mean and 10th-90th percentile of the azimuthal spectra of real photos."""
        return _json(reference_spectrum())

    @app.get("/healthz", summary="Liveness", response_model=HealthResponse)
    def healthz() -> Response:
        """ok while the server answers; the model and the batcher's counters."""
        batcher = service.batcher
        return _json(
            {
                "status": "ok",
                "model": detector.spec.display_name,
                "model_hash": detector.model_hash,
                "device": device,
                "backend": backend_of(detector),
                "precision": str(getattr(detector, "precision", "fp32")),
                "pending": batcher.pending,
                "batches": batcher.batches,
                "images": batcher.images,
            }
        )


def _add_page_routes(app: FastAPI) -> None:
    """The web page at / and a plain API page at /docs."""
    headers = {"Content-Security-Policy": PAGE_POLICY, "X-Content-Type-Options": "nosniff"}

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(static_dir() / "index.html", headers=headers)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(docs_html(app.openapi()), headers=headers)


def warm_up(detector: Detector) -> None:
    """One forward pass before the first request, which would otherwise pay for allocations."""
    import numpy as np

    detector.score([np.zeros((256, 256, 3), dtype=np.uint8)])


def backend_of(detector: Detector) -> str:
    """What runs the detector's network: "onnx" (ONNX Runtime) or "torch"."""
    return str(getattr(detector, "backend", "torch"))


def load_for_serving(
    model: str | None, device: str, backend: str = "auto", precision: str = "fp32"
) -> tuple[Detector, str | None, str]:
    """Load a detector once, warm it up, and read its model card: (detector, card, device)."""
    from spotfake.detect import load_detector, pick_device, resolve_model

    detector = load_detector(model, device=device, backend=backend, precision=precision)
    chosen = "cpu" if backend_of(detector) == "onnx" else pick_device(device)
    warm_up(detector)
    return detector, read_model_card(resolve_model(model)), chosen


def app_from_environment() -> FastAPI:
    """The app for uvicorn worker processes (--workers N), configured by `spotfake serve`."""
    raw = os.environ.get(ENV_SETTINGS)
    settings = ServeSettings.from_json(raw) if raw else ServeSettings()
    detector, card, device = load_for_serving(
        os.environ.get(ENV_MODEL) or None,
        os.environ.get(ENV_DEVICE, "auto"),
        settings.backend,
        settings.precision,
    )
    return create_app(detector, settings, model_card=card, device=device)
