"""Counterparts: each generator's operation done without a generator, labelled real.

Aligned fakes differ from their twins in two ways: the generator's traces, and what the
operation itself does (a super-resolved image lost detail to the downscale; an autoencoder's
reconstruction is smoother). A detector trained on real/fake twins alone learns the second
("smooth means generated") and flags every soft photo. A counterpart has the operation's
effect without the generator's traces, so training on it leaves only the traces to learn:

- super-resolution: the same reduced real, brought back to its size by bicubic interpolation
  (the resampler of editors, browsers and most upscaled photos on the web);
- reconstruction and translation: the real under a Gaussian blur whose sigma is found by
  bisection so that the high-frequency energy (``fidelity.band_power``, half to all of the
  Nyquist frequency) equals the fake's. Blur was chosen over JPEG re-encoding because it
  removes high frequencies the way a decoder does, smoothly, without adding the 8x8 block
  grid a detector could key on. A fake at least as sharp as its real gets the real itself.

Both shared helpers, ``reduce`` and ``enlarge``, are also the super-resolution generators' own
input path, so a fake and its counterpart start from identical pixels.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from spotfake.synth.zoo.base import GeneratorCard

MAX_SIGMA = 6.0
_STEPS = 14  # bisection steps: sigma to within MAX_SIGMA / 2**14


def reduce(pixels: np.ndarray, factor: int) -> np.ndarray:
    """The image mirror-padded to a multiple of factor, then shrunk by it (bicubic, with
    Pillow's antialiasing): what a super-resolution model is given."""
    if factor == 1:
        return pixels
    h, w = pixels.shape[:2]
    ph, pw = -h % factor, -w % factor
    if ph or pw:
        mode: Literal["reflect", "edge"] = "reflect" if ph < h and pw < w else "edge"
        pixels = np.pad(pixels, ((0, ph), (0, pw), (0, 0)), mode=mode)
    size = (pixels.shape[1] // factor, pixels.shape[0] // factor)
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.BICUBIC))


def enlarge(small: np.ndarray, shape: tuple[int, ...], factor: int) -> np.ndarray:
    """A reduced image brought back by bicubic interpolation, cropped to shape (H, W, ...)."""
    size = (small.shape[1] * factor, small.shape[0] * factor)
    big = np.asarray(Image.fromarray(small).resize(size, Image.Resampling.BICUBIC))
    return np.ascontiguousarray(big[: shape[0], : shape[1]])


def interpolated(pixels: np.ndarray, factor: int) -> np.ndarray:
    """The super-resolution counterpart: reduce, then enlarge with bicubic interpolation."""
    return enlarge(reduce(pixels, factor), pixels.shape, factor)


def hf_energy(pixels: np.ndarray) -> float:
    """The high-frequency band energy of the luma, as synth report's HF-all measures it."""
    from spotfake.synth.fidelity import band_power

    return float(band_power(pixels).sum())


def blurred(pixels: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of the image (per channel, mirrored borders), rounded to uint8."""
    if sigma <= 0:
        return pixels.copy()
    out = gaussian_filter(pixels.astype(np.float32), sigma=(sigma, sigma, 0), mode="mirror")
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def smoothed_like(pixels: np.ndarray, fake: np.ndarray) -> np.ndarray:
    """The real blurred until its high-frequency energy matches the fake's (see module doc)."""
    target = hf_energy(fake)
    if target >= hf_energy(pixels):
        return pixels.copy()
    low, high = 0.0, MAX_SIGMA
    for _ in range(_STEPS):
        mid = (low + high) / 2
        if hf_energy(blurred(pixels, mid)) > target:
            low = mid
        else:
            high = mid
    return blurred(pixels, (low + high) / 2)


def counterpart_for(card: GeneratorCard, pixels: np.ndarray, fake: np.ndarray) -> np.ndarray:
    """The counterpart of a real by the generator's mode (see module doc)."""
    if card.mode == "super-resolve":
        return interpolated(pixels, card.factor)
    return smoothed_like(pixels, fake)
