"""`spotfake detect --resume` and `--shard`: a killed run finishes with every image once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import spotfake
from spotfake.cli import main

Capture = pytest.CaptureFixture[str]
IMAGES = 30
BATCH = 4
STALL_AT = 12  # the killed run stalls on this image, after three whole batches

# Runs the real CLI, but decoding image STALL_AT never returns, so the kill lands at a known
# point: after exactly STALL_AT records have been written and flushed.
DRIVER = """
import sys, threading
import spotfake.detect as pipeline
from spotfake.cli import main

stall_name, argv = sys.argv[1], sys.argv[2:]
decode = pipeline.decode_input

def stalling_decode(index, source, provenance=False):
    if str(source).endswith(stall_name):
        threading.Event().wait()
    return decode(index, source, provenance=provenance)

pipeline.decode_input = stalling_decode
sys.exit(main(argv))
"""


@pytest.fixture
def many_dir(tmp_path: Path) -> Path:
    """IMAGES small PNGs of noise, img_00.png ... img_29.png."""
    folder = tmp_path / "many"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(IMAGES):
        pixels = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"img_{index:02d}.png")
    return folder


def _detect(capsys: Capture, model: Path, *args: str) -> tuple[int, str]:
    """Run `spotfake detect --model MODEL ARGS`; returns (status, stderr)."""
    code = main(["detect", "--model", str(model), "--batch-size", str(BATCH), *args])
    return code, capsys.readouterr().err


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _once_each(path: Path, folder: Path) -> dict[str, dict[str, Any]]:
    """The records by file name, after checking that every image of the folder has exactly one."""
    names = Counter(Path(record["path"]).name for record in _records(path))
    assert names == Counter(image.name for image in folder.iterdir()), names
    return {Path(record["path"]).name: record for record in _records(path)}


def _wait_for_lines(path: Path, count: int, process: subprocess.Popen[bytes]) -> None:
    """Poll until the file holds `count` complete lines; fail if the run ends or hangs first."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.05)
    pytest.fail(f"the run ended or hung before writing {count} lines (status {process.poll()})")


def test_a_killed_run_resumes_with_every_image_once(
    capsys: Capture, tiny_model: Path, many_dir: Path, tmp_path: Path
) -> None:
    out, driver = tmp_path / "out.jsonl", tmp_path / "driver.py"
    driver.write_text(DRIVER)
    env = {**os.environ, "PYTHONPATH": str(Path(spotfake.__file__).parents[1])}
    command = [sys.executable, str(driver), f"img_{STALL_AT:02d}.png", "detect", "-q"]
    command += ["-m", str(tiny_model), "--batch-size", str(BATCH), "--workers", "1"]
    process = subprocess.Popen([*command, str(many_dir), "-o", str(out)], env=env)
    try:
        _wait_for_lines(out, STALL_AT, process)
    finally:
        process.kill()
        process.wait()
    before = out.read_bytes()
    assert before.count(b"\n") == STALL_AT and before.endswith(b"\n")

    code, err = _detect(capsys, tiny_model, str(many_dir), "-o", str(out), "--resume")

    assert code == 0
    assert f"{STALL_AT} of {IMAGES} images done, {IMAGES - STALL_AT} to go" in err
    assert out.read_bytes().startswith(before)
    resumed = _once_each(out, many_dir)
    whole = tmp_path / "whole.jsonl"
    assert _detect(capsys, tiny_model, str(many_dir), "-o", str(whole), "-q")[0] == 0
    assert resumed == _once_each(whole, many_dir)


def test_a_cut_last_line_is_dropped_and_redone(
    capsys: Capture, tiny_model: Path, many_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    assert _detect(capsys, tiny_model, str(many_dir), "-o", str(out), "-q")[0] == 0
    lines = out.read_bytes().splitlines(keepends=True)
    kept = b"".join(lines[:10])
    out.write_bytes(kept + lines[10][: len(lines[10]) // 2])

    code, err = _detect(capsys, tiny_model, str(many_dir), "-o", str(out), "--resume")

    assert code == 0
    assert "ends in a cut line" in err and f"10 of {IMAGES} images done" in err
    assert out.read_bytes().startswith(kept)
    assert len(_once_each(out, many_dir)) == IMAGES


def test_resume_of_a_finished_run_adds_nothing(
    capsys: Capture, tiny_model: Path, many_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    _detect(capsys, tiny_model, str(many_dir), "-o", str(out), "-q")
    finished = out.read_bytes()
    code, err = _detect(capsys, tiny_model, str(many_dir), "-o", str(out), "--resume")
    assert code == 0 and out.read_bytes() == finished
    assert f"{IMAGES} of {IMAGES} images done, 0 to go" in err
    assert f"{IMAGES} images: " in err.splitlines()[-1]


def test_resume_of_a_missing_file_starts_it(
    capsys: Capture, tiny_model: Path, many_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "new.jsonl"
    code, _ = _detect(capsys, tiny_model, str(many_dir), "-o", str(out), "--resume", "-q")
    assert code == 0 and len(_once_each(out, many_dir)) == IMAGES


def test_a_file_of_another_listing_is_said_so(
    capsys: Capture, tiny_model: Path, many_dir: Path, good_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    _detect(capsys, tiny_model, str(good_dir), "-o", str(out), "-q")
    code, err = _detect(capsys, tiny_model, str(many_dir), "-o", str(out), "--resume")
    assert code == 0 and "none of its 3 records is among these inputs" in err
    assert len(_records(out)) == 3 + IMAGES


def test_recorded_errors_count_as_done_unless_retried(
    capsys: Capture, tiny_model: Path, bad_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    assert _detect(capsys, tiny_model, str(bad_dir), "-o", str(out), "-q")[0] == 1
    first = out.read_bytes()

    code, err = _detect(capsys, tiny_model, str(bad_dir), "-o", str(out), "--resume")
    assert code == 1, "failures of the earlier part still fail the run"
    assert out.read_bytes() == first and "4 of 4 images done (3 failed), 0 to go" in err

    Image.fromarray(np.full((64, 64, 3), 90, np.uint8)).save(bad_dir / "text.jpg", "JPEG")
    args = ("-o", str(out), "--resume", "--retry-errors", "-q")
    code, _ = _detect(capsys, tiny_model, str(bad_dir), *args)
    records = _once_each(out, bad_dir)
    assert code == 1
    assert records["text.jpg"]["error"] is None and records["text.jpg"]["score"] is not None
    assert records["empty.jpg"]["error"] and records["trunc.jpg"]["error"]
    assert records["ok.png"] == json.loads(first.splitlines()[1])


def test_a_fixed_listing_resumes_to_exit_0(
    capsys: Capture, tiny_model: Path, bad_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    _detect(capsys, tiny_model, str(bad_dir), "-o", str(out), "-q")
    for name in ("empty.jpg", "text.jpg", "trunc.jpg"):
        (bad_dir / name).unlink()
    code, _ = _detect(capsys, tiny_model, str(bad_dir), "-o", str(out), "--resume", "-q")
    assert code == 0, "only the records of this run's inputs count"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--resume"], "needs -o FILE"),
        (["--resume", "-o", "{tmp}/out.csv"], "csv output cannot be resumed"),
        (["--resume", "-o", "{tmp}/out.json"], "json output cannot be resumed"),
        (["--resume", "-o", "{tmp}/out.jsonl", "--format", "csv"], "csv output cannot"),
        (["--retry-errors", "-o", "{tmp}/out.jsonl"], "needs --resume"),
        (["--shard", "3/2"], "need 1 <= I <= N"),
        (["--shard", "half"], "is not I/N"),
    ],
)
def test_options_that_cannot_be_honoured_exit_2(
    capsys: Capture,
    tiny_model: Path,
    good_dir: Path,
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    filled = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    code, err = _detect(capsys, tiny_model, str(good_dir), *filled)
    assert code == 2 and message in " ".join(err.split()).replace("│", "")
    assert not list(tmp_path.glob("out.*"))


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        (["--threshold", "0.9"], None, "at threshold 0.5; this run uses cnn-tiny"),
        ([], 'path,score\n"a.png",0.5\n', "line 1 is not JSON"),
        ([], '{"path": "a.png", "score": 0.5}\n', "lacks the model"),
    ],
)
def test_a_file_of_another_model_or_kind_is_refused(
    capsys: Capture,
    tiny_model: Path,
    good_dir: Path,
    tmp_path: Path,
    args: list[str],
    content: str | None,
    message: str,
) -> None:
    out = tmp_path / "out.jsonl"
    if content is None:
        _detect(capsys, tiny_model, str(good_dir), "-o", str(out), "-q")
    else:
        out.write_text(content)
    before = out.read_bytes()
    code, err = _detect(capsys, tiny_model, str(good_dir), "-o", str(out), "--resume", *args)
    assert code == 2 and message in " ".join(err.replace("│", "").split())
    assert out.read_bytes() == before


def test_shards_split_the_listing_without_overlap(
    capsys: Capture, tiny_model: Path, many_dir: Path, tmp_path: Path
) -> None:
    parts = []
    for index in (1, 2, 3):
        out = tmp_path / f"part{index}.jsonl"
        args = ("--shard", f"{index}/3", "-o", str(out))
        assert _detect(capsys, tiny_model, str(many_dir), *args)[0] == 0
        parts.append([Path(record["path"]).name for record in _records(out)])
    assert all(parts), "30 paths leave no part of 3 empty"
    everything = [name for part in parts for name in part]
    assert sorted(everything) == sorted(image.name for image in many_dir.iterdir())


def test_a_second_run_into_a_file_being_written_is_refused(
    capsys: pytest.CaptureFixture[str], tiny_model: Path, good_dir: Path, tmp_path: Path
) -> None:
    fcntl = pytest.importorskip("fcntl")
    out = tmp_path / "out.jsonl"
    out.write_text("")
    args = ["detect", "-q", str(good_dir), "--model", str(tiny_model), "-o", str(out)]
    with out.open("a") as holder:  # what a running detect holds from planning to the last record
        fcntl.flock(holder.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        for extra in ([], ["--resume"]):
            assert main([*args, *extra]) == 2
            words = " ".join(capsys.readouterr().err.replace("│", " ").split())
            assert "being written by another spotfake detect" in words
            assert out.read_text() == ""
    assert main(args) == 0  # released: the run goes ahead
    assert len(out.read_text().splitlines()) == 3
