"""End to end: `spotfake detect`, the Python API and the service on a folder with one file per
kind of mark name the mark and decide by it; --no-provenance gives the pixels' verdicts."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from marked_images import HAS_C2PA, HAS_WATERMARK

import spotfake
from spotfake.cli import main

Capture = pytest.CaptureFixture[str]

# file -> (decided_by, first provenance signal) when provenance is read
EXPECTED: dict[str, tuple[str, str | None]] = {
    "a1111.png": ("provenance:png-text", "png-text"),
    "comfyui.png": ("provenance:png-text", "png-text"),
    "novelai.png": ("provenance:png-text", "png-text"),
    "xmp.jpg": ("provenance:xmp", "xmp"),
    "camera.jpg": ("pixels", "exif"),
    "plain.png": ("pixels", None),
}
if HAS_C2PA:
    EXPECTED["c2pa.jpg"] = ("provenance:c2pa", "c2pa")
if HAS_WATERMARK:
    EXPECTED["sd1.png"] = ("provenance:watermark", "watermark")
    EXPECTED["sdxl.png"] = ("provenance:watermark", "watermark")


def _detect(capsys: Capture, model: Path, *args: str) -> list[dict[str, Any]]:
    """jsonl records of `spotfake detect -m MODEL -q ARGS`, by file name."""
    code = main(["detect", "-m", str(model), "-q", "--format", "jsonl", *args])
    assert code == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    return sorted(records, key=lambda r: Path(r["path"]).name)


def test_detect_names_each_mark_and_decides_by_it(
    capsys: Capture, tiny_model: Path, marked_dir: Path
) -> None:
    # Threshold 1: the pixels alone call everything real, so "generated" comes from marks.
    records = _detect(capsys, tiny_model, str(marked_dir), "--threshold", "1")
    assert {Path(r["path"]).name for r in records} == set(EXPECTED)
    for record in records:
        name = Path(record["path"]).name
        decided_by, signal = EXPECTED[name]
        assert record["decided_by"] == decided_by, name
        findings = record["evidence"]["provenance"]
        if signal is not None:
            assert findings[0]["signal"] == signal and findings[0]["says"], name
        expected_label = "generated" if decided_by.startswith("provenance") else "real"
        assert record["label"] == expected_label, name
    camera = next(r for r in records if r["path"].endswith("camera.jpg"))
    assert [f["strength"] for f in camera["evidence"]["provenance"]] == ["none", "supporting"]


def test_no_provenance_gives_pixel_only_verdicts(
    capsys: Capture, tiny_model: Path, marked_dir: Path
) -> None:
    records = _detect(capsys, tiny_model, str(marked_dir), "--no-provenance")
    with_marks = _detect(capsys, tiny_model, str(marked_dir))
    for plain, marked in zip(records, with_marks, strict=True):
        assert plain["decided_by"] == "pixels" and "provenance" not in plain["evidence"]
        assert plain["label"] == ("generated" if plain["score"] >= 0.5 else "real")
        assert plain["score"] == marked["score"]  # provenance never changes the score


def test_table_and_csv_name_the_deciding_mark(
    capsys: Capture, tiny_model: Path, marked_dir: Path
) -> None:
    args = ["detect", "-m", str(tiny_model), "-q", str(marked_dir), "--threshold", "1"]
    assert main([*args, "--format", "table"]) == 0
    table = capsys.readouterr().out
    assert "decided by" in table and "PNG text chunk" in table and "XMP source type" in table
    assert main([*args, "--format", "csv"]) == 0
    rows = {Path(r["path"]).name: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert rows["xmp.jpg"]["decided_by"] == "provenance:xmp"
    assert rows["plain.png"]["decided_by"] == "pixels"


def test_python_api_reads_provenance_unless_told_not_to(tiny_model: Path, marked_dir: Path):
    from spotfake.detect import load_detector

    detector = load_detector(tiny_model, device="cpu")
    path = marked_dir / "a1111.png"
    (marked,) = spotfake.predict(detector, path)
    (plain,) = spotfake.predict(detector, path, provenance=False)
    assert marked.decided_by == "provenance:png-text" and marked.label == "generated"
    assert marked.evidence["provenance"][0]["value"]["tool"] == "AUTOMATIC1111"
    assert plain.decided_by == "pixels" and "provenance" not in plain.evidence


def test_service_records_carry_the_same_fields(tiny_model: Path, marked_dir: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from spotfake.detect import load_detector
    from spotfake.serve import create_app
    from spotfake.serve.settings import ServeSettings

    detector = load_detector(tiny_model, device="cpu")
    files = [("files", (name, (marked_dir / name).read_bytes())) for name in ("xmp.jpg",)]
    with TestClient(create_app(detector)) as client:
        answer = client.post("/v1/detect", files=files, params={"threshold": 1}).json()
        (record,) = answer["records"]
        models = client.get("/v1/models").json()
    assert record["decided_by"] == "provenance:xmp" and record["label"] == "generated"
    assert record["evidence"]["provenance"][0]["strength"] == "decisive"
    assert models["provenance"]["enabled"] is True
    with TestClient(create_app(detector, ServeSettings(provenance=False))) as client:
        (plain,) = client.post("/v1/detect", files=files).json()["records"]
    assert plain["decided_by"] == "pixels" and "provenance" not in plain["evidence"]
