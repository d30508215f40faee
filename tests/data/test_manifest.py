"""Manifests: headers only, round trips through CSV and Parquet, incremental re-indexing."""

from __future__ import annotations

import io
import os
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.data import manifest
from spotfake.data.manifest import (
    index,
    list_dataset,
    open_dataset,
    read_manifest,
    write_manifest,
)
from spotfake.data.sampling import select


def _image(size: tuple[int, int], seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """real/ two JPEGs (q96 4:2:0, q80 4:4:4), fake/ one PNG and one text file named .png."""
    root = tmp_path / "set"
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir()
    _image((40, 30)).save(root / "real/a.jpg", quality=96)
    _image((50, 20), 1).save(root / "real/b.jpg", quality=80, subsampling=0)
    _image((32, 32), 2).save(root / "fake/c.png")
    (root / "fake/d.png").write_text("not an image")
    return root


def test_index_reads_headers_and_labels(dataset: Path) -> None:
    records = {Path(r.path).name: r for r in index(dataset)}
    a, b, c, d = records["a.jpg"], records["b.jpg"], records["c.png"], records["d.png"]
    assert (a.label, a.format, a.width, a.height, a.jpeg_quality) == (0, "JPEG", 40, 30, 96)
    assert (a.chroma_subsampling, b.chroma_subsampling, b.jpeg_quality) == ("4:2:0", "4:4:4", 80)
    assert (c.label, c.format, c.mode, c.jpeg_quality) == (1, "PNG", "RGB", None)
    assert c.file_bytes == (dataset / "fake/c.png").stat().st_size
    assert d.error is not None and "text" in d.error and d.label == 1


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip(dataset: Path, tmp_path: Path, suffix: str) -> None:
    records = index(dataset)
    path = tmp_path / "out" / f"manifest{suffix}"
    write_manifest(records, path)
    assert read_manifest(path) == records
    assert open_dataset(path) == records


def test_paths_below_the_manifest_are_relative(dataset: Path, tmp_path: Path) -> None:
    inside, outside = dataset / "manifest.csv", tmp_path / "elsewhere" / "manifest.csv"
    records = index(dataset)
    write_manifest(records, inside)
    write_manifest(records, outside)
    assert "\nreal/a.jpg," in inside.read_text()
    assert f"\n{dataset}/real/a.jpg," in outside.read_text()


def test_reindex_probes_only_new_and_changed_files(
    dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = index(dataset)
    before = {Path(r.path).name: r for r in first}
    _image((64, 64), 3).save(dataset / "fake/e.png")
    _image((20, 20), 4).save(dataset / "real/b.jpg", quality=70)  # changed
    os.utime(dataset / "real/b.jpg", (1, 1))
    probed: list[str] = []
    real_probe = manifest._probe_entry
    monkeypatch.setattr(
        manifest, "_probe_entry", lambda e: probed.append(Path(e.location).name) or real_probe(e)
    )
    second = {Path(r.path).name: r for r in index(dataset, previous=first)}
    # d.png failed before, so it is tried again; a.jpg and c.png are taken over unchanged.
    assert sorted(probed) == ["b.jpg", "d.png", "e.png"]
    assert (second["b.jpg"].width, second["b.jpg"].jpeg_quality) == (20, 70)
    assert second["e.png"].width == 64 and second["a.jpg"] == before["a.jpg"]


def test_zip_members_are_probed_in_place(tmp_path: Path) -> None:
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, label in enumerate(["REAL", "FAKE"]):
            data = io.BytesIO()
            _image((32, 32), i).save(data, format="JPEG", quality=75)
            zf.writestr(f"train/{label}/{i}.jpg", data.getvalue())
        zf.writestr("train/FAKE/broken.jpg", b"\xff\xd8\xff garbage")
    records = index(archive)
    assert [(r.label, r.split, r.jpeg_quality, r.error is None) for r in records] == [
        (1, "train", 75, True), (1, "train", None, False), (0, "train", 75, True),
    ]  # fmt: skip
    again = index(archive, previous=records)
    assert again == records


def test_parallel_index_matches_serial(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "many" / "real"
    root.mkdir(parents=True)
    for i in range(40):
        _image((8 + i, 8), i).save(root / f"{i:02d}.png")
    serial = index(tmp_path / "many", workers=1)
    monkeypatch.setattr(manifest, "_PARALLEL_MIN", 1)
    monkeypatch.setattr(manifest, "_CHUNK", 7)
    assert index(tmp_path / "many", workers=2) == serial


def test_read_manifest_rejects_a_listing(tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text("path,label\na.png,1\n")
    with pytest.raises(ValueError, match="not a manifest"):
        read_manifest(listing)


# -- a folder that holds its own manifest ------------------------------------------------------


@pytest.fixture
def mislabelled(tmp_path: Path) -> Path:
    """copy/real/{a,b}.png are fakes of "sd" and copy/fake/c.jpg is a real, as copy/manifest.csv
    says (the folders would give the opposite labels); copy/fake/new.png is not listed."""
    root = tmp_path / "copy"
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir()
    _image((16, 16)).save(root / "real/a.png")
    _image((24, 16), 1).save(root / "real/b.png")
    _image((20, 20), 2).save(root / "fake/c.jpg", quality=90)
    records = index(root)
    assert [r.label for r in records] == [1, 0, 0]  # what the layout says
    truth = {"a.png": (1, "sd"), "b.png": (1, "sd"), "c.jpg": (0, None)}
    write_manifest(
        [
            replace(r, label=truth[Path(r.path).name][0], generator=truth[Path(r.path).name][1])
            for r in records
        ],
        root / "manifest.csv",
    )
    _image((8, 8), 3).save(root / "fake/new.png")
    return root


def _labels(records: list) -> dict[str, tuple]:  # type: ignore[type-arg]
    return {Path(r.path).name: (r.label, r.generator, r.error is None) for r in records}


def test_a_folders_manifest_gives_the_labels(mislabelled: Path) -> None:
    expected = {
        "a.png": (1, "sd", True),
        "b.png": (1, "sd", True),
        "c.jpg": (0, None, True),
        "new.png": (1, None, True),  # not listed: read by layout
    }
    assert _labels(open_dataset(mislabelled)) == expected
    assert _labels(index(mislabelled)) == expected
    picked = select(mislabelled, limit=10)
    assert _labels([r for rs in picked.groups.values() for r in rs]) == expected
    assert list_dataset(mislabelled).manifest == str(mislabelled / "manifest.csv")


def test_a_folders_manifest_spares_probing_and_reports_missing_files(
    mislabelled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (mislabelled / "real/b.png").unlink()
    probed: list[str] = []
    real_probe = manifest._probe_entry
    monkeypatch.setattr(
        manifest, "_probe_entry", lambda e: probed.append(Path(e.location).name) or real_probe(e)
    )
    records = _labels(open_dataset(mislabelled))
    assert sorted(probed) == ["b.png", "new.png"]  # a.png and c.jpg are unchanged
    assert records["b.png"] == (1, "sd", False)  # listed but gone: unreadable, still listed
    dropped = list_dataset(mislabelled, drop_missing=True).entries
    assert sorted(Path(e.location).name for e in dropped) == ["a.png", "c.jpg", "new.png"]


def test_a_folders_listing_gives_the_labels(mislabelled: Path) -> None:
    """spotfake attack writes manifest.csv as a path,label,generator,split,... listing."""
    (mislabelled / "manifest.csv").write_text(
        "path,label,generator,split,attack\nreal/a.png,1,pgd,train,pgd\nfake/c.jpg,0,clean,val,\n"
    )
    records = {
        Path(r.path).name: (r.label, r.generator, r.split) for r in open_dataset(mislabelled)
    }
    assert records == {
        "a.png": (1, "pgd", "train"),
        "c.jpg": (0, "clean", "val"),
        "b.png": (0, None, None),  # not listed: read by layout
        "new.png": (1, None, None),
    }


def test_a_manifest_csv_that_is_not_ours_is_left_alone(mislabelled: Path) -> None:
    (mislabelled / "manifest.csv").write_text("name,score\na.png,0.3\n")
    assert list_dataset(mislabelled).manifest is None
    assert {Path(r.path).name: r.label for r in open_dataset(mislabelled)} == {
        "a.png": 0, "b.png": 0, "c.jpg": 1, "new.png": 1,
    }  # fmt: skip
