"""Quantisation tables as facts (values, fingerprint, IJG or not), the one JPEG writer, and the
file metadata the prober reads (camera, XMP, ICC profile, progressive)."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from spotfake.io.jpeg import (
    IJG_CHROMA_TABLE,
    JpegWriteError,
    encode_jpeg,
    format_tables,
    ijg_table,
    parse_tables,
    standard_quality,
    tables_fingerprint,
    writable_subsampling,
)
from spotfake.io.probe import probe, probe_bytes

XMP = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'


def agency_tables(quality: int = 85) -> list[list[int]]:
    """Tables that round to an IJG quality without being IJG's (as agencies and cameras write)."""
    luma = list(ijg_table(quality))
    chroma = list(ijg_table(quality, IJG_CHROMA_TABLE))
    for i in (5, 17, 40, 63):
        luma[i] += 1
    chroma[9] -= 1
    return [luma, chroma]


@pytest.mark.parametrize("quality", [1, 20, 50, 75, 85, 96, 100])
def test_pillow_tables_are_standard_at_their_quality(rgb_image: Image.Image, quality: int) -> None:
    record = probe_bytes(encode_jpeg(rgb_image, quality=quality), "a.jpg")
    assert record.jpeg_tables is not None and record.jpeg_tables_standard is True
    assert standard_quality(parse_tables(record.jpeg_tables)) == quality
    assert record.jpeg_quality == quality


def test_tables_that_round_to_a_quality_are_not_standard(rgb_image: Image.Image) -> None:
    custom = probe_bytes(encode_jpeg(rgb_image, tables=agency_tables()), "custom.jpg")
    ijg = probe_bytes(encode_jpeg(rgb_image, quality=85), "ijg.jpg")
    assert custom.jpeg_quality == ijg.jpeg_quality == 85  # the quality number cannot tell them
    assert custom.jpeg_tables_standard is False and custom.jpeg_quality_exact is False
    assert custom.jpeg_tables_id != ijg.jpeg_tables_id
    assert parse_tables(custom.jpeg_tables or "") == tuple(map(tuple, agency_tables()))


def test_fingerprint_is_stable_and_exact() -> None:
    tables = tuple(tuple(t) for t in agency_tables())
    assert tables_fingerprint(tables) == tables_fingerprint(parse_tables(format_tables(tables)))
    changed = ((*tables[0][:-1], tables[0][-1] + 1), tables[1])
    assert tables_fingerprint(changed) != tables_fingerprint(tables)
    assert len(tables_fingerprint(tables)) == 12


def test_chroma_table_alone_breaks_the_standard() -> None:
    luma, chroma = ijg_table(90), list(ijg_table(90, IJG_CHROMA_TABLE))
    assert standard_quality((luma, tuple(chroma))) == 90
    chroma[0] += 1
    assert standard_quality((luma, tuple(chroma))) is None
    assert standard_quality((luma,)) == 90  # grayscale: the luminance table alone


def test_parse_tables_refuses_malformed_text() -> None:
    with pytest.raises(ValueError, match="quantisation"):
        parse_tables("1,2,3")
    with pytest.raises(ValueError):
        parse_tables("")


def test_writer_keeps_exact_tables_and_layout(rgb_image: Image.Image) -> None:
    tables = agency_tables(70)
    for layout in ("4:4:4", "4:2:2", "4:2:0"):
        data = encode_jpeg(rgb_image, tables=tables, subsampling=layout)
        with Image.open(io.BytesIO(data)) as image:
            assert [list(image.quantization[k]) for k in sorted(image.quantization)] == tables
        assert probe_bytes(data, "a.jpg").chroma_subsampling == layout


def test_writer_refuses_what_it_cannot_write(rgb_image: Image.Image) -> None:
    with pytest.raises(JpegWriteError, match="4:4:0"):
        encode_jpeg(rgb_image, quality=80, subsampling="4:4:0")
    with pytest.raises(ValueError, match="one of the two"):
        encode_jpeg(rgb_image, quality=80, tables=agency_tables())
    with pytest.raises(ValueError, match="one of the two"):
        encode_jpeg(rgb_image)
    assert writable_subsampling("4:4:0") == "4:2:0"
    assert writable_subsampling("4:2:2") == "4:2:2"


def test_progressive_is_recorded(rgb_image: Image.Image) -> None:
    assert probe_bytes(encode_jpeg(rgb_image, quality=80, progressive=True), "p.jpg").progressive
    assert probe_bytes(encode_jpeg(rgb_image, quality=80), "b.jpg").progressive is False
    png = io.BytesIO()
    rgb_image.save(png, "PNG")
    assert probe_bytes(png.getvalue(), "a.png").progressive is None


def test_camera_xmp_and_icc_are_recorded(
    rgb_image: Image.Image, write: Callable[..., Path]
) -> None:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "Canon EOS 5D"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    record = probe(write("cam.jpg", rgb_image, exif=exif, xmp=XMP.encode(), icc_profile=icc))
    assert record.camera == "Canon EOS 5D"  # the make is not repeated
    assert record.has_xmp and record.has_exif
    assert record.icc_profile and "sRGB" in record.icc_profile
    bare = probe(write("bare.jpg", rgb_image))
    assert (bare.camera, bare.has_xmp, bare.icc_profile) == (None, False, None)


def test_png_xmp_and_unnamed_profile(rgb_image: Image.Image, write: Callable[..., Path]) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", XMP)
    record = probe(write("a.png", rgb_image, pnginfo=info, icc_profile=b"not a profile"))
    assert record.has_xmp
    assert record.icc_profile == "unnamed"
    assert record.camera is None
