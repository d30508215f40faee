"""`spotfake evaluate`: the report folder, --json, sweeps, the matrix, exit statuses."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.cli import main

Capture = pytest.CaptureFixture[str]


def _folder(root: Path, layout: dict[str, int], seed: int = 0) -> Path:
    """PNG noise images (64 x 72) in the named class folders."""
    rng = np.random.default_rng(seed)
    for folder, count in layout.items():
        (root / folder).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            pixels = rng.integers(0, 256, (64, 72, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / folder / f"{i}.png")
    return root


@pytest.fixture
def two_generators(tmp_path: Path) -> Path:
    """genA and genB, each with its own real/ and fake/ folders (3 images each)."""
    layout = {f"{g}/{c}": 3 for g in ("genA", "genB") for c in ("real", "fake")}
    return _folder(tmp_path / "gens", layout)


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_evaluate_writes_the_report(
    tiny_model: Path, two_generators: Path, tmp_path: Path, capsys: Capture
) -> None:
    out = tmp_path / "out"
    assert main(["evaluate", str(tiny_model), str(two_generators), "-o", str(out), "-q"]) == 0
    text = capsys.readouterr().out
    assert "gens: 6 real, 6 generated scored (0 unreadable" in text
    assert "genA           own      3      3" in text
    rows = _csv(out / "metrics.csv")
    assert [(r["generator"], r["reals"], r["condition"]) for r in rows] == [
        ("all", "all", "clean"), ("genA", "own", "clean"), ("genB", "own", "clean"),
    ]  # fmt: skip
    assert rows[0]["model"] == "tiny" and rows[0]["n"] == "12"
    assert len(_csv(out / "scores.csv")) == 12
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["datasets"][0]["scored"] == 12 and summary["unreadable"] == []
    for name in ("report.md", "report.html", "roc-gens.png"):
        assert (out / name).stat().st_size > 0
    assert list((out / "gallery").glob("gens-genA-*.jpg"))


def test_unreadable_files_are_reported_with_exit_1(
    tiny_model: Path, two_generators: Path, tmp_path: Path, capsys: Capture
) -> None:
    (two_generators / "genB" / "fake" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "out"
    assert main(["evaluate", str(tiny_model), str(two_generators), "-o", str(out)]) == 1
    captured = capsys.readouterr()
    assert "unreadable" in captured.err and "broken.png" in captured.err
    summary = json.loads((out / "metrics.json").read_text())
    assert [Path(u["path"]).name for u in summary["unreadable"]] == ["broken.png"]
    assert _csv(out / "metrics.csv")[0]["n"] == "12"


def test_json_limit_shared_reals_and_a_small_sweep(
    tiny_model: Path, tmp_path: Path, capsys: Capture
) -> None:
    data = _folder(tmp_path / "flat", {"real": 4, "sdA/fake": 4, "sdB/fake": 4})
    sweep = ["--robustness", "jpeg=50,resize=0.5", "--batch-size", "3", "--device", "cpu"]
    args = ["evaluate", str(tiny_model), str(data), "--json", "--limit", "2", "--seed", "3"]
    assert main(args + sweep) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["conditions"] == ["clean", "jpeg-q50", "resize-x0.5"]
    assert summary["settings"]["limit"] == 2 and summary["datasets"][0]["scored"] == 6
    groups = {(r["generator"], r["reals"]) for r in summary["rows"]}
    assert groups == {("all", "all"), ("sdA", "shared"), ("sdB", "shared")}
    row = next(r for r in summary["rows"] if r["generator"] == "sdA" and r["condition"] == "clean")
    assert row["n_real"] == 2 and row["n_fake"] == 2 and 0.0 <= row["ece"] <= 1.0


def test_split_keeps_genimage_val(tiny_model: Path, tmp_path: Path, capsys: Capture) -> None:
    layout = {f"sdx/{s}/{c}": 2 for s in ("train", "val") for c in ("ai", "nature")}
    data = _folder(tmp_path / "genimage", layout)
    assert main(["evaluate", str(tiny_model), str(data), "--split", "val", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["datasets"][0]["scored"] == 4 and summary["settings"]["split"] == "val"
    assert {(r["generator"], r["reals"]) for r in summary["rows"]} == {
        ("all", "all"), ("sdx", "own"),
    }  # fmt: skip
    assert main(["evaluate", str(tiny_model), str(data), "--split", "test"]) == 2


def test_matrix_of_two_models_on_two_datasets(
    tiny_model: Path, two_generators: Path, tmp_path: Path, capsys: Capture
) -> None:
    from spotfake.models.registry import create_detector

    other = create_detector("cnn-tiny").save(tmp_path / "models" / "other")
    flat = _folder(tmp_path / "flat", {"real": 2, "fake": 2}, seed=1)
    out = tmp_path / "matrix"
    args = ["evaluate", "--matrix", str(tiny_model), str(other), "--data", str(two_generators),
            "--data", str(flat), "-o", str(out), "-q"]  # fmt: skip
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "AP matrix" in text and "accuracy matrix" in text
    table = list(csv.reader((out / "matrix-accuracy.csv").open()))
    assert table[0] == ["model", "gens/genA", "gens/genB", "flat", "mean"]
    assert [row[0] for row in table[1:]] == ["tiny", "other"]
    assert (out / "matrix.png").stat().st_size > 0
    models = {r["model"] for r in _csv(out / "metrics.csv")}
    assert models == {"tiny", "other"}


@pytest.mark.parametrize(
    "args",
    [
        ["MODEL"],
        ["--matrix", "MODEL"],
        ["MODEL", "DATA", "--robustness", "sharpen"],
        ["MODEL", "{tmp}/missing"],
        ["{tmp}/no-model.safetensors", "DATA"],
    ],
)
def test_usage_errors_exit_2(
    args: list[str], tiny_model: Path, two_generators: Path, tmp_path: Path, capsys: Capture
) -> None:
    named = {"MODEL": str(tiny_model), "DATA": str(two_generators)}
    argv = [named.get(a, a.replace("{tmp}", str(tmp_path))) for a in args]
    assert main(["evaluate", *argv]) == 2
    assert capsys.readouterr().err


def test_unlabelled_dataset_is_a_usage_error(
    tiny_model: Path, tmp_path: Path, capsys: Capture
) -> None:
    data = _folder(tmp_path / "loose", {"misc": 2})
    assert main(["evaluate", str(tiny_model), str(data)]) == 2
    err = " ".join(capsys.readouterr().err.replace("│", " ").split())
    assert "no labelled images" in err


def test_help_states_the_cost(capsys: Capture) -> None:
    assert main(["evaluate", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--matrix", "--data", "--robustness", "--limit", "--seed", "--json"):
        assert option in out
    assert "10 minutes" in out
