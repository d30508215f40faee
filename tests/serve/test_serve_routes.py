"""The other routes (models, health, schema, docs, page assets), decoding, and `spotfake serve`."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from serve_images import tricky_files

from spotfake.cli import main
from spotfake.errors import ImageReadError
from spotfake.io.read import read_image, read_image_bytes
from spotfake.serve.app import ENV_DEVICE, ENV_MODEL, ENV_SETTINGS, app_from_environment
from spotfake.serve.model_info import card_summary, read_model_card
from spotfake.serve.settings import ServeSettings
from spotfake.serve.spectrum import reference_spectrum

DEFAULT_CARD = Path(__file__).resolve().parents[2] / "src/spotfake/weights/default.safetensors"


def test_models_reports_spec_card_and_limits(
    make_client: Callable[..., TestClient], tiny_detector: Any
) -> None:
    card = read_model_card(DEFAULT_CARD)
    assert card is not None
    body = make_client(card=card, max_files=3).get("/v1/models").json()
    (model,) = body["models"]
    assert model["name"] == "cnn-tiny" and model["model_hash"] == tiny_detector.model_hash
    assert model["spec"]["architecture"] == "cnn-tiny" and model["threshold"] == 0.5
    assert model["card"]["title"] == "Model card: spotfake-default"
    assert model["card"]["summary"].startswith("The detector spotfake detect uses when no --model")
    titles = [item["title"] for item in model["card"]["known_failures"]]
    assert titles[:3] == [
        "Most generated images pass as real",
        "Generators unlike the training ones",
        "Small images",
    ]
    assert model["card"]["intended_use"].startswith("Triage and research")
    assert body["limits"]["max_files"] == 3 and body["limits"]["keeps_uploads"] is False


def test_card_summary_of_a_minimal_card() -> None:
    text = "# Card\n\nOne `line`\nand more.\n\n## Known failures\n\n- **A.** b\n  **c**\n"
    summary = card_summary(text)
    assert summary["summary"] == "One line and more."
    assert summary["known_failures"] == [{"title": "A", "text": "b c"}]


def test_health_schema_and_docs(client: TestClient) -> None:
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["model"] == "cnn-tiny"
    schema = client.get("/openapi.json").json()
    paths = {"/v1/detect", "/v1/models", "/v1/reference-spectrum", "/healthz"}
    assert set(schema["paths"]) == paths
    body = schema["paths"]["/v1/detect"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "image/*"} <= set(body)
    docs = client.get("/docs")
    assert docs.status_code == 200 and "/v1/detect" in docs.text
    assert not re.search(r"(src|href)=\"(https?:)?//", docs.text)  # nothing from a CDN
    assert client.get("/redoc").status_code == 404


def test_page_and_its_assets_come_from_the_app(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<input type="file" id="files"' in page.text and '<label for="files"' in page.text
    assets = re.findall(r"(?:src|href)=\"(/static/[^\"]+)\"", page.text)
    assert sorted(assets) == ["/static/app.js", "/static/style.css"]
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", response.text)


def test_reference_spectrum(client: TestClient) -> None:
    reference = client.get("/v1/reference-spectrum").json()
    assert reference == reference_spectrum()
    assert reference["count"] == 600 and len(reference["mean"]) == 80
    assert all(lo <= mid <= hi for lo, mid, hi in zip(reference["p10"], reference["mean"],
                                                       reference["p90"], strict=True))  # fmt: skip


@pytest.mark.parametrize("name", sorted(tricky_files()))
def test_read_image_bytes_equals_read_image(tmp_path: Path, name: str) -> None:
    data = tricky_files()[name]
    path = tmp_path / name
    path.write_bytes(data)
    try:
        expected = read_image(path)
    except ImageReadError as exc:
        with pytest.raises(ImageReadError) as caught:
            read_image_bytes(data, name)
        assert str(caught.value) == str(exc)
        return
    loaded = read_image_bytes(data, name)
    np.testing.assert_array_equal(loaded.pixels, expected.pixels)
    expected.record.path = name
    assert loaded.record == expected.record


def test_serve_command_builds_the_app_and_runs_uvicorn(
    monkeypatch: pytest.MonkeyPatch, tiny_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    code = main(["serve", "--model", str(tiny_model), "--port", "8123", "--max-files", "4"])
    assert code == 0
    ((app, options),) = calls
    assert options["host"] == "127.0.0.1" and options["port"] == 8123
    assert TestClient(app).get("/v1/models").json()["limits"]["max_files"] == 4
    assert "open http://127.0.0.1:8123/" in capsys.readouterr().err


def test_serve_command_with_workers_configures_the_factory(
    monkeypatch: pytest.MonkeyPatch, tiny_model: Path
) -> None:
    import uvicorn

    for name in (ENV_MODEL, ENV_DEVICE, ENV_SETTINGS):
        monkeypatch.setenv(name, "")  # restored after the test
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    code = main(["serve", "--model", str(tiny_model), "--workers", "2", "--device", "cpu"])
    ((target, options),) = calls
    assert code == 0 and target == "spotfake.serve.app:app_from_environment"
    assert options["factory"] is True and options["workers"] == 2
    app = app_from_environment()  # what each worker process does
    assert TestClient(app).get("/healthz").json()["model"] == "cnn-tiny"
    assert ServeSettings.from_json(ServeSettings().to_json()) == ServeSettings()


def test_serve_command_refuses_a_missing_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--model", "no-such-model"]) == 2
    assert "no model 'no-such-model'" in capsys.readouterr().err
