"""MicroBatcher: images from requests that arrive together share one forward pass of the model.

One model thread runs the batches (torch uses its own threads inside a forward pass), so the
event loop never waits for inference. While the model is busy, new images queue up and form
the next batch; when it is idle, the first image waits ``wait_s`` for company.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

ScoreFn = Callable[[Sequence[np.ndarray]], np.ndarray]


class Busy(Exception):
    """More images wait for the model than the server accepts."""


@dataclass
class _Job:
    image: np.ndarray
    future: asyncio.Future[float]


class MicroBatcher:
    """Queue images, score them in batches of up to ``max_batch`` on one model thread."""

    def __init__(
        self, score: ScoreFn, max_batch: int = 16, wait_s: float = 0.005, max_pending: int = 256
    ) -> None:
        self._score = score
        self.max_batch = max_batch
        self.wait_s = wait_s
        self.max_pending = max_pending
        self._executor: ThreadPoolExecutor | None = None
        self._queue: asyncio.Queue[_Job] | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.batches = 0
        self.images = 0

    @property
    def pending(self) -> int:
        """Images waiting for the model (not counting the batch it runs now)."""
        return 0 if self._queue is None else self._queue.qsize()

    async def score(self, images: Sequence[np.ndarray]) -> list[float]:
        """P(generated) of each image, in order; Busy when the queue is full."""
        queue = self._ensure_running()
        if self.pending + len(images) > self.max_pending:
            raise Busy(f"{self.pending} images are waiting for the model")
        loop = asyncio.get_running_loop()
        jobs = [_Job(image, loop.create_future()) for image in images]
        for job in jobs:
            queue.put_nowait(job)
        return list(await asyncio.gather(*(job.future for job in jobs)))

    def _ensure_running(self) -> asyncio.Queue[_Job]:
        """Start the batching task on the running loop (the first request, or a new loop)."""
        loop = asyncio.get_running_loop()
        if self._queue is None or self._loop is not loop or self._task is None:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="spotfake-model")
            self._loop, self._queue = loop, asyncio.Queue()
            self._task = loop.create_task(
                self._run(self._queue, self._executor), name="spotfake-batcher"
            )
        return self._queue

    async def _run(self, queue: asyncio.Queue[_Job], executor: ThreadPoolExecutor) -> None:
        """Forever: take the next batch, score it on the model thread, hand back the scores."""
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            if queue.qsize() < self.max_batch - 1 and self.wait_s > 0:
                await asyncio.sleep(self.wait_s)
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            jobs = [job for job in batch if not job.future.done()]  # timed-out requests drop out
            if not jobs:
                continue
            try:
                scores = await loop.run_in_executor(
                    executor, self._score, [job.image for job in jobs]
                )
            except Exception as exc:  # the model failed: every waiting request learns why
                _settle(jobs, error=exc)
                continue
            self.batches += 1
            self.images += len(jobs)
            _settle(jobs, scores=[float(score) for score in scores])

    async def close(self) -> None:
        """Stop batching; images still queued get an error instead of waiting forever."""
        task, queue = self._task, self._queue
        self._task = self._queue = self._loop = None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await task  # RuntimeError: the loop it ran on is closed already
        while queue is not None and not queue.empty():
            _settle([queue.get_nowait()], error=RuntimeError("the server is shutting down"))
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def _settle(
    jobs: list[_Job], scores: list[float] | None = None, error: Exception | None = None
) -> None:
    """Give each still-waiting job its score or the error."""
    for index, job in enumerate(jobs):
        if job.future.done():
            continue
        if scores is not None:
            job.future.set_result(scores[index])
        else:
            job.future.set_exception(error or RuntimeError("no score"))
