"""detect's device-decoding path (``iter_predict(decode="device")``, ``detect --decode device``):
which runs may use it, and the pipeline steps around spotfake.io.device's decoder.

Loader threads read a JPEG's record and bytes only; each chunk's waiting files are then decoded
in one batch on the detector's device, and any file the device refuses is read on the CPU, so
its pixels or error are the CPU reader's.
"""

from __future__ import annotations

from pathlib import Path

from spotfake.detect import DECODERS, Decoded, ImageInput, decode_input
from spotfake.errors import BackendError
from spotfake.models.base import Detector


def check_decode(
    detector: Detector, decode: str, provenance: bool, adversarial: Detector | None
) -> None:
    """Refuse a ``decode`` that cannot run with these options (see iter_predict)."""
    if decode not in DECODERS:
        raise ValueError(f"decode must be one of {', '.join(DECODERS)}, not {decode!r}")
    if decode == "cpu":
        return
    if not hasattr(detector, "set_precision"):
        raise BackendError(
            "decoding on the device needs a CNN detector on the torch backend (--backend torch)"
        )
    if provenance or adversarial is not None:
        raise ValueError(
            "decoding on the device reads no provenance and makes no adversarial check: "
            "turn provenance off (--no-provenance) and leave the check out"
        )


def read_for_device_input(index: int, source: ImageInput) -> Decoded:
    """A JPEG file's record and bytes for the device decoder; anything else decoded here."""
    if isinstance(source, (str, Path)):
        from spotfake.io.device import read_for_device

        accepted = read_for_device(source)
        if accepted is not None:
            return Decoded(str(source), None, accepted.record, None, data=accepted.data)
    return decode_input(index, source)


def decode_on_device(chunk: list[Decoded], device: str) -> None:
    """Decode the chunk's waiting JPEGs in one batch on ``device``; a file the device decoder
    refuses is read on the CPU instead, so its error (or pixels) are the CPU reader's."""
    waiting = [index for index, item in enumerate(chunk) if item.data is not None]
    if not waiting:
        return
    from spotfake.io.device import decode_jpegs

    decoded = decode_jpegs([chunk[i].data for i in waiting], device)  # type: ignore[misc]
    for index, pixels in zip(waiting, decoded, strict=True):
        record = chunk[index].record
        size = None if record is None else (record.height, record.width)
        if pixels is None or tuple(pixels.shape[:2]) != size:
            chunk[index] = decode_input(index, chunk[index].name)
        else:
            chunk[index].pixels, chunk[index].data = pixels, None
