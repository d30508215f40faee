"""Decode JPEG files on the GPU (nvJPEG, through torchvision) in batches, for bulk scoring.

A file goes to the device decoder only where it decodes there as Pillow decodes it on the CPU:
a sequential (baseline) JPEG with 8-bit samples and 1 (grayscale, repeated to RGB) or 3 YCbCr
components, that ends with its EOI marker (a truncated file is Pillow's error, not a grey
fill), within ``max_pixels``. Anything else (progressive, CMYK, Adobe RGB-transform files,
other formats, bad files) and any file the device decoder refuses is read by
``spotfake.io.read_image`` on the CPU, with its checks and messages. EXIF orientation is not
applied, as on the CPU (spotfake.io.read).

The record comes from the same header parser as on the CPU, so evidence is identical; only the
pixels can differ, by the rounding of the decoder's IDCT (nvJPEG is not libjpeg-turbo; on the
CPU torchvision's libjpeg-turbo gives Pillow's pixels exactly).

torchvision marks its image decoders deprecated in favour of TorchCodec, which is not
installable here; the warning is silenced for the one call.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Any

from spotfake.errors import ImageReadError
from spotfake.io.probe import open_image_bytes, record_from_image
from spotfake.io.read import DEFAULT_MAX_PIXELS, check_pixel_count
from spotfake.records import ImageRecord

_EOI = b"\xff\xd9"


@dataclass
class DeviceJpeg:
    """A JPEG file accepted for device decoding: its record (headers only) and its bytes."""

    record: ImageRecord
    data: bytes


def read_for_device(
    path: str | os.PathLike[str], max_pixels: int = DEFAULT_MAX_PIXELS
) -> DeviceJpeg | None:
    """The file's record and bytes when the device decoder can take it, else None.

    Never raises for a bad file: None sends it to the CPU reader, which reports it.
    """
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if not data.rstrip(b"\x00").endswith(_EOI):
        return None
    try:
        with open_image_bytes(data) as image:
            if not _device_decodable(image):
                return None
            check_pixel_count(image.width, image.height, max_pixels)
            record = record_from_image(image, path, len(data))
    except ImageReadError:
        return None
    return DeviceJpeg(record, data)


def _device_decodable(image: Any) -> bool:
    info = image.info
    return (
        image.format == "JPEG"
        and image.mode in ("RGB", "L")
        and not info.get("progressive")
        and not info.get("progression")
        and "adobe" not in info  # APP14: RGB-transform and CMYK files stay on libjpeg
    )


def decode_jpegs(datas: list[bytes], device: str) -> list[Any]:
    """HxWx3 uint8 tensors on ``device``, one per JPEG in ``datas`` (None where refused).

    One batched call (nvJPEG's batched decoder on CUDA); if it fails, the files are decoded
    one by one so that one bad file does not cost the others.
    """
    import torch
    from torchvision.io import ImageReadMode, decode_jpeg

    tensors = [torch.frombuffer(bytearray(data), dtype=torch.uint8) for data in datas]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            decoded: list[Any] = list(decode_jpeg(tensors, mode=ImageReadMode.RGB, device=device))
        except RuntimeError:
            decoded = [_decode_one(tensor, device) for tensor in tensors]
    return [None if chw is None else chw.permute(1, 2, 0) for chw in decoded]


def _decode_one(tensor: Any, device: str) -> Any:
    from torchvision.io import ImageReadMode, decode_jpeg

    try:
        return decode_jpeg(tensor, mode=ImageReadMode.RGB, device=device)
    except RuntimeError:
        return None
