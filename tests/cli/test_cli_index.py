"""`spotfake index`: writes a manifest, reports unreadable files by exit code, re-indexes."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from spotfake.cli import main


def _dataset(good_dir: Path, bad_dir: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir()
    for path in good_dir.iterdir():
        if path.is_file():
            (root / "real" / path.name).write_bytes(path.read_bytes())
    for path in bad_dir.iterdir():
        (root / "fake" / path.name).write_bytes(path.read_bytes())
    return root


def test_index_writes_a_manifest(
    good_dir: Path, bad_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _dataset(good_dir, bad_dir, tmp_path)
    out = tmp_path / "m.csv"
    assert main(["index", str(root), "-o", str(out)]) == 1  # text.jpg, empty.jpg are unreadable
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 7
    errors = {Path(r["path"]).name for r in rows if r["error"]}
    assert errors == {"text.jpg", "empty.jpg"}
    err = capsys.readouterr().err
    assert "indexed 7 files (7 probed, 0 unchanged)" in err
    assert "empty.jpg: empty file" in err


def test_index_again_reuses_unchanged(
    good_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.parquet"
    assert main(["index", str(good_dir), "-o", str(out), "--generator", "g"]) == 0
    capsys.readouterr()
    assert main(["index", str(good_dir), "-o", str(out)]) == 0
    assert "indexed 4 files (0 probed, 4 unchanged)" in capsys.readouterr().err
    assert main(["index", str(good_dir), "-o", str(out), "--fresh", "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_index_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # one line per message in the error panel
    assert main(["index", str(tmp_path / "missing"), "-o", str(tmp_path / "m.csv")]) == 2
    assert "no such dataset" in capsys.readouterr().err
    assert main(["index", str(tmp_path), "-o", str(tmp_path / "m.txt")]) == 2
    assert ".csv or .parquet" in capsys.readouterr().err
