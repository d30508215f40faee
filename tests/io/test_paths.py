"""iter_image_paths(): files, folders, globs; paths that give nothing are passed on, not dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from spotfake.io import iter_image_paths


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """tmp_path/{b.PNG, a.jpg, notes.txt, .hidden.jpg, sub/c.webp, sub/deep/d.JFIF, .git/e.jpg}."""
    for name in ["b.PNG", "a.jpg", "notes.txt", ".hidden.jpg", "sub/c.webp", "sub/deep/d.JFIF"]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "e.jpg").write_bytes(b"x")
    return tmp_path


def _rel(paths: list[str], root: Path) -> list[str]:
    return [Path(path).relative_to(root).as_posix() for path in paths]


def test_folder(tree: Path) -> None:
    assert _rel(list(iter_image_paths([tree])), tree) == ["a.jpg", "b.PNG"]


def test_folder_recursive(tree: Path) -> None:
    found = _rel(list(iter_image_paths(str(tree), recursive=True)), tree)
    assert found == ["a.jpg", "b.PNG", "sub/c.webp", "sub/deep/d.JFIF"]


def test_file_named_explicitly_is_kept(tree: Path) -> None:
    assert list(iter_image_paths([str(tree / "notes.txt")])) == [str(tree / "notes.txt")]


def test_glob(tree: Path) -> None:
    assert _rel(list(iter_image_paths([str(tree / "*")])), tree) == ["a.jpg", "b.PNG", "sub/c.webp"]
    assert _rel(list(iter_image_paths([str(tree / "*.jpg")])), tree) == ["a.jpg"]
    assert _rel(list(iter_image_paths([str(tree / "?.PNG")])), tree) == ["b.PNG"]


def test_recursive_glob(tree: Path) -> None:
    found = _rel(list(iter_image_paths([str(tree / "**" / "*.*")], recursive=True)), tree)
    assert found == ["a.jpg", "b.PNG", "sub/c.webp", "sub/deep/d.JFIF"]
    everything = _rel(list(iter_image_paths([str(tree / "**")], recursive=True)), tree)
    assert sorted(everything) == sorted(found)  # each file once


def test_missing_and_unmatched_are_yielded(tree: Path) -> None:
    missing = str(tree / "missing.jpg")
    unmatched = str(tree / "*.gif")
    assert list(iter_image_paths([missing, unmatched])) == [missing, unmatched]


def test_argument_order_is_kept(tree: Path) -> None:
    args = [str(tree / "sub"), str(tree / "a.jpg")]
    assert _rel(list(iter_image_paths(args)), tree) == ["sub/c.webp", "a.jpg"]
