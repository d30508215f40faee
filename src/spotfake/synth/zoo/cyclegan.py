"""CycleGAN image-to-image translation: a real photo turned vintage, upsampled by transposed
convolutions.

The ResNet-9 generator (Zhu et al. 2017) of the ``vintagify`` package (MIT), trained at 512 px
to turn modern photos into old-looking ones. The network is defined here to match its state
dict; the package is never imported (only its weight file is read). Fully convolutional, so it
runs at the real's own size, in tiles of options.tile (its InstanceNorm statistics are per tile).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from spotfake.synth.tiling import reconstruct_array
from spotfake.synth.zoo import register_pretrained
from spotfake.synth.zoo.base import (
    GeneratorCard,
    PairedGenerator,
    RunOptions,
    package_dir,
    package_files,
    set_threads,
)

PACKAGE = "vintagify"
WEIGHTS = "resources/G_A2B_epoch33.pth"
MIN_SIDE = 8  # the residual blocks reflect-pad by 1 at 1/4 size, which needs 2 pixels there

CARD = GeneratorCard(
    name="cyclegan-vintage",
    family="image-to-image GAN",
    upsampling="transposed conv x2, twice",
    mode="translate",
    source="package vintagify: resources/G_A2B_epoch33.pth",
    licence="MIT (vintagify)",
    description="CycleGAN ResNet-9 generator: modern photo -> vintage look",
)
MISSING = package_files(PACKAGE, WEIGHTS)


class ResnetBlock(nn.Module):
    """Two reflection-padded 3x3 convolutions with InstanceNorm, plus the input."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3),
            nn.InstanceNorm2d(dim, affine=True),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, dim, 3),
            nn.InstanceNorm2d(dim, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def _stage(layer: nn.Module, channels: int) -> list[nn.Module]:
    return [layer, nn.InstanceNorm2d(channels, affine=True), nn.ReLU()]


class ResnetGenerator(nn.Module):
    """7x7 conv, two stride-2 convs down, residual blocks, two transposed convs up, 7x7 conv,
    tanh; RGB in [-1, 1] both ways. ``stride``: input sides must be a multiple of it."""

    stride = 4

    def __init__(self, width: int = 64, blocks: int = 9) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3)]
        layers += _stage(nn.Conv2d(3, width, 7), width)
        for c in (width, 2 * width):
            layers += _stage(nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), 2 * c)
        layers += [ResnetBlock(4 * width) for _ in range(blocks)]
        for c in (4 * width, 2 * width):
            up = nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1)
            layers += _stage(up, c // 2)
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width, 3, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The translation of a batch (what ``tiling`` calls)."""
        return self.model(x)


def load_network(device: str = "cpu") -> ResnetGenerator:
    """The generator with vintagify's weights, in eval mode."""
    root = package_dir(PACKAGE)
    if root is None:
        raise FileNotFoundError(f"the package {PACKAGE} is not installed")
    state = torch.load(root / WEIGHTS, map_location="cpu", weights_only=True)
    net = ResnetGenerator()
    net.load_state_dict(state, strict=True)
    return net.eval().to(device)


class CycleganVintage(PairedGenerator):
    """The real's vintage translation at its own size."""

    card = CARD

    def __init__(self, net: ResnetGenerator, options: RunOptions) -> None:
        self.net = net
        self.options = options

    def fake(self, pixels: np.ndarray) -> np.ndarray:
        height, width = pixels.shape[:2]
        small = max(MIN_SIDE - height, 0), max(MIN_SIDE - width, 0)
        if any(small):
            pixels = np.pad(pixels, ((0, small[0]), (0, small[1]), (0, 0)), mode="edge")
        o = self.options
        out = reconstruct_array(self.net, pixels, o.tile, o.overlap, device=o.device)
        return out[:height, :width]


@register_pretrained(CARD, MISSING)
def load_cyclegan_vintage(options: RunOptions) -> CycleganVintage:
    """vintagify's CycleGAN generator on options.device with options.threads."""
    set_threads(options)
    return CycleganVintage(load_network(options.device), options)
