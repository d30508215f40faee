"""Autoencoders whose decoders upsample like GAN and super-resolution generators.

One architecture per upsampling family, otherwise identical (same encoder, same residual blocks,
same widths), so that a detector trained on their reconstructions sees the upsampling traces and
not some other difference:

- ``transposed``: ConvTranspose2d, kernel 4, stride 2 (DCGAN / ProGAN era; checkerboard traces);
- ``nearest`` and ``bilinear``: interpolation, then a 3x3 convolution (StyleGAN / BigGAN);
- ``pixelshuffle``: a 3x3 convolution to 4x the channels, then sub-pixel shuffling (ESPCN / SR).

No normalisation layers: their statistics would depend on the tile when `make` processes large
images in tiles, and would print the tile grid into the fakes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from spotfake.synth.base import Generator, levels_of, register_generator

Upsampler = Callable[[int, int], nn.Module]


def _transposed(c_in: int, c_out: int) -> nn.Module:
    return nn.ConvTranspose2d(c_in, c_out, kernel_size=4, stride=2, padding=1)


def _interpolated(mode: str) -> Upsampler:
    def build(c_in: int, c_out: int) -> nn.Module:
        align = False if mode == "bilinear" else None
        return nn.Sequential(
            nn.Upsample(scale_factor=2, mode=mode, align_corners=align),
            nn.Conv2d(c_in, c_out, 3, padding=1),
        )

    return build


def _pixelshuffle(c_in: int, c_out: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(c_in, 4 * c_out, 3, padding=1), nn.PixelShuffle(2))


UPSAMPLERS: dict[str, Upsampler] = {
    "transposed": _transposed,
    "nearest": _interpolated("nearest"),
    "bilinear": _interpolated("bilinear"),
    "pixelshuffle": _pixelshuffle,
}


class ResBlock(nn.Module):
    """Pre-activation residual block: LeakyReLU, 3x3 conv, LeakyReLU, 3x3 conv, plus the input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.LeakyReLU(0.2),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(channels, channels, 3, padding=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsamplingAutoencoder(Generator):
    """Strided-conv encoder to a `latent`-channel code at 1/down size; decoder of one family.

    width: channels at full resolution, doubled per level up to 4x. latent: channels of the code
    (32 at 1/4 size keeps 2/3 of the input's numbers: room for sharp reconstructions).
    blocks: residual blocks per level.
    """

    def __init__(
        self, upsample: str, width: int = 32, latent: int = 32, down: int = 4, blocks: int = 1
    ) -> None:
        super().__init__()
        if upsample not in UPSAMPLERS:
            raise ValueError(f"upsample must be one of {sorted(UPSAMPLERS)}, got {upsample!r}")
        levels = levels_of(down)
        self.stride = down
        chans = [width * min(2**i, 4) for i in range(levels + 1)]
        encoder: list[nn.Module] = [nn.Conv2d(3, chans[0], 3, padding=1)]
        for i in range(levels):
            encoder += [ResBlock(chans[i]) for _ in range(blocks)]
            encoder += [nn.Conv2d(chans[i], chans[i + 1], 4, stride=2, padding=1)]
        encoder += [ResBlock(chans[-1]) for _ in range(blocks)]
        encoder += [nn.LeakyReLU(0.2), nn.Conv2d(chans[-1], latent, 1)]
        decoder: list[nn.Module] = [nn.Conv2d(latent, chans[-1], 3, padding=1)]
        decoder += [ResBlock(chans[-1]) for _ in range(blocks)]
        for i in reversed(range(levels)):
            decoder += [nn.LeakyReLU(0.2), UPSAMPLERS[upsample](chans[i + 1], chans[i])]
            decoder += [ResBlock(chans[i]) for _ in range(blocks)]
        decoder += [nn.LeakyReLU(0.2), nn.Conv2d(chans[0], 3, 3, padding=1)]
        self.encoder = nn.Sequential(*encoder)
        self.decoder = nn.Sequential(*decoder)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    @property
    def last_layer(self) -> torch.Tensor:
        out = self.decoder[-1]
        assert isinstance(out, nn.Conv2d)
        return out.weight


def _family(upsample: str) -> Callable[..., Generator]:
    def build(width: int = 32, latent: int = 32, down: int = 4, blocks: int = 1) -> Generator:
        return UpsamplingAutoencoder(upsample, width, latent, down, blocks)

    build.__doc__ = f"An autoencoder whose decoder upsamples with {upsample} layers."
    return build


for _name in UPSAMPLERS:
    register_generator(_name)(_family(_name))
