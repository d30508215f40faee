"""The progress callback the long jobs take: called with how many items just finished."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int], None]
