"""The HTTP service and web page of spotfake: ``create_app(detector)`` builds the FastAPI app.

FastAPI (the ``serve`` extra) is imported on first use of ``create_app``, not with this package,
so its small helpers (``spotfake.serve.spectrum``) work without it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ServeSettings", "create_app"]


def __getattr__(name: str) -> Any:
    """create_app and ServeSettings, imported when first asked for."""
    if name == "create_app":
        from spotfake.serve.app import create_app

        return create_app
    if name == "ServeSettings":
        from spotfake.serve.settings import ServeSettings

        return ServeSettings
    raise AttributeError(f"module 'spotfake.serve' has no attribute {name!r}")
