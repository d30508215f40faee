"""Turn the PATH arguments of a subcommand (files, folders, globs, '-') into a list of paths."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO

STDIN_MARK = "-"


def read_path_list(stream: IO[str]) -> Iterator[str]:
    """Paths from a stream, one per line; blank lines are skipped, spaces inside names kept."""
    for line in stream:
        path = line.rstrip("\r\n")
        if path.strip():
            yield path


def expand_arguments(
    arguments: Iterable[str], stdin: IO[str], recursive: bool = False
) -> list[str]:
    """Expand files, folders and glob patterns; '-' reads more paths from stdin.

    A list rather than a stream: the count drives the progress bar and it is cheap next to
    decoding the images.
    """
    from spotfake.io import iter_image_paths

    def raw() -> Iterator[str]:
        for argument in arguments:
            if argument == STDIN_MARK:
                yield from read_path_list(stdin)
            else:
                yield argument

    return list(iter_image_paths(raw(), recursive=recursive))


def expand_listings(files: list[str]) -> list[str]:
    """A manifest (CSV or Parquet) or a ``path,label`` CSV listing among the inputs stands for
    the images it names, in its order; other paths are kept. ValueError or OSError when such a
    file cannot be read."""
    from spotfake.data.manifest import listed_paths

    expanded: list[str] = []
    for path in files:
        expanded.extend(listed_paths(path) or [path])
    return expanded
