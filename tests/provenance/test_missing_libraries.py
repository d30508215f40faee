"""Without c2pa-python or OpenCV the readers are disabled with a notice, never a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from marked_images import encode, example_rgb, jpeg_with_segment

from spotfake.cli import main
from spotfake.provenance import c2pa, disabled_readers, read_provenance, watermark
from spotfake.provenance.read import ProvenanceNotice, warn_disabled_readers


@pytest.fixture
def no_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if c2pa-python and OpenCV were not installed."""
    monkeypatch.setattr(c2pa, "_library", lambda: None)
    monkeypatch.setattr(watermark, "_cv2", lambda: None)


@pytest.mark.usefixtures("no_libraries")
def test_readers_are_disabled_with_the_reason() -> None:
    assert set(disabled_readers()) == {"c2pa", "watermark"}
    assert "spotfake[provenance]" in disabled_readers()["c2pa"]
    with pytest.warns(ProvenanceNotice, match="c2pa needs c2pa-python"):
        warn_disabled_readers.__wrapped__()


@pytest.mark.usefixtures("no_libraries")
def test_a_manifest_that_cannot_be_read_is_said_so() -> None:
    data = jpeg_with_segment(0xEB, b"JP\x02\x11\x00\x00\x00\x01\x00\x00\x00\x20jumbc2pa")
    (finding,) = read_provenance(data)
    assert finding.signal == "c2pa" and finding.strength == "none"
    assert "not installed" in finding.says
    assert read_provenance(None, example_rgb()) == []  # no watermark reader, no finding


@pytest.mark.usefixtures("no_libraries")
def test_detect_prints_one_notice_and_goes_on(
    tmp_path: Path, tiny_model: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.png").write_bytes(encode(example_rgb(size=256), "PNG"))
    assert main(["detect", "-m", str(tiny_model), "--format", "jsonl", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert err.count("provenance readers disabled") == 1 and "watermark needs OpenCV" in err


def test_serve_and_detect_offer_no_provenance(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("detect", "serve"):
        assert main([command, "--help"]) == 0
        assert "--no-provenance" in capsys.readouterr().out
