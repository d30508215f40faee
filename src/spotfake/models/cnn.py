"""Pixel-level CNN detectors: a timm backbone with one logit, fed centre crops at native size.

Inputs are never resized unless the spec says so. Two model-level options change what the
backbone sees, and travel in the spec's config so inference repeats them exactly:
``upscale`` (an integer factor, nearest or bicubic, for tiny images such as CIFAKE's 32x32) and,
for backbones that need it (Swin: patch size 4), trimming each side to a multiple of ``multiple``.
``residual="npr"`` feeds the backbone the neighbouring-pixel residual of Tan et al. (CVPR 2024)
instead of the pixels: the image minus its nearest-neighbour 2x down- and up-sampled copy, which
keeps the local correlations that generators' upsampling layers leave and little of the content.

With ``InputPolicy.crops`` > 1 an image is scored through several crop windows spread over it
(models/windows.py), each preprocessed as the single crop is; their logits are aggregated
(mean or max) before the sigmoid, so large images are seen beyond their centre.

On a GPU (``CNNDetector.to("cuda")``) the uint8 windows travel to the device, a quarter of the
bytes of float32, through pinned memory, and are normalised there; images already decoded on
the device (spotfake.io.device) are cut there without a round trip. ``precision`` "fp16" or
"bf16" runs the forward pass under autocast (AMP); the default stays float32, the precision
the shipped thresholds were calibrated in, so that a GPU gives the CPU's scores.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from spotfake.models.base import TorchDetector
from spotfake.models.registry import register_detector
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


class CNNDetector(WindowScorer, TorchDetector):
    """A timm classifier with a single logit; P(generated) = sigmoid(logit)."""

    def __init__(
        self,
        spec: DetectorSpec,
        backbone: str | Callable[..., Any],
        upscale: int = 1,
        upscale_method: str = "bicubic",
        multiple: int = 1,
        residual: str | None = None,
        **timm_kwargs: Any,
    ) -> None:
        import timm
        import torch

        super().__init__(spec)
        if upscale < 1 or upscale_method not in UPSCALE_METHODS:
            raise ValueError(
                f"upscale must be an integer >= 1 with a method in {sorted(UPSCALE_METHODS)}"
            )
        self.upscale = upscale
        self.upscale_method = upscale_method
        self.multiple = multiple
        if callable(backbone):  # a torch module builder of our own (models/small.py)
            self.model = backbone(num_classes=1, **timm_kwargs)
        else:
            # pretrained=False always: initial weights come only from local files.
            self.model = timm.create_model(backbone, pretrained=False, num_classes=1, **timm_kwargs)
        if residual not in RESIDUALS:
            raise ValueError(f"residual must be one of {sorted(map(str, RESIDUALS))}")
        if residual == "npr":
            # A pre-hook, not a wrapper module: the state dict keeps the backbone's own keys,
            # so ImageNet initial weights load unchanged and training goes through it too.
            self.model.register_forward_pre_hook(_npr_hook)
        self.model.eval()
        # channels_last runs this family of convolutions about 1.7x faster on CPU.
        self.model.to(memory_format=torch.channels_last)
        self.device = "cpu"
        self.precision = "fp32"
        # Normalise on the device (uint8 windows travel) off the CPU; on it numpy normalises.
        self.device_preprocess = False

    def to(self, device: str) -> CNNDetector:
        self.model.to(device)
        self.device = device
        self.device_preprocess = not str(device).startswith("cpu")
        self.weights_changed()
        return self

    def set_precision(self, precision: str) -> CNNDetector:
        """Run the forward pass in ``precision``: "fp32" (the default), or "fp16" / "bf16"
        under torch.autocast.

        Logits move (by up to 0.3 for the embedded model under bf16 on the CPU, which keeps 8
        mantissa bits; fp16 keeps 11); thresholds were calibrated in float32, so a score near
        the threshold may change its verdict.
        """
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
        self.precision = precision
        return self

    def state_dict(self) -> dict[str, Any]:
        return dict(self.model.state_dict())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state, strict=True)
        self.weights_changed()

    def logits(self, batch: Any) -> Any:
        """Raw logits for a normalised NCHW tensor already on the model's device."""
        return self.model(batch).reshape(-1)

    def score(self, images: Sequence[Any]) -> np.ndarray:
        """As WindowScorer.score; images may also be HWC uint8 torch tensors (device decode)."""
        self.model.eval()
        return super().score(images)

    def scoring_views(self, image: Any) -> list[Any]:
        """Normalised float32 views on the CPU; uint8 windows when the device normalises."""
        if _is_tensor(image) and not (self.device_preprocess and self._cuts_on_device()):
            image = image.cpu().numpy()  # numpy normalises; upscaling and resizing use Pillow
        return self.windows(image) if self.device_preprocess else self.views(image)

    def _cuts_on_device(self) -> bool:
        """Whether windows can be cut from a tensor as it is: no upscale and no resize."""
        return self.upscale == 1 and self.spec.input.resize is None

    def stack(self, views: list[Any]) -> Any:
        """A numpy batch on the CPU; on the device, one uint8 NHWC tensor there (host windows
        stacked in pinned memory and copied once, device windows stacked in place)."""
        if not self.device_preprocess:
            return np.stack(views)
        import torch

        if not any(_is_tensor(view) for view in views):
            host = torch.from_numpy(np.stack(views))
            if str(self.device).startswith("cuda"):
                host = host.pin_memory()
            return host.to(self.device, non_blocking=True)
        return torch.stack([torch.as_tensor(view).to(self.device) for view in views])

    def forward(self, batch: Any) -> np.ndarray:
        """The torch model's logits for a batch, on its device: a normalised NCHW float32 numpy
        batch, or a uint8 NHWC tensor (``stack``) normalised here with the spec's mean and std."""
        import torch

        with torch.inference_mode():
            if _is_tensor(batch):
                tensor = self._normalise_on_device(batch)
            else:
                tensor = torch.from_numpy(batch).to(self.device)
            # NHWC permuted to NCHW is channels_last already; numpy batches are made so here.
            tensor = tensor.contiguous(memory_format=torch.channels_last)
            with self._autocast():
                logits = self.logits(tensor)
            return logits.float().cpu().numpy()

    def _normalise_on_device(self, batch: Any) -> Any:
        """uint8 NHWC -> float32 NCHW with the spec's mean and std, as ``normalise`` does."""
        import torch

        policy = self.spec.input
        mean = torch.tensor(policy.mean, device=batch.device).view(1, 3, 1, 1) * 255.0
        std = torch.tensor(policy.std, device=batch.device).view(1, 3, 1, 1) * 255.0
        return (batch.permute(0, 3, 1, 2).float() - mean) / std

    def _autocast(self) -> Any:
        import contextlib

        import torch

        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.float16 if self.precision == "fp16" else torch.bfloat16
        return torch.autocast(device_type=str(self.device).split(":")[0], dtype=dtype)


PRECISIONS = ("fp32", "fp16", "bf16")


def _is_tensor(value: Any) -> bool:
    """A torch tensor, told apart without importing torch."""
    return type(value).__module__.startswith("torch") and hasattr(value, "device")


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
RESIDUALS = (None, "npr")


def npr_residual(batch: Any) -> Any:
    """NCHW tensor minus its nearest 2x down- then up-sampled copy (zero on 2x2-constant blocks)."""
    import torch.nn.functional as F

    down = F.interpolate(batch, scale_factor=0.5, mode="nearest")
    return batch - F.interpolate(down, size=batch.shape[-2:], mode="nearest")


def _npr_hook(module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return (npr_residual(args[0]), *args[1:])


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


def _factory(
    architecture: str, backbone: str, default_crop: int, multiple: int = 1, **timm_kwargs: Any
) -> Any:
    def build(
        crop: int | None = default_crop,
        upscale: int = 1,
        upscale_method: str = "bicubic",
        residual: str | None = None,
        **extra: Any,
    ) -> CNNDetector:
        if extra:
            raise TypeError(f"{architecture}: unknown options {sorted(extra)}")
        config: dict[str, Any] = {"crop": crop}
        if upscale != 1:  # only when used, so specs written before the option stay identical
            config.update(upscale=upscale, upscale_method=upscale_method)
        if residual is not None:
            config["residual"] = residual
        spec = DetectorSpec(architecture=architecture, config=config, input=InputPolicy(crop=crop))
        return CNNDetector(
            spec, backbone, upscale, upscale_method, multiple, residual=residual, **timm_kwargs
        )

    build.__name__ = architecture.replace("-", "_")
    build.__doc__ = f"{backbone} with one logit, centre crop {default_crop} at native resolution."
    return build


register_detector("cnn-efficientnet-lite0")(
    _factory("cnn-efficientnet-lite0", "tf_efficientnet_lite0", 224)
)
# Wider and deeper Lite variants; default crops are their ImageNet input sizes (240, 260).
register_detector("cnn-efficientnet-lite1")(
    _factory("cnn-efficientnet-lite1", "tf_efficientnet_lite1", 240)
)
register_detector("cnn-efficientnet-lite2")(
    _factory("cnn-efficientnet-lite2", "tf_efficientnet_lite2", 260)
)


@register_detector("cnn-cifar-resnet")
def cnn_cifar_resnet(
    crop: int | None = 32, upscale: int = 1, upscale_method: str = "nearest", width: int = 16
) -> CNNDetector:
    """A small ResNet-9-style CNN trained from scratch, for tiny images such as CIFAKE's 32x32."""
    from spotfake.models.small import cifar_resnet

    config: dict[str, Any] = {"crop": crop, "width": width}
    if upscale != 1:
        config.update(upscale=upscale, upscale_method=upscale_method)
    spec = DetectorSpec(
        architecture="cnn-cifar-resnet", config=config, input=InputPolicy(crop=crop)
    )
    return CNNDetector(spec, cifar_resnet, upscale, upscale_method, width=width)


register_detector("cnn-resnet50")(_factory("cnn-resnet50", "resnet50", 224))
register_detector("cnn-tiny")(_factory("cnn-tiny", "test_efficientnet", 64))
# Swin-T (Fake-or-JPEG's second backbone). strict_img_size=False lets it take any input whose
# sides are multiples of its patch size (4): crops of images smaller than the crop are trimmed.
register_detector("cnn-swin-tiny")(
    _factory(
        "cnn-swin-tiny", "swin_tiny_patch4_window7_224", 224, multiple=4, strict_img_size=False
    )
)
