"""probe(): header facts without decoding pixels, and clear errors for files that are not images."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile, PngImagePlugin, TiffImagePlugin

from spotfake.errors import ImageReadError
from spotfake.io import probe, read_image


@pytest.fixture
def forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call it once the test files are written: from then on any pixel decode fails the test."""

    def refuse(self: Image.Image) -> None:
        raise AssertionError("probe decoded pixels")

    def _forbid() -> None:
        monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
        monkeypatch.setattr(Image.Image, "load", refuse)

    return _forbid


def _frames() -> list[Image.Image]:
    return [Image.new("RGB", (20, 10), (255, 0, 0)), Image.new("RGB", (20, 10), (0, 0, 255))]


@pytest.mark.parametrize("name", ["a.jpg", "a.png", "a.webp", "a.gif", "a.tif", "a.bmp"])
def test_probe_reads_headers_only(
    rgb_image: Image.Image, write: Callable[..., Path], name: str, forbid_decoding: Callable
) -> None:
    path = write(name, rgb_image)
    forbid_decoding()
    record = probe(path)
    assert (record.width, record.height, record.n_frames) == (32, 24, 1)
    assert record.file_bytes == path.stat().st_size
    assert record.path == str(path)


@pytest.mark.parametrize(("name", "fmt"), [("a.gif", "GIF"), ("a.png", "PNG"), ("a.webp", "WEBP")])
def test_probe_counts_frames_without_decoding(
    write: Callable[..., Path], name: str, fmt: str, forbid_decoding: Callable
) -> None:
    first, second = _frames()
    path = write(name, first, save_all=True, append_images=[second])
    forbid_decoding()
    record = probe(path)
    assert (record.format, record.n_frames) == (fmt, 2)


def test_probe_succeeds_where_decoding_fails(rgb_image: Image.Image, tmp_path: Path) -> None:
    full = tmp_path / "full.jpg"
    rgb_image.save(full, quality=90)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    assert probe(cut).jpeg_quality == 90
    with pytest.raises(ImageReadError, match="truncated or corrupt"):
        read_image(cut)


def test_record_fields(rgb_image: Image.Image, write: Callable[..., Path]) -> None:
    record = probe(write("a.jpg", rgb_image, quality=85))
    assert (record.format, record.mode, record.jpeg_quality, record.jpeg_quality_exact) == (
        "JPEG",
        "RGB",
        85,
        True,
    )
    png = probe(write("a.png", rgb_image))
    assert (png.format, png.jpeg_quality, png.chroma_subsampling) == ("PNG", None, None)


def test_format_comes_from_content(rgb_image: Image.Image, tmp_path: Path) -> None:
    path = tmp_path / "really_png.jpg"
    rgb_image.save(path, format="PNG")
    assert probe(path).format == "PNG"
    assert read_image(path).record.format == "PNG"


def test_png_text_keys(rgb_image: Image.Image, write: Callable[..., Path]) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "a cat, Steps: 20")
    info.add_itxt("Comment", "zipped", zip=True)
    info.add_text("Software", "x", zip=True)
    record = probe(write("a.png", rgb_image, pnginfo=info, dpi=(72, 72)))
    assert record.png_text_keys == ["parameters", "Comment", "Software"]


def test_png_text_after_image_data_needs_decoding(
    tmp_path: Path, crafted_png: Callable[..., bytes], text_chunk: Callable[[str, str], bytes]
) -> None:
    path = tmp_path / "late.png"
    path.write_bytes(crafted_png(4, 4, late_chunks=(text_chunk("parameters", "late"),)))
    assert probe(path).png_text_keys == []
    assert read_image(path).record.png_text_keys == ["parameters"]


@pytest.mark.parametrize("name", ["a.jpg", "a.png", "a.webp"])
def test_exif_detection(rgb_image: Image.Image, write: Callable[..., Path], name: str) -> None:
    exif = Image.Exif()
    exif[0x0110] = "camera model"
    assert probe(write(name, rgb_image, exif=exif)).has_exif
    assert not probe(write("plain_" + name, rgb_image)).has_exif


def test_exif_in_tiff(rgb_image: Image.Image, write: Callable[..., Path]) -> None:
    tags = TiffImagePlugin.ImageFileDirectory_v2()
    tags[0x8769] = 8  # a pointer to an Exif IFD (Pillow does not write the IFD itself)
    tags.tagtype[0x8769] = 4
    assert probe(write("e.tif", rgb_image, tiffinfo=tags)).has_exif
    assert not probe(write("p.tif", rgb_image)).has_exif


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="file not found"):
        probe(tmp_path / "nope.jpg")


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="is a directory"):
        probe(tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageReadError, match=r"empty file \(0 bytes\)"):
        probe(tmp_path / "empty.jpg")


def test_text_file(tmp_path: Path) -> None:
    (tmp_path / "notes.jpg").write_text("these are not pixels\nsecond line ünïcode\n")
    with pytest.raises(ImageReadError, match=r"not an image \(the file holds text\)"):
        probe(tmp_path / "notes.jpg")


def test_random_bytes(tmp_path: Path) -> None:
    (tmp_path / "noise.png").write_bytes(np.random.default_rng(1).bytes(4096))
    with pytest.raises(ImageReadError, match="not an image"):
        probe(tmp_path / "noise.png")


def test_unsupported_pillow_format(rgb_image: Image.Image, write: Callable[..., Path]) -> None:
    with pytest.raises(ImageReadError, match="unsupported image format ICO"):
        probe(write("a.ico", rgb_image))


def test_unsupported_heic(tmp_path: Path) -> None:
    (tmp_path / "a.heic").write_bytes(b"\x00\x00\x00\x18ftypheic" + bytes(64))
    with pytest.raises(ImageReadError, match="unsupported image format HEIC"):
        probe(tmp_path / "a.heic")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_permission_denied(rgb_image: Image.Image, write: Callable[..., Path]) -> None:
    path = write("a.png", rgb_image)
    path.chmod(0)
    try:
        with pytest.raises(ImageReadError, match="permission denied"):
            probe(path)
    finally:
        path.chmod(0o644)
