"""Pixel-level CNN detectors: a timm backbone with one logit, fed centre crops at native size.

Inputs are never resized unless the spec says so. Two model-level options change what the
backbone sees, and travel in the spec's config so inference repeats them exactly:
``upscale`` (an integer factor, nearest or bicubic, for tiny images such as CIFAKE's 32x32) and,
for backbones that need it (Swin: patch size 4), trimming each side to a multiple of ``multiple``.
``residual="npr"`` feeds the backbone the neighbouring-pixel residual of Tan et al. (CVPR 2024)
instead of the pixels: the image minus its nearest-neighbour 2x down- and up-sampled copy, which
keeps the local correlations that generators' upsampling layers leave and little of the content.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from spotfake.models.base import Detector
from spotfake.models.registry import register_detector
from spotfake.models.spec import DetectorSpec, InputPolicy


class CNNDetector(Detector):
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
        self.multiple = multiple  # each input side is trimmed to a multiple of this
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

    def to(self, device: str) -> CNNDetector:
        self.model.to(device)
        self.device = device
        self._hash = None
        return self

    def state_dict(self) -> dict[str, Any]:
        return dict(self.model.state_dict())

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state, strict=True)
        self._hash = None

    def prepare(self, image: np.ndarray) -> np.ndarray:
        """The integer upscale the spec asks for (none by default), as uint8 HxWx3."""
        return upscale_image(image, self.upscale, self.upscale_method)

    def preprocess(self, image: np.ndarray) -> np.ndarray:
        """Upscale if asked, centre crop (resize only if the spec says so), trim: CHW float32."""
        chw = preprocess(self.prepare(image), self.spec.input)
        if self.multiple > 1:
            height = chw.shape[1] - chw.shape[1] % self.multiple
            width = chw.shape[2] - chw.shape[2] % self.multiple
            top, left = (chw.shape[1] - height) // 2, (chw.shape[2] - width) // 2
            chw = np.ascontiguousarray(chw[:, top : top + height, left : left + width])
        return chw

    def logits(self, batch: Any) -> Any:
        """Raw logits for a normalised NCHW tensor already on the model's device."""
        return self.model(batch).reshape(-1)

    def score(self, images: Sequence[np.ndarray]) -> np.ndarray:
        import torch

        out = np.empty(len(images), dtype=np.float64)
        if not len(images):
            return out
        tensors = [self.preprocess(image) for image in images]
        self.model.eval()
        # Crops of one shape share a batch; images smaller than the crop go in their own.
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, tensor in enumerate(tensors):
            groups.setdefault(tensor.shape, []).append(index)
        with torch.inference_mode():
            for indices in groups.values():
                batch = torch.from_numpy(np.stack([tensors[i] for i in indices])).to(self.device)
                batch = batch.contiguous(memory_format=torch.channels_last)
                probs = torch.sigmoid(self.logits(batch).float()).cpu().numpy()
                out[indices] = probs
        return out


def preprocess(image: np.ndarray, policy: InputPolicy) -> np.ndarray:
    """HxWx3 uint8 -> normalised 3xhxw float32 following the spec's input policy."""
    if policy.resize is not None:
        image = _resize_short_side(image, policy.resize)
    if policy.crop is not None:
        image = center_crop(image, policy.crop)
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


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The central size x size window; a side shorter than size is kept whole (never upscaled)."""
    height, width = image.shape[:2]
    top = max(0, (height - size) // 2)
    left = max(0, (width - size) // 2)
    return image[top : top + size, left : left + size]


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
