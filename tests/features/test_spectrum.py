"""Azimuthal spectra: exact ring means, paper conventions, and agreement with published spectra."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.features.spectrum import (
    azimuthal_average,
    azimuthal_spectra,
    azimuthal_spectrum,
    log_magnitude_spectrum,
    radial_profiles,
    to_gray,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
DURALL = DATA / "durall"


def pink_noise(height: int, width: int, seed: int) -> np.ndarray:
    """A gray image with a 1/f amplitude spectrum, like natural photos, as 8-bit values."""
    rng = np.random.default_rng(seed)
    freq = np.hypot(np.fft.fftfreq(height)[:, None], np.fft.fftfreq(width)[None, :])
    freq[0, 0] = 1.0
    image = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((height, width))) / freq))
    image = (image - image.mean()) / image.std() * 40.0 + 128.0
    return np.clip(np.round(image), 0, 255)


def ring_radius(height: int, width: int) -> np.ndarray:
    y, x = np.indices((height, width))
    return np.hypot(y - (height - 1) / 2, x - (width - 1) / 2)


def test_to_gray_matches_pillow_luma_exactly() -> None:
    rgb = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    expected = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float64)
    np.testing.assert_array_equal(to_gray(rgb), expected)


def test_to_gray_keeps_gray_and_ignores_alpha() -> None:
    rgba = np.random.default_rng(1).integers(0, 256, (8, 9, 4), dtype=np.uint8)
    np.testing.assert_array_equal(to_gray(rgba), to_gray(rgba[..., :3]))
    np.testing.assert_array_equal(to_gray(rgba[..., 0]), rgba[..., 0].astype(np.float64))
    with pytest.raises(ValueError, match="HxW"):
        to_gray(np.zeros((4, 4, 2), dtype=np.uint8))


@pytest.mark.parametrize("shape", [(64, 64), (48, 80), (33, 20)])
def test_azimuthal_average_of_radial_pattern(shape: tuple[int, int]) -> None:
    radius = ring_radius(*shape)
    rings = np.floor(radius)
    profile = azimuthal_average(rings**2)
    np.testing.assert_allclose(profile, np.arange(profile.size) ** 2)
    assert profile.size == int(radius.max()) + 1
    smooth = azimuthal_average(radius)
    assert np.all((smooth >= np.arange(smooth.size)) & (smooth < np.arange(smooth.size) + 1))


def test_azimuthal_average_of_a_stack_matches_each_image() -> None:
    stack = np.random.default_rng(2).random((3, 20, 30))
    expected = np.stack([azimuthal_average(image) for image in stack])
    np.testing.assert_allclose(azimuthal_average(stack), expected)


@pytest.mark.parametrize("shape", [(64, 64), (7, 9), (96, 160), (161, 97), (1, 10), (2, 3, 16, 12)])
def test_fast_radial_profiles_equal_full_spectrum_path(shape: tuple[int, ...]) -> None:
    gray = np.random.default_rng(3).integers(0, 256, shape).astype(np.float64)
    expected = azimuthal_average(log_magnitude_spectrum(gray))
    np.testing.assert_allclose(radial_profiles(gray), expected, rtol=0, atol=1e-9)


def test_log_magnitude_spectrum_is_centred_and_finite() -> None:
    gray = np.full((16, 16), 100.0)
    spectrum = log_magnitude_spectrum(gray)
    assert np.isfinite(spectrum).all()
    assert np.unravel_index(spectrum.argmax(), spectrum.shape) == (8, 8)  # DC after fftshift
    assert spectrum[8, 8] == pytest.approx(20 * np.log(100.0 * 256))


def test_feature_shape_first_bin_and_range() -> None:
    rgb = np.repeat(pink_noise(128, 128, 0)[..., None], 3, axis=2).astype(np.uint8)
    feature = azimuthal_spectrum(rgb)
    assert feature.shape == (80,)
    assert feature.dtype == np.float64
    assert feature[0] == 1.0
    # A 1/f spectrum falls with frequency, so every later bin lies in (0, 1].
    assert np.all((feature > 0) & (feature <= 1.0))
    assert azimuthal_spectrum(rgb, n_bins=40).shape == (40,)


@pytest.mark.parametrize("shape", [(96, 160, 3), (161, 97, 3), (8, 300, 3)])
def test_non_square_images(shape: tuple[int, int, int]) -> None:
    rgb = np.random.default_rng(4).integers(0, 256, shape, dtype=np.uint8)
    feature = azimuthal_spectrum(rgb)
    assert feature.shape == (80,)
    assert feature[0] == 1.0
    assert np.isfinite(feature).all()


def test_roughly_invariant_to_image_size() -> None:
    # Only roughly: dividing by the lowest ring (as the paper does) leaves a size-dependent scale.
    reference = azimuthal_spectrum(pink_noise(128, 128, 0))
    white = azimuthal_spectrum(np.random.default_rng(5).integers(0, 256, (256, 256)))
    for shape, seed in [((256, 256), 1), ((512, 512), 2), ((192, 320), 3)]:
        assert np.abs(azimuthal_spectrum(pink_noise(*shape, seed)) - reference).max() < 0.15
    assert np.abs(white - reference).max() > 0.3  # the tolerance is far below a real difference


def test_upsampling_artifact_raises_high_frequencies() -> None:
    # Zero insertion (a transposed convolution without smoothing) mirrors the spectrum into the
    # high frequencies: the classic GAN upsampling trace.
    natural = pink_noise(128, 128, 0)
    upsampled = np.zeros((128, 128))
    upsampled[::2, ::2] = pink_noise(64, 64, 7)
    clean, traced = azimuthal_spectrum(natural), azimuthal_spectrum(upsampled)
    quarter = 80 // 4
    assert traced[-quarter:].mean() > clean[-quarter:].mean() + 0.1
    assert traced[-1] > traced[40:60].min() + 0.1  # rises again: a high-frequency peak
    assert (traced - clean).argmax() >= 80 - quarter


def test_checkerboard_peak_lands_in_its_ring() -> None:
    natural = pink_noise(128, 128, 0)
    tile = np.zeros((128, 128))
    tile[::2, ::2] = 20.0  # period-2 pattern: energy at (N/2, 0), (0, N/2) and (N/2, N/2)
    diff = azimuthal_spectrum(natural + tile) - azimuthal_spectrum(natural)
    # Frequency (N/2, 0) sits at radius 63.5 from the centre: ring 63, i.e. profile entry 62 of
    # 88 (rings 1..88) resampled onto 80 bins.
    expected_bin = (63 - 1) / (88 - 1) * (80 - 1)
    assert abs(int(diff.argmax()) - expected_bin) <= 1
    assert diff.max() > 0


def test_batch_matches_single_images_of_mixed_sizes() -> None:
    rng = np.random.default_rng(6)
    shapes = [(32, 32, 3), (48, 40, 3), (32, 32, 3), (64, 64, 3), (48, 40, 3)]
    images = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in shapes]
    expected = np.stack([azimuthal_spectrum(image) for image in images])
    np.testing.assert_allclose(azimuthal_spectra(images), expected, rtol=0, atol=1e-12)
    assert azimuthal_spectra([], n_bins=10).shape == (0, 10)


def test_too_small_image_is_refused() -> None:
    with pytest.raises(ValueError, match="too small"):
        azimuthal_spectrum(np.zeros((4, 4, 3), dtype=np.uint8))


def test_constant_image_gives_a_finite_spectrum() -> None:
    feature = azimuthal_spectrum(np.full((32, 32, 3), 7, dtype=np.uint8))
    assert np.isfinite(feature).all()
    assert feature[0] == 1.0


@pytest.fixture(scope="module")
def published() -> dict[str, np.ndarray]:
    path = DURALL / "celeba-spectra-80.npz"
    if not path.is_file() or not (DURALL / "celeba-gan-fakes").is_dir():
        pytest.skip(f"Durall et al. CelebA data not found under {DURALL}")
    with np.load(path) as data:
        return {"features": data["features"], "label": data["label"]}


def test_image_files_reproduce_published_spectra(published: dict[str, np.ndarray]) -> None:
    """The paper's fakes, read from disk, give the spectra its authors published for them."""
    from spotfake.io import read_image

    files = sorted((DURALL / "celeba-gan-fakes").glob("*.jpg"))[:40]
    features = azimuthal_spectra([read_image(path).pixels for path in files])
    assert features.shape == (40, 80)
    assert np.all(features[:, 0] == 1.0)
    assert np.all((features > 0.2) & (features < 1.2))
    fakes = published["features"][published["label"] == 1]
    reals = published["features"][published["label"] == 0]
    to_fakes = np.linalg.norm(features[:, None] - fakes[None], axis=2).min(axis=1)
    to_reals = np.linalg.norm(features[:, None] - reals[None], axis=2).min(axis=1)
    # Differences left: JPEG decoder (OpenCV vs Pillow) and cubic vs linear resampling.
    assert np.median(to_fakes) < 0.02
    assert to_fakes.max() < 0.05
    assert np.all(to_fakes < to_reals)
