"""The service on either backend: the setting, the loader, and what /healthz reports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from spotfake.detect import load_detector
from spotfake.serve.app import load_for_serving
from spotfake.serve.settings import ServeSettings

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

pytest.importorskip("onnxruntime")


def test_the_backend_setting_travels_to_workers() -> None:
    settings = ServeSettings(backend="onnx")
    assert ServeSettings.from_json(settings.to_json()).backend == "onnx"
    assert ServeSettings().backend == "auto"


@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_load_for_serving_uses_the_backend(tiny_model: Path, backend: str) -> None:
    detector, _, device = load_for_serving(str(tiny_model), "cpu", backend)
    assert getattr(detector, "backend", "torch") == backend
    assert device == "cpu"


def test_healthz_names_the_backend(
    tiny_model: Path, make_client: Callable[..., TestClient]
) -> None:
    for backend in ("torch", "onnx"):
        detector = load_detector(tiny_model, device="cpu", backend=backend)
        health = make_client(detector).get("/healthz").json()
        assert health["backend"] == backend
        assert health["model_hash"] == detector.model_hash


def test_precision_travels_to_workers_and_shows_in_healthz(
    tiny_model: Path, make_client: Callable[..., TestClient]
) -> None:
    settings = ServeSettings(backend="torch", precision="bf16")
    assert ServeSettings.from_json(settings.to_json()).precision == "bf16"
    assert ServeSettings().precision == "fp32"
    detector, _, _ = load_for_serving(str(tiny_model), "cpu", "torch", "bf16")
    assert make_client(detector).get("/healthz").json()["precision"] == "bf16"
    plain = load_detector(tiny_model, device="cpu", backend="onnx")
    assert make_client(plain).get("/healthz").json()["precision"] == "fp32"
