"""Run a per-file task over many files in order, in worker processes when there are many.

Indexing (headers) and the audit's pixel statistics (decoding) both map a function over chunks
of files; this is the one place that decides when workers pay off, how they start, and how
progress is reported. Zip archives opened in this process are closed when it is done.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from multiprocessing.context import BaseContext
from typing import TypeVar

from spotfake.data.members import close_archives
from spotfake.progress import Progress

_In = TypeVar("_In")
_Out = TypeVar("_Out")


def map_chunks(
    task: Callable[[list[_In]], list[_Out]],
    items: Sequence[_In],
    *,
    chunk: int,
    parallel_min: int,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Iterator[_Out]:
    """task's results for items in their order, computed chunk by chunk.

    task must be a module-level function (workers import it). Below parallel_min items, or with
    one worker, it runs here: starting processes would cost more. progress(n) is called as each
    chunk finishes.
    """
    workers = workers or os.cpu_count() or 1
    chunks = [list(items[i : i + chunk]) for i in range(0, len(items), chunk)]
    if workers == 1 or len(items) < parallel_min:
        try:
            for done in map(task, chunks):
                yield from _reported(done, progress)
        finally:
            close_archives()
        return
    with ProcessPoolExecutor(workers, mp_context=pool_context()) as pool:
        for done in pool.map(task, chunks):
            yield from _reported(done, progress)


def _reported(done: list[_Out], progress: Progress | None) -> list[_Out]:
    if progress:
        progress(len(done))
    return done


def pool_context() -> BaseContext:
    """fork where the platform has it: workers start at once and need no main-module guard."""
    methods = get_all_start_methods()
    return get_context("fork" if "fork" in methods and sys.platform != "darwin" else None)
