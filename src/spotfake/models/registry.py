"""Registry of detector architectures: the only place that maps names to constructors."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from spotfake.errors import RegistryError

if TYPE_CHECKING:
    from spotfake.models.base import Detector

F = TypeVar("F", bound=Callable[..., "Detector"])

_REGISTRY: dict[str, Callable[..., Detector]] = {}


def register_detector(name: str) -> Callable[[F], F]:
    """Register a factory (function or class) that builds a detector from keyword arguments."""

    def wrap(factory: F) -> F:
        if name in _REGISTRY:
            raise RegistryError(f"detector {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return wrap


def _load_builtin() -> None:
    # Importing the modules runs their @register_detector decorators.
    from spotfake.models import cnn, spectral  # noqa: F401


def list_detectors() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def create_detector(name: str, **config: Any) -> Detector:
    """Build an untrained detector of a registered architecture."""
    _load_builtin()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise RegistryError(f"unknown detector {name!r}; registered: {known}") from None
    return factory(**config)
