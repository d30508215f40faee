"""`spotfake debias` end to end through main(argv) on a tiny real/fake folder."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.cli import main
from spotfake.data.manifest import read_manifest

Capture = pytest.CaptureFixture[str]


def _pixels(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ramp = np.add.outer(np.linspace(0, 120, height), np.linspace(0, 80, width))
    return np.clip(ramp[:, :, None] + rng.normal(0, 4 + seed % 5 * 5, (height, width, 3)), 0, 255)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """real/: 8 JPEG q96 reals from 80x64 to 120x100; fake/: 8 PNG fakes at 96x96."""
    root = tmp_path / "set"
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir()
    sizes = [(80, 72), (96, 80), (120, 100), (100, 90)]
    for i in range(8):
        w, h = sizes[i % 4]
        real = Image.fromarray(_pixels(w, h, i).astype(np.uint8))
        real.save(root / f"real/r{i}.jpg", quality=96, subsampling="4:4:4")
        Image.fromarray(_pixels(96, 96, 50 + i).astype(np.uint8)).save(root / f"fake/f{i}.png")
    return root


def _plain(text: str) -> str:
    """Text without rich's box drawing and line wrapping."""
    return " ".join(text.replace("│", " ").split())


def _run(capsys: Capture, *args: str) -> tuple[int, str, str]:
    """Run `spotfake debias ARGS`; returns (status, stdout, stderr without rich's boxes)."""
    code = main(["debias", *args])
    captured = capsys.readouterr()
    return code, captured.out, _plain(captured.err)


def test_writes_a_copy_and_a_summary(capsys: Capture, dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, str(dataset), "-o", str(out), "--no-match-bpp")
    assert code == 0 and stdout == ""
    assert "wrote 16 images" in err and "8 real, 8 fake" in err and "took" in err
    records = read_manifest(out / "manifest.csv")
    assert Counter(r.label for r in records) == {0: 8, 1: 8}
    assert {(r.width, r.format) for r in records} == {(64, "JPEG")}
    assert {r.jpeg_quality for r in records if r.label == 1} == {96}
    assert {p.name for p in out.iterdir()} == {
        "real", "fake", "manifest.csv", "debias.json", "dropped.csv"
    }  # fmt: skip


def test_options_reach_the_library(capsys: Capture, dataset: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--fake-quality", "90", "--crop", "48", "--size-window", "none", "--seed", "3"]
    code, _, err = _run(capsys, str(dataset), "-o", str(out), *args, "-q",
                        "--manifest-format", "parquet", "--workers", "1")  # fmt: skip
    assert code == 0 and err == ""
    report = json.loads((out / "debias.json").read_text())
    assert report["options"]["fake_quality"] == 90 and report["options"]["seed"] == 3
    assert report["options"]["size_window"] is None
    records = read_manifest(out / "manifest.parquet")
    assert {r.width for r in records} == {48}
    assert {r.jpeg_quality for r in records if r.label == 1} == {90}


def test_unreadable_files_exit_1(capsys: Capture, dataset: Path, tmp_path: Path) -> None:
    (dataset / "fake/broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    code, _, err = _run(capsys, str(dataset), "-o", str(tmp_path / "out"))
    assert code == 1 and "1 files could not be read" in err
    assert "broken.png" in (tmp_path / "out/dropped.csv").read_text()


@pytest.mark.parametrize(
    "args",
    [
        ["--fake-quality", "best"],
        ["--fake-quality", "0"],
        ["--size-window", "2"],
        ["--crop", "4"],
        ["--workers", "0"],
    ],
)
def test_bad_arguments_exit_2(capsys: Capture, dataset: Path, tmp_path: Path, args: list[str]):
    code, _, _ = _run(capsys, str(dataset), "-o", str(tmp_path / "out"), *args)
    assert code == 2 and not (tmp_path / "out").exists()


def test_refuses_unsafe_outputs(capsys: Capture, dataset: Path, tmp_path: Path) -> None:
    code, _, err = _run(capsys, str(dataset), "-o", str(dataset / "copy"))
    assert code == 2 and "inside the source folder" in err
    code, _, err = _run(capsys, str(tmp_path / "missing"), "-o", str(tmp_path / "out"))
    assert code == 2 and "no such dataset" in err
    out = tmp_path / "out"
    assert _run(capsys, str(dataset), "-o", str(out), "-q")[0] == 0
    code, _, err = _run(capsys, str(dataset), "-o", str(out), "-q")
    assert code == 2 and "--overwrite" in err
    assert _run(capsys, str(dataset), "-o", str(out), "-q", "--overwrite")[0] == 0


def test_help_names_the_defaults(capsys: Capture) -> None:
    assert main(["debias", "--help"]) == 0
    text = _plain(capsys.readouterr().out)
    for default in ("default: tables", "default: 0.3", "default: match-bpp", "default: 10"):
        assert default in text
