"""CNNDetection-style augmentation on uint8 RGB arrays: blur, JPEG, crops, flips, RandAugment."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from spotfake.io.jpeg import encode_jpeg


@dataclass
class AugmentConfig:
    """Probabilities and ranges of the training augmentations (Wang et al. 2020)."""

    blur_p: float = 0.1
    blur_sigma: tuple[float, float] = (0.0, 3.0)
    jpeg_p: float = 0.1
    jpeg_quality: tuple[int, int] = (30, 100)
    flip_p: float = 0.5
    resize_p: float = 0.0
    resize_scale: tuple[float, float] = (0.5, 2.0)
    noise_p: float = 0.0  # additive Gaussian noise, as a sensor adds it, before any JPEG
    noise_sigma: tuple[float, float] = (1.0, 5.0)  # its standard deviation, on the 0-255 scale
    translate: int = 0  # reflect-pad the view by this many pixels, then crop (tiny images)
    randaugment_n: int = 0  # torchvision RandAugment operations per view (0: off)
    randaugment_m: int = 9  # and their magnitude (0..30)


def jpeg_roundtrip(image: np.ndarray, quality: int, subsampling: str = "4:2:0") -> np.ndarray:
    """Encode as JPEG at quality (IJG tables; 4:2:0, as most encoders) and decode again."""
    data = encode_jpeg(Image.fromarray(image), quality=int(quality), subsampling=subsampling)
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def gaussian_blur(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with standard deviation sigma in pixels."""
    if sigma <= 0:
        return image
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius=sigma)))


def gaussian_noise(image: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Add zero-mean Gaussian noise of standard deviation sigma (0-255 scale), clip to uint8."""
    if sigma <= 0:
        return image
    noisy = image.astype(np.float32) + rng.normal(0.0, sigma, image.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def random_crop(image: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A size x size window at a random place, at native resolution (reflect-pad if smaller)."""
    height, width = image.shape[:2]
    if height < size or width < size:
        pad_h, pad_w = max(0, size - height), max(0, size - width)
        image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="reflect")
        height, width = image.shape[:2]
    top = int(rng.integers(0, height - size + 1))
    left = int(rng.integers(0, width - size + 1))
    return image[top : top + size, left : left + size]


def random_rescale(
    image: np.ndarray, scale: float, out_size: int, rng: np.random.Generator
) -> np.ndarray:
    """A random window rescaled by scale (bicubic or bilinear), at least out_size on each side.

    Only the window that survives is resampled, so large images cost no more than small ones.
    """
    height, width = image.shape[:2]
    scale = max(scale, out_size / min(height, width))  # never pad a small image to fit
    side = min(height, width, int(np.ceil(out_size / scale)) + 2)
    window = random_crop(image, side, rng)
    new = max(out_size, round(side * scale))
    method = Image.Resampling.BICUBIC if rng.random() < 0.5 else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(window).resize((new, new), method))


def augment(image: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Blur, noise, then JPEG, each with its probability, then a horizontal flip."""
    if rng.random() < cfg.blur_p:
        image = gaussian_blur(image, float(rng.uniform(*cfg.blur_sigma)))
    # Drawn only when enabled, so recipes without noise see the random stream they always saw.
    if cfg.noise_p > 0 and rng.random() < cfg.noise_p:
        image = gaussian_noise(image, float(rng.uniform(*cfg.noise_sigma)), rng)
    if rng.random() < cfg.jpeg_p:
        low, high = cfg.jpeg_quality
        image = jpeg_roundtrip(image, int(rng.integers(low, high + 1)))
    if rng.random() < cfg.flip_p:
        image = image[:, ::-1]
    return np.ascontiguousarray(image)


def rand_augment(image: np.ndarray, ops: int, magnitude: int, seed: int) -> np.ndarray:
    """torchvision's RandAugment on a uint8 image, its random choices drawn from seed only."""
    import torch
    from torchvision.transforms import RandAugment

    chw = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    # RandAugment draws from torch's global generator: a forked one keeps views reproducible.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        out = RandAugment(num_ops=ops, magnitude=magnitude)(chw)
    return np.ascontiguousarray(out.permute(1, 2, 0).numpy())
