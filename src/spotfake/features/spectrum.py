"""1-D azimuthal spectra of Durall et al. 2019 ("Unmasking DeepFakes with simple features").

The feature of one image: 8-bit luma -> 2-D FFT -> 20*log|F| -> mean over rings of integer radius
-> linear resampling of that radial profile to a fixed number of bins -> division by the first bin.
The image itself is never resized: resizing would destroy the generator traces the feature looks
for. Conventions follow the paper's released code (cc-hpc-itwm/DeepFakeDetection) so that spectra
computed here agree with its published feature files (checked in tests/features/test_spectrum.py):

- the ring centre is the geometric centre ((H - 1) / 2, (W - 1) / 2) of the shifted spectrum;
- ring 0 (the DC term, i.e. mean brightness) and the outermost, corner-only ring are dropped;
- bin 0 (the lowest non-DC ring) is divided out, so every spectrum starts at exactly 1.0. Later
  bins are usually below 1 but may exceed it (272 of the 2000 published CelebA spectra do).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import scipy.fft
import scipy.sparse

EPS = 1e-8  # floor of |F| so that exact zeros in the spectrum give a finite logarithm
DEFAULT_BINS = 80  # the paper's CelebA setting
_LUMA_WEIGHTS = (19595.0, 38470.0, 7471.0)  # ITU-R 601 (0.299, 0.587, 0.114) * 2**16, as Pillow
_BATCH_PIXELS = 1 << 18  # small images share FFT calls; bigger stacks fall out of cache (slower)


def to_gray(image: np.ndarray) -> np.ndarray:
    """ITU-R 601 luma in [0, 255] as float64; uint8 RGB is rounded exactly like Pillow's "L".

    Rounding to 8 bits (as Pillow and OpenCV do) keeps spectra equal to those of gray files.
    A 2-D array is taken as gray already; a fourth (alpha) channel is ignored.
    """
    array = np.asarray(image)
    if array.ndim == 2:
        return array.astype(np.float64)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an HxW or HxWx{{1,3,4}} image, got shape {array.shape}")
    if array.shape[2] == 1:
        return array[..., 0].astype(np.float64)
    rgb = array[..., :3]
    if rgb.dtype != np.uint8:
        return np.asarray(rgb, dtype=np.float64) @ (np.asarray(_LUMA_WEIGHTS) / 65536.0)
    # float32 is exact here: every partial sum is an integer below 255 * 2**16 < 2**24.
    total = rgb.astype(np.float32) @ np.asarray(_LUMA_WEIGHTS, dtype=np.float32)
    return np.floor((total + 32768.0) / 65536.0).astype(np.float64)


def log_magnitude_spectrum(gray: np.ndarray) -> np.ndarray:
    """20*log|F| of the centred 2-D FFT over the last two axes, floored at 20*log(EPS).

    Computed as 10*log(|F|^2 + EPS^2): the paper's 20*log(|F| + EPS) up to rounding wherever
    |F| is not within a few orders of EPS, and finite where the spectrum is exactly zero.
    """
    spectrum = scipy.fft.fft2(np.asarray(gray, dtype=np.float64), axes=(-2, -1), workers=-1)
    return _log_power(scipy.fft.fftshift(spectrum, axes=(-2, -1)))


def _log_power(spectrum: np.ndarray) -> np.ndarray:
    """10*log(|F|^2 + EPS^2), in place on a fresh real array (avoids the sqrt of np.abs)."""
    power = spectrum.real**2
    power += spectrum.imag**2
    power += EPS**2
    np.log(power, out=power)
    power *= 10.0
    return power


@lru_cache(maxsize=32)
def _ring_map(height: int, width: int) -> np.ndarray:
    """Integer distance of every pixel from ((H - 1) / 2, (W - 1) / 2): its ring index."""
    y, x = np.indices((height, width), dtype=np.float64)
    rings = np.hypot(y - (height - 1) / 2.0, x - (width - 1) / 2.0).astype(np.intp)
    rings.setflags(write=False)
    return rings


def azimuthal_average(spectrum: np.ndarray) -> np.ndarray:
    """Mean of a 2-D array (or a stack of them) over rings of integer radius from its centre.

    Entry k averages the pixels at distance [k, k+1) from ((H - 1) / 2, (W - 1) / 2); works for
    any HxW, square or not. A stack (..., H, W) gives (..., n_rings).
    """
    array = np.asarray(spectrum, dtype=np.float64)
    if array.ndim < 2:
        raise ValueError(f"expected at least 2 dimensions, got shape {array.shape}")
    height, width = array.shape[-2:]
    rings = _ring_map(height, width).ravel()
    counts = np.bincount(rings)
    flat = array.reshape(-1, height * width)
    n_rings = counts.size
    labels = (np.arange(flat.shape[0])[:, None] * n_rings + rings[None, :]).ravel()
    sums = np.bincount(labels, weights=flat.ravel(), minlength=flat.shape[0] * n_rings)
    profile = sums.reshape(flat.shape[0], n_rings) / counts
    return profile.reshape(*array.shape[:-2], n_rings)


@lru_cache(maxsize=32)
def _half_plane_averager(height: int, width: int) -> scipy.sparse.csr_matrix:
    """Sparse (n_rings, H * (W//2 + 1)) matrix: ring means of a full spectrum from its rfft2 half.

    A real image's spectrum is conjugate-symmetric, so the missing columns k2 > W/2 equal the
    stored entries at (-k1 mod H, W - k2); each stored entry therefore counts for its own ring
    and, for 1 <= k2 <= (W - 1) // 2, for its mirror's ring. Rows are pre-divided by ring size.
    """
    full = np.fft.ifftshift(_ring_map(height, width))  # ring of each unshifted frequency
    half_cols = width // 2 + 1
    n_mirrored = (width - 1) // 2
    direct = full[:, :half_cols]
    mirrored = full[(-np.arange(height)) % height][:, width - np.arange(1, n_mirrored + 1)]
    index = np.arange(height * half_cols).reshape(height, half_cols)
    rows = np.concatenate([direct.ravel(), mirrored.ravel()])
    cols = np.concatenate([index.ravel(), index[:, 1 : n_mirrored + 1].ravel()])
    counts = np.bincount(full.ravel())
    matrix = scipy.sparse.csr_matrix(
        (1.0 / counts[rows], (rows, cols)), shape=(counts.size, height * half_cols)
    )
    return matrix


def radial_profiles(gray: np.ndarray) -> np.ndarray:
    """azimuthal_average(log_magnitude_spectrum(gray)) for gray (..., H, W), about 2x faster.

    Uses the real FFT and the spectrum's symmetry instead of the full complex spectrum.
    """
    array = np.asarray(gray, dtype=np.float64)
    height, width = array.shape[-2:]
    log_power = _log_power(scipy.fft.rfft2(array, axes=(-2, -1), workers=-1))
    averager = _half_plane_averager(height, width)
    flat = log_power.reshape(-1, averager.shape[1])
    profiles = np.stack([averager @ row for row in flat])
    return profiles.reshape(*array.shape[:-2], averager.shape[0])


def resample_linear(profiles: np.ndarray, n_bins: int) -> np.ndarray:
    """Linear interpolation of profiles (..., L) onto n_bins points spanning first to last entry."""
    length = profiles.shape[-1]
    if length < 2 or n_bins < 2:
        raise ValueError(f"cannot resample {length} points to {n_bins}: need at least 2 of each")
    position = np.linspace(0.0, length - 1, n_bins)
    left = np.minimum(np.floor(position).astype(np.intp), length - 2)
    frac = position - left
    return profiles[..., left] * (1.0 - frac) + profiles[..., left + 1] * frac


def profile_to_feature(profiles: np.ndarray, n_bins: int = DEFAULT_BINS) -> np.ndarray:
    """Drop the DC and corner rings, resample to n_bins, divide by the first bin."""
    if profiles.shape[-1] < 4:
        raise ValueError("image too small for a spectrum: need at least 6 pixels on a side")
    resampled = resample_linear(profiles[..., 1:-1], n_bins)
    first = resampled[..., :1]
    # A constant image has every ring at 20*log(EPS); guard the division all the same.
    first = np.where(np.abs(first) < 1e-12, 1.0, first)
    return resampled / first


def azimuthal_spectrum(image: np.ndarray, n_bins: int = DEFAULT_BINS) -> np.ndarray:
    """The paper's feature of one RGB or gray image: a float64 vector of length n_bins, [0] == 1."""
    return profile_to_feature(radial_profiles(to_gray(image)), n_bins)


def azimuthal_spectra(images: Sequence[np.ndarray], n_bins: int = DEFAULT_BINS) -> np.ndarray:
    """Features of many images of any sizes, shape (N, n_bins); same-size images share FFT calls."""
    out = np.empty((len(images), n_bins), dtype=np.float64)
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, image in enumerate(images):
        groups.setdefault(np.shape(image), []).append(index)
    for shape, indices in groups.items():
        per_call = max(1, _BATCH_PIXELS // max(1, int(np.prod(shape[:2]))))
        for start in range(0, len(indices), per_call):
            chunk = indices[start : start + per_call]
            gray = np.stack([to_gray(images[i]) for i in chunk])
            out[chunk] = profile_to_feature(radial_profiles(gray), n_bins)
    return out
