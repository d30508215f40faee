"""One de-biased file: decode the source (a file or a zip member), convert to RGB, resize and
crop per its job, and encode it as JPEG (``io.jpeg.encode_jpeg``) with the job's exact tables
(a matched real's, or the source's own) or its quality, and its subsampling."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from PIL import Image
from PIL.ImageFile import ImageFile
from PIL.JpegImagePlugin import JpegImageFile

from spotfake.bias.debias_plan import Job
from spotfake.data.layouts import is_zip_location
from spotfake.data.members import Archives, read_member
from spotfake.errors import ImageReadError
from spotfake.io.convert import DECODE_ERRORS, center_crop, image_to_rgb
from spotfake.io.jpeg import JpegWriteError, Tables, encode_jpeg, parse_tables, tables_of
from spotfake.io.probe import open_image, probe_bytes
from spotfake.io.read import DEFAULT_MAX_PIXELS, check_pixel_count
from spotfake.records import GENERATED, REAL

# What reading a source (or writing its copy) can raise: the file is then dropped with the
# message as its reason.
READ_ERRORS: tuple[type[Exception], ...] = (
    ImageReadError,
    JpegWriteError,
    KeyError,
    OSError,
    zipfile.BadZipFile,
    *DECODE_ERRORS,
)


def encode_job(job: Job, archives: Archives | None = None) -> tuple[bytes, list[str]]:
    """The JPEG bytes of one job (decode, RGB, centre crop, encode) and notes on what it took."""
    with _open_source(job.record.path, archives) as image:
        check_pixel_count(image.width, image.height, DEFAULT_MAX_PIXELS)
        try:
            image.load()
        except DECODE_ERRORS as exc:
            raise ImageReadError(f"truncated or corrupt image data: {exc}") from exc
        notes = _notes(job, image)
        tables = _tables(job, image)
        block = _mcu(image) if not job.resize else (1, 1)
        pixels = image_to_rgb(image)
    if job.resize:
        pixels = np.asarray(_resized(Image.fromarray(pixels), job.crop))
    picture = Image.fromarray(_cropped(pixels, job.crop, block))
    if tables is not None:
        return encode_jpeg(picture, tables=tables, subsampling=job.subsampling), notes
    quality = job.quality or job.record.jpeg_quality or 95
    return encode_jpeg(picture, quality=quality, subsampling=job.subsampling), notes


def _tables(job: Job, image: Image.Image) -> Tables | None:
    """The exact tables a job writes: the matched real's, the source's own, or None (quality)."""
    if job.tables is not None:
        return parse_tables(job.tables)
    return _kept_tables(image) if job.quality is None else None


@contextmanager
def _open_source(location: str, archives: Archives | None) -> Iterator[ImageFile]:
    """A source file or zip member opened lazily, refused with the prober's messages."""
    if not is_zip_location(location):
        with open_image(location) as (image, _):
            yield image
        return
    data = archives.read(location) if archives is not None else read_member(location)
    probe_bytes(data, location)  # raises ImageReadError for what the prober refuses
    with Image.open(io.BytesIO(data)) as image:
        yield image


def _notes(job: Job, image: Image.Image) -> list[str]:
    """What happened to a file beyond the crop, for the summary."""
    kind = "fake" if job.record.label == GENERATED else "real"
    notes = []
    if image.mode != "RGB":
        notes.append(f"{kind}s converted from {image.mode} to RGB")
    if job.resize:
        notes.append(f"{kind}s resized (--resize)")
    if job.record.label == GENERATED and image.format == "JPEG":
        notes.append("fakes that were JPEG already, decoded and re-encoded")
    if job.record.label == REAL:
        own = "reals re-encoded with their own quantisation tables"
        other = "reals encoded at the target quality (not a colour JPEG, or --recompress-reals)"
        notes.append(own if job.quality is None else other)
    elif job.tables is not None:
        notes.append("fakes encoded with the exact tables and subsampling of a matched real")
    layout = job.record.chroma_subsampling
    if job.record.label == REAL and job.quality is None and layout != job.subsampling:
        notes.append(
            f"reals with {layout} subsampling written {job.subsampling} with their own tables "
            f"(Pillow cannot write {layout}); fakes matched to them alike"
        )
    return notes


def _kept_tables(image: Image.Image) -> Tables | None:
    """A JPEG's own quantisation tables, when it has the luma and chroma ones to reuse."""
    quantization = image.quantization if isinstance(image, JpegImageFile) else None
    tables = tables_of(quantization)
    if tables is None or len(tables) < 2 or image.mode != "RGB":
        return None
    return tables


def _mcu(image: Image.Image) -> tuple[int, int]:
    """A JPEG's minimum coded unit in pixels (16x16 for 4:2:0): crops start on its grid."""
    if not isinstance(image, JpegImageFile) or not image.layer:
        return (1, 1)
    return (8 * max(h for _, h, _, _ in image.layer), 8 * max(v for _, _, v, _ in image.layer))


def _cropped(pixels: np.ndarray, size: int, block: tuple[int, int]) -> np.ndarray:
    """The size x size centre of HxWx3 pixels on the block grid; refused when smaller."""
    height, width = pixels.shape[:2]
    if width < size or height < size:
        raise ImageReadError(f"{width}x{height} is smaller than the {size}x{size} crop")
    return center_crop(pixels, size, block)


def _resized(picture: Image.Image, side: int) -> Image.Image:
    """The picture scaled so that its shorter side is `side` (Lanczos)."""
    width, height = picture.size
    scale = side / min(width, height)
    size = (max(side, round(width * scale)), max(side, round(height * scale)))
    return picture.resize(size, Image.Resampling.LANCZOS)
