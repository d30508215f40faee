"""A KL-regularised autoencoder built like the latent-diffusion (Stable Diffusion) VAE.

Rombach et al. 2022, ``AutoencoderKL``: ResNet blocks with GroupNorm and SiLU, downsampling by
asymmetric padding and a strided 3x3 convolution, a middle block with one self-attention layer,
nearest-neighbour upsampling followed by a 3x3 convolution, a diagonal Gaussian posterior with
`latent` channels (4 in Stable Diffusion) and a small KL weight (1e-6). Reconstructions carry the
decoder's traces, as the images of every latent-diffusion model do. Narrower than the original
(width 32 rather than 128, one block per level rather than two) so that it trains on a CPU.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from spotfake.synth.base import Generator, levels_of, register_generator


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(32, channels), channels, eps=1e-6)


class ResnetBlock(nn.Module):
    """GroupNorm, SiLU, conv, GroupNorm, SiLU, conv; a 1x1 shortcut when channels change."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _norm(c_in), nn.SiLU(), nn.Conv2d(c_in, c_out, 3, padding=1),
            _norm(c_out), nn.SiLU(), nn.Conv2d(c_out, c_out, 3, padding=1),
        )  # fmt: skip
        self.shortcut = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.body(x)


class AttnBlock(nn.Module):
    """Single-head self-attention over all positions, as in the LDM middle block."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = _norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, c, h * w).transpose(-1, -2).unbind(1)
        out = F.scaled_dot_product_attention(q, k, v)
        return x + self.proj(out.transpose(-1, -2).reshape(b, c, h, w))


class Downsample(nn.Module):
    """Pad right and bottom by one, then a stride-2 3x3 convolution (LDM's asymmetric padding)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Upsample(nn.Module):
    """Nearest-neighbour 2x, then a 3x3 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


def _middle(channels: int, attention: bool) -> nn.Sequential:
    attn: nn.Module = AttnBlock(channels) if attention else nn.Identity()
    return nn.Sequential(ResnetBlock(channels, channels), attn, ResnetBlock(channels, channels))


def _level(c_in: int, c_out: int, blocks: int) -> list[nn.Module]:
    """One resolution's ResNet blocks; the first changes the channels."""
    return [ResnetBlock(c_in if b == 0 else c_out, c_out) for b in range(blocks)]


def _encoder(chans: list[int], latent: int, blocks: int, attention: bool) -> nn.Sequential:
    """conv_in, per level blocks then a downsampling (not after the last), middle, moments."""
    layers: list[nn.Module] = [nn.Conv2d(3, chans[0], 3, padding=1)]
    for i, c in enumerate(chans):
        layers += _level(chans[max(i - 1, 0)], c, blocks)
        if i < len(chans) - 1:
            layers.append(Downsample(c))
    layers += [_middle(chans[-1], attention), _norm(chans[-1]), nn.SiLU()]
    layers.append(nn.Conv2d(chans[-1], 2 * latent, 3, padding=1))
    layers.append(nn.Conv2d(2 * latent, 2 * latent, 1))  # LDM's quant_conv
    return nn.Sequential(*layers)


def _decoder(chans: list[int], latent: int, blocks: int, attention: bool) -> nn.Sequential:
    """post_quant_conv, conv_in, middle, per level (deepest first) blocks then upsampling."""
    layers: list[nn.Module] = [nn.Conv2d(latent, latent, 1)]
    layers += [nn.Conv2d(latent, chans[-1], 3, padding=1), _middle(chans[-1], attention)]
    for i in reversed(range(len(chans))):
        layers += _level(chans[min(i + 1, len(chans) - 1)], chans[i], blocks)
        if i > 0:
            layers.append(Upsample(chans[i]))
    layers += [_norm(chans[0]), nn.SiLU(), nn.Conv2d(chans[0], 3, 3, padding=1)]
    return nn.Sequential(*layers)


class LDMAutoencoderKL(Generator):
    """Encoder -> (mean, log-variance) of `latent` channels at 1/down size -> decoder.

    Channels per level: width times 1, 2, 4, 4, ... (LDM's ch_mult). kl_weight scales the KL
    divergence summed over latent elements against the mean per-pixel reconstruction loss,
    which is LDM's ratio (it sums both). Training samples the posterior; reconstruct() decodes
    its mean.
    """

    def __init__(
        self,
        width: int = 32,
        latent: int = 4,
        down: int = 8,
        blocks: int = 1,
        attention: bool = True,
        kl_weight: float = 1e-6,
    ) -> None:
        super().__init__()
        levels = levels_of(down)
        self.stride = down
        self.kl_weight = kl_weight
        chans = [width * min(2**i, 4) for i in range(levels + 1)]
        self.encoder = _encoder(chans, latent, blocks, attention)
        self.decoder = _decoder(chans, latent, blocks + 1, attention)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance (clamped as in LDM) of the latent."""
        mean, logvar = self.encoder(x).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.posterior(x)[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.posterior(x)
        std = torch.exp(0.5 * logvar)
        z = mean + std * torch.randn_like(std)
        kl = 0.5 * (mean.pow(2) + std.pow(2) - 1.0 - logvar).sum()
        return self.decode(z), self.kl_weight * kl / x.numel()

    @property
    def last_layer(self) -> torch.Tensor:
        out = self.decoder[-1]
        assert isinstance(out, nn.Conv2d)
        return out.weight


@register_generator("ldm-vae")
def ldm_vae(
    width: int = 32,
    latent: int = 4,
    down: int = 8,
    blocks: int = 1,
    attention: bool = True,
    kl_weight: float = 1e-6,
) -> Generator:
    """The latent-diffusion KL autoencoder; down 8 as Stable Diffusion, or 4."""
    if down not in (4, 8):
        raise ValueError(f"ldm-vae downsamples 4x or 8x, got down={down}")
    return LDMAutoencoderKL(width, latent, down, blocks, attention, kl_weight)
