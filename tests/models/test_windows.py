"""The multi-crop grid: how many windows, where, touching the borders, never the same one twice."""

from __future__ import annotations

import pytest

from spotfake.models.windows import crop_windows, grid_shape, spread


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (1, (1, 1, False)),
        (2, (1, 2, False)),
        (3, (1, 2, True)),
        (4, (2, 2, False)),
        (5, (2, 2, True)),
        (6, (2, 3, False)),
        (9, (3, 3, False)),
    ],
)
def test_grid_on_a_square_image(count: int, expected: tuple[int, int, bool]) -> None:
    assert grid_shape(1024, 1024, count) == expected


def test_grid_follows_the_aspect() -> None:
    assert grid_shape(192, 1024, 4) == (1, 4, False)  # a wide strip: one row
    assert grid_shape(1024, 192, 4) == (4, 1, False)  # a tall strip: one column
    assert grid_shape(1024, 2048, 8) == (2, 4, False)  # 2:1, cells exactly square
    assert grid_shape(1024, 2048, 4) == (2, 2, False)  # 1x4 and 2x2 tie: the balanced one


def test_windows_touch_every_border_and_lie_inside() -> None:
    height, width, size = 1000, 1500, 192
    corners = crop_windows(height, width, size, 9)
    assert len(corners) == len(set(corners)) == 9
    tops = sorted({top for top, _ in corners})
    lefts = sorted({left for _, left in corners})
    assert tops[0] == 0 and tops[-1] == height - size
    assert lefts[0] == 0 and lefts[-1] == width - size
    assert all(0 <= t <= height - size and 0 <= left <= width - size for t, left in corners)
    assert all(isinstance(v, int) for corner in corners for v in corner)


def test_square_grid_positions_are_even_and_deterministic() -> None:
    assert crop_windows(1024, 1024, 192, 4) == [(0, 0), (0, 832), (832, 0), (832, 832)]
    assert crop_windows(1024, 1024, 192, 9) == [
        (top, left) for top in (0, 416, 832) for left in (0, 416, 832)
    ]
    # 2x2 plus the centre, which is where the single centre crop lies
    assert crop_windows(1024, 1024, 192, 5)[-1] == ((1024 - 192) // 2, (1024 - 192) // 2)
    assert crop_windows(1000, 700, 96, 7) == crop_windows(1000, 700, 96, 7)


def test_a_single_window_is_the_centre_crop() -> None:
    assert crop_windows(300, 500, 100, 1) == [(100, 200)]
    assert spread(300, 100, 1) == [100]


def test_a_side_covered_by_the_crop_collapses() -> None:
    # height == crop: 2x2 by the aspect, but every row starts at 0, so it becomes 1x2
    assert grid_shape(192, 250, 4) == (2, 2, False)
    assert crop_windows(192, 250, 192, 4) == [(0, 0), (0, 58)]
    # shorter than the crop in one side: the window keeps that side whole, as the centre crop does
    assert crop_windows(150, 250, 192, 4) == [(0, 0), (0, 58)]
    # covered both ways after the centre is added: 2x2 + centre on a crop-sized image is one view
    assert crop_windows(192, 192, 192, 5) == [(0, 0)]


def test_an_image_smaller_than_the_crop_is_one_view() -> None:
    for count in (2, 4, 5, 9):
        assert crop_windows(100, 120, 192, count) == [(0, 0)]


def test_tiny_room_dedups_positions() -> None:
    assert spread(194, 192, 3) == [0, 1, 2]
    assert spread(193, 192, 4) == [0, 1]
    corners = crop_windows(193, 193, 192, 9)
    assert len(corners) == len(set(corners)) == 4


def test_bad_arguments() -> None:
    with pytest.raises(ValueError):
        crop_windows(100, 100, 32, 0)
