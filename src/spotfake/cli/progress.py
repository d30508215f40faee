"""A progress bar on a passed-in stream (stderr), or a no-op when it would get in the way."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Protocol


class Advance(Protocol):
    """Advances a bar by n items (one by default)."""

    def __call__(self, n: int = 1) -> None: ...


def _noop(n: int = 1) -> None:
    """Advance nothing: the bar is off."""


@contextmanager
def progress_bar(total: int, stream: IO[str], enabled: bool, label: str = "") -> Iterator[Advance]:
    """Yield a function that advances a rich bar by n items; a no-op when not enabled.

    The bar is transient: it vanishes when done, leaving only the results on the terminal.
    """
    if not enabled:
        yield _noop
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    console = Console(file=stream)
    # stdout is left alone: records written there must never pass through the bar's console.
    with Progress(*columns, console=console, transient=True, redirect_stdout=False) as progress:
        task = progress.add_task(label, total=total)

        def advance(n: int = 1) -> None:
            progress.advance(task, n)

        yield advance
