"""`spotfake synth train|make|report` through main(argv), on tiny images."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from spotfake.cli import main
from spotfake.data.manifest import read_manifest

Capture = pytest.CaptureFixture[str]
TINY_ARGS = ["--set", "width=8", "--set", "latent=8", "--patch", "32", "--batch", "2"]


def _train(reals: Path, out: Path, *extra: str) -> int:
    args = ["synth", "train", "--arch", "transposed", "--data", str(reals), "-o", str(out)]
    return main([*args, "--steps", "2", "--disc-start", "1", "--tile", "32", *TINY_ARGS, *extra])


def test_help_lists_the_subcommands(capsys: Capture) -> None:
    assert main(["synth", "--help"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("train", "make", "report"))


def test_train_make_report(capsys: Capture, reals: Path, tmp_path: Path) -> None:
    gen, out = tmp_path / "gen", tmp_path / "out"
    assert _train(reals, gen, "-q") == 0
    table = capsys.readouterr().out
    assert "synth-transposed" in table and "goals:" in table
    assert {p.name for p in gen.iterdir()} >= {
        "generator.safetensors",
        "generator.json",
        "fidelity.json",
        "checkpoint.pt",
    }
    assert _train(reals, gen) == 2  # a generator is there: --resume or --overwrite
    capsys.readouterr()
    args = ["synth", "make", "-g", str(gen), "--data", str(reals), "-o", str(out), "--tile", "32"]
    assert main(args) == 0
    assert "wrote 8 fakes" in capsys.readouterr().err
    records = read_manifest(out / "manifest.csv")
    assert sorted(r.label or 0 for r in records) == [0] * 8 + [1] * 8
    summary = json.loads((out / "synth.json").read_text())
    assert summary["status"] == "complete" and summary["architecture"] == "transposed"
    assert main(args) == 2  # OUT is there: --overwrite
    assert main([*args, "--overwrite", "--limit", "3", "-q"]) == 0
    assert len(read_manifest(out / "manifest.csv")) == 6
    capsys.readouterr()
    assert main(["audit", str(out)]) == 0
    assert "3 real, 3 generated" in capsys.readouterr().out  # the folder, read as a layout
    assert main(["synth", "report", str(gen), "--data", str(reals), "--limit", "2"]) == 0
    assert "synth-transposed" in capsys.readouterr().out


def test_make_exits_1_when_a_real_is_unreadable(
    capsys: Capture, reals: Path, tmp_path: Path
) -> None:
    gen = tmp_path / "gen"
    assert _train(reals, gen, "-q") == 0
    (reals / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    code = main(["synth", "make", "-g", str(gen), "--data", str(reals), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1 and "broken.jpg" in err and "wrote 8 fakes" in err and "1 failed" in err


def test_usage_errors(capsys: Capture, reals: Path, tmp_path: Path) -> None:
    assert _train(reals, tmp_path / "a", "--set", "width") == 2
    assert (
        main(["synth", "train", "--arch", "nope", "--data", str(reals), "-o", str(tmp_path / "b")])
        == 2
    )
    assert "unknown generator" in capsys.readouterr().err
    assert (
        main(
            ["synth", "make", "-g", str(tmp_path), "--data", str(reals), "-o", str(tmp_path / "c")]
        )
        == 2
    )


def test_importing_the_command_stays_cheap() -> None:
    code = "import sys, spotfake.cli; print('torch' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
