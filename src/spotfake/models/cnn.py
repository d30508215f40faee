"""Pixel-level CNN detectors: a timm backbone with one logit, fed centre crops at native size.

The views, batching and logit aggregation are models/scoring.py's (shared with the ONNX
backend); this module holds the PyTorch network. Two model-level options change what the
backbone sees, and travel in the spec's config so inference repeats them exactly:
``upscale`` (an integer factor, nearest or bicubic, for tiny images such as CIFAKE's 32x32) and,
for backbones that need it (Swin: patch size 4), trimming each side to a multiple of ``multiple``.
``residual="npr"`` feeds the backbone the neighbouring-pixel residual of Tan et al. (CVPR 2024)
instead of the pixels: the image minus its nearest-neighbour 2x down- and up-sampled copy, which
keeps the local correlations that generators' upsampling layers leave and little of the content.

On a GPU (``CNNDetector.to("cuda")``) the uint8 windows travel to the device, a quarter of the
bytes of float32, through pinned memory, and are normalised there; images already decoded on
the device (spotfake.io.device) are cut there without a round trip. ``precision`` "fp16" or
"bf16" runs the forward pass under autocast (AMP); the default stays float32, the precision
the shipped thresholds were calibrated in, so that a GPU gives the CPU's scores.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from spotfake.models.base import TorchDetector
from spotfake.models.registry import register_detector
from spotfake.models.scoring import UPSCALE_METHODS, WindowScorer
from spotfake.models.spec import DetectorSpec, InputPolicy


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


RESIDUALS = (None, "npr")


def npr_residual(batch: Any) -> Any:
    """NCHW tensor minus its nearest 2x down- then up-sampled copy (zero on 2x2-constant blocks)."""
    import torch.nn.functional as F

    down = F.interpolate(batch, scale_factor=0.5, mode="nearest")
    return batch - F.interpolate(down, size=batch.shape[-2:], mode="nearest")


def _npr_hook(module: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    return (npr_residual(args[0]), *args[1:])


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
