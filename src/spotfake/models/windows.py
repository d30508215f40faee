"""Where multi-crop inference puts its crop windows: an even grid over the image, native size.

The rule, for N windows of side ``size`` over an H x W image:

- rows x cols is a factorisation of N, or of N - 1 plus the centre window (only where that grid
  does not already hold the centre, i.e. not both rows and cols odd). Among these, the grid whose
  cells are closest to square for the image wins: cols / rows nearest W / H by ratio. Ties go to
  the more balanced grid (smaller |rows - cols|), then to the exact factorisation, then to more
  columns. So N=4 on a square image is 2x2, N=9 is 3x3, N=5 is 2x2 plus the centre, N=2 is 1x2,
  and N=4 on a 1024x192 strip is 1x4.
- Along each side the starts run evenly from 0 to side - size (floored to integers), so the first
  and last windows touch the image's borders; a single window along a side is centred exactly as
  the single centre crop is.
- Where the crop covers a side (side <= size) every start along it is 0: windows that coincide are
  kept once, so an image smaller than the crop is one view, as with a single crop.
"""

from __future__ import annotations

from fractions import Fraction


def crop_windows(height: int, width: int, size: int, count: int) -> list[tuple[int, int]]:
    """Distinct (top, left) corners of up to ``count`` size x size windows, grid row by row."""
    if count < 1 or size < 1:
        raise ValueError("count and size must be >= 1")
    rows, cols, centre = grid_shape(height, width, count)
    corners = [
        (top, left) for top in spread(height, size, rows) for left in spread(width, size, cols)
    ]
    middle = (max(0, height - size) // 2, max(0, width - size) // 2)
    if centre and middle not in corners:
        corners.append(middle)
    return corners


def grid_shape(height: int, width: int, count: int) -> tuple[int, int, bool]:
    """(rows, cols, with_centre) of the grid for ``count`` windows on an image of this aspect."""
    candidates: list[tuple[int, int, bool]] = []
    for cells, centre in ((count, False), (count - 1, True)):
        for rows in range(1, cells + 1):
            cols, rest = divmod(cells, rows)
            if rest or (centre and rows % 2 and cols % 2):
                continue
            candidates.append((rows, cols, centre))

    def rank(grid: tuple[int, int, bool]) -> tuple[Fraction, int, bool, int]:
        rows, cols, centre = grid
        return (_mismatch(rows, cols, height, width), abs(rows - cols), centre, -cols)

    return min(candidates, key=rank)


def spread(length: int, size: int, count: int) -> list[int]:
    """Distinct starts of ``count`` windows from 0 to length - size; one window is centred."""
    room = max(0, length - size)
    if count == 1:
        return [room // 2]
    return sorted({index * room // (count - 1) for index in range(count)})


def _mismatch(rows: int, cols: int, height: int, width: int) -> Fraction:
    """How far the grid's cells are from square, as a ratio >= 1 (exact, so ties are ties)."""
    ratio = Fraction(cols * max(1, height), rows * max(1, width))
    return max(ratio, 1 / ratio)
