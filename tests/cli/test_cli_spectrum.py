"""`spotfake spectrum` end to end through main(argv) on a tiny real/ + fake/ folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.cli import main

Capture = pytest.CaptureFixture[str]


def _smooth(seed: int) -> np.ndarray:
    """A real-like image: a blurred random field (box-averaged noise), 32x32."""
    noise = np.random.default_rng(seed).normal(size=(36, 36))
    blurred = sum(noise[i : i + 32, j : j + 32] for i in range(5) for j in range(5)) / 25
    return np.clip(128 + blurred * 150, 0, 255).astype(np.uint8)


def _upsampled(seed: int) -> np.ndarray:
    """A fake-like image: 16x16 noise through a stride-2 2x2 transposed convolution, 32x32."""
    low = np.random.default_rng(seed).normal(size=(16, 16))
    up = np.kron(low, np.array([[1.0, 0.5], [0.5, 0.25]]))
    return np.clip(128 + up * 40, 0, 255).astype(np.uint8)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "set"
    for name, make in (("real", _smooth), ("fake", _upsampled)):
        (root / name).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(make(i)).save(root / name / f"{i}.png")
    return root


def test_writes_figures_arrays_and_summary(capsys: Capture, folder: Path, tmp_path: Path):
    out = tmp_path / "out"
    code = main(["spectrum", str(folder), "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0 and captured.out == ""
    for name in ("azimuthal.png", "spectrum2d.png"):
        with Image.open(out / name) as image:
            image.verify()
    report = json.loads((out / "spectra.json").read_text())
    assert report["crop"] == 256 and report["crop_2d"] == 32 and report["bins"] == 80
    assert {g["name"]: g["count"] for g in report["groups"]} == {"real": 4, "generated": 4}
    assert report["high_frequency_ratio"] > 0
    assert "real" in captured.err and "generated" in captured.err and str(out) in captured.err


def test_json_on_stdout(capsys: Capture, folder: Path, tmp_path: Path) -> None:
    args = ["spectrum", str(folder), "-o", str(tmp_path / "o"), "--json", "-q", "--bins", "20"]
    code = main([*args, "--limit", "3", "--crop", "16"])
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 0 and captured.err == ""
    assert [g["count"] for g in report["groups"]] == [3, 3] and report["skipped"] == 0
    assert report["crop_2d"] == 16 and len(report["groups"][0]["mean"]) == 20
    assert report["outputs"]["summary"] == str(tmp_path / "o" / "spectra.json")


def test_generator_names_an_unnamed_set(capsys: Capture, folder: Path, tmp_path: Path) -> None:
    args = ["spectrum", str(folder), "-o", str(tmp_path / "o"), "--generator", "toy", "--json"]
    assert main([*args, "-q"]) == 0
    report = json.loads(capsys.readouterr().out)
    names = [(g["name"], g["reference"]) for g in report["groups"]]
    assert names == [
        ("real", None),
        ("generated", "real"),
        ("real/toy", None),
        ("generated/toy", "real/toy"),
    ]


def test_unreadable_files_are_reported(capsys: Capture, folder: Path, tmp_path: Path) -> None:
    (folder / "fake" / "broken.png").write_text("not an image")
    code = main(["spectrum", str(folder), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 0
    assert "1 skipped" in err and "broken.png" in err


def test_unlabelled_folder_fails_with_a_message(capsys: Capture, tmp_path: Path) -> None:
    (tmp_path / "pics").mkdir()
    Image.fromarray(_smooth(0)).save(tmp_path / "pics" / "a.png")
    code = main(["spectrum", str(tmp_path / "pics"), "-o", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert "no labelled readable images" in captured.err and "1 unlabelled" in captured.err
    assert not (tmp_path / "o").exists()


def test_missing_dataset_is_a_usage_error(
    capsys: Capture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # a short path, so that the boxed message is not wrapped
    code = main(["spectrum", "nothing", "-o", "o"])
    assert code == 2 and "nothing: no such dataset" in capsys.readouterr().err


def test_help_lists_the_options(capsys: Capture) -> None:
    assert main(["spectrum", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--output", "--limit", "--seed", "--crop", "--bins", "--workers"):
        assert option in out
    assert "--generator" in out and "--json" in out
