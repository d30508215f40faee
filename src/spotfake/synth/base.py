"""The Generator contract and its registry: autoencoders named by their upsampling family."""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

from spotfake.errors import RegistryError

G = TypeVar("G", bound=Callable[..., "Generator"])

_REGISTRY: dict[str, Callable[..., Generator]] = {}


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


def register_generator(name: str) -> Callable[[G], G]:
    """Register a factory that builds a Generator from keyword options."""

    def wrap(factory: G) -> G:
        if name in _REGISTRY:
            raise RegistryError(f"generator {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return wrap


def _load_builtin() -> None:
    # Importing the modules runs their @register_generator decorators.
    from spotfake.synth import archs, ldm  # noqa: F401


def list_generators() -> list[str]:
    """Names of the registered architectures."""
    _load_builtin()
    return sorted(_REGISTRY)


def create_generator(name: str, **config: Any) -> Generator:
    """An untrained generator of a registered architecture (no pretrained weights exist)."""
    _load_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise RegistryError(f"unknown generator {name!r}; registered: {known}") from None
    return factory(**config)


def levels_of(down: int) -> int:
    """How many 2x stages make a downsampling factor (a power of two from 2 to 32)."""
    if down not in (2, 4, 8, 16, 32):
        raise ValueError(f"down must be a power of two from 2 to 32, got {down}")
    return down.bit_length() - 1
