"""spotfake.shard: parts of a listing are disjoint, cover it, and do not depend on its order."""

from __future__ import annotations

import random

import pytest

from spotfake.shard import Shard, normalise_path, shard_of

PATHS = [f"photos/{folder}/img_{index:05d}.jpg" for folder in "abc" for index in range(400)]


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_are_disjoint_and_cover_the_listing(count: int) -> None:
    parts = [Shard(index, count).select(PATHS) for index in range(1, count + 1)]
    assert sorted(path for part in parts for path in part) == sorted(PATHS)
    assert sum(len(part) for part in parts) == len(PATHS)


def test_shards_are_balanced() -> None:
    sizes = [len(Shard(index, 4).select(PATHS)) for index in range(1, 5)]
    assert all(0.2 * len(PATHS) < size < 0.3 * len(PATHS) for size in sizes), sizes


def test_membership_does_not_depend_on_listing_order() -> None:
    shuffled = PATHS.copy()
    random.Random(3).shuffle(shuffled)
    shard = Shard(2, 5)
    assert set(shard.select(shuffled)) == set(shard.select(PATHS))
    assert shard.select(shuffled) == [path for path in shuffled if path in shard.select(PATHS)]


def test_the_hash_is_the_same_on_every_machine() -> None:
    # Fixed values: Python's salted hash() or a change of hash would move files between parts.
    assert shard_of("photos/img_00001.jpg", 4) == 2
    assert shard_of("photos/img_00001.jpg", 1000) == 722


def test_equivalent_spellings_of_a_path_share_a_part() -> None:
    assert normalise_path("./photos//a/../img.jpg") == "photos/img.jpg"
    assert shard_of("./photos//img.jpg", 97) == shard_of("photos/img.jpg", 97)


@pytest.mark.parametrize(("text", "expected"), [("1/4", Shard(1, 4)), (" 3 / 3 ", Shard(3, 3))])
def test_parse(text: str, expected: Shard) -> None:
    assert Shard.parse(text) == expected
    assert str(expected) == f"{expected.index}/{expected.count}"


@pytest.mark.parametrize("text", ["0/4", "5/4", "1/0", "1", "a/b", "-1/4", "1/4/2"])
def test_parse_refuses_what_is_not_a_part(text: str) -> None:
    with pytest.raises(ValueError):
        Shard.parse(text)
