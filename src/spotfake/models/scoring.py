"""The torch-free half of CNN detectors: the views a spec scores and the score loop around a
forward pass, shared by every backend (PyTorch in models/cnn.py, ONNX Runtime in
models/onnx_runtime.py).

Inputs are never resized unless the spec says so. With ``InputPolicy.crops`` > 1 an image is
scored through several crop windows spread over it (models/windows.py), each preprocessed as the
single crop is; their logits are aggregated (mean or max) before the sigmoid, so large images
are seen beyond their centre. Windows are cut from the uint8 pixels, then normalised with the
spec's mean and std (on the 0..255 scale).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from spotfake.models.spec import DetectorSpec, InputPolicy
from spotfake.models.windows import crop_windows


class WindowScorer(ABC):
    """What every backend of a CNN detector shares, torch-free: the views a spec scores and the
    score loop around a forward pass (batching, window logit aggregation, sigmoid).

    A backend implements ``forward`` alone (normalised NCHW float32 views -> one logit each), so
    the PyTorch model and its ONNX export see the same pixels and their logits are merged alike.
    """

    spec: DetectorSpec
    upscale: int = 1
    upscale_method: str = "bicubic"
    multiple: int = 1  # each input side is trimmed to a multiple of this

    @abstractmethod
    def forward(self, batch: np.ndarray) -> np.ndarray:
        """One float32 logit per view of a normalised NCHW float32 batch (one view shape)."""

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """The integer upscale the spec asks for (none by default), as uint8 HxWx3."""
        return upscale_image(image, self.upscale, self.upscale_method)

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """Upscale if asked, centre crop (resize only if the spec says so), trim: CHW float32."""
        return self._trim(preprocess(self.prepare(image), self.spec.input))

    def views(self, image: np.ndarray) -> list[np.ndarray]:
        """Every CHW float32 view the spec scores: the centre crop, or the multi-crop windows.

        Windows are cut from the uint8 pixels before normalising, so the cost follows the
        number of crops, not the image size.
        """
        return [normalise(window, self.spec.input) for window in self.windows(image)]

    def windows(self, image: Any) -> list[Any]:
        """The uint8 HxWx3 windows (views, no copies) behind ``views``: upscaled or resized as
        the spec says, then trimmed. Works on numpy arrays and on HWC torch tensors alike."""
        policy = self.spec.input
        pixels = self.prepare(image)
        if policy.resize is not None:
            pixels = _resize_short_side(pixels, policy.resize)
        return [self._trim(window, axis=0) for window in crop_views(pixels, policy)]

    def scoring_views(self, image: Any) -> list[Any]:
        """What ``score`` feeds the network for one image (a backend may keep them uint8)."""
        return self.views(image)

    def stack(self, views: list[Any]) -> Any:
        """One batch from views of one shape (see ``forward``)."""
        return np.stack(views)

    def _trim(self, array: Any, axis: int = 1) -> Any:
        """Trim the two spatial sides (from ``axis``: 1 for CHW, 0 for HWC) to a multiple of
        ``multiple``, centred, for backbones that need it."""
        if self.multiple > 1:
            height, width = array.shape[axis], array.shape[axis + 1]
            new_h, new_w = height - height % self.multiple, width - width % self.multiple
            top, left = (height - new_h) // 2, (width - new_w) // 2
            index = [slice(None)] * array.ndim
            index[axis] = slice(top, top + new_h)
            index[axis + 1] = slice(left, left + new_w)
            array = array[tuple(index)]
            if isinstance(array, np.ndarray) and axis == 1:
                array = np.ascontiguousarray(array)
        return array

    def score(self, images: Sequence[np.ndarray]) -> np.ndarray:
        """sigmoid of each image's logit, aggregated over its views when the spec has crops > 1."""
        out = np.empty(len(images), dtype=np.float64)
        # Images a chunk at a time, so that their views (float32) never all sit in memory.
        for start in range(0, len(images), MAX_VIEWS_PER_PASS):
            chunk = images[start : start + MAX_VIEWS_PER_PASS]
            per_image = [self.scoring_views(image) for image in chunk]
            counts = [len(views) for views in per_image]
            logits = self.view_logits([view for views in per_image for view in views])
            merged = aggregate_logits(logits, counts, self.spec.input.aggregate)
            out[start : start + len(counts)] = sigmoid(merged)
        return out

    def view_logits(self, views: list[Any]) -> np.ndarray:
        """Logits of every view in order (float32), one forward pass per view shape."""
        # Views of one shape share a batch (all crops of all images in the common case);
        # images smaller than the crop go in their own.
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, view in enumerate(views):
            groups.setdefault(view.shape, []).append(index)
        logits = np.empty(len(views), dtype=np.float32)
        for indices in groups.values():
            # At most MAX_VIEWS_PER_PASS views a pass: a caller may hand over thousands of
            # images at once, and their activations together would not fit in memory.
            for start in range(0, len(indices), MAX_VIEWS_PER_PASS):
                chunk = indices[start : start + MAX_VIEWS_PER_PASS]
                logits[chunk] = self.forward(self.stack([views[i] for i in chunk]))
        return logits


# Views scored in one forward pass, at most: bounds memory (about 1.5 GB of activations for
# EfficientNet-Lite0 at 192 px) whatever the number of images a caller passes to score().
MAX_VIEWS_PER_PASS = 128


def aggregate_logits(
    logits: np.ndarray, counts: Sequence[int], how: str = "mean-logit"
) -> np.ndarray:
    """One logit per image from the logits of its views, which lie consecutively in ``logits``.

    On the host, in numpy, whatever the backend or device: a handful of numbers per image, and
    the same arithmetic for every backend. With one view per image they pass through untouched.
    """
    width = max(counts)
    if width == 1:
        return logits
    owner = np.repeat(np.arange(len(counts)), counts)
    slot = np.concatenate([np.arange(count) for count in counts])
    fill = -np.inf if how == "max-logit" else 0.0
    table = np.full((len(counts), width), fill, dtype=logits.dtype)
    table[owner, slot] = logits
    if how == "max-logit":
        return table.max(axis=1)
    if how == "mean-logit":
        return table.sum(axis=1) / np.asarray(counts, dtype=logits.dtype)
    raise ValueError(f"unknown aggregate {how!r}")


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """P(generated) from logits, in float64 and without overflow for large negative logits."""
    return np.exp(-np.logaddexp(0.0, -np.asarray(logits, dtype=np.float64)))


def preprocess(image: np.ndarray, policy: InputPolicy) -> np.ndarray:
    """HxWx3 uint8 -> normalised 3xhxw float32 of the single centre crop (crops ignored)."""
    if policy.resize is not None:
        image = _resize_short_side(image, policy.resize)
    if policy.crop is not None:
        top, left, h, w = view_boxes(image.shape[0], image.shape[1], replace(policy, crops=1))[0]
        image = image[top : top + h, left : left + w]
    return normalise(image, policy)


def crop_views(image: np.ndarray, policy: InputPolicy) -> list[np.ndarray]:
    """The uint8 windows (views, no copies) to score: the centre crop, or the multi-crop grid."""
    boxes = view_boxes(image.shape[0], image.shape[1], policy)
    return [image[top : top + h, left : left + w] for top, left, h, w in boxes]


def view_boxes(height: int, width: int, policy: InputPolicy) -> list[tuple[int, int, int, int]]:
    """(top, left, height, width) of every window scored on an image of this size: the whole
    image without a crop, the centre crop (a side shorter than the crop kept whole), or the
    multi-crop grid on images whose shorter side reaches ``crops_min_side``."""
    if policy.crop is None:
        return [(0, 0, height, width)]
    size = policy.crop
    h, w = min(size, height), min(size, width)
    if policy.crops == 1 or min(height, width) < policy.crops_min_side:
        return [(max(0, (height - size) // 2), max(0, (width - size) // 2), h, w)]
    return [(top, left, h, w) for top, left in crop_windows(height, width, size, policy.crops)]


def normalise(image: np.ndarray, policy: InputPolicy) -> np.ndarray:
    """HxWx3 uint8 -> 3xHxW float32 with the policy's mean and std (on the 0..255 scale)."""
    mean = np.asarray(policy.mean, dtype=np.float32) * 255.0
    std = np.asarray(policy.std, dtype=np.float32) * 255.0
    chw = (image.astype(np.float32) - mean) / std
    return np.ascontiguousarray(chw.transpose(2, 0, 1))


UPSCALE_METHODS = {"nearest": 0, "bicubic": 3}  # Pillow's resampling filter numbers


def upscale_image(image: np.ndarray, factor: int, method: str = "bicubic") -> np.ndarray:
    """Enlarge by an integer factor: nearest repeats pixels exactly; bicubic uses Pillow."""
    if factor == 1:
        return image
    if method == "nearest":
        return np.ascontiguousarray(np.repeat(np.repeat(image, factor, 0), factor, 1))
    from PIL import Image

    height, width = image.shape[:2]
    filter_ = Image.Resampling(UPSCALE_METHODS[method])
    return np.asarray(Image.fromarray(image).resize((width * factor, height * factor), filter_))


def _resize_short_side(image: np.ndarray, size: int) -> np.ndarray:
    from PIL import Image

    height, width = image.shape[:2]
    scale = size / min(height, width)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image).resize(new, Image.Resampling.BICUBIC))
