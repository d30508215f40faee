"""Fidelity figures: identical twins score 1.0, blur and added grain move them the right way."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image, ImageFilter
from synth_images import photo

from spotfake.synth.encode import Storage, storage_of
from spotfake.synth.fidelity import PSNR_CAP, image_fidelity, psnr, summarize, within_goals


def _jpeg_storage(pixels: np.ndarray, quality: int = 90) -> Storage:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality, subsampling="4:2:0")
    data = buffer.getvalue()
    return storage_of(Image.open(io.BytesIO(data)), data)


def test_psnr() -> None:
    a = photo(32, 32, 0)
    assert psnr(a, a) == PSNR_CAP
    b = a.astype(int)
    b[0, 0, 0] = (b[0, 0, 0] + 16) % 256
    assert psnr(a, b.astype(np.uint8)) == pytest.approx(10 * math.log10(255**2 * 3072 / 256))


def test_identical_twins_have_ratios_of_one() -> None:
    real = photo(96, 80, 1)
    item = image_fidelity("x", real, real.copy(), _jpeg_storage(real))
    assert item.psnr == PSNR_CAP
    assert item.bpp_ratio == item.hf_ratio == item.hf_energy_ratio == 1.0


def test_blur_lowers_and_grain_raises_the_ratios() -> None:
    real = photo(128, 96, 2)
    storage = _jpeg_storage(real)
    blurred = np.asarray(Image.fromarray(real).filter(ImageFilter.GaussianBlur(1.2)))
    grain = np.random.default_rng(0).normal(0, 12, real.shape)
    noisy = np.clip(real + grain, 0, 255).astype(np.uint8)
    soft = image_fidelity("blur", real, blurred, storage)
    hard = image_fidelity("grain", real, noisy, storage)
    assert soft.bpp_ratio < 0.9 and soft.hf_ratio < 0.5 and soft.hf_energy_ratio < 0.5
    assert hard.bpp_ratio > 1.1 and hard.hf_ratio > 1.5
    summary = summarize([soft, hard], held_out=True)
    assert summary.images == 2 and summary.bpp_ratio == pytest.approx(
        math.sqrt(soft.bpp_ratio * hard.bpp_ratio)
    )
    assert within_goals(summarize([soft], held_out=True)) == {"bpp_ratio": False, "hf_ratio": False}


def test_reals_that_are_not_jpeg_use_fixed_tables_and_sizes_must_match() -> None:
    real = photo(40, 40, 3)
    item = image_fidelity("png", real, real, None)
    assert item.bpp_ratio == 1.0
    with pytest.raises(ValueError, match="differ in size"):
        image_fidelity("png", real, real[:-1], None)
