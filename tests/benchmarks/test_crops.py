"""benchmarks/crops.py end to end on small synthetic images with a tiny CNN (crop 32)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from spotfake.detect import load_detector
from spotfake.io import read_image
from spotfake.models.registry import create_detector


def _images(folder: Path, shapes: list[tuple[int, int]], seed: int, upsample: bool) -> None:
    """PNGs of the given (height, width): noise, or noise at half size enlarged 2x."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i, (height, width) in enumerate(shapes):
        if upsample:
            small = rng.integers(0, 256, (height // 2, width // 2, 3), dtype=np.uint8)
            image = Image.fromarray(small).resize((width, height), Image.Resampling.NEAREST)
        else:
            image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        image.save(folder / f"{seed}-{i:02d}.png")


@pytest.mark.slow
def test_a_row_per_format_and_crops_and_one_crop_is_the_plain_detector(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    benchmark_script: Callable[[str], ModuleType],
) -> None:
    script = benchmark_script("crops")
    real_a, real_b, fake = tmp_path / "real-a", tmp_path / "real-b", tmp_path / "fake"
    _images(real_a, [(64, 80), (72, 64), (96, 96), (24, 64)], 0, upsample=False)  # 1 too small
    _images(real_b, [(80, 64), (64, 96), (90, 70)], 1, upsample=False)
    _images(fake, [(64, 64), (80, 96), (96, 64), (72, 72), (20, 40)], 2, upsample=True)
    (fake / "notes.txt").write_text("not an image")
    model = create_detector("cnn-tiny", crop=32).save(tmp_path / "model" / "tiny")
    out = tmp_path / "crops.json"
    argv = ["--model", str(model), "--reals", str(real_a), str(real_b), "--fakes", str(fake)]
    argv += ["--crops", "1,4", "--formats", "png,webp", "--min-side", "32", "--limit", "5"]
    argv += ["--device", "cpu", "--batch-size", "3", "--json", str(out)]
    report = script.main(argv)
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))

    rows = report["rows"]
    assert [(r["format"], r["crops"]) for r in rows] == [
        ("png", 1), ("png", 4), ("webp", 1), ("webp", 4),
    ]  # fmt: skip
    kept = {Path(f["path"]).name: (f["images"], f["kept"]) for f in report["folders"]}
    assert kept == {"real-a": (4, 3), "real-b": (3, 3), "fake": (5, 4)}  # shorter side >= 32
    used = {Path(f["path"]).name: f["used"] for f in report["folders"]}
    reals, fakes = report["images"]["real"], report["images"]["fake"]
    assert len(reals) == used["real-a"] + used["real-b"] == 5  # at most --limit per side
    assert len(fakes) == used["fake"] == 4
    assert not any(Path(p).name == "0-03.png" for p in reals)  # the 24 px image left out
    again = script.main(argv)
    assert again["images"] == report["images"]

    plain = load_detector(str(model), device="cpu")
    assert plain.spec.input.crops == 1
    pixels = [read_image(p).pixels for p in reals + fakes]
    expected = plain.score(pixels)
    np.testing.assert_allclose(rows[0]["scores"], expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(rows[1]["scores"], expected)  # four windows are not the centre
    webp = plain.score([script.webp_roundtrip(image) for image in pixels])
    np.testing.assert_allclose(rows[2]["scores"], webp, rtol=1e-5, atol=1e-6)
    assert not np.allclose(webp, expected)  # re-encoded: other pixels, other scores
    for row in rows:
        assert row["images"] == 9 and row["images_per_s"] > 0
        assert 0.0 <= row["auc"] <= 1.0
        flagged = float(np.mean(np.array(row["scores"][:5]) >= plain.spec.threshold))
        assert row["reals_flagged"] == pytest.approx(flagged)

    table = capsys.readouterr().out
    for fmt, crops in (("png", 1), ("png", 4), ("webp", 1), ("webp", 4)):
        assert f"| {fmt} | {crops} |" in table
    assert "load average" in table and "4 images, 3 kept (shorter side >= 32)" in table
