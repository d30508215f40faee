"""TAEF2, the tiny autoencoder of the FLUX.2 latent space: reconstructions that carry an LDM
decoder's traces.

Decoding a real photo's latent gives a sharp fake of the same content and size (the "aligned"
training fakes of Rajan et al., ICLR 2025). The network is defined here from the published
state dicts (madebyollin/taesd, MIT); the weights ship with spotfake as safetensors
(``weights/taef2_*.safetensors``, see ``weights/taef2.md``), so nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from spotfake.synth.tiling import reconstruct_array
from spotfake.synth.zoo import register_pretrained
from spotfake.synth.zoo.base import (
    GeneratorCard,
    Missing,
    PairedGenerator,
    RunOptions,
    set_threads,
)

WEIGHTS = Path(__file__).parent / "weights"
FILES = {part: WEIGHTS / f"taef2_{part}.safetensors" for part in ("encoder", "decoder")}
WIDTH = 64
LATENT = 32

CARD = GeneratorCard(
    name="taef2",
    family="autoencoder",
    upsampling="nearest x2 + conv, three times (latent 1/8)",
    mode="reconstruct",
    source="spotfake (shipped): synth/zoo/weights/taef2_*.safetensors, from madebyollin/taesd",
    licence="MIT (weights: madebyollin/taesd)",
    description="tiny autoencoder distilled from the FLUX.2 VAE: encode to 32 channels at 1/8, "
    "decode",
)


def _conv(c_in: int, c_out: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=bias)


class Block(nn.Module):
    """Three 3x3 convolutions plus the input; the low-resolution blocks first add a pooled
    1x1 "midblock" with GroupNorm (the FLUX.2 variant)."""

    def __init__(self, midblock: bool = False) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            _conv(WIDTH, WIDTH), nn.ReLU(), _conv(WIDTH, WIDTH), nn.ReLU(), _conv(WIDTH, WIDTH)
        )
        self.pool: nn.Module | None = None
        if midblock:
            self.pool = nn.Sequential(
                nn.Conv2d(WIDTH, 4 * WIDTH, 1, bias=False),
                nn.GroupNorm(4, 4 * WIDTH),
                nn.ReLU(),
                nn.Conv2d(4 * WIDTH, WIDTH, 1, bias=False),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool is not None:
            x = x + self.pool(x)
        return F.relu(self.conv(x) + x)


class SoftClamp(nn.Module):
    """tanh(x / 3) * 3: keeps latents in (-3, 3) before decoding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / 3) * 3


def _blocks(n: int, midblock: bool = False) -> list[nn.Module]:
    return [Block(midblock) for _ in range(n)]


def encoder() -> nn.Sequential:
    """[0, 1] RGB -> 32-channel latent at 1/8 (three stride-2 convolutions)."""
    layers: list[nn.Module] = [_conv(3, WIDTH), *_blocks(1)]
    for level in range(3):
        layers += [_conv(WIDTH, WIDTH, stride=2, bias=False), *_blocks(3, midblock=level == 2)]
    return nn.Sequential(*layers, _conv(WIDTH, LATENT))


def decoder() -> nn.Sequential:
    """32-channel latent -> RGB in about [0, 1] (three nearest x2 upsamplings, each + conv)."""
    layers: list[nn.Module] = [SoftClamp(), _conv(LATENT, WIDTH), nn.ReLU(), *_blocks(3, True)]
    for level in range(3):
        layers += [nn.Upsample(scale_factor=2), _conv(WIDTH, WIDTH, bias=False)]
        layers += _blocks(1 if level == 2 else 3)
    return nn.Sequential(*layers, _conv(WIDTH, 3))


class TinyAutoencoder(nn.Module):
    """TAEF2's encoder and decoder, as a reconstructor for ``tiling`` (stride 8, [-1, 1])."""

    stride = 8

    def __init__(self) -> None:
        super().__init__()
        self.encoder = encoder()
        self.decoder = decoder()

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """decode(encode(x)) of a batch in [-1, 1] (the network works in [0, 1]), clamped."""
        y = self.decoder(self.encoder((x + 1) / 2))
        return y.clamp(0, 1) * 2 - 1


def load_autoencoder(device: str = "cpu") -> TinyAutoencoder:
    """The network with the shipped weights (float16 on disk, float32 here), in eval mode."""
    from safetensors.torch import load_file

    net = TinyAutoencoder()
    for part, path in FILES.items():
        getattr(net, part).load_state_dict(load_file(path), strict=True)
    return net.eval().to(device)


class Taef2(PairedGenerator):
    """The real's TAEF2 reconstruction at full resolution, in overlapping tiles."""

    card = CARD

    def __init__(self, net: TinyAutoencoder, options: RunOptions) -> None:
        self.net = net
        self.options = options

    def fake(self, pixels: np.ndarray) -> np.ndarray:
        o = self.options
        return reconstruct_array(self.net, pixels, o.tile, o.overlap, device=o.device)


def _shipped() -> str | None:
    absent = [path.name for path in FILES.values() if not path.is_file()]
    if absent:
        return f"spotfake's package lacks {', '.join(absent)}: reinstall spotfake"
    return None


MISSING: Missing = _shipped


@register_pretrained(CARD, MISSING)
def load_taef2(options: RunOptions) -> Taef2:
    """TAEF2 on options.device with options.threads."""
    set_threads(options)
    return Taef2(load_autoencoder(options.device), options)
