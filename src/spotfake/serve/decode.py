"""Turn one upload into pixels and its ImageRecord, or into an error with the file's HTTP status.

Decoding and provenance go through the pipeline's ``spotfake.detect.decode_bytes``: the same
checks and messages as ``spotfake detect`` on the same file (pixel cap before decoding, truncated
data, formats).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from spotfake.records import ImageRecord
from spotfake.serve.settings import ServeSettings
from spotfake.serve.uploads import Upload, describe_bytes, save_upload

if TYPE_CHECKING:
    from spotfake.provenance import Finding

OK = 200
TOO_LARGE = 413
UNSUPPORTED = 415
UNREADABLE = 422

# How spotfake.io words its refusals; everything else (empty, truncated, corrupt) is a 422.
_STATUS_BY_PREFIX = (
    ("too many pixels", TOO_LARGE),
    ("unsupported", UNSUPPORTED),
    ("not an image", UNSUPPORTED),
)


@dataclass
class Decoded:
    """One upload after decoding: pixels and record, or the error and its HTTP status."""

    name: str
    pixels: np.ndarray | None = None
    record: ImageRecord | None = None
    error: str | None = None
    status: int = OK
    spectrum: list[float] | None = None
    findings: list[Finding] | None = None  # provenance; None when not read


def status_for(message: str) -> int:
    """The HTTP status of a file spotfake.io refused: 413 too many pixels, 415 format, else 422."""
    lowered = message.lower()
    for prefix, status in _STATUS_BY_PREFIX:
        if lowered.startswith(prefix):
            return status
    return UNREADABLE


def decode_upload(upload: Upload, settings: ServeSettings, with_spectrum: bool) -> Decoded:
    """Decode (and keep, with --keep-uploads) one upload, then read its provenance (unless
    settings.provenance is off) from its bytes and decoded pixels; never raises for a bad file.
    """
    if upload.too_large:
        limit = describe_bytes(settings.max_file_bytes)
        message = f"file too large ({describe_bytes(upload.size)}): the limit is {limit} per file"
        return Decoded(upload.name, error=message, status=TOO_LARGE)
    if settings.keep_uploads is not None:
        save_upload(upload, settings.keep_uploads)
    from spotfake.detect import decode_bytes

    item = decode_bytes(bytes(upload.data), upload.name, settings.max_pixels, settings.provenance)
    if item.pixels is None:
        message = item.error or "unreadable"
        return Decoded(upload.name, error=message, status=status_for(message))
    decoded = Decoded(upload.name, item.pixels, item.record, findings=item.findings)
    if with_spectrum:
        from spotfake.serve.spectrum import image_spectrum

        decoded.spectrum = image_spectrum(item.pixels)
    return decoded
