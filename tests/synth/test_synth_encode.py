"""Fakes are stored like their reals: format, mode, JPEG tables, subsampling, and the rest."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from synth_images import photo

from spotfake.io import probe
from spotfake.io.probe import probe_bytes
from spotfake.synth.encode import StorageError, encode_like, huffman_is_standard, storage_of


def _bytes(image: Image.Image, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _twin(data: bytes, pixels: np.ndarray | None = None) -> tuple[Image.Image, Image.Image]:
    """(real, fake) opened: the fake written from other pixels like the real."""
    real = Image.open(io.BytesIO(data))
    real.load()
    other = photo(real.width, real.height, 99) if pixels is None else pixels
    fake = encode_like(other, storage_of(real, data))
    return real, Image.open(io.BytesIO(fake))


@pytest.mark.parametrize("quality", [60, 90, 97])
@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0"])
def test_jpeg_keeps_tables_quality_and_subsampling(quality: int, subsampling: str) -> None:
    data = _bytes(
        Image.fromarray(photo(45, 37, 1)), "JPEG", quality=quality, subsampling=subsampling
    )
    real, fake = _twin(data)
    assert fake.format == "JPEG" and fake.size == real.size and fake.mode == "RGB"
    assert fake.quantization == real.quantization  # type: ignore[attr-defined]
    a, b = probe_bytes(data, "real"), probe_bytes(_bytes(fake, "JPEG", quality="keep"), "fake")
    assert (a.jpeg_quality, a.chroma_subsampling) == (quality, subsampling)
    assert (b.jpeg_quality, b.chroma_subsampling) == (quality, subsampling)


def test_jpeg_keeps_custom_tables_progressive_and_optimised_huffman() -> None:
    tables = [[3 + (i % 7) for i in range(64)], [9 + (i % 5) for i in range(64)]]
    image = Image.fromarray(photo(64, 48, 2))
    data = _bytes(image, "JPEG", qtables=tables, progressive=True, dpi=(300, 300))
    real, fake = _twin(data)
    assert fake.quantization == real.quantization  # type: ignore[attr-defined]
    assert fake.info.get("progressive") and fake.info.get("dpi") == real.info.get("dpi")
    plain = _bytes(image, "JPEG", quality=90)
    optimised = _bytes(image, "JPEG", quality=90, optimize=True)
    assert huffman_is_standard(plain) and not huffman_is_standard(optimised)
    for source in (plain, optimised):
        opened = Image.open(io.BytesIO(source))
        copy = encode_like(np.asarray(opened), storage_of(opened, source))
        assert huffman_is_standard(copy) == huffman_is_standard(source)
        assert abs(len(copy) - len(source)) / len(source) < 0.05  # same pixels, about the size


def test_grayscale_jpeg_and_png_modes_are_kept() -> None:
    gray = Image.fromarray(photo(40, 30, 3)).convert("L")
    for data in (_bytes(gray, "JPEG", quality=80), _bytes(gray, "PNG")):
        real, fake = _twin(data)
        assert (fake.format, fake.mode, fake.size) == (real.format, "L", real.size)
    rgba = Image.fromarray(
        np.dstack([photo(40, 30, 4), np.arange(1200).reshape(30, 40) % 256]).astype(np.uint8)
    )
    real, fake = _twin(_bytes(rgba, "PNG"))
    assert fake.mode == "RGBA" and np.array_equal(
        np.asarray(fake)[..., 3], np.asarray(real)[..., 3]
    )
    palette = Image.fromarray(photo(40, 30, 5)).quantize(16)
    real, fake = _twin(_bytes(palette, "PNG"))
    assert fake.mode == "P" and (fake.getpalette() or [])[:48] == (real.getpalette() or [])[:48]


def test_png_text_and_icc_profile_are_copied() -> None:
    from PIL import ImageCms, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "camera 1.0")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = _bytes(Image.fromarray(photo(32, 32, 6)), "PNG", pnginfo=info, icc_profile=icc)
    _, fake = _twin(data)
    assert fake.info["Software"] == "camera 1.0" and fake.info["icc_profile"] == icc


def test_webp_stays_lossless_or_lossy_at_a_matching_size() -> None:
    image = Image.fromarray(photo(64, 64, 7))
    _, fake = _twin(_bytes(image, "WEBP", lossless=True), np.asarray(image))
    assert fake.format == "WEBP" and np.array_equal(np.asarray(fake), np.asarray(image))
    lossy = _bytes(image, "WEBP", quality=70)
    fake_bytes = encode_like(np.asarray(image), storage_of(Image.open(io.BytesIO(lossy)), lossy))
    assert abs(len(fake_bytes) - len(lossy)) / len(lossy) < 0.1


def test_what_cannot_be_reproduced_is_refused(tmp_path: Path) -> None:
    frames = [Image.fromarray(photo(16, 16, i)).convert("P") for i in range(2)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    data = (tmp_path / "anim.gif").read_bytes()
    with pytest.raises(StorageError, match="frames"):
        storage_of(Image.open(io.BytesIO(data)), data)
    wide = Image.fromarray((photo(16, 16, 1).astype(np.uint16) * 257)[..., 0]).convert("I;16")
    data = _bytes(wide, "PNG")
    with pytest.raises(StorageError, match="colour mode"):
        storage_of(Image.open(io.BytesIO(data)), data)
    assert probe(tmp_path / "anim.gif").n_frames == 2
