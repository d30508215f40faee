"""DetectionService: uploads in, records out; decoding on a thread pool, scoring micro-batched.

Kept apart from the FastAPI wiring (app.py) so the request logic reads in one place.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from spotfake import detect as pipeline
from spotfake.prediction import GENERATED_LABEL
from spotfake.serve.batcher import Busy, MicroBatcher
from spotfake.serve.decode import OK, Decoded, decode_upload
from spotfake.serve.settings import ServeSettings
from spotfake.serve.uploads import BodySource, RequestRejected, Upload, read_uploads

if TYPE_CHECKING:
    from spotfake.models.base import Detector


class DetectionService:
    """One loaded detector served to many requests."""

    def __init__(self, detector: Detector, settings: ServeSettings) -> None:
        self.detector = detector
        self.settings = settings
        self.batcher = MicroBatcher(
            detector.score,
            max_batch=settings.max_batch,
            wait_s=settings.batch_wait_ms / 1000,
            max_pending=settings.max_pending,
        )
        self._decoders: ThreadPoolExecutor | None = None
        # The detector of attacks on this model (ModelLoadError at start-up when none is shipped).
        self.guard = pipeline.adversarial_guard(detector) if settings.check_adversarial else None

    async def detect(
        self, body: BodySource, threshold: float | None = None, details: bool = False
    ) -> tuple[int, dict[str, Any]]:
        """(HTTP status, answer) for one request; RequestRejected when it fails as a whole.

        The status is 200 when at least one image was scored, else the first file's own status
        (a single unreadable upload answers 413, 415 or 422 with its record).
        """
        seconds = self.settings.timeout_s
        reading = True
        try:
            async with asyncio.timeout(seconds):
                uploads = await read_uploads(body, self.settings)
                reading = False
                records = await self._records(uploads, threshold, details)
        except TimeoutError:
            if reading:
                raise RequestRejected(408, f"the upload took longer than {seconds:g} s") from None
            message = f"detection took longer than {seconds:g} s: try again or send fewer files"
            raise RequestRejected(504, message) from None
        except Busy:
            message = "the server is busy: too many images are waiting; try again in a moment"
            raise RequestRejected(503, message) from None
        scored = any(record["status"] == OK for record in records)
        status = OK if scored else int(records[0]["status"])
        return status, {"records": records, "summary": summarise(records)}

    async def _records(
        self, uploads: list[Upload], threshold: float | None, details: bool
    ) -> list[dict[str, Any]]:
        """Decode every upload in the pool, score the readable ones together, build records."""
        loop = asyncio.get_running_loop()
        pool = self._decode_pool()
        decoded: list[Decoded] = list(
            await asyncio.gather(
                *(
                    loop.run_in_executor(pool, decode_upload, upload, self.settings, details)
                    for upload in uploads
                )
            )
        )
        uploads.clear()  # the bytes are no longer needed while the model runs
        readable = [item for item in decoded if item.pixels is not None]
        pixels = [item.pixels for item in readable if item.pixels is not None]
        scores = iter(await self.batcher.score(pixels) if pixels else [])
        checks = iter(
            await loop.run_in_executor(pool, pipeline.adversarial_evidence, self.guard, pixels)
            if self.guard is not None
            else []
        )
        chosen = self.detector.spec.threshold if threshold is None else threshold
        return [
            self._record(
                item,
                next(scores) if item.pixels is not None else None,
                chosen,
                details,
                next(checks) if self.guard is not None and item.pixels is not None else None,
            )
            for item in decoded
        ]

    def _record(
        self,
        item: Decoded,
        score: float | None,
        threshold: float,
        details: bool,
        adversarial: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The CLI's record for one upload, plus its status (and details when asked)."""
        decoded = pipeline.Decoded(item.name, item.pixels, item.record, item.error, item.findings)
        record = pipeline.make_record(self.detector, decoded, score, threshold, adversarial)
        answer = record.to_dict()
        if details and item.record is not None:
            answer["evidence"]["file"] = {
                "bytes": item.record.file_bytes,
                "frames": item.record.n_frames,
                "has_exif": item.record.has_exif,
                "png_text_keys": item.record.png_text_keys,
            }
        if details and item.spectrum is not None:
            answer["evidence"]["spectrum"] = item.spectrum
        answer["status"] = item.status
        return answer

    def _decode_pool(self) -> ThreadPoolExecutor:
        if self._decoders is None:
            self._decoders = ThreadPoolExecutor(
                self.settings.decode_workers, thread_name_prefix="spotfake-decode"
            )
        return self._decoders

    async def close(self) -> None:
        """Stop the batcher and the decode threads (at server shutdown)."""
        await self.batcher.close()
        if self._decoders is not None:
            self._decoders.shutdown(wait=False, cancel_futures=True)
            self._decoders = None


def summarise(records: list[dict[str, Any]]) -> dict[str, int]:
    """Counts of verdicts, as the CLI's summary line gives them."""
    failed = sum(1 for record in records if record["error"] is not None)
    generated = sum(1 for record in records if record["label"] == GENERATED_LABEL)
    return {
        "images": len(records),
        "generated": generated,
        "real": len(records) - failed - generated,
        "failed": failed,
    }
