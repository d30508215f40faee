"""JPEG quality estimation and chroma subsampling, checked on files Pillow writes."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from PIL.JpegImagePlugin import JpegImageFile

from spotfake.io import chroma_subsampling, estimate_jpeg_quality, ijg_table, probe

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def test_quality_exact_for_every_pillow_quality(
    rgb_image: Image.Image, write: Callable[..., Path]
) -> None:
    for quality in range(1, 101):
        record = probe(write(f"q{quality}.jpg", rgb_image, quality=quality))
        assert (record.jpeg_quality, record.jpeg_quality_exact) == (quality, True)
        assert record.chroma_subsampling == "4:2:0"


@pytest.mark.parametrize("quality", [10, 50, 75, 90, 96, 100])
def test_quality_exact_with_444(
    rgb_image: Image.Image, write: Callable[..., Path], quality: int
) -> None:
    record = probe(write("a.jpg", rgb_image, quality=quality, subsampling=0))
    assert (record.jpeg_quality, record.jpeg_quality_exact) == (quality, True)
    assert record.chroma_subsampling == "4:4:4"


def test_pillow_tables_are_in_natural_order(rgb_image: Image.Image, write: Callable) -> None:
    with Image.open(write("a.jpg", rgb_image, quality=50)) as image:
        assert isinstance(image, JpegImageFile)
        assert list(image.quantization[0]) == list(ijg_table(50))


def test_custom_table_is_inexact_and_near(rgb_image: Image.Image, write: Callable) -> None:
    table = [value + 1 for value in ijg_table(80)]  # off by one everywhere: not IJG
    record = probe(write("a.jpg", rgb_image, qtables=[table, table]))
    assert record.jpeg_quality_exact is False
    assert record.jpeg_quality is not None and abs(record.jpeg_quality - 80) <= 2


def test_flat_table_maps_to_a_sensible_quality() -> None:
    assert estimate_jpeg_quality([1] * 64) == (100, True)
    quality, exact = estimate_jpeg_quality([2] * 64)
    assert not exact and 95 <= quality <= 99


def test_tables_are_distinct_and_checked() -> None:
    assert len({ijg_table(q) for q in range(1, 101)}) == 100
    with pytest.raises(ValueError, match=r"1\.\.100"):
        ijg_table(0)
    with pytest.raises(ValueError, match="64 entries"):
        estimate_jpeg_quality([1] * 63)


@pytest.mark.parametrize(("subsampling", "expected"), [(0, "4:4:4"), (1, "4:2:2"), (2, "4:2:0")])
def test_chroma_subsampling_of_pillow_files(
    rgb_image: Image.Image, write: Callable[..., Path], subsampling: int, expected: str
) -> None:
    assert probe(write("a.jpg", rgb_image, subsampling=subsampling)).chroma_subsampling == expected


def test_chroma_subsampling_names() -> None:
    assert chroma_subsampling([(1, 1, 1, 0)]) == "4:0:0"
    assert chroma_subsampling([(1, 4, 1, 0), (2, 1, 1, 1), (3, 1, 1, 1)]) == "4:1:1"
    assert chroma_subsampling([(1, 1, 2, 0), (2, 1, 1, 1), (3, 1, 1, 1)]) == "4:4:0"
    assert chroma_subsampling([(1, 2, 2, 0), (2, 1, 1, 1), (3, 2, 1, 1)]) == "2x2,1x1,2x1"
    assert chroma_subsampling([]) is None


def test_grayscale_jpeg(rgb_image: Image.Image, write: Callable[..., Path]) -> None:
    record = probe(write("g.jpg", rgb_image.convert("L"), quality=90))
    assert (record.mode, record.chroma_subsampling, record.jpeg_quality) == ("L", "4:0:0", 90)


def test_imagenet_reals_are_mostly_quality_96() -> None:
    folder = SHARED_DATA / "imagenet-real"
    if not folder.is_dir():
        pytest.skip(f"shared data folder {folder} is absent")
    records = [probe(path) for path in sorted(folder.iterdir())[:200]]
    counts = Counter(record.jpeg_quality for record in records)
    assert counts.most_common(1)[0][0] == 96
    assert counts[96] > len(records) / 2
    assert all(record.jpeg_quality_exact for record in records)
