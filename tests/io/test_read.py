"""read_image(): one decode per file, correct RGB for every mode, a clear error for bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from spotfake.errors import ImageReadError
from spotfake.io import DEFAULT_MAX_PIXELS, read_image


def _check_rgb(pixels: np.ndarray, height: int, width: int) -> None:
    assert pixels.shape == (height, width, 3)
    assert pixels.dtype == np.uint8
    assert pixels.flags.c_contiguous


def test_rgb_png_is_lossless(rgb_image: Image.Image, write: Callable[..., Path]) -> None:
    loaded = read_image(write("a.png", rgb_image))
    _check_rgb(loaded.pixels, 24, 32)
    np.testing.assert_array_equal(loaded.pixels, np.asarray(rgb_image))
    assert (loaded.record.format, loaded.record.mode, loaded.record.width) == ("PNG", "RGB", 32)


def test_rgb_jpeg_matches_pillow_decode(rgb_image: Image.Image, write: Callable) -> None:
    path = write("a.jpg", rgb_image, quality=96)
    loaded = read_image(path)
    with Image.open(path) as image:
        np.testing.assert_array_equal(loaded.pixels, np.asarray(image))
    assert loaded.record.jpeg_quality == 96


@pytest.mark.parametrize("name", ["a.jpg", "a.png", "a.gif", "a.webp", "a.tif", "a.bmp"])
def test_truncated_files(rgb_image: Image.Image, write: Callable[..., Path], name: str) -> None:
    path = write(name, rgb_image.resize((128, 96)))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageReadError, match="truncated or corrupt"):
        read_image(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_garbage_after_valid_header(rgb_image: Image.Image, write: Callable[..., Path]) -> None:
    path = write("a.png", rgb_image)
    data = path.read_bytes()
    path.write_bytes(data[:41] + np.random.default_rng(2).bytes(len(data) - 41))
    with pytest.raises(ImageReadError, match="corrupt"):
        read_image(path)


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: None, "file not found"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_text("hello\n"), "not an image"),
        (lambda p: p.write_bytes(np.random.default_rng(3).bytes(999)), "not an image"),
    ],
    ids=["missing", "directory", "empty", "text", "random-bytes"],
)
def test_bad_files(tmp_path: Path, setup: Callable[[Path], object], message: str) -> None:
    path = tmp_path / "bad.jpg"
    setup(path)
    with pytest.raises(ImageReadError, match=message):
        read_image(path)


def test_permission_error_is_reported(
    rgb_image: Image.Image, write: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write("a.png", rgb_image)

    def deny(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Image, "open", deny)
    with pytest.raises(ImageReadError, match="permission denied"):
        read_image(path)


def test_small_pixel_cap(rgb_image: Image.Image, write: Callable[..., Path]) -> None:
    path = write("a.png", rgb_image)
    with pytest.raises(ImageReadError, match=r"too many pixels \(32 x 24 = 768 > 767\)"):
        read_image(path, max_pixels=767)
    assert read_image(path, max_pixels=768).pixels.shape == (24, 32, 3)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("size", [(10_000, 10_000), (100_000, 100_000), (DEFAULT_MAX_PIXELS, 2)])
def test_decompression_bomb_header(
    tmp_path: Path, crafted_png: Callable[..., bytes], size: tuple[int, int]
) -> None:
    path = tmp_path / "bomb.png"
    path.write_bytes(crafted_png(*size))
    with pytest.raises(ImageReadError, match="too many pixels"):
        read_image(path)


def test_animated_gif_gives_first_frame(write: Callable[..., Path]) -> None:
    red = Image.new("RGB", (20, 10), (255, 0, 0))
    blue = Image.new("RGB", (20, 10), (0, 0, 255))
    loaded = read_image(write("a.gif", red, save_all=True, append_images=[blue]))
    _check_rgb(loaded.pixels, 10, 20)
    assert loaded.record.n_frames == 2
    assert (loaded.pixels == [255, 0, 0]).all()


@pytest.mark.parametrize("name", ["a.png", "a.webp"])
def test_animated_png_and_webp(write: Callable[..., Path], name: str) -> None:
    red = Image.new("RGB", (20, 10), (255, 0, 0))
    blue = Image.new("RGB", (20, 10), (0, 0, 255))
    loaded = read_image(write(name, red, save_all=True, append_images=[blue], lossless=True))
    assert loaded.record.n_frames == 2
    assert (loaded.pixels == [255, 0, 0]).all()


def test_cmyk_jpeg(write: Callable[..., Path]) -> None:
    colours = np.zeros((16, 32, 3), dtype=np.uint8)
    colours[:, :16] = (200, 40, 40)
    colours[:, 16:] = (30, 160, 220)
    path = write("cmyk.jpg", Image.fromarray(colours).convert("CMYK"), quality=95)
    loaded = read_image(path)
    assert loaded.record.mode == "CMYK"
    _check_rgb(loaded.pixels, 16, 32)
    assert np.abs(loaded.pixels.astype(int) - colours).mean() < 6


def test_16bit_png_is_scaled_not_clipped(write: Callable[..., Path]) -> None:
    values = np.array([[0, 128, 129, 257, 1000, 32767, 65278, 65535]], dtype=np.uint16)
    loaded = read_image(write("deep.png", Image.fromarray(values)))
    assert loaded.record.mode == "I;16"
    expected = np.rint(values / 257).astype(np.uint8)
    np.testing.assert_array_equal(loaded.pixels[..., 0], expected)
    np.testing.assert_array_equal(loaded.pixels[..., 2], expected)


def test_int32_tiff_is_read_as_16bit(write: Callable[..., Path]) -> None:
    values = np.array([[0, 257, 65535]], dtype=np.int32)
    assert read_image(write("i.tif", Image.fromarray(values))).pixels[0, :, 1].tolist() == [
        0,
        1,
        255,
    ]
    with pytest.raises(ImageReadError, match=r"must lie in \[0, 65535\]"):
        read_image(write("big.tif", Image.fromarray(values * 2)))


def test_float_tiff(write: Callable[..., Path]) -> None:
    values = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    assert read_image(write("f.tif", Image.fromarray(values))).pixels[0, :, 0].tolist() == [
        0,
        128,
        255,
    ]
    with pytest.raises(ImageReadError, match="float pixel values"):
        read_image(write("g.tif", Image.fromarray(values * 3)))


def test_palette_png_with_transparency(write: Callable[..., Path]) -> None:
    image = Image.new("P", (4, 2), 1)
    image.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    image.putpixel((0, 0), 0)
    path = write("p.png", image, transparency=bytes([0, 255]))
    loaded = read_image(path)
    assert loaded.record.mode == "P"
    assert loaded.pixels[0, 0].tolist() == [10, 20, 30]  # stored colour, alpha dropped
    assert loaded.pixels[1, 3].tolist() == [200, 100, 50]


@pytest.mark.parametrize(
    ("mode", "value", "expected"),
    [
        ("L", 77, [77, 77, 77]),
        ("LA", (77, 0), [77, 77, 77]),
        ("RGBA", (10, 20, 30, 0), [10, 20, 30]),
        ("1", 1, [255, 255, 255]),
    ],
)
def test_modes_to_rgb(
    write: Callable[..., Path], mode: str, value: object, expected: list[int]
) -> None:
    loaded = read_image(write("m.png", Image.new(mode, (5, 3), value)))  # type: ignore[arg-type]
    assert loaded.record.mode == mode
    _check_rgb(loaded.pixels, 3, 5)
    assert (loaded.pixels == expected).all()


def test_grayscale_jpeg(write: Callable[..., Path]) -> None:
    loaded = read_image(write("g.jpg", Image.new("L", (8, 8), 90), quality=100))
    assert loaded.record.mode == "L"
    assert np.abs(loaded.pixels.astype(int) - 90).max() <= 1
    assert (loaded.pixels[..., 0] == loaded.pixels[..., 2]).all()


def test_exif_orientation_is_not_applied(
    rgb_image: Image.Image, write: Callable[..., Path]
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    loaded = read_image(write("o.png", rgb_image, exif=exif))
    np.testing.assert_array_equal(loaded.pixels, np.asarray(rgb_image))
    assert loaded.record.has_exif


def test_multi_picture_jpeg_gives_first_picture(write: Callable[..., Path]) -> None:
    red = Image.new("RGB", (16, 8), (255, 0, 0))
    blue = Image.new("RGB", (16, 8), (0, 0, 255))
    loaded = read_image(write("a.jpg", red, format="MPO", save_all=True, append_images=[blue]))
    assert (loaded.record.format, loaded.record.n_frames) == ("MPO", 2)
    assert loaded.record.jpeg_quality == 75
    assert np.abs(loaded.pixels.astype(int) - [255, 0, 0]).max() <= 2
