"""Fixtures for the service tests: a saved cnn-tiny, the default model, started test clients."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fastapi.testclient import TestClient

SERVE_EXTRA = ("fastapi", "python_multipart", "uvicorn", "httpx")
if any(importlib.util.find_spec(name) is None for name in SERVE_EXTRA):
    # Without the serve extra there is nothing to test here (the dev extra installs it).
    collect_ignore_glob = ["test_*.py"]


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained cnn-tiny saved as weights + spec; returns the .safetensors path."""
    from spotfake.models.registry import create_detector

    folder = tmp_path_factory.mktemp("serve-model")
    return create_detector("cnn-tiny").save(folder / "tiny")


@pytest.fixture(scope="session")
def tiny_detector(tiny_model: Path) -> Any:
    from spotfake.detect import load_detector

    return load_detector(tiny_model, device="cpu")


@pytest.fixture(scope="session")
def default_detector() -> Any:
    """The shipped default model (loaded once: about 5 s on a busy 2-core machine)."""
    from spotfake.detect import DEFAULT_MODEL, embedded_models, load_detector

    if DEFAULT_MODEL not in embedded_models():
        pytest.skip("no default model is shipped in this checkout")
    return load_detector(None, device="cpu")


@pytest.fixture
def make_client(tiny_detector: Any) -> Iterator[Callable[..., TestClient]]:
    """make_client(detector=None, card=None, **settings): a started TestClient, closed after."""
    from fastapi.testclient import TestClient

    from spotfake.serve.app import create_app
    from spotfake.serve.settings import ServeSettings

    clients: list[TestClient] = []

    def _make(detector: Any = None, card: str | None = None, **settings: Any) -> TestClient:
        app = create_app(detector or tiny_detector, ServeSettings(**settings), model_card=card)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield _make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A client of the app around cnn-tiny with the default limits."""
    return make_client()
