"""Registry of detector architectures: the only place that maps names to constructors.

Built-in detectors register with ``@register_detector``; other packages add theirs through the
entry-point group ``spotfake.detectors`` (see the README, "Extending spotfake").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from spotfake.registry import Registry

if TYPE_CHECKING:
    from spotfake.models.base import Detector

F = TypeVar("F", bound=Callable[..., "Detector"])

DETECTOR_GROUP = "spotfake.detectors"


def _load_builtin() -> None:
    # Importing the modules runs their @register_detector decorators.
    from spotfake.adversarial import spectral_defense  # noqa: F401
    from spotfake.models import cnn, spectral  # noqa: F401


DETECTORS: Registry[Detector] = Registry("detector", DETECTOR_GROUP, _load_builtin)


def register_detector(name: str) -> Callable[[F], F]:
    """Register a factory (function or class) that builds a detector from keyword arguments."""
    return DETECTORS.register(name)


def list_detectors() -> list[str]:
    """Names of every detector architecture, built-in and from plugins."""
    return DETECTORS.names()


def create_detector(name: str, **config: Any) -> Detector:
    """Build an untrained detector of a registered architecture."""
    return DETECTORS.create(name, **config)
