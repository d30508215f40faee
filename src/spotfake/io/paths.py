"""Expand command-line path arguments (files, folders, glob patterns) into image file paths."""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

IMAGE_EXTENSIONS: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".jfif", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".avif"}
)

PathArg = str | os.PathLike[str]


def iter_image_paths(paths: PathArg | Iterable[PathArg], recursive: bool = False) -> Iterator[str]:
    """Image file paths from files, folders and glob patterns, in argument order.

    - a file is yielded as given, whatever its extension (it was asked for by name);
    - a folder gives its image files (by extension, case-insensitive), sorted, hidden names
      skipped; sub-folders too when ``recursive``;
    - a glob pattern (``*``, ``?``, ``[...]``; ``**`` when ``recursive``) gives its matching
      image files and folders' images, sorted;
    - a path that does not exist, or a pattern that matches no image, is yielded unchanged so
      that the caller reports an error for it instead of dropping it silently.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    for arg in paths:
        text = os.fspath(arg)
        if os.path.isdir(text):
            yield from _folder_images(text, recursive)
        elif os.path.exists(text) or not _has_magic(text):
            yield text
        else:
            found = list(_glob_images(text, recursive))
            yield from found if found else [text]


def is_image_name(name: str) -> bool:
    """True when a file name has one of the image extensions (case-insensitive)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _folder_images(folder: str, recursive: bool) -> Iterator[str]:
    """Image files in a folder (and below when recursive), sorted, hidden names skipped."""
    found: list[str] = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [] if not recursive else [d for d in dirs if not d.startswith(".")]
        found.extend(
            os.path.join(root, name)
            for name in files
            if not name.startswith(".") and is_image_name(name)
        )
    return iter(sorted(found, key=lambda p: Path(p).parts))


def _glob_images(pattern: str, recursive: bool) -> Iterator[str]:
    """Image files matched by a glob pattern, each once; matched folders give their images."""
    seen: set[str] = set()
    for match in sorted(glob.glob(pattern, recursive=recursive)):
        if os.path.isdir(match):
            candidates: Iterable[str] = _folder_images(match, recursive)
        elif os.path.isfile(match) and is_image_name(match):
            candidates = [match]
        else:
            continue
        for path in candidates:
            if path not in seen:
                seen.add(path)
                yield path


def _has_magic(text: str) -> bool:
    """True when a path argument contains glob wildcards."""
    return any(char in text for char in "*?[")
