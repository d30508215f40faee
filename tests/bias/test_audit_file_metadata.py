"""The audit's file-metadata view (EXIF, camera, XMP, ICC, PNG text, progressive) and how the
table identity and file metadata reach the JSON, the report and the terminal summary."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from spotfake.bias.audit import audit
from spotfake.bias.report import write_report
from spotfake.cli.audit import print_summary
from spotfake.data.manifest import open_dataset

N = 30


def _picture(seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(60, 200, (48, 48, 3), dtype=np.uint8))


@pytest.fixture(scope="module")
def camera_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """real/: JPEGs naming a camera, with an sRGB profile; fake/: JPEGs with a generator's XMP.
    Both classes at IJG q90 4:2:0, one size: only file metadata differs."""
    root = tmp_path_factory.mktemp("camera")
    (root / "real").mkdir()
    (root / "fake").mkdir()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    for i in range(N):
        exif = Image.Exif()
        exif[0x010F], exif[0x0110] = "Nikon", f"D{700 + i % 2}"
        _picture(i).save(root / "real" / f"r{i}.jpg", quality=90, exif=exif, icc_profile=icc)
        _picture(500 + i).save(root / "fake" / f"f{i}.jpg", quality=90, xmp=xmp)
    return root


def test_file_metadata_is_found_and_kept_apart(camera_set: Path) -> None:
    result = audit(open_dataset(camera_set))
    meta = result.file_metadata
    assert meta is not None and meta.verdict == "strong" and meta.shortcut_auc > 0.95
    by_name = {p.name: p for p in meta.properties}
    assert by_name["camera"].auc > 0.95 and "Nikon" in by_name["camera"].detail
    assert by_name["xmp"].auc > 0.95
    assert by_name["png_text"].auc == pytest.approx(0.5)  # no PNG: nothing to learn
    assert "sRGB" in by_name["icc_profile"].detail
    storage = {c.name for c in result.confounds}
    assert not storage & {"camera", "xmp", "icc_profile", "exif"}  # reported apart
    assert result.table_identity is not None
    assert result.table_identity.shared == {"real": 1.0, "generated": 1.0}


def test_png_text_is_a_metadata_shortcut(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    for i in range(N):
        _picture(i).save(tmp_path / "real" / f"r{i}.png")
        info = PngImagePlugin.PngInfo()
        info.add_text("parameters", f"a cat, Steps: 20, Seed: {i}")
        _picture(900 + i).save(tmp_path / "fake" / f"f{i}.png", pnginfo=info)
    meta = audit(open_dataset(tmp_path)).file_metadata
    assert meta is not None and meta.verdict == "strong"
    detail = next(p.detail for p in meta.properties if p.name == "png_text")
    assert "parameters" in detail


def test_reports_carry_tables_and_metadata(camera_set: Path, tmp_path: Path) -> None:
    records = open_dataset(camera_set)
    result = audit(records)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["table_identity"]["verdict"] in ("none", "weak", "strong")
    assert payload["file_metadata"]["verdict"] == "strong"
    write_report(result, records, tmp_path / "report", title="camera")
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "JPEG tables per class" in markdown and "File metadata" in markdown
    stream = io.StringIO()
    print_summary(result, stream)
    text = stream.getvalue()
    assert "JPEG tables:" in text and "file metadata" in text and "STRONG" in text
