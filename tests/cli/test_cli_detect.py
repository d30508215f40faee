"""`spotfake detect` end to end through main(argv), on an untrained cnn-tiny and tiny images."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from spotfake.cli import main
from spotfake.cli.detect import wants_progress_bar
from spotfake.cli.output import OutputFormat
from spotfake.prediction import FIELDS

Capture = pytest.CaptureFixture[str]


def _run(capsys: Capture, model: Path, *args: str) -> tuple[int, str, str]:
    """Run `spotfake detect --model MODEL -q ARGS`; returns (status, stdout, stderr)."""
    code = main(["detect", "--model", str(model), "-q", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _jsonl(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def _names(records: list[dict[str, Any]]) -> list[str]:
    return [Path(str(record["path"])).name for record in records]


def test_jsonl_is_the_default_off_a_terminal(capsys: Capture, tiny_model: Path, good_dir: Path):
    code, out, err = _run(capsys, tiny_model, str(good_dir))
    records = _jsonl(out)
    assert code == 0 and err == ""
    assert _names(records) == ["a.png", "b.jpg", "c.png"]
    for record in records:
        assert list(record) == [*FIELDS, "evidence"]
        assert 0.0 <= record["score"] <= 1.0
        assert record["label"] == ("generated" if record["score"] >= 0.5 else "real")
        assert record["model"] == "cnn-tiny" and record["error"] is None
        assert len(str(record["model_hash"])) == 12


def test_csv_format(capsys: Capture, tiny_model: Path, good_dir: Path) -> None:
    code, out, _ = _run(capsys, tiny_model, str(good_dir), "--format", "csv")
    rows = list(csv.reader(io.StringIO(out)))
    assert code == 0
    assert tuple(rows[0]) == FIELDS
    assert [Path(row[0]).name for row in rows[1:]] == ["a.png", "b.jpg", "c.png"]


def test_json_format(capsys: Capture, tiny_model: Path, good_dir: Path) -> None:
    code, out, _ = _run(capsys, tiny_model, str(good_dir), "--format", "json")
    records = json.loads(out)
    assert code == 0 and isinstance(records, list) and len(records) == 3
    assert all("evidence" in record for record in records)


def test_table_format_ends_with_summary(capsys: Capture, tiny_model: Path, bad_dir: Path):
    code, out, err = _run(capsys, tiny_model, str(bad_dir), "--format", "table")
    lines = out.splitlines()
    assert code == 1 and err == ""
    assert lines[-1].startswith("4 images: ") and lines[-1].endswith(", 3 failed")
    assert "cnn-tiny" in lines[0] and "threshold 0.5" in lines[0]
    assert sum("failed" in line for line in lines[:-1]) == 3


def test_output_file_takes_format_from_suffix(
    capsys: Capture, tiny_model: Path, good_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out.csv"
    code = main(["detect", "-m", str(tiny_model), str(good_dir), "-o", str(target)])
    captured = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert code == 0 and captured.out == ""
    assert captured.err == _summary([{"label": row["label"]} for row in rows]) + "\n"
    assert tuple(rows[0]) == FIELDS


def test_unknown_suffix_means_jsonl(
    capsys: Capture, tiny_model: Path, good_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "out.txt"
    code, out, _ = _run(capsys, tiny_model, str(good_dir), "-o", str(target))
    assert code == 0 and out == ""
    assert len(_jsonl(target.read_text())) == 3


def test_paths_from_stdin(
    capsys: Capture, monkeypatch: pytest.MonkeyPatch, tiny_model: Path, good_dir: Path
) -> None:
    listing = f"{good_dir / 'c.png'}\n\n{good_dir / 'sub'}\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(listing))
    code, out, _ = _run(capsys, tiny_model, "-", str(good_dir / "a.png"))
    assert code == 0
    assert _names(_jsonl(out)) == ["c.png", "d.jpg", "a.png"]


def test_recursive_and_glob(capsys: Capture, tiny_model: Path, good_dir: Path) -> None:
    _, out, _ = _run(capsys, tiny_model, "-r", str(good_dir))
    assert _names(_jsonl(out)) == ["a.png", "b.jpg", "c.png", "d.jpg"]
    _, out, _ = _run(capsys, tiny_model, str(good_dir / "*.png"))
    assert _names(_jsonl(out)) == ["a.png", "c.png"]


@pytest.mark.parametrize(("threshold", "label"), [("0", "generated"), ("1", "real")])
def test_threshold_overrides_the_model(
    capsys: Capture, tiny_model: Path, good_dir: Path, threshold: str, label: str
) -> None:
    code, out, _ = _run(capsys, tiny_model, str(good_dir), "--threshold", threshold)
    records = _jsonl(out)
    assert code == 0
    assert {record["label"] for record in records} == {label}
    assert {record["threshold"] for record in records} == {float(threshold)}


def test_bad_files_are_reported_per_file(capsys: Capture, tiny_model: Path, bad_dir: Path):
    missing = bad_dir / "missing.png"
    code, out, _ = _run(capsys, tiny_model, str(bad_dir), str(missing))
    by_name = {Path(str(r["path"])).name: r for r in _jsonl(out)}
    assert code == 1
    assert list(by_name) == ["empty.jpg", "ok.png", "text.jpg", "trunc.jpg", "missing.png"]
    assert by_name["ok.png"]["error"] is None and by_name["ok.png"]["score"] is not None
    for name in ("empty.jpg", "text.jpg", "trunc.jpg", "missing.png"):
        assert by_name[name]["score"] is None and by_name[name]["label"] is None
        assert isinstance(by_name[name]["error"], str) and by_name[name]["error"]


def test_summary_on_stderr_unless_quiet(capsys: Capture, tiny_model: Path, bad_dir: Path):
    code = main(["detect", "-m", str(tiny_model), str(bad_dir)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err == _summary(_jsonl(captured.out)) + "\n"


def _summary(records: list[dict[str, Any]]) -> str:
    """The summary line expected for these records."""
    labels = [record["label"] for record in records]
    return (
        f"{len(labels)} images: {labels.count('generated')} generated, "
        f"{labels.count('real')} real, {labels.count(None)} failed"
    )


def test_empty_folder_warns_and_writes_empty_document(
    capsys: Capture, tiny_model: Path, tmp_path: Path
) -> None:
    code, out, err = _run(capsys, tiny_model, str(tmp_path), "--format", "json")
    assert code == 0 and json.loads(out) == []
    assert "no images found" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--threshold", "1.5"],
        ["--batch-size", "0"],
        ["--workers", "0"],
        ["--crops", "0"],
        ["--format", "xml"],
        ["--device", "tpu"],
        ["--no-such-option"],
    ],
)
def test_bad_option_values_exit_2(
    capsys: Capture, tiny_model: Path, good_dir: Path, args: list[str]
) -> None:
    code, out, err = _run(capsys, tiny_model, str(good_dir), *args)
    assert code == 2 and out == "" and err


def test_no_paths_exit_2(capsys: Capture) -> None:
    assert main(["detect"]) == 2
    assert "Missing argument" in capsys.readouterr().err


def test_unknown_model_exit_2(capsys: Capture, good_dir: Path, tmp_path: Path) -> None:
    code = main(["detect", "-m", str(tmp_path / "nope.safetensors"), str(good_dir)])
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert "no model" in captured.err


def test_unwritable_output_exit_2(capsys: Capture, tiny_model: Path, good_dir: Path, tmp_path):
    target = tmp_path / "no_such_dir" / "out.jsonl"
    code, _, err = _run(capsys, tiny_model, str(good_dir), "-o", str(target))
    assert code == 2 and "cannot write" in err


def test_embedded_default_model(capsys: Capture, good_dir: Path) -> None:
    from spotfake.detect import embedded_models

    if "default" not in embedded_models():
        pytest.skip("no embedded default model in this checkout")
    code = main(["detect", "-q", str(good_dir / "a.png")])
    assert code == 0 and len(_jsonl(capsys.readouterr().out)) == 1


@pytest.mark.parametrize(
    ("count", "fmt", "to_terminal", "stderr_tty", "expected"),
    [
        (100, OutputFormat.table, True, True, True),
        (100, OutputFormat.jsonl, False, True, True),
        (100, OutputFormat.jsonl, True, True, False),
        (100, OutputFormat.table, True, False, False),
        (16, OutputFormat.table, True, True, False),
    ],
)
def test_progress_bar_only_where_it_helps(
    count: int, fmt: OutputFormat, to_terminal: bool, stderr_tty: bool, expected: bool
) -> None:
    assert wants_progress_bar(count, 16, fmt, to_terminal, stderr_tty) is expected


@pytest.fixture
def large_dir(tmp_path: Path) -> Path:
    """Two PNGs larger than cnn-tiny's 64 px crop, so several windows are distinct."""
    import numpy as np
    from PIL import Image

    folder = tmp_path / "large"
    folder.mkdir()
    rng = np.random.default_rng(7)
    for name, shape in (("wide.png", (150, 200, 3)), ("tall.png", (210, 120, 3))):
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(folder / name)
    return folder


def test_crops_scores_windows_and_keeps_the_record_shape(
    capsys: Capture, tiny_model: Path, large_dir: Path
) -> None:
    import numpy as np
    from PIL import Image

    from spotfake.detect import load_detector

    _, plain, _ = _run(capsys, tiny_model, str(large_dir))
    code, one, _ = _run(capsys, tiny_model, str(large_dir), "--crops", "1")
    assert code == 0 and one == plain
    code, out, err = _run(capsys, tiny_model, str(large_dir), "--crops", "4")
    records = _jsonl(out)
    assert code == 0 and err == ""
    assert _names(records) == ["tall.png", "wide.png"]
    assert all(list(record) == [*FIELDS, "evidence"] for record in records)
    assert [list(r["evidence"]) for r in records] == [list(r["evidence"]) for r in _jsonl(plain)]
    detector = load_detector(tiny_model, device="cpu", crops=4)
    pixels = [np.asarray(Image.open(large_dir / name)) for name in ("tall.png", "wide.png")]
    expected = detector.score(pixels)
    assert [r["score"] for r in records] == pytest.approx(expected, abs=2e-6)
    assert [r["score"] for r in records] != [r["score"] for r in _jsonl(plain)]


def test_crops_needs_a_model_that_crops(capsys: Capture, good_dir: Path, tmp_path: Path) -> None:
    import numpy as np

    from spotfake.models.registry import create_detector
    from spotfake.models.spectral import SpectralDetector

    spectral = create_detector("spectral-logreg")
    assert isinstance(spectral, SpectralDetector)
    rng = np.random.default_rng(0)
    spectral.fit(rng.random((8, spectral.n_bins)), np.array([0, 1] * 4))
    model = spectral.save(tmp_path / "spectral")
    code, out, err = _run(capsys, model, str(good_dir), "--crops", "4")
    assert code == 2 and out == ""
    assert "--crops" in err and "needs a crop size" in err
    code, _, _ = _run(capsys, model, str(good_dir), "--crops", "1")
    assert code == 0


def test_a_listing_or_manifest_stands_for_its_images(
    capsys: Capture, tiny_model: Path, good_dir: Path, tmp_path: Path
) -> None:
    """A path,label CSV listing and an index manifest given as PATH are expanded to the images
    they name, in their order, with the local engine as with --engine ray."""
    listing = tmp_path / "listing.csv"
    listing.write_text(f"path,label\n{good_dir / 'c.png'},1\n{good_dir / 'a.png'},0\n")
    code, out, _ = _run(capsys, tiny_model, str(listing), str(good_dir / "b.jpg"))
    assert code == 0 and _names(_jsonl(out)) == ["c.png", "a.png", "b.jpg"]
    manifest = tmp_path / "manifest.csv"
    assert main(["index", str(good_dir), "-o", str(manifest), "-q"]) == 0
    capsys.readouterr()
    code, out, _ = _run(capsys, tiny_model, str(manifest))
    assert code == 0 and sorted(_names(_jsonl(out))) == ["a.png", "b.jpg", "c.png", "d.jpg"]


def test_a_csv_that_is_no_listing_is_reported_as_a_file(
    capsys: Capture, tiny_model: Path, tmp_path: Path
) -> None:
    """A CSV whose labels cannot be read is not a listing: it gets its own error record."""
    table = tmp_path / "broken.csv"
    table.write_text("path,label\nx.png,maybe\n")
    code, out, _ = _run(capsys, tiny_model, str(table))
    records = _jsonl(out)
    assert code == 1 and _names(records) == ["broken.csv"]
    assert "not an image" in str(records[0]["error"])
