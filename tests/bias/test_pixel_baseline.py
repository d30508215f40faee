"""The pixel-statistics baseline: single-image statistics, a pixel confound found and named, no
confound where there is none, bad files and zip members, and the `spotfake audit` line."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.bias.pixels import FEATURES, image_features, measure, pixel_baseline
from spotfake.cli import main
from spotfake.records import ImageRecord

SIZE = 48
PER_CLASS = 60


def _pixels(rng: np.random.Generator, chroma: float) -> np.ndarray:
    """A smooth random texture; `chroma` scales how far its colours stray from gray."""
    texture = np.asarray(
        Image.fromarray(rng.uniform(0, 255, (6, 6)).astype(np.uint8)).resize(
            (SIZE, SIZE), Image.Resampling.BILINEAR
        ),
        dtype=np.float64,
    )
    direction = rng.normal(size=3)
    direction -= direction.mean()
    direction /= np.linalg.norm(direction)
    tint = chroma * (0.5 + texture[..., None] / 255) * direction
    noisy = texture[..., None] + tint + rng.normal(0, 3, (SIZE, SIZE, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _dataset(folder: Path, fake_chroma: tuple[float, float], seed: int) -> list[ImageRecord]:
    """PNGs of one size for both classes: reals tinted U(4, 12), fakes U(*fake_chroma)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for label, (low, high) in ((0, (4.0, 12.0)), (1, fake_chroma)):
        for i in range(PER_CLASS):
            path = folder / f"{label}_{i}.png"
            Image.fromarray(_pixels(rng, rng.uniform(low, high))).save(path)
            records.append(ImageRecord(path=str(path), label=label, generator="gen" * label))
    return records


@pytest.fixture(scope="module")
def saturated_fakes(tmp_path_factory: pytest.TempPathFactory) -> list[ImageRecord]:
    """Fakes more colourful than reals; storage identical (PNG 48x48 RGB)."""
    return _dataset(tmp_path_factory.mktemp("saturated"), (24.0, 36.0), seed=0)


def test_a_colour_confound_is_found_and_named(saturated_fakes: list[ImageRecord]) -> None:
    result = pixel_baseline(saturated_fakes, workers=1)
    assert result.auc > 0.9 and result.verdict == "strong" and result.confident
    assert result.rows_used == result.sampled == 2 * PER_CLASS and not result.unreadable
    top = result.features[0]
    assert top.name in ("saturation_mean", "saturation_std", "colourfulness")
    assert top.verdict == "strong" and top.generated_median > top.real_median
    assert {f.name for f in result.features} == set(FEATURES)
    by_name = {f.name: f for f in result.features}
    assert by_name["luma_mean"].verdict != "strong"
    assert [(g.generator, g.reals, g.n_fake) for g in result.per_generator] == [
        ("gen", "shared", PER_CLASS)
    ]


def test_same_distribution_is_not_separable(tmp_path: Path) -> None:
    records = _dataset(tmp_path, (4.0, 12.0), seed=1)
    result = pixel_baseline(records, workers=1)
    assert result.auc < 0.7 and result.verdict != "strong"


def test_sampling_bad_files_and_zip_members(
    saturated_fakes: list[ImageRecord], tmp_path: Path
) -> None:
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for record in saturated_fakes[:3]:
            zf.write(record.path, Path(record.path).name)
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(Path(saturated_fakes[0].path).read_bytes()[:100])
    extra = [
        ImageRecord(path=f"{archive}!{Path(r.path).name}", label=0) for r in saturated_fakes[:3]
    ]
    extra += [
        ImageRecord(path=str(truncated), label=1),
        ImageRecord(path=f"{archive}!missing.png", label=1),
        ImageRecord(path="never-read.png", label=1, error="indexed as unreadable"),
    ]
    result = pixel_baseline(saturated_fakes + extra, rows=1000, workers=1)
    assert result.sampled == 2 * PER_CLASS + 5 and result.rows_used == 2 * PER_CLASS + 3
    assert set(result.unreadable) == {str(truncated), f"{archive}!missing.png"}
    assert "not found in the archive" in result.unreadable[f"{archive}!missing.png"]
    small = pixel_baseline(saturated_fakes, rows=40, seed=1, workers=1)
    assert small.sampled == 40 and small.rows_used == 40


def test_worker_processes_measure_what_one_process_does(
    saturated_fakes: list[ImageRecord],
) -> None:
    locations = [r.path for r in saturated_fakes]
    alone = list(measure(locations, workers=1))
    pooled = list(measure(locations, workers=2))
    assert len(pooled) == len(locations)
    assert all(np.array_equal(a, b) for a, b in zip(alone, pooled, strict=True))


def _encoded(pixels: np.ndarray, fmt: str, **options: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return np.asarray(Image.open(buffer).convert("RGB"))


def test_single_image_statistics() -> None:
    rng = np.random.default_rng(2)
    flat = np.full((128, 128, 3), 120.0)
    noisy = np.clip(flat + rng.normal(0, 5, flat.shape), 0, 255).astype(np.uint8)
    values = dict(zip(FEATURES, image_features(noisy), strict=True))
    assert values["noise_sigma"] == pytest.approx(5.0 * 0.587, rel=0.25)  # luma of RGB noise
    assert values["blockiness"] == pytest.approx(1.0, abs=0.05)
    gray = np.repeat(noisy[..., :1], 3, axis=2)
    gray_values = dict(zip(FEATURES, image_features(gray), strict=True))
    assert gray_values["saturation_mean"] == 0.0 and gray_values["colourfulness"] == 0.0
    smooth = _pixels(rng, 20.0)
    jpeg = dict(zip(FEATURES, image_features(_encoded(smooth, "JPEG", quality=15)), strict=True))
    png = dict(zip(FEATURES, image_features(_encoded(smooth, "PNG")), strict=True))
    assert jpeg["blockiness"] > 1.3 > png["blockiness"]


def test_large_images_are_cropped_not_resized() -> None:
    rng = np.random.default_rng(3)
    big = rng.integers(0, 256, (1100, 1300, 3), dtype=np.uint8)
    top, left = 32, 136  # (1100 - 1024) // 2 = 38 and 138, moved back onto the 8-pixel grid
    assert np.array_equal(
        image_features(big), image_features(big[top : top + 1024, left : left + 1024])
    )


def test_cli_prints_the_line_and_writes_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ds"
    for record in _dataset(tmp_path / "made", (24.0, 36.0), seed=4):
        target = root / ("fake" if record.label else "real") / Path(record.path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(record.path).read_bytes())
    out = tmp_path / "report"
    assert main(["audit", str(root), "--workers", "1", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    line = next(li for li in text.splitlines() if li.startswith("pixel statistics: AUC"))
    assert "-> STRONG" in line and "features: " in line and "120 images measured" in line
    data = json.loads((out / "audit.json").read_text())
    assert data["pixel_baseline"]["auc"] > 0.9 and data["pixel_baseline"]["rows_used"] == 120
    assert "## Pixel-statistics baseline" in (out / "report.md").read_text()
    assert main(["audit", str(root), "--json", "--no-pixels", "--workers", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["pixel_baseline"] is None


def test_cli_says_why_there_is_no_pixel_auc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A manifest whose files are gone: the metadata audit runs, the pixel line says why not."""
    from spotfake.data.manifest import write_manifest

    records = [
        ImageRecord(path=f"gone/{i}.png", label=i % 2, format="PNG", mode="RGB", width=64,
                    height=64, file_bytes=9000 + i)
        for i in range(40)
    ]  # fmt: skip
    manifest = tmp_path / "m.csv"
    write_manifest(records, manifest)
    assert main(["audit", str(manifest), "--workers", "1"]) == 0
    line = capsys.readouterr().out.splitlines()[-1]
    assert line.startswith("pixel statistics: AUC n/a (0 of 40 sampled images measured")
    assert "file not found" in line
