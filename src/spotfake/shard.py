"""Split a listing of images into N disjoint parts that N processes or machines can work through.

A path's part comes from a hash of the path itself (normalised, not resolved), never from its
position, so every machine that is given the same paths agrees on the split whatever the order
of the listing, and the parts are disjoint and cover the listing.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass

ShardPath = str | os.PathLike[str]


def normalise_path(path: ShardPath) -> str:
    """The path as listed, with '.', '..' and doubled separators folded and '/' as separator.

    Not made absolute: machines that mount the data in different places but list it by the
    same relative paths still agree.
    """
    return os.path.normpath(os.fspath(path)).replace(os.sep, "/")


def shard_of(path: ShardPath, count: int) -> int:
    """The part (1..count) a path belongs to: a stable hash (not Python's salted hash())."""
    key = normalise_path(path).encode("utf-8", "surrogateescape")
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") % count + 1


@dataclass(frozen=True)
class Shard:
    """Part ``index`` (1-based) of ``count``: `Shard(2, 4)` is the second quarter."""

    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 1 <= self.index <= self.count:
            raise ValueError(f"shard {self.index}/{self.count}: need 1 <= I <= N")

    @classmethod
    def parse(cls, text: str) -> Shard:
        """'I/N' as written on the command line, such as '1/4'; ValueError for anything else."""
        index, slash, count = text.strip().partition("/")
        if not slash or not index.strip().isdigit() or not count.strip().isdigit():
            raise ValueError(f"{text!r} is not I/N, such as 1/4")
        return cls(int(index), int(count))

    def holds(self, path: ShardPath) -> bool:
        """Whether a path falls in this part."""
        return shard_of(path, self.count) == self.index

    def select(self, paths: Iterable[ShardPath]) -> list[str]:
        """The paths of this part, in their given order."""
        return [os.fspath(path) for path in paths if self.holds(path)]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
