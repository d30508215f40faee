"""How close a generator's fakes are to their real twins, in the figures that decide bias.

- PSNR to the real twin (dB, capped at 100 for identical images);
- bytes per pixel of the fake over the real's when both are JPEG-encoded with the real's own
  quantisation tables and subsampling (IJG quality 90, 4:2:0 for reals that are not JPEGs): a
  blurry fake makes a smaller file, which a metadata-only classifier sees (goal 0.95-1.05);
- high-frequency spectral energy of the fake over the real's: power spectra of the luma,
  averaged over rings, in the band from half to all of the Nyquist frequency of the shorter
  side. ``hf_ratio`` is the median over the band's rings of the ring ratios, which passes over
  the few rings where the decoder's own periodic peaks sit (goal 0.9-1.1); ``hf_energy_ratio``
  is the ratio of the band's sums, peaks included.

Per-image figures are combined as the mean (PSNR) and the geometric mean (ratios).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.fft
from PIL import Image

from spotfake.errors import SpotfakeError
from spotfake.features.spectrum import azimuthal_average, to_gray
from spotfake.io.jpeg import encode_jpeg
from spotfake.records import ImageRecord
from spotfake.synth.encode import Storage

Reconstruct = Callable[[np.ndarray], np.ndarray]  # HxWx3 uint8 -> the same size

PSNR_CAP = 100.0
HF_BAND = 0.5  # the band starts at this fraction of the shorter side's Nyquist frequency
GOALS = {"bpp_ratio": (0.95, 1.05), "hf_ratio": (0.9, 1.1)}
_FALLBACK_JPEG: dict[str, Any] = {"quality": 90, "subsampling": "4:2:0"}


@dataclass
class ImageFidelity:
    """The figures of one real and its reconstruction."""

    path: str
    psnr: float
    bpp_ratio: float
    hf_ratio: float
    hf_energy_ratio: float


@dataclass
class Fidelity:
    """Figures over a set of images (see the module doc), and where they come from."""

    images: int
    psnr: float
    bpp_ratio: float
    hf_ratio: float
    hf_energy_ratio: float
    held_out: bool  # measured on reals the generator did not train on
    seconds_per_image: float = 0.0
    failed: int = 0
    goals: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(GOALS))
    per_image: list[ImageFidelity] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def psnr(real: np.ndarray, fake: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 images in dB (PSNR_CAP when identical)."""
    mse = float(np.mean((real.astype(np.float64) - fake.astype(np.float64)) ** 2))
    return PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * math.log10(255.0**2 / mse))


def jpeg_bytes(pixels: np.ndarray, storage: Storage | None) -> int:
    """Size of the pixels as a JPEG with the real's tables and subsampling (else q90 4:2:0)."""
    options = _FALLBACK_JPEG
    gray = False
    if storage is not None and storage.format == "JPEG":
        keys = ("tables", "subsampling")
        options = {k: v for k, v in storage.options.items() if k in keys}
        gray = storage.mode in ("L", "1")
    picture = Image.fromarray(pixels)
    return len(encode_jpeg(picture.convert("L") if gray else picture, **options))


def band_power(pixels: np.ndarray) -> np.ndarray:
    """Ring-averaged power spectrum of the luma in the high-frequency band (see module doc)."""
    gray = to_gray(pixels)
    gray = gray - gray.mean()
    power = np.abs(scipy.fft.fftshift(scipy.fft.fft2(gray))) ** 2
    rings = azimuthal_average(power)
    nyquist = min(gray.shape) // 2  # rings beyond it lie only in the corners
    low = min(math.ceil(HF_BAND * nyquist), nyquist - 1)
    return rings[low:nyquist]


def image_fidelity(
    path: str, real: np.ndarray, fake: np.ndarray, storage: Storage | None
) -> ImageFidelity:
    """The figures of one pair of HxWx3 uint8 images of the same size."""
    if real.shape != fake.shape:
        raise ValueError(f"{path}: fake {fake.shape} and real {real.shape} differ in size")
    pr, pf = band_power(real), band_power(fake)
    tiny = 1e-12
    ratios = (pf + tiny) / (pr + tiny)
    return ImageFidelity(
        path=path,
        psnr=psnr(real, fake),
        bpp_ratio=jpeg_bytes(fake, storage) / jpeg_bytes(real, storage),
        hf_ratio=float(np.median(ratios)),
        hf_energy_ratio=float((pf.sum() + tiny) / (pr.sum() + tiny)),
    )


def summarize(
    items: Sequence[ImageFidelity], held_out: bool, seconds: float = 0.0, failed: int = 0
) -> Fidelity:
    """Mean PSNR and geometric-mean ratios over images (NaN when there are none)."""

    def geomean(values: list[float]) -> float:
        return float(np.exp(np.mean(np.log(values)))) if values else float("nan")

    n = len(items)
    return Fidelity(
        images=n,
        psnr=float(np.mean([i.psnr for i in items])) if n else float("nan"),
        bpp_ratio=geomean([i.bpp_ratio for i in items]),
        hf_ratio=geomean([i.hf_ratio for i in items]),
        hf_energy_ratio=geomean([i.hf_energy_ratio for i in items]),
        held_out=held_out,
        seconds_per_image=seconds / n if n else 0.0,
        failed=failed,
        per_image=list(items),
    )


def within_goals(fidelity: Fidelity) -> dict[str, bool]:
    """Whether each ratio lies inside its goal range."""
    return {k: lo <= getattr(fidelity, k) <= hi for k, (lo, hi) in fidelity.goals.items()}


def measure(reconstruct: Reconstruct, records: Sequence[ImageRecord], held_out: bool) -> Fidelity:
    """Reconstruct each real at full size and measure; unreadable files are counted, skipped."""
    from spotfake.data.members import member_reader
    from spotfake.synth.reals import read_source

    items, failed = [], 0
    started = time.perf_counter()
    with member_reader() as read:
        for record in records:
            try:
                pixels, storage = read_source(record.path, read)
            except SpotfakeError:
                failed += 1
                continue
            items.append(image_fidelity(record.path, pixels, reconstruct(pixels), storage))
    return summarize(items, held_out, time.perf_counter() - started, failed)
