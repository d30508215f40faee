"""ServeSettings: the service's limits and batching, one typed object from the CLI to the app."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServeSettings:
    """Limits that keep one request from exhausting the server, and how uploads are batched.

    Defaults suit a single-user or small-team service on a laptop-class CPU: a phone photo
    (5-15 MB, 12-50 megapixels) passes, a decompression bomb or a folder dumped in one
    request does not.
    """

    max_files: int = 16  # files in one request
    max_file_bytes: int = 25 * MIB  # one uploaded file; larger ones get a 413 record
    max_request_bytes: int = 100 * MIB  # the whole body; more is a 413 for the request
    max_pixels: int = 50_000_000  # width x height, checked from the header before decoding
    timeout_s: float = 60.0  # one request, from the first byte read to the last score
    max_batch: int = 16  # images per forward pass of the model
    batch_wait_ms: float = 5.0  # how long an idle model waits for more images to batch
    max_pending: int = 256  # images waiting for the model; more get a 503 (busy)
    decode_workers: int = 2  # threads that decode uploads (bounds decoded pixels in memory)
    keep_uploads: Path | None = None  # folder to save the uploaded bytes in; None saves nothing
    provenance: bool = True  # read C2PA, XMP, text chunks, EXIF, watermarks (decisive ones decide)
    check_adversarial: bool = False  # add evidence.adversarial (the shipped SpectralDefense model)
    backend: str = "auto"  # what runs the network: auto, torch or onnx (see load_detector)
    precision: str = "fp32"  # the forward pass: fp32, or fp16 / bf16 autocast (torch backend)

    def to_json(self) -> str:
        """JSON for the environment of worker processes (uvicorn --workers re-imports the app)."""
        data = asdict(self)
        data["keep_uploads"] = None if self.keep_uploads is None else str(self.keep_uploads)
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        """Settings written by to_json; unknown keys are errors, as in the recipes."""
        data: dict[str, Any] = json.loads(text)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown serve settings: {', '.join(unknown)}")
        if data.get("keep_uploads") is not None:
            data["keep_uploads"] = Path(data["keep_uploads"])
        return cls(**data)

    def public(self) -> dict[str, Any]:
        """The limits a client needs to know (no server paths)."""
        return {
            "max_files": self.max_files,
            "max_file_bytes": self.max_file_bytes,
            "max_request_bytes": self.max_request_bytes,
            "max_pixels": self.max_pixels,
            "timeout_s": self.timeout_s,
            "keeps_uploads": self.keep_uploads is not None,
            "provenance": self.provenance,
        }
