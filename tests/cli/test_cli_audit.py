"""`spotfake audit`: terminal summary, --json, the report folder, --fail-on, usage errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.cli import main
from spotfake.data.manifest import write_manifest
from spotfake.records import ImageRecord


@pytest.fixture
def biased_manifest(tmp_path: Path) -> Path:
    """Reals JPEG q96 of many sizes, fakes PNG 512x512 (the files need not exist)."""
    rng = np.random.default_rng(0)
    records = []
    for i in range(80):
        w, h = int(rng.integers(300, 600)), int(rng.integers(250, 500))
        records.append(ImageRecord(
            path=f"real/{i}.jpg", label=0, format="JPEG", mode="RGB", width=w, height=h,
            file_bytes=int(w * h * 0.5), jpeg_quality=96, chroma_subsampling="4:2:0",
        ))  # fmt: skip
        records.append(ImageRecord(
            path=f"fake/{i}.png", label=1, generator="sd", format="PNG", mode="RGB",
            width=512, height=512, file_bytes=int(512 * 512 * rng.uniform(1.2, 1.8)),
        ))  # fmt: skip
    path = tmp_path / "manifest.csv"
    write_manifest(records, path)
    return path


def test_summary_and_report(
    biased_manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert main(["audit", str(biased_manifest), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "80 real, 80 generated" in text
    assert "metadata shortcut: AUC 1.000 -> STRONG" in text
    assert "format              strong" in text and "generator sd: AUC 1.000 strong" in text
    for name in ("audit.json", "report.md", "report.html", "shortcut.png", "jpeg_quality.png",
                 "size.png", "bytes_per_pixel.png"):  # fmt: skip
        assert (out / name).stat().st_size > 0, name
    with Image.open(out / "jpeg_quality.png") as image:
        assert image.format == "PNG"
    assert "| format | strong |" in (out / "report.md").read_text()


def test_json_and_fail_on(biased_manifest: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(biased_manifest), "--json", "--fail-on", "strong"]) == 3
    data = json.loads(capsys.readouterr().out)
    assert data["shortcut_auc"] == pytest.approx(1.0) and data["verdict"] == "strong"


def test_audit_indexes_a_folder(
    good_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ds"
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir()
    for path in good_dir.glob("*.*"):
        if path.suffix in (".png", ".jpg"):
            target = root / ("fake" if path.suffix == ".png" else "real") / path.name
            target.write_bytes(path.read_bytes())
    assert main(["audit", str(root), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == {"real": 1, "generated": 2, "unlabelled": 0, "unreadable": 0}
    assert data["shortcut_auc"] is None  # too few images to cross-validate: said, not invented


def test_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    assert main(["audit", str(tmp_path / "missing")]) == 2
    assert "no such dataset" in capsys.readouterr().err
    only_reals = tmp_path / "m.csv"
    write_manifest(
        [ImageRecord(path="a.jpg", label=0, format="JPEG", width=1, height=1)], only_reals
    )
    assert main(["audit", str(only_reals)]) == 2
    assert "needs both classes" in capsys.readouterr().err
