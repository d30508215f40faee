"""Name -> factory registries for detectors and generators, built-in and third-party.

Built-in factories register themselves with a decorator when their module is imported.
Third-party packages add theirs through Python entry points, without touching spotfake:

    [project.entry-points."spotfake.detectors"]
    my-detector = "my_package.detector:MyDetector"

The entry point is loaded only when its name is asked for, so a broken plugin cannot break
the rest; a plugin whose name a built-in already has is ignored with a warning.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from spotfake.errors import RegistryError

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class Registry(Generic[T]):
    """The factories of one kind of thing ("detector", "generator") and its entry-point group."""

    def __init__(self, kind: str, group: str, builtin: Callable[[], None]) -> None:
        self.kind = kind
        self.group = group
        self._builtin = builtin  # imports the modules whose decorators register the built-ins
        self._factories: dict[str, Callable[..., T]] = {}
        self._plugins: dict[str, EntryPoint] | None = None  # found on first use

    def register(self, name: str) -> Callable[[F], F]:
        """A decorator that registers a factory (function or class) under name."""

        def wrap(factory: F) -> F:
            if name in self._factories:
                raise RegistryError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = factory
            return factory

        return wrap

    def names(self) -> list[str]:
        """Every registered name, built-in and plugin."""
        return sorted({*self._ready(), *self._discovered()})

    def factory(self, name: str) -> Callable[..., T]:
        """The factory registered under name, loading its plugin when it comes from one."""
        factories = self._ready()
        if name in factories:
            return factories[name]
        plugin = self._discovered().get(name)
        if plugin is None:
            known = ", ".join(self.names())
            raise RegistryError(f"unknown {self.kind} {name!r}; registered: {known}")
        try:
            factory = plugin.load()
        except Exception as exc:  # any error of third-party code, reported with its origin
            raise RegistryError(
                f"{self.kind} {name!r}: its plugin {plugin.value!r} "
                f"(entry point group {self.group}) failed to load: {exc}"
            ) from exc
        factories[name] = factory
        return factory

    def create(self, name: str, **config: Any) -> T:
        """Build a new instance of the named factory."""
        return self.factory(name)(**config)

    def _ready(self) -> dict[str, Callable[..., T]]:
        self._builtin()
        return self._factories

    def _discovered(self) -> dict[str, EntryPoint]:
        if self._plugins is None:
            self._plugins = {}
            builtin = set(self._ready())
            for point in entry_points(group=self.group):
                if point.name in builtin or point.name in self._plugins:
                    warnings.warn(
                        f"ignoring the {self.kind} plugin {point.name!r} ({point.value}): "
                        "the name is taken",
                        stacklevel=3,
                    )
                    continue
                self._plugins[point.name] = point
        return self._plugins
