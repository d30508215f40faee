"""`spotfake synth hard-reals`: classical operations on reals, stored like them, labelled real."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from synth_images import photo

from spotfake.cli import main
from spotfake.data.manifest import open_dataset, read_manifest
from spotfake.synth.hard_reals import OPERATIONS

Capture = pytest.CaptureFixture[str]
SCALE = {"up2": 2.0, "down2": 0.5, "lanczos-up2": 2.0}


def test_every_operation_keeps_storage_and_labels_real(
    capsys: Capture, reals: Path, tmp_path: Path
) -> None:
    out = [tmp_path / "a", tmp_path / "b"]
    ops = ",".join(OPERATIONS)
    for folder in out:
        assert (
            main(["synth", "hard-reals", "--data", str(reals), "-o", str(folder), "--ops", ops])
            == 0
        )
    assert f"wrote {8 * len(OPERATIONS)} hard reals" in capsys.readouterr().err
    originals = {Path(r.path).name: r for r in open_dataset(str(reals))}
    records = read_manifest(out[0] / "manifest.csv")
    splits: dict[str, set[str | None]] = defaultdict(set)
    for record in records:
        op = record.generator.removeprefix("hard-") if record.generator else ""
        real = originals[Path(record.path).name]
        assert record.label == 0 and op in OPERATIONS
        assert (record.format, record.mode, record.jpeg_quality) == (
            real.format,
            real.mode,
            real.jpeg_quality,
        )
        assert record.chroma_subsampling == real.chroma_subsampling
        scale = SCALE.get(op, 1.0)
        assert (record.width, record.height) == (
            max(1, round((real.width or 0) * scale)),
            max(1, round((real.height or 0) * scale)),
        )
        splits[Path(record.path).name].add(record.split)
        twin = out[1] / Path(record.path).relative_to(out[0].resolve())
        assert Path(record.path).read_bytes() == twin.read_bytes()  # deterministic
    assert all(len(s) == 1 for s in splits.values())  # a real and its variants: one side


def test_operations_change_the_pixels_the_way_they_say() -> None:
    pixels = photo(64, 48, seed=5)
    rng = np.random.default_rng(0)
    smooth = np.abs(np.diff(pixels.astype(float), axis=1)).mean()
    for op in ("updown2", "updown4", "blur", "median3"):
        out = OPERATIONS[op](pixels, rng)
        assert out.shape == pixels.shape
        assert np.abs(np.diff(out.astype(float), axis=1)).mean() < smooth, op
    sharp = OPERATIONS["sharpen"](pixels, rng)
    assert np.abs(np.diff(sharp.astype(float), axis=1)).mean() > smooth


def test_transparent_and_broken_files_are_handled(
    capsys: Capture, reals: Path, tmp_path: Path
) -> None:
    rgba = np.dstack([photo(30, 20, seed=1), np.full((20, 30), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(reals / "clear.png")
    (reals / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    out = tmp_path / "out"
    args = ["synth", "hard-reals", "--data", str(reals), "-o", str(out), "--ops", "up2,blur"]
    assert main(args) == 1
    assert "broken.jpg" in capsys.readouterr().err
    clear = [r for r in read_manifest(out / "manifest.csv") if Path(r.path).name == "clear.png"]
    assert {(r.mode, r.width, r.height) for r in clear} == {("RGBA", 60, 40), ("RGBA", 30, 20)}
    assert main([*args[:-1], "sparkle", "--overwrite"]) == 2
