"""Sources: folders and zip members listed, split by a stable hash, decoded once."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

from spotfake.data.sources import SourceConfig, list_items, load_examples, split_of


def _jpeg(seed: int, quality: int = 80) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def test_split_is_stable_and_near_the_fraction() -> None:
    keys = [f"folder/{i}.jpg" for i in range(2000)]
    splits = [split_of(k, 0.2) for k in keys]
    assert splits == [split_of(k, 0.2) for k in keys]
    assert 0.17 < splits.count("val") / len(keys) < 0.23
    assert all(split_of(k, 0.0) == "train" for k in keys[:50])


def test_zip_members_and_folders(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        for i in range(6):
            zf.writestr(f"train/FAKE/{i}.jpg", _jpeg(i))
            zf.writestr(f"train/REAL/{i}.jpg", _jpeg(100 + i))
        zf.writestr("train/FAKE/notes.txt", "not an image")
    (tmp_path / "reals").mkdir()
    for i in range(3):
        (tmp_path / "reals" / f"{i}.jpg").write_bytes(_jpeg(200 + i, quality=96))
    fakes = SourceConfig(name="fakes", path="set.zip!train/FAKE/", label=1, limit=4)
    reals = SourceConfig(name="reals", path="reals", label=0)
    items = list_items(fakes, tmp_path, 0.0) + list_items(reals, tmp_path, 0.0)
    assert len(items) == 7
    assert all("!train/FAKE/" in i.location for i in items[:4])
    examples = load_examples(items)
    assert [e.label for e in examples] == [1] * 4 + [0] * 3
    assert [e.quality for e in examples] == [80] * 4 + [96] * 3
    assert all(e.pixels.shape == (16, 16, 3) for e in examples)


def test_a_bang_in_a_folder_or_file_name_is_no_zip_member(tmp_path: Path) -> None:
    """Only "archive.zip!member" names a member; "shots!/a!b.jpg" is a plain file."""
    folder = tmp_path / "shots!" / "in!side.zip.d"
    folder.mkdir(parents=True)
    (folder / "a!b.jpg").write_bytes(_jpeg(1, quality=70))
    with zipfile.ZipFile(tmp_path / "shots!" / "more.ZIP", "w") as zf:
        zf.writestr("x!/1.jpg", _jpeg(2, quality=90))
    plain = SourceConfig(name="plain", path="shots!/in!side.zip.d", label=0)
    zipped = SourceConfig(name="zipped", path="shots!/more.ZIP!x!/", label=1)
    items = list_items(plain, tmp_path, 0.0) + list_items(zipped, tmp_path, 0.0)
    assert [Path(i.location).name for i in items[:1]] == ["a!b.jpg"]
    assert items[1].location == f"{tmp_path}/shots!/more.ZIP!x!/1.jpg"
    assert [e.quality for e in load_examples(items)] == [70, 90]


def test_pixel_store_lazy_and_in_memory_agree(tmp_path: Path) -> None:
    from spotfake.data.dataset import PixelStore, Sample, read_pixels

    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        for i in range(4):
            zf.writestr(f"a/{i}.jpg", _jpeg(i))
    (tmp_path / "x.jpg").write_bytes(_jpeg(9))
    locations = [f"{tmp_path / 'set.zip'}!a/{i}.jpg" for i in range(4)] + [str(tmp_path / "x.jpg")]
    samples = [Sample(loc, 0, "g") for loc in locations]
    lazy, eager = PixelStore.load(samples, False), PixelStore.load(samples, True)
    assert eager.decoded is not None and lazy.decoded is None
    for i in range(len(samples)):
        np.testing.assert_array_equal(lazy[i], eager[i])
        assert lazy[i].shape == (16, 16, 3)
    np.testing.assert_array_equal(lazy.subset([4])[0], read_pixels(locations[4]))


def test_zip_members_read_in_forked_workers(tmp_path: Path) -> None:
    """Archives opened by the parent are reopened in each worker (no shared file offset)."""
    import multiprocessing

    from spotfake.data.dataset import read_pixels

    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        for i in range(8):
            zf.writestr(f"{i}.jpg", _jpeg(i))
    locations = [f"{tmp_path / 'set.zip'}!{i}.jpg" for i in range(8)]
    expected = [read_pixels(loc) for loc in locations]  # the parent opens the archive first
    with multiprocessing.get_context("fork").Pool(2) as pool:
        got = pool.map(read_pixels, locations)
    for a, b in zip(expected, got, strict=True):
        np.testing.assert_array_equal(a, b)


def test_unreadable_zip_member_names_itself(tmp_path: Path) -> None:
    import pytest

    from spotfake.data.dataset import read_pixels
    from spotfake.errors import ImageReadError

    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        zf.writestr("bad.jpg", b"not an image")
    with pytest.raises(ImageReadError, match=r"bad\.jpg"):
        read_pixels(f"{tmp_path / 'set.zip'}!bad.jpg")
    with pytest.raises(ImageReadError, match=r"missing\.jpg"):
        read_pixels(f"{tmp_path / 'set.zip'}!missing.jpg")
