"""Pretrained generators that run offline: a registry of cards, loaders and availability checks.

Weights come from installed packages (the ``synth-zoo`` extra) or from files the project ships;
nothing is ever downloaded. Each module named in ``MODULES`` registers its generators with
``register_pretrained`` when imported: adding a generator is one small module and one line
here. Importing this package imports nothing heavy.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from spotfake.errors import RegistryError
from spotfake.synth.zoo.base import (
    AnyGenerator,
    GeneratorCard,
    GeneratorUnavailable,
    Loader,
    Missing,
    RunOptions,
    ZooEntry,
)

# The registry lines: one module per generator kind, each registering its cards on import.
MODULES = (
    "spotfake.synth.zoo.taef2",
    "spotfake.synth.zoo.ncnn_sr",
    "spotfake.synth.zoo.cyclegan",
    "spotfake.synth.zoo.dcgan",
)

_ENTRIES: dict[str, ZooEntry] = {}


def register_pretrained(card: GeneratorCard, missing: Missing) -> Callable[[Loader], Loader]:
    """Register a loader (RunOptions -> generator) under card.name; duplicates raise."""

    def wrap(load: Loader) -> Loader:
        if card.name in _ENTRIES:
            raise RegistryError(f"generator {card.name!r} is already registered")
        _ENTRIES[card.name] = ZooEntry(card, load, missing)
        return load

    return wrap


def _load_modules() -> None:
    for module in MODULES:
        importlib.import_module(module)


def zoo_entries() -> list[ZooEntry]:
    """Every registered pretrained generator, by name."""
    _load_modules()
    return [_ENTRIES[name] for name in sorted(_ENTRIES)]


def zoo_entry(name: str) -> ZooEntry | None:
    """The entry of a registered name, or None."""
    _load_modules()
    return _ENTRIES.get(name)


def load_pretrained(name: str, options: RunOptions | None = None) -> AnyGenerator:
    """A ready generator; RegistryError for unknown names, GeneratorUnavailable when its
    package or weights are missing (the message says which and how to install them)."""
    entry = zoo_entry(name)
    if entry is None:
        known = ", ".join(sorted(_ENTRIES))
        raise RegistryError(f"unknown generator {name!r}; pretrained ones: {known}")
    reason = entry.missing()
    if reason:
        raise GeneratorUnavailable(f"generator {name} is not available here: {reason}")
    return entry.load(options or RunOptions())


__all__ = [
    "MODULES",
    "GeneratorCard",
    "GeneratorUnavailable",
    "RunOptions",
    "ZooEntry",
    "load_pretrained",
    "register_pretrained",
    "zoo_entries",
    "zoo_entry",
]
