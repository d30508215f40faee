"""Dataset layouts: each layout the field uses gives the right label, generator, split, category."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from spotfake.data.layouts import discover, read_listing


def _touch(root: Path, *names: str) -> None:
    """Create files (content does not matter: discover reads no bytes)."""
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def _rows(entries: list) -> set[tuple]:  # type: ignore[type-arg]
    return {(Path(e.location).name, e.label, e.generator, e.split, e.category) for e in entries}


def test_genimage_layout(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "sdv4/train/ai/a.png", "sdv4/train/nature/b.JPEG", "sdv4/val/ai/c.png",
        "biggan/val/nature/d.JPEG",
    )  # fmt: skip
    assert _rows(discover(tmp_path)) == {
        ("a.png", 1, "sdv4", "train", None),
        ("b.JPEG", 0, "sdv4", "train", None),
        ("c.png", 1, "sdv4", "val", None),
        ("d.JPEG", 0, "biggan", "val", None),
    }


def test_cnndetection_training_layout_names_classes(tmp_path: Path) -> None:
    """<class>/{0_real,1_fake}: the folder is a content class; --generator names the source."""
    _touch(tmp_path, "airplane/0_real/a.png", "airplane/1_fake/b.png", "cat/1_fake/c.png")
    assert _rows(discover(tmp_path, generator="progan")) == {
        ("a.png", 0, "progan", None, "airplane"),
        ("b.png", 1, "progan", None, "airplane"),
        ("c.png", 1, "progan", None, "cat"),
    }


def test_cnndetection_test_layout_names_generators(tmp_path: Path) -> None:
    """<generator>/<class>/{0_real,1_fake} beside <generator>/{0_real,1_fake} (no classes)."""
    _touch(
        tmp_path, "stylegan/car/1_fake/a.png", "stylegan/cat/0_real/b.png", "deepfake/1_fake/c.png"
    )
    assert _rows(discover(tmp_path)) == {
        ("a.png", 1, "stylegan", None, "car"),
        ("b.png", 0, "stylegan", None, "cat"),
        ("c.png", 1, "deepfake", None, None),
    }


def test_real_fake_folders_any_case_with_split(tmp_path: Path) -> None:
    _touch(tmp_path, "train/REAL/a.jpg", "test/FAKE/b.jpg", "fakes/c.webp", "notes/d.png")
    rows = _rows(discover(tmp_path))
    assert rows == {
        ("a.jpg", 0, None, "train", None),
        ("b.jpg", 1, None, "test", None),
        ("c.webp", 1, None, None, None),
        ("d.png", None, None, None, None),  # under no class folder: unlabelled, still listed
    }


def test_non_images_and_hidden_files_are_skipped(tmp_path: Path) -> None:
    _touch(tmp_path, "real/a.png", "real/.b.png", "real/readme.txt", ".cache/real/c.png")
    assert [Path(e.location).name for e in discover(tmp_path)] == ["a.png"]


def test_zip_archive_read_in_place_with_prefix(tmp_path: Path) -> None:
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("train/REAL/1.jpg", "train/FAKE/2.jpg", "test/REAL/3.jpg", "train/x.txt"):
            zf.writestr(name, b"x")
    everything = discover(archive)
    assert [e.location.split("!")[1] for e in everything] == [
        "test/REAL/3.jpg", "train/FAKE/2.jpg", "train/REAL/1.jpg",
    ]  # fmt: skip
    assert all(e.location.startswith(str(archive.resolve()) + "!") for e in everything)
    train = discover(f"{archive}!train/")
    assert [(e.label, e.split) for e in train] == [(1, "train"), (0, "train")]


def test_csv_listing(tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text(
        "path,label,generator,split\nimgs/a.png,fake,sd14,train\n/abs/b.jpg,0,,\nc.png,,,\n"
    )
    entries = read_listing(listing)
    assert [(e.location, e.label, e.generator, e.split) for e in entries] == [
        (str(tmp_path / "imgs/a.png"), 1, "sd14", "train"),
        ("/abs/b.jpg", 0, None, None),
        (str(tmp_path / "c.png"), None, None, None),
    ]
    assert discover(listing) == entries


def test_csv_listing_errors_name_the_line(tmp_path: Path) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text("path,label\na.png,maybe\n")
    with pytest.raises(ValueError, match=r"list.csv:2: label 'maybe'"):
        read_listing(listing)
    listing.write_text("file,label\na.png,1\n")
    with pytest.raises(ValueError, match="path,label"):
        read_listing(listing)


def test_missing_and_unsupported_datasets(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        discover(tmp_path / "nope")
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ValueError, match="not a folder"):
        discover(tmp_path / "x.txt")


def test_zip_locations_split_at_the_first_zip_suffix() -> None:
    from spotfake.data.layouts import is_zip_location, split_zip_location

    assert split_zip_location("a/set.zip!train/x.png") == ("a/set.zip", "train/x.png")
    assert split_zip_location("my!dir/Set.ZIP!x!/1.jpg") == ("my!dir/Set.ZIP", "x!/1.jpg")
    assert split_zip_location("set.zip!") == ("set.zip", "")
    for plain in ("shots!/a.png", "a!b.jpg", "set.zip", "notzip!x.png"):
        assert not is_zip_location(plain)
        with pytest.raises(ValueError, match="not an archive"):
            split_zip_location(plain)


# -- one-generator folders: the folder given is read like one more folder above its files ------


def test_cnndetection_test_set_of_one_generator(tmp_path: Path) -> None:
    """test/<generator>/{0_real,1_fake} names a generator even with no class folders anywhere."""
    _touch(tmp_path, "test/progan/0_real/a.png", "test/progan/1_fake/b.png")
    assert _rows(discover(tmp_path)) == {
        ("a.png", 0, "progan", "test", None),
        ("b.png", 1, "progan", "test", None),
    }


def test_a_test_folder_given_directly_names_generators(tmp_path: Path) -> None:
    _touch(tmp_path, "test/biggan/0_real/a.png", "test/deepfake/1_fake/b.png")
    assert _rows(discover(tmp_path / "test")) == {
        ("a.png", 0, "biggan", "test", None),
        ("b.png", 1, "deepfake", "test", None),
    }


@pytest.mark.parametrize("folder", ["test/progan", "progan"])
def test_a_one_generator_folder_given_directly_is_the_generator(
    tmp_path: Path, folder: str
) -> None:
    _touch(tmp_path, f"{folder}/0_real/a.png", f"{folder}/1_fake/b.png")
    assert _rows(discover(tmp_path / folder)) == {
        ("a.png", 0, "progan", None, None),
        ("b.png", 1, "progan", None, None),
    }
    # --generator is the user's word and comes before the folder's name
    assert {e.generator for e in discover(tmp_path / folder, generator="pro")} == {"pro"}


def test_a_one_generator_folder_with_classes_or_splits(tmp_path: Path) -> None:
    """CNNDetection's stylegan/<class>/{0_real,1_fake}; GenImage's <gen>/{train,val}/{ai,nature}."""
    _touch(tmp_path, "stylegan/car/0_real/a.png", "stylegan/cat/1_fake/b.png")
    assert _rows(discover(tmp_path / "stylegan")) == {
        ("a.png", 0, "stylegan", None, "car"),
        ("b.png", 1, "stylegan", None, "cat"),
    }
    _touch(tmp_path, "sdv4/train/ai/c.png", "sdv4/val/nature/d.JPEG")
    assert _rows(discover(tmp_path / "sdv4")) == {
        ("c.png", 1, "sdv4", "train", None),
        ("d.JPEG", 0, "sdv4", "val", None),
    }


def test_split_folders_and_plain_real_fake_do_not_name_a_generator(tmp_path: Path) -> None:
    """A folder named like a split gives the split; real/fake folders keep no generator."""
    _touch(tmp_path, "val/0_real/a.png", "cifake/train/REAL/b.jpg", "cifake/train/FAKE/c.jpg")
    assert _rows(discover(tmp_path / "val")) == {("a.png", 0, None, "val", None)}
    assert _rows(discover(tmp_path / "cifake")) == {
        ("b.jpg", 0, None, "train", None),
        ("c.jpg", 1, None, "train", None),
    }
    assert {e.generator for e in discover(tmp_path / "val", name_from_folder=False)} == {None}


def test_a_zip_prefix_is_read_like_a_folder_given_directly(tmp_path: Path) -> None:
    archive = tmp_path / "cnndetection.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("progan/0_real/1.png", "progan/1_fake/2.png", "san/1_fake/3.png"):
            zf.writestr(f"test/{name}", b"x")
    progan = discover(f"{archive}!test/progan/")
    assert [(e.location.split("!")[1], e.label, e.generator) for e in progan] == [
        ("test/progan/0_real/1.png", 0, "progan"),
        ("test/progan/1_fake/2.png", 1, "progan"),
    ]
    assert {(e.generator, e.split) for e in discover(archive)} == {
        ("progan", "test"), ("san", "test"),
    }  # fmt: skip
