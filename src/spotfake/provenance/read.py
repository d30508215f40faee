"""read_provenance(): every reader on one image; the metadata ones never decode pixels.

The metadata readers work on the file's bytes (one pass finds the blocks, see ``scan``); the
C2PA library is asked only when a JUMBF box is there. The watermark reader needs pixels: the
detector passes the ones it decoded anyway, so nothing is decoded twice.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from spotfake.provenance import c2pa, watermark
from spotfake.provenance.exif import read_exif
from spotfake.provenance.finding import Finding, unreadable
from spotfake.provenance.pngtext import read_png_text
from spotfake.provenance.scan import Metadata, scan
from spotfake.provenance.xmp import read_xmp

Source = bytes | bytearray | memoryview | str | os.PathLike[str]
READERS = ("c2pa", "xmp", "png-text", "exif", "watermark")


def read_provenance(
    source: Source | None, pixels: np.ndarray | None = None, *, watermarks: bool = True
) -> list[Finding]:
    """Findings for one image, strongest sources first (C2PA, XMP, PNG text, EXIF, watermark).

    ``source`` is the file (a path or its bytes); ``pixels`` its decoded HxWx3 uint8 RGB, else
    the bytes are decoded for the watermark (``watermarks=False`` skips it). The watermark is
    not looked for in JPEGs with subsampled chroma (4:2:0, 4:2:2): their colour planes are
    averaged over 2x2 pixels, which erases it (``benchmarks/bench_provenance.py``: bit
    agreement 0.43-0.57 even at quality 95, chance is 0.5). Never raises: a reader that fails
    gives a finding of no strength that names the error.
    """
    findings: list[Finding] = []
    data: bytes | None = None
    if isinstance(source, (str, os.PathLike)):
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            findings.append(unreadable("file", "the file", exc.strerror or exc))
    elif source is not None:
        data = bytes(source)
    meta = scan(data) if data else None
    if data and meta is not None:
        findings.extend(read_metadata(data, meta))
    if watermarks and not (meta is not None and meta.chroma_subsampled):
        if pixels is None and data:
            pixels = _decode(data)
        if pixels is not None:
            findings.extend(_guarded(watermark.read_watermark, pixels, "watermark"))
    return findings


def read_metadata(data: bytes, meta: Metadata | None = None) -> list[Finding]:
    """Findings from a file's metadata blocks (C2PA, XMP, PNG text, EXIF); no pixel decoding.

    ``meta`` is ``scan(data)`` when the caller has it already.
    """
    meta = scan(data) if meta is None else meta
    findings: list[Finding] = []
    if meta.c2pa:
        findings.extend(_guarded(c2pa.read_c2pa, (data, meta.container), "c2pa"))
    if meta.xmp:
        findings.extend(_guarded(read_xmp, meta.xmp, "xmp"))
    if meta.texts:
        findings.extend(_guarded(read_png_text, meta.texts, "png-text"))
    if meta.exif:
        findings.extend(_guarded(read_exif, meta.exif, "exif"))
    for error in meta.errors:
        findings.append(unreadable("metadata", "the metadata", error))
    return findings


def disabled_readers() -> dict[str, str]:
    """Readers that cannot run here, with why (a missing optional library)."""
    reasons = {"c2pa": c2pa.unavailable_reason(), "watermark": watermark.unavailable_reason()}
    return {name: reason for name, reason in reasons.items() if reason is not None}


class ProvenanceNotice(UserWarning):
    """A provenance reader is disabled because its optional library is missing."""


def notice_text(disabled: dict[str, str]) -> str:
    """One line naming the disabled readers and what they need."""
    parts = "; ".join(f"{name} {reason}" for name, reason in disabled.items())
    return f"provenance readers disabled: {parts}"


@cache
def warn_disabled_readers() -> None:
    """Warn once per process (ProvenanceNotice) when a reader is disabled; never raises."""
    disabled = disabled_readers()
    if disabled:
        warnings.warn(notice_text(disabled), ProvenanceNotice, stacklevel=4)


def _guarded(reader: Callable[..., list[Finding]], arg: Any, signal: str) -> list[Finding]:
    """A reader's findings; an unexpected failure becomes a finding instead of an exception."""
    try:
        return reader(*arg) if isinstance(arg, tuple) else reader(arg)
    except Exception as exc:  # a reader must never stop a batch
        return [unreadable(signal, signal, exc)]


def _decode(data: bytes) -> np.ndarray | None:
    """Pixels for the watermark when the caller has none; None when the bytes do not decode."""
    from spotfake.errors import ImageReadError
    from spotfake.io.read import read_image_bytes

    try:
        return read_image_bytes(data, "<provenance>").pixels
    except ImageReadError:
        return None
