"""De-biasing: the plan on records, then the written copy on tiny synthetic JPEG and PNG sets."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.bias.debias import check_output, debias, match_bytes_per_pixel
from spotfake.bias.debias_plan import (
    BALANCE,
    NO_FAKES,
    OUTSIDE_WINDOW,
    TOO_SMALL,
    UNLABELLED,
    UNREADABLE,
    DebiasOptions,
    plan_debias,
)
from spotfake.data.layouts import discover, output_folders, source_stem
from spotfake.data.manifest import open_dataset, read_manifest
from spotfake.io import estimate_jpeg_quality, probe
from spotfake.records import ImageRecord

# Reals' (width, height): shorter sides 64 (outside the window around 96), 72, 80, 90, 96, 100.
REAL_SIZES = [(80, 64), (90, 72), (96, 80), (100, 90), (112, 96), (120, 100)]


def _pixels(width: int, height: int, seed: int) -> np.ndarray:
    """A gradient with seed-dependent noise: files of different sizes per pixel."""
    rng = np.random.default_rng(seed)
    ramp = np.add.outer(np.linspace(0, 150, height), np.linspace(0, 90, width))
    noisy = ramp[:, :, None] + rng.normal(0, 3 + seed % 7 * 4, (height, width, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def _save_real(path: Path, i: int, quality: int = 96, subsampling: str = "4:4:4") -> None:
    width, height = REAL_SIZES[i % len(REAL_SIZES)]
    image = Image.fromarray(_pixels(width, height, i))
    image.save(path, "JPEG", quality=quality, subsampling=subsampling)


def _save_fake(path: Path, i: int) -> None:
    Image.fromarray(_pixels(96, 96, 100 + i)).save(path, "PNG")


@pytest.fixture
def genimage(tmp_path: Path) -> Path:
    """gen/train/nature: 12 JPEG reals (10 q96 4:4:4, 2 q80 4:2:0); gen/train/ai: 9 PNG fakes."""
    root = tmp_path / "src"
    (root / "gen/train/nature").mkdir(parents=True)
    (root / "gen/train/ai").mkdir(parents=True)
    for i in range(12):
        low = i in (3, 4)
        quality, subsampling = (80, "4:2:0") if low else (96, "4:4:4")
        _save_real(root / f"gen/train/nature/r{i:02d}.jpg", i, quality, subsampling)
    for i in range(9):
        _save_fake(root / f"gen/train/ai/f{i:02d}.png", i)
    return root


def _record(path: str, label: int | None, size: tuple[int, int], **kw: object) -> ImageRecord:
    fields: dict[str, object] = {"format": "JPEG" if label == 0 else "PNG", "mode": "RGB"}
    if label == 0:
        fields.update(jpeg_quality=96, chroma_subsampling="4:4:4")
    fields.update(kw)
    return ImageRecord(path, label, width=size[0], height=size[1], file_bytes=1000, **fields)  # type: ignore[arg-type]


def _records(n_real: int = 12, n_fake: int = 9, generator: str | None = "gen") -> list[ImageRecord]:
    reals = [
        _record(f"/r/{i:02d}.jpg", 0, REAL_SIZES[i % 6], generator=generator) for i in range(n_real)
    ]
    fakes = [_record(f"/f/{i:02d}.png", 1, (96, 96), generator=generator) for i in range(n_fake)]
    return reals + fakes


def _hashes(root: Path) -> dict[str, tuple[str, float]]:
    return {
        str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# -- the plan -----------------------------------------------------------------------------------


def test_window_crop_and_balance() -> None:
    plan = plan_debias(_records(), DebiasOptions(size_window=0.25, fake_quality="mode"))
    group = plan.groups["gen"]
    assert group.fake_side == 96 and group.window == (72.0, 120.0)
    # shorter side 64 is outside [72, 120]; the smallest kept side is 72, so the crop is 64
    outside = [d.record.path for d in plan.dropped if d.reason == OUTSIDE_WINDOW]
    assert outside == ["/r/00.jpg", "/r/06.jpg"]
    assert group.crop == 64 and all(j.crop == 64 for j in plan.jobs)
    labels = Counter(j.record.label for j in plan.jobs)
    assert labels == {0: 9, 1: 9}
    assert sum(d.reason == BALANCE for d in plan.dropped) == 1  # 10 reals in the window, 9 fakes


def test_no_window_and_an_explicit_crop() -> None:
    plan = plan_debias(_records(), DebiasOptions(size_window=None, crop=80))
    small = {d.record.path for d in plan.dropped if d.reason == TOO_SMALL}
    assert small == {"/r/00.jpg", "/r/01.jpg", "/r/06.jpg", "/r/07.jpg"}  # sides 64 and 72
    assert not any(d.reason == OUTSIDE_WINDOW for d in plan.dropped)
    assert {j.crop for j in plan.jobs} == {80}


def test_mode_quality_and_subsampling_come_from_the_reals() -> None:
    records = _records()
    for r in records[:3]:
        r.jpeg_quality, r.chroma_subsampling = 75, "4:2:0"
    plan = plan_debias(records, DebiasOptions(fake_quality="mode", size_window=None))
    fakes = [j for j in plan.jobs if j.record.label == 1]
    assert {(j.quality, j.subsampling) for j in fakes} == {(96, "4:4:4")}
    reals = [j for j in plan.jobs if j.record.label == 0]
    assert all(j.quality is None for j in reals)  # colour JPEG reals keep their own tables
    fixed = plan_debias(records, DebiasOptions(fake_quality=90, recompress_reals=True))
    assert {j.quality for j in fixed.jobs} == {90}


def test_sample_gives_the_fakes_the_reals_quality_histogram() -> None:
    records = _records(n_real=9, n_fake=9)
    for i, r in enumerate(records[:9]):
        r.jpeg_quality = (75, 85, 96)[i % 3]
    plan = plan_debias(records, DebiasOptions(fake_quality="sample", size_window=None))
    real_cells = Counter(
        (j.record.jpeg_quality, j.record.chroma_subsampling)
        for j in plan.jobs
        if j.record.label == 0
    )
    fake_cells = Counter((j.quality, j.subsampling) for j in plan.jobs if j.record.label == 1)
    assert real_cells == fake_cells and len(fake_cells) == 3
    other = plan_debias(records, DebiasOptions(fake_quality="sample", size_window=None, seed=1))
    assert [j.quality for j in other.jobs] != [j.quality for j in plan.jobs]


def test_balance_is_seeded_and_per_split() -> None:
    records = _records(n_real=12, n_fake=4) + [
        _record(f"/v/{i}.png", 1, (96, 96), generator="gen", split="val") for i in range(3)
    ]
    records += [_record(f"/v/{i}.jpg", 0, (96, 96), generator="gen", split="val") for i in range(5)]
    options = DebiasOptions(size_window=None)
    first, again = plan_debias(records, options), plan_debias(list(reversed(records)), options)
    other = plan_debias(records, DebiasOptions(size_window=None, seed=7))
    assert [j.record.path for j in first.jobs] == [j.record.path for j in again.jobs]
    assert [j.record.path for j in first.jobs] != [j.record.path for j in other.jobs]
    per = Counter((j.record.split, j.record.label) for j in first.jobs)
    assert per == {(None, 0): 4, (None, 1): 4, ("val", 0): 3, ("val", 1): 3}


def test_shared_reals_are_split_between_generators() -> None:
    reals = [_record(f"/r/{i:02d}.jpg", 0, (100, 96)) for i in range(10)]
    fakes = [_record(f"/{g}/{i}.png", 1, (96, 96), generator=g) for g in "ab" for i in range(4)]
    plan = plan_debias(reals + fakes, DebiasOptions())
    assert set(plan.groups) == {"a", "b"} and plan.groups["a"].shared_reals
    jobs = Counter((j.generator, j.record.label) for j in plan.jobs)
    assert jobs == {("a", 0): 4, ("a", 1): 4, ("b", 0): 4, ("b", 1): 4}
    assert len({j.record.path for j in plan.jobs}) == len(plan.jobs)  # no real used twice


def test_unreadable_unlabelled_and_unpaired_files_are_dropped() -> None:
    records = [
        *_records(n_real=3, n_fake=3),
        ImageRecord("/bad.jpg", 0, generator="gen", error="not an image"),
        _record("/x.jpg", None, (96, 96), generator="gen"),
        _record("/lonely.jpg", 0, (96, 96), generator="other"),
    ]
    reasons = {d.record.path: d.reason for d in plan_debias(records, DebiasOptions()).dropped}
    assert reasons["/bad.jpg"] == UNREADABLE and reasons["/x.jpg"] == UNLABELLED
    assert reasons["/lonely.jpg"] == NO_FAKES


@pytest.mark.parametrize(
    "kw", [{"fake_quality": 0}, {"fake_quality": "best"}, {"size_window": 1.5}, {"crop": 2}]
)
def test_bad_options_are_refused(kw: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        DebiasOptions(**kw)  # type: ignore[arg-type]


def test_bytes_per_pixel_matching() -> None:
    rng = np.random.default_rng(0)
    real = rng.lognormal(0.0, 0.5, 200)
    fake = rng.lognormal(-0.5, 0.5, 200)
    labels = [0] * 200 + [1] * 200
    keep = match_bytes_per_pixel([("g",)] * 400, labels, [*real, *fake], bins=10, seed=0)
    kept = np.array(keep)
    assert kept[:200].sum() == kept[200:].sum() > 60
    kept_real, kept_fake = np.log(real[kept[:200]]), np.log(fake[kept[200:]])
    assert abs(np.median(kept_real) - np.median(kept_fake)) < 0.1
    apart = match_bytes_per_pixel([0] * 40, [0] * 20 + [1] * 20, [1.0] * 20 + [9.0] * 20, 4, 0)
    assert not any(apart)


# -- the written copy ---------------------------------------------------------------------------


def test_copy_is_cropped_encoded_balanced_and_reads_back(genimage: Path, tmp_path: Path) -> None:
    before = _hashes(genimage)
    out = tmp_path / "out"
    options = DebiasOptions(fake_quality="mode", size_window=0.25, match_bpp=False)
    result = debias(genimage, out, options, workers=2)
    assert _hashes(genimage) == before  # sources untouched: same bytes, same times
    records = read_manifest(out / "manifest.csv")
    assert Counter(r.label for r in records) == {0: 9, 1: 9}
    assert {(r.width, r.height, r.format, r.mode) for r in records} == {(64, 64, "JPEG", "RGB")}
    for r in records:
        with Image.open(r.path) as image:
            quality, _ = estimate_jpeg_quality(image.quantization[0])
        assert r.label == 0 or (quality, r.chroma_subsampling) == (96, "4:4:4")
    fields = {(Path(r.path).name, r.label, r.generator, r.split, r.category) for r in records}
    again = {  # read by layout, not by the manifest the folder holds
        (Path(e.location).name, e.label, e.generator, e.split, e.category)
        for e in discover(out, name_from_folder=False)
    }
    assert again == fields and result.layout_mismatches == []
    assert {r.generator for r in records} == {"gen"} and {r.split for r in records} == {"train"}
    report = json.loads((out / "debias.json").read_text())
    assert report["generators"]["gen"]["crop"] == 64
    assert report["totals"]["dropped"] == {OUTSIDE_WINDOW: 2, BALANCE: 1}
    dropped = (out / "dropped.csv").read_text().splitlines()
    assert dropped[0] == "path,label,generator,reason,detail" and len(dropped) == 4


def test_reals_keep_their_own_tables(genimage: Path, tmp_path: Path) -> None:
    debias(genimage, tmp_path / "out", DebiasOptions(match_bpp=False, size_window=None))
    for r in read_manifest(tmp_path / "out/manifest.csv"):
        if r.label != 0:
            continue
        source = genimage / "gen/train/nature" / Path(r.path).name
        with Image.open(source) as a, Image.open(r.path) as b:
            assert a.quantization == b.quantization
            assert a.layer == b.layer  # same chroma subsampling
        assert r.jpeg_quality in (80, 96)


def test_same_seed_same_bytes_other_seed_other_files(genimage: Path, tmp_path: Path) -> None:
    options = DebiasOptions(size_window=None)
    debias(genimage, tmp_path / "a", options)
    debias(genimage, tmp_path / "b", options, workers=1)
    a, b = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    strip = len(str(tmp_path)) + 2
    assert {k[strip:]: v[0] for k, v in a.items()} == {k[strip:]: v[0] for k, v in b.items()}
    images = [k for k in a if k.endswith(".jpg")]
    assert len(images) > 6  # and each image has its source's modification time
    assert [a[k][1] for k in images] == [b[k.replace("/a/", "/b/")][1] for k in images]
    debias(genimage, tmp_path / "c", DebiasOptions(size_window=None, seed=3))
    names = {k[strip:] for k in a}
    assert names != {k[strip:] for k in _hashes(tmp_path / "c")}


def test_bytes_per_pixel_matching_deletes_files(genimage: Path, tmp_path: Path) -> None:
    result = debias(genimage, tmp_path / "out", DebiasOptions(size_window=None))
    matched = [d for d in result.dropped if d.reason == "bytes-per-pixel matching"]
    written = sorted(str(p) for p in (tmp_path / "out").rglob("*.jpg"))
    assert written == sorted(r.path for r in result.records)
    assert Counter(r.label for r in result.records)[0] == Counter(r.label for r in
                                                                  result.records)[1]  # fmt: skip
    assert len(written) + len(matched) == 18  # 9 + 9 before matching


def test_mode_quality_with_matching_keeps_only_reals_at_that_quality(
    genimage: Path, tmp_path: Path
) -> None:
    options = DebiasOptions(fake_quality="mode", size_window=None)
    result = debias(genimage, tmp_path / "out", options)
    cells = {(r.jpeg_quality, r.chroma_subsampling) for r in result.records}
    assert cells == {(96, "4:4:4")}  # the two q80 4:2:0 reals have no fake to match


def test_bad_files_are_reported_and_colour_modes_converted(genimage: Path, tmp_path: Path) -> None:
    nature = genimage / "gen/train/nature"
    (nature / "text.jpg").write_text("not an image")
    data = (nature / "r01.jpg").read_bytes()
    (nature / "trunc.jpg").write_bytes(data[: len(data) // 2])
    Image.fromarray(_pixels(100, 96, 50)[:, :, 0]).save(nature / "gray.jpg", quality=96)
    Image.new("RGBA", (96, 96), (10, 200, 30, 128)).save(genimage / "gen/train/ai/alpha.png")
    Image.new("P", (96, 96)).save(genimage / "gen/train/ai/palette.png")
    options = DebiasOptions(size_window=None, match_bpp=False)
    result = debias(genimage, tmp_path / "out", options)
    reasons = {Path(d.record.path).name: d.reason for d in result.dropped}
    assert reasons["text.jpg"] == UNREADABLE == reasons["trunc.jpg"]
    assert result.unreadable == 2
    modes = {r.mode for r in result.records}
    assert modes == {"RGB"}
    notes = " ".join(result.notes)
    assert "from RGBA to RGB" in notes and "from P to RGB" in notes


def test_zip_source_and_parquet_manifest(genimage: Path, tmp_path: Path) -> None:
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(genimage.rglob("*.*")):
            zf.write(path, path.relative_to(genimage).as_posix())
    out = tmp_path / "out"
    result = debias(archive, out, DebiasOptions(size_window=None), manifest_format="parquet")
    assert result.manifest == out.resolve() / "manifest.parquet"
    records = read_manifest(out / "manifest.parquet")
    assert records and all(Path(r.path).is_file() for r in records)
    assert len(records) == len(result.records)


def test_output_folder_is_checked(genimage: Path, tmp_path: Path) -> None:
    records = open_dataset(genimage)
    with pytest.raises(ValueError, match="inside the source folder"):
        check_output(genimage / "gen/copy", genimage, records, overwrite=True)
    with pytest.raises(ValueError, match="holds source files"):
        check_output(tmp_path, genimage, records, overwrite=True)
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        check_output(busy, genimage, records, overwrite=False)
    with pytest.raises(ValueError, match=r"no debias\.json"):
        check_output(busy, genimage, records, overwrite=True)
    debias(genimage, tmp_path / "out", DebiasOptions(match_bpp=False))
    check_output(tmp_path / "out", genimage, records, overwrite=True)  # an earlier copy


@pytest.mark.parametrize(
    ("generator", "category", "split"),
    [(None, None, None), ("g", None, None), ("g", None, "train"), (None, "cat", "val"),
     ("g", "cat", "test"), ("g", "a/b", "val"), (None, "cat", "test")],
)  # fmt: skip
def test_output_folders_read_back(
    tmp_path: Path, generator: str | None, category: str | None, split: str | None
) -> None:
    for fake in (False, True):
        folder = tmp_path.joinpath(*output_folders(generator, category, split, fake))
        folder.mkdir(parents=True)
        (folder / "x.jpg").write_bytes(b"")
    entries = discover(tmp_path, name_from_folder=False)  # OUT's name is the user's
    assert sorted(e.label for e in entries) == [0, 1]
    assert {(e.generator, e.category, e.split) for e in entries} == {(generator, category, split)}


def test_source_stem() -> None:
    assert source_stem("/a/b/c.d.png") == "c.d"
    assert source_stem("/a/set.zip!train/REAL/x.jpg") == "x"


def test_probe_of_a_written_file_has_the_crop(genimage: Path, tmp_path: Path) -> None:
    result = debias(genimage, tmp_path / "out", DebiasOptions(crop=48, match_bpp=False))
    assert {(probe(r.path).width, probe(r.path).height) for r in result.records} == {(48, 48)}
