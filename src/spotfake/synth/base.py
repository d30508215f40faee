"""The Generator contract and its registry: autoencoders named by their upsampling family."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

from spotfake.registry import Registry

G = TypeVar("G", bound=Callable[..., "Generator"])


class Generator(nn.Module, metaclass=ABCMeta):
    """An autoencoder on RGB in [-1, 1]; its decoder upsamples the way a generator family does.

    stride: input sides must be a multiple of it (the encoder's downsampling factor); callers
    pad (see ``tiling``). forward() is the training pass: the reconstruction and a
    regularisation loss (the VAE's weighted KL, zero otherwise). reconstruct() is deterministic.
    """

    stride: int

    @abstractmethod
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The deterministic latent of x (the posterior mean for a VAE)."""

    @abstractmethod
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Pixels from a latent."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.decode(self.encode(x)), x.new_zeros(())

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """What `synth make` writes: decode(encode(x)), no sampling."""
        return self.decode(self.encode(x))

    @property
    @abstractmethod
    def last_layer(self) -> torch.Tensor:
        """The output layer's weight: the adaptive GAN weight balances gradients there."""


GENERATOR_GROUP = "spotfake.generators"


def _load_builtin() -> None:
    # Importing the modules runs their @register_generator decorators.
    from spotfake.synth import archs, ldm  # noqa: F401


GENERATORS: Registry[Generator] = Registry("generator", GENERATOR_GROUP, _load_builtin)


def register_generator(name: str) -> Callable[[G], G]:
    """Register a factory that builds a Generator from keyword options."""
    return GENERATORS.register(name)


def list_generators() -> list[str]:
    """Names of the registered architectures, built-in and from plugins
    (entry-point group ``spotfake.generators``)."""
    return GENERATORS.names()


def create_generator(name: str, **config: Any) -> Generator:
    """An untrained generator of a registered architecture (no pretrained weights exist)."""
    return GENERATORS.create(name, **config)


def levels_of(down: int) -> int:
    """How many 2x stages make a downsampling factor (a power of two from 2 to 32)."""
    if down not in (2, 4, 8, 16, 32):
        raise ValueError(f"down must be a power of two from 2 to 32, got {down}")
    return down.bit_length() - 1
