"""serve --check-adversarial: records carry evidence.adversarial; a model without a shipped
check cannot be served with it."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image

from spotfake.errors import ModelLoadError


def _png(seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_records_carry_the_adversarial_check(make_client: Any, default_detector: Any) -> None:
    client = make_client(detector=default_detector, check_adversarial=True, provenance=False)
    files = [("files", ("a.png", _png(1), "image/png")), ("files", ("b.png", _png(2), "image/png"))]
    response = client.post("/v1/detect", files=files)
    assert response.status_code == 200
    for record in response.json()["records"]:
        check = record["evidence"]["adversarial"]
        assert 0.0 <= check["score"] <= 1.0
        assert check["verdict"] in ("adversarial", "clean")
        assert check["detector"]


def test_no_shipped_check_for_the_model(make_client: Any) -> None:
    with pytest.raises(ModelLoadError, match="no adversarial check"):
        make_client(check_adversarial=True)
