"""The Stable Diffusion watermark reader against invisible-watermark's own encoder and decoder:
the same bits, agreement after PNG and JPEG, and no false alarm on real photos."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from marked_images import encode, example_rgb, pixels, reencode, watermark
from PIL import Image

from spotfake.provenance import Strength, read_provenance
from spotfake.provenance import watermark as wm

if importlib.util.find_spec("imwatermark") is None or wm.unavailable_reason():
    pytest.skip(
        "watermark tests skipped: invisible-watermark (and OpenCV) not installed "
        "(pip install -e '.[dev]')",
        allow_module_level=True,
    )

SHARED_REALS = Path(__file__).resolve().parents[3] / "shared" / "data" / "imagenet-real"


def _library_bits(rgb: np.ndarray, length: int) -> np.ndarray:
    from imwatermark import WatermarkDecoder

    bgr = np.ascontiguousarray(rgb[:, :, ::-1])
    return np.array(WatermarkDecoder("bits", length).decode(bgr, "dwtDct"), dtype=bool)


def test_haar_constant_is_pywt_s() -> None:
    import pywt

    assert pywt.Wavelet("haar").dec_lo[0] == wm.HAAR


@pytest.mark.parametrize("key", ["sd1", "sdxl"])
def test_decoder_gives_the_library_s_bits(key: str) -> None:
    marked = watermark(example_rgb("coffee.png"), key)  # 600 x 400: not a multiple of 8 wide
    plain = example_rgb("chelsea.png")  # 451 x 300: odd width
    for rgb in (marked, plain, reencode(marked, 90)):
        for length in (136, 48, 32):
            mine = wm.message_bits(wm.block_bits(rgb, max_pixels=10**9), length)
            assert np.array_equal(mine, _library_bits(rgb, length))


def test_a_strip_decodes_like_the_whole_image_with_fewer_votes() -> None:
    marked = watermark(example_rgb("Ansel-Adams.webp"), "sd1")  # 1024 x 1024
    strip = wm.block_bits(marked)
    whole = wm.block_bits(marked, max_pixels=10**9)
    assert len(strip) == len(whole) // 4
    assert np.array_equal(strip, whole[: len(strip)])


@pytest.mark.parametrize("key", ["sd1", "sdxl"])
def test_marked_png_is_decisive(key: str) -> None:
    (finding,) = read_provenance(None, watermark(example_rgb(), key))
    assert finding.signal == "watermark" and finding.strength is Strength.decisive
    assert finding.value["match"] == key and finding.value["agreement"][key] >= 0.95
    assert finding.verdict == "generated" and "bits match" in finding.says


def test_survives_jpeg_95_without_chroma_subsampling_but_not_with_it() -> None:
    """The mark lives in the U channel's 2x2 Haar approximation: 4:4:4 JPEG keeps it, the
    default 4:2:0 (Pillow, libjpeg, most cameras and sites) averages it away."""
    for name, size in (("astronaut.png", 256), ("astronaut.png", None), ("sd15-sample.png", None)):
        marked = watermark(example_rgb(name, size), "sdxl")
        assert wm.agreements(reencode(marked, None))["sdxl"] >= 0.9
        assert wm.agreements(reencode(marked, 95, "4:4:4"))["sdxl"] >= 0.9
        assert wm.agreements(reencode(marked, 95, "4:2:0"))["sdxl"] < wm.SUPPORTING_AGREEMENT


def test_subsampled_jpegs_are_not_checked_and_others_are() -> None:
    marked = watermark(example_rgb(), "sdxl")
    assert read_provenance(encode(marked, "JPEG", quality=95)) == []  # 4:2:0: erased anyway
    (finding,) = read_provenance(encode(marked, "JPEG", quality=95, subsampling="4:4:4"))
    assert finding.strength is Strength.decisive and finding.value["match"] == "sdxl"


def test_small_images_are_not_checked() -> None:
    assert read_provenance(None, pixels(0, 255)) == []
    (finding,) = read_provenance(None, pixels(0, 256))
    assert finding.strength is Strength.none and finding.value["match"] is None


def test_unmarked_photos_are_no_match() -> None:
    for name in ("astronaut.png", "rocket.jpg", "sd15-sample.png", "Ansel-Adams.webp"):
        found = wm.agreements(example_rgb(name))
        assert max(found.values()) < wm.SUPPORTING_AGREEMENT, (name, found)


@pytest.mark.skipif(not SHARED_REALS.is_dir(), reason=f"needs the shared data: {SHARED_REALS}")
def test_no_false_alarm_on_200_real_photos() -> None:
    best = []
    for path in sorted(SHARED_REALS.glob("*.JPEG"))[:200]:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        if rgb.shape[0] * rgb.shape[1] >= wm.MIN_PIXELS:
            best.append(max(wm.agreements(rgb).values()))
    assert len(best) > 150
    assert max(best) < wm.SUPPORTING_AGREEMENT
