"""The micro-batcher and the request deadline: batches form, the loop stays free, limits hold."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from serve_images import png

from spotfake.serve.batcher import Busy, MicroBatcher


class Recorder:
    """A stand-in score function: remembers batch sizes and threads, sleeps like a model."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.sizes: list[int] = []
        self.threads: set[str] = set()

    def __call__(self, images: Sequence[np.ndarray]) -> np.ndarray:
        self.sizes.append(len(images))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.seconds)
        return np.array([float(image[0, 0, 0]) / 255 for image in images])


def image(value: int) -> np.ndarray:
    return np.full((4, 4, 3), value, dtype=np.uint8)


def test_images_that_arrive_together_share_batches() -> None:
    recorder = Recorder(seconds=0.02)
    batcher = MicroBatcher(recorder, max_batch=4, wait_s=0.01)

    async def run() -> list[list[float]]:
        try:
            return await asyncio.gather(*(batcher.score([image(v)]) for v in range(10)))
        finally:
            await batcher.close()

    scores = asyncio.run(run())
    assert [s[0] for s in scores] == pytest.approx([v / 255 for v in range(10)])
    assert sum(recorder.sizes) == 10 and max(recorder.sizes) == 4 and len(recorder.sizes) < 10
    assert recorder.threads == {"spotfake-model_0"}
    assert batcher.batches == len(recorder.sizes) and batcher.images == 10


def test_the_event_loop_runs_while_the_model_works() -> None:
    batcher = MicroBatcher(Recorder(seconds=0.3), wait_s=0.0)
    ticks: list[float] = []

    async def ticker() -> None:
        for _ in range(10):
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.02)

    async def run() -> None:
        try:
            await asyncio.gather(batcher.score([image(1)]), ticker())
        finally:
            await batcher.close()

    asyncio.run(run())
    assert max(np.diff(ticks)) < 0.15  # a blocked loop would show one 0.3 s gap


def test_a_full_queue_is_busy_and_a_failing_model_fails_its_requests() -> None:
    def broken(images: Sequence[np.ndarray]) -> np.ndarray:
        raise RuntimeError("out of memory")

    async def run() -> None:
        batcher = MicroBatcher(broken, max_pending=2)
        try:
            with pytest.raises(Busy):
                await batcher.score([image(1)] * 3)
            with pytest.raises(RuntimeError, match="out of memory"):
                await batcher.score([image(1)])
        finally:
            await batcher.close()

    asyncio.run(run())


def slow_detector(tiny_detector: Any, seconds: float) -> Any:
    """A copy of cnn-tiny whose score() takes at least `seconds`."""
    from spotfake.models.registry import create_detector

    detector = create_detector("cnn-tiny")
    detector.load_state_dict(tiny_detector.state_dict())
    fast = detector.score

    def score(images: Sequence[np.ndarray]) -> np.ndarray:
        time.sleep(seconds)
        return fast(images)

    detector.score = score  # type: ignore[method-assign]
    return detector


def test_requests_time_out_with_504(
    make_client: Callable[..., TestClient], tiny_detector: Any
) -> None:
    client = make_client(slow_detector(tiny_detector, 0.5), timeout_s=0.1)
    response = client.post("/v1/detect", files=[("files", ("a.png", png(1), "image/png"))])
    assert response.status_code == 504
    assert response.json()["detail"].startswith("detection took longer than 0.1 s")


def test_too_many_waiting_images_is_503(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_pending=1)
    files = [("files", (f"{i}.png", png(i), "image/png")) for i in range(2)]
    response = client.post("/v1/detect", files=files)
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.json()["detail"].startswith("the server is busy")


def test_concurrent_requests_are_batched_on_the_model(
    make_client: Callable[..., TestClient], tiny_detector: Any
) -> None:
    client = make_client(slow_detector(tiny_detector, 0.1), batch_wait_ms=20)

    def post(index: int) -> int:
        files = [("files", (f"{index}.png", png(index), "image/png"))]
        return client.post("/v1/detect", files=files).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(post, range(6)))
    health = client.get("/healthz").json()
    assert statuses == [200] * 6
    assert health["images"] == 6 and health["batches"] < 6
