"""Augmentations do what CNNDetection's do, at native resolution."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from spotfake.data.augment import AugmentConfig, augment, gaussian_blur, jpeg_roundtrip, random_crop
from spotfake.io import estimate_jpeg_quality


def _image(seed: int = 0, size: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)


def test_jpeg_roundtrip_encodes_at_the_quality_asked() -> None:
    out = jpeg_roundtrip(_image(), 40)
    buffer = io.BytesIO()
    Image.fromarray(_image()).save(buffer, format="JPEG", quality=40)
    buffer.seek(0)
    with Image.open(buffer) as im:
        assert estimate_jpeg_quality(im.quantization[0]) == (40, True)
        np.testing.assert_array_equal(out, np.asarray(im.convert("RGB")))


def test_blur_removes_high_frequencies() -> None:
    image = _image()
    blurred = gaussian_blur(image, 2.0)
    assert blurred.shape == image.shape
    assert (
        np.abs(np.diff(blurred.astype(int), axis=1)).mean()
        < 0.3 * np.abs(np.diff(image.astype(int), axis=1)).mean()
    )
    np.testing.assert_array_equal(gaussian_blur(image, 0.0), image)


def test_random_crop_keeps_native_pixels() -> None:
    image = _image(size=80)
    rng = np.random.default_rng(0)
    crop = random_crop(image, 32, rng)
    assert crop.shape == (32, 32, 3)
    # The crop is a window of the original: no resampling.
    windows = np.lib.stride_tricks.sliding_window_view(image, (32, 32, 3)).reshape(-1, 32, 32, 3)
    assert any(np.array_equal(crop, w) for w in windows)
    assert random_crop(_image(size=20), 32, rng).shape == (32, 32, 3)


def test_augment_probabilities() -> None:
    image = _image()
    never = AugmentConfig(blur_p=0.0, jpeg_p=0.0, flip_p=0.0)
    np.testing.assert_array_equal(augment(image, never, np.random.default_rng(0)), image)
    always = AugmentConfig(blur_p=0.0, jpeg_p=1.0, jpeg_quality=(30, 30), flip_p=1.0)
    out = augment(image, always, np.random.default_rng(0))
    np.testing.assert_array_equal(out, jpeg_roundtrip(image, 30)[:, ::-1])


def test_random_rescale_covers_the_output_size() -> None:
    from spotfake.data.augment import random_rescale

    rng = np.random.default_rng(0)
    for shape, scale in [((375, 500), 0.5), ((128, 128), 0.5), ((512, 512), 2.0)]:
        out = random_rescale(np.zeros((*shape, 3), np.uint8), scale, 160, rng)
        assert out.shape[0] >= 160 and out.shape[1] >= 160
    # Downscaling by 2 halves the period of a stripe pattern.
    stripes = np.zeros((400, 400, 3), np.uint8)
    stripes[:, ::8] = 255
    half = random_rescale(stripes, 0.5, 100, rng).astype(float).mean(axis=(0, 2))
    peaks = np.flatnonzero(half > half.mean() + half.std())
    assert np.median(np.diff(peaks)) == 4


def test_rand_augment_is_reproducible_from_its_seed() -> None:
    import torch

    from spotfake.data.augment import rand_augment

    image = _image()
    before = torch.get_rng_state()
    first = rand_augment(image, 2, 15, seed=4)
    assert torch.equal(torch.get_rng_state(), before)  # the global generator is left alone
    assert first.shape == image.shape and first.dtype == np.uint8
    np.testing.assert_array_equal(first, rand_augment(image, 2, 15, seed=4))
    outputs = {rand_augment(image, 2, 15, seed=s).tobytes() for s in range(6)}
    assert len(outputs) > 1


def test_noise_has_the_asked_spread_and_leaves_other_recipes_unchanged() -> None:
    from spotfake.data.augment import gaussian_noise

    flat = np.full((128, 128, 3), 128, np.uint8)
    noisy = gaussian_noise(flat, 4.0, np.random.default_rng(0))
    assert noisy.dtype == np.uint8 and abs(float(noisy.astype(float).std()) - 4.0) < 0.2
    np.testing.assert_array_equal(gaussian_noise(flat, 0.0, np.random.default_rng(0)), flat)
    only_noise = AugmentConfig(blur_p=0.0, jpeg_p=0.0, flip_p=0.0, noise_p=1.0, noise_sigma=(3, 3))
    assert not np.array_equal(augment(flat, only_noise, np.random.default_rng(0)), flat)
    # noise off draws nothing: blur, JPEG and flip use the random stream they always used
    image = _image()
    plain = AugmentConfig(blur_p=0.5, jpeg_p=0.5, flip_p=0.5)
    for seed in range(6):
        ours, theirs = np.random.default_rng(seed), np.random.default_rng(seed)
        expected = image
        if theirs.random() < 0.5:
            expected = gaussian_blur(expected, float(theirs.uniform(*plain.blur_sigma)))
        if theirs.random() < 0.5:
            expected = jpeg_roundtrip(expected, int(theirs.integers(30, 101)))
        if theirs.random() < 0.5:
            expected = expected[:, ::-1]
        np.testing.assert_array_equal(augment(image, plain, ours), expected)
        assert ours.random() == theirs.random()
