"""`spotfake detect --engine ray` and detect_on_ray give the local CLI's records, on a local Ray.

One Ray instance (2 CPUs) serves the module; an untrained cnn-tiny scores ten small images, a
corrupt JPEG and a text file named .png. The option checks and the input expansion need no Ray.
The CLI comparison takes about 35 s on a busy 2-core machine (Ray's start, two actors importing
torch); the Parquet one, a second Ray run, is marked slow.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from spotfake.cli import main
from spotfake.data.manifest import listed_paths
from spotfake.engines.ray import expand_inputs

Capture = pytest.CaptureFixture[str]
SCORE_TOLERANCE = 1e-6 + 1e-9  # one step of the 6-decimal rounding: torch threads differ


def _ray() -> Any:
    """Ray with Ray Data, or skip: Ray is the optional extra spotfake[ray] (in dev)."""
    ray = pytest.importorskip("ray", reason="the Ray engine needs Ray: pip install 'spotfake[ray]'")
    pytest.importorskip("ray.data", reason="the Ray engine needs Ray Data: 'ray[data]'")
    return ray


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray with 2 CPUs for the module (the engine reuses a connected Ray)."""
    ray = _ray()
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained cnn-tiny saved as weights + spec."""
    from spotfake.models.registry import create_detector

    return create_detector("cnn-tiny").save(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten images of several sizes (PNG and JPEG), a corrupt JPEG and a text file named .png."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(7)
    for i in range(10):
        pixels = rng.integers(0, 256, (48 + 8 * i, 64, 3), dtype=np.uint8)
        image = Image.fromarray(pixels)
        if i % 2:
            image.save(folder / f"img{i:02d}.png")
        else:
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=85)
            (folder / f"img{i:02d}.jpg").write_bytes(buffer.getvalue())
    (folder / "zz-corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"not a JPEG body" * 4)
    (folder / "zz-text.png").write_text("a text file, not an image\n")
    return folder


@pytest.fixture(scope="module")
def local_records(model: Path, images: Path, tmp_path_factory: pytest.TempPathFactory):
    """The local CLI's records of the images (JSON lines)."""
    out = tmp_path_factory.mktemp("local") / "local.jsonl"
    assert main(["detect", "-q", "--model", str(model), str(images), "-o", str(out)]) == 1
    return _read_jsonl(out)


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _assert_same_records(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Same paths in the same order, same labels and errors, scores within SCORE_TOLERANCE."""
    assert [r["path"] for r in got] == [r["path"] for r in want]
    for mine, theirs in zip(got, want, strict=True):
        if theirs["score"] is None:
            assert mine["score"] is None
        else:
            assert abs(mine["score"] - theirs["score"]) <= SCORE_TOLERANCE
        rest = {key: value for key, value in mine.items() if key != "score"}
        assert rest == {key: value for key, value in theirs.items() if key != "score"}


def test_local_run_has_scores_and_two_errors(local_records: list[dict[str, Any]]) -> None:
    errors = [r["error"] for r in local_records if r["error"] is not None]
    assert len(local_records) == 12 and len(errors) == 2
    assert all(r["score"] is not None for r in local_records if r["error"] is None)


def test_cli_ray_engine_gives_the_local_records(
    local_ray: None, model: Path, images: Path, local_records: list[dict[str, Any]], tmp_path
) -> None:
    out = tmp_path / "ray.jsonl"
    argv = ["detect", "-q", "--model", str(model), str(images), "-o", str(out)]
    code = main([*argv, "--engine", "ray", "--actors", "2", "--batch-size", "4"])
    assert code == 1  # two files failed, as locally
    _assert_same_records(_read_jsonl(out), local_records)


@pytest.mark.slow  # a second Ray run (actors start again): about 20 s more on 2 busy cores
def test_detect_on_ray_parquet_shards_hold_the_local_records(
    local_ray: None, model: Path, images: Path, local_records: list[dict[str, Any]], tmp_path
) -> None:
    import pyarrow.dataset as pads

    from spotfake.engines.ray import detect_on_ray, record_from_row

    folder = tmp_path / "shards"
    counts = detect_on_ray(
        images, str(model), output=folder, format="parquet", workers=2, batch_size=4
    )
    assert counts["failed"] == 2 and sum(counts.values()) == 12
    assert list(folder.glob("*.parquet"))
    rows = pads.dataset(folder, format="parquet").to_table().to_pylist()
    rows.sort(key=lambda row: row["index"])
    records = [record_from_row(row).to_dict() for row in rows]
    _assert_same_records(records, local_records)


def test_ray_options_need_the_ray_engine(capsys: Capture, model: Path, images: Path) -> None:
    code = main(["detect", "--model", str(model), str(images), "--actors", "3"])
    assert code == 2
    assert "--actors" in capsys.readouterr().err


def test_parquet_dir_refuses_an_output_file(
    capsys: Capture, model: Path, images: Path, tmp_path: Path
) -> None:
    argv = ["detect", "--model", str(model), str(images), "--engine", "ray"]
    code = main([*argv, "--parquet-dir", str(tmp_path / "p"), "-o", str(tmp_path / "x.jsonl")])
    assert code == 2
    assert "--parquet-dir" in capsys.readouterr().err


def test_the_cli_does_not_import_ray() -> None:
    code = "import sys, spotfake.cli.detect; print('ray' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_a_listing_stands_for_its_images(images: Path, tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text(f"path,label\n{images / 'img01.png'},real\nmissing.jpg,fake\n")
    assert listed_paths(str(listing)) == [str(images / "img01.png"), str(tmp_path / "missing.jpg")]
    assert listed_paths(str(images / "img01.png")) is None
    paths = expand_inputs([str(listing), str(images / "img00.jpg")])
    assert paths == [
        str(images / "img01.png"),
        str(tmp_path / "missing.jpg"),
        str(images / "img00.jpg"),
    ]


def test_the_actors_load_the_precision_asked_for(model: Path) -> None:
    """--precision reaches each actor's detector (the actor class, built here without Ray)."""
    pytest.importorskip("pyarrow")
    from spotfake.cli.detect import _Options
    from spotfake.cli.engine import RayOptions, ray_job
    from spotfake.engines.ray import BatchScorer

    options = _Options(batch_size=4, threshold=None, workers=1, provenance=False)
    ray = RayOptions(None, 1, 1, None)
    job = ray_job(ray, str(model), "cpu", None, options, None, "torch", "bf16")
    assert job.precision == "bf16"
    assert BatchScorer(job).detector.precision == "bf16"  # type: ignore[attr-defined]
