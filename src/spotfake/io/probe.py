"""Open image files safely and describe them from their headers, without decoding pixels.

Error messages name the reason only (``"file not found"``, ``"empty file (0 bytes)"``, ...):
the caller reports the path beside it, as a Prediction does.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

from PIL import Image, UnidentifiedImageError
from PIL.ImageFile import ImageFile
from PIL.JpegImagePlugin import JpegImageFile

from spotfake.errors import ImageReadError
from spotfake.io.convert import DECODE_ERRORS
from spotfake.io.jpeg import (
    chroma_subsampling,
    estimate_jpeg_quality,
    format_tables,
    standard_quality,
    tables_fingerprint,
    tables_of,
)
from spotfake.records import ImageRecord

# Formats spotfake decodes; others (EPS, PSD, ICO, ...) are refused rather than half-supported.
SUPPORTED_FORMATS: tuple[str, ...] = (
    "JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "AVIF",
)  # fmt: skip

_TIFF_EXIF_IFD = 0x8769
_TIFF_XMP = 700
_EXIF_MAKE, _EXIF_MODEL = 0x010F, 0x0110
_XMP_PNG_KEY = "XML:com.adobe.xmp"
# File signatures of formats people meet that spotfake does not read, for a precise message.
_KNOWN_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (4, b"ftypheic", "HEIC"), (4, b"ftypheix", "HEIC"), (4, b"ftypmif1", "HEIF"),
    (4, b"ftypmsf1", "HEIF"), (0, b"\xff\x0a", "JPEG XL"), (4, b"JXL ", "JPEG XL"),
    (0, b"%PDF", "PDF"), (0, b"<svg", "SVG"), (0, b"8BPS", "Photoshop PSD"),
)  # fmt: skip


def probe(path: str | os.PathLike[str]) -> ImageRecord:
    """Describe an image file from its headers (format, size, JPEG quality...) without decoding.

    Multi-frame files report ``n_frames``. PNG text chunks stored after the image data are only
    seen once pixels are decoded (``read_image`` reports them); probe sees the ones before it.
    Raises ImageReadError for missing, empty, unreadable, non-image or unsupported files.
    """
    with open_image(path) as (image, file_bytes):
        return record_from_image(image, path, file_bytes)


def probe_bytes(data: bytes, path: str) -> ImageRecord:
    """probe() for an image held in memory (a zip member, an upload); path names it."""
    with open_image_bytes(data) as image:
        return record_from_image(image, path, len(data))


@contextmanager
def open_image_bytes(data: bytes) -> Iterator[ImageFile]:
    """open_image() for bytes held in memory: the same refusals and messages as for files."""
    if not data:
        raise ImageReadError("empty file (0 bytes)")
    with _opened(io.BytesIO(data), lambda: data[:64]) as image:
        yield image


@contextmanager
def open_image(path: str | os.PathLike[str]) -> Iterator[tuple[ImageFile, int]]:
    """Lazily opened image (headers parsed, pixels not decoded) and the file's size in bytes."""
    file_bytes = _check_file(path)
    with _opened(path, lambda: _read_head(path)) as image:
        yield image, file_bytes


@contextmanager
def _opened(
    source: str | os.PathLike[str] | io.BytesIO,
    head: Callable[[], bytes],
) -> Iterator[ImageFile]:
    """Image.open with each failure turned into an ImageReadError naming the reason."""
    try:
        image = Image.open(source, formats=_open_formats())
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"too many pixels: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageReadError(_unidentified_reason(head(), source)) from exc
    except PermissionError as exc:
        raise ImageReadError("permission denied") from exc
    except DECODE_ERRORS as exc:
        raise ImageReadError(f"truncated or corrupt image header: {exc}") from exc
    with image:
        yield image


def record_from_image(
    image: ImageFile, path: str | os.PathLike[str], file_bytes: int | None
) -> ImageRecord:
    """ImageRecord from an opened image's headers; reading it never decodes pixels."""
    record = ImageRecord(
        path=os.fspath(path),
        format=image.format,
        mode=image.mode,
        width=image.width,
        height=image.height,
        file_bytes=file_bytes,
        n_frames=int(getattr(image, "n_frames", 1)),
        has_exif=has_exif(image),
        png_text_keys=png_text_keys(image),
        has_xmp=has_xmp(image),
        camera=camera(image),
        icc_profile=icc_profile_name(image.info.get("icc_profile")),
    )
    if isinstance(image, JpegImageFile):
        tables = tables_of(image.quantization)
        if tables is not None and all(len(table) == 64 for table in tables):
            record.jpeg_quality, record.jpeg_quality_exact = estimate_jpeg_quality(tables[0])
            record.jpeg_tables = format_tables(tables)
            record.jpeg_tables_id = tables_fingerprint(tables)
            record.jpeg_tables_standard = standard_quality(tables) is not None
        record.chroma_subsampling = chroma_subsampling(image.layer)
        record.progressive = bool(image.info.get("progressive") or image.info.get("progression"))
    return record


def png_text_keys(image: Image.Image) -> list[str]:
    """Keys of the PNG tEXt / zTXt / iTXt chunks Pillow has read so far (its str-valued info).

    Before decoding this covers chunks ahead of the image data (where generators such as
    Stable Diffusion UIs write "parameters"); after decoding, the chunks behind it too.
    """
    if image.format != "PNG":
        return []
    return [
        key for key, value in image.info.items() if isinstance(key, str) and isinstance(value, str)
    ]


def has_exif(image: Image.Image) -> bool:
    """True when the file carries an EXIF block (JPEG APP1, PNG eXIf, WebP EXIF, TIFF Exif IFD)."""
    if image.info.get("exif"):
        return True
    if "Raw profile type exif" in image.info:  # ImageMagick's PNG text spelling
        return True
    tags = getattr(image, "tag_v2", None)
    return tags is not None and _TIFF_EXIF_IFD in tags


def has_xmp(image: Image.Image) -> bool:
    """True when the file carries an XMP packet (JPEG APP1, PNG iTXt, WebP XMP, TIFF tag 700)."""
    if image.info.get("xmp") or _XMP_PNG_KEY in image.info:
        return True
    tags = getattr(image, "tag_v2", None)
    return tags is not None and _TIFF_XMP in tags


def camera(image: Image.Image) -> str | None:
    """The camera's EXIF make and model as one string (None when the file names none)."""
    if not has_exif(image):
        return None
    try:
        exif = image.getexif()
        parts = [str(exif.get(tag) or "").strip("\x00 ") for tag in (_EXIF_MAKE, _EXIF_MODEL)]
    except Exception:  # any malformed EXIF block only means "no camera named"
        return None
    make, model = parts
    if model.lower().startswith(make.lower()):  # "Canon" + "Canon EOS 5D"
        make = ""
    return " ".join(p for p in (make, model) if p) or None


def icc_profile_name(profile: bytes | None) -> str | None:
    """The description of an embedded ICC profile ("sRGB IEC61966-2.1", "Display P3"...),
    "unnamed" when it has none or cannot be parsed, None when there is no profile."""
    if not profile:
        return None
    try:
        from PIL import ImageCms

        name = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile)))
    except Exception:  # no LittleCMS in this Pillow, or a malformed profile
        return "unnamed"
    return " ".join(str(name).split()) or "unnamed"


@cache
def _open_formats() -> tuple[str, ...]:
    """The supported formats this Pillow build can open (AVIF needs a recent Pillow)."""
    Image.init()
    return tuple(name for name in SUPPORTED_FORMATS if name in Image.OPEN)


def _check_file(path: str | os.PathLike[str]) -> int:
    """Size in bytes of a regular, non-empty file; ImageReadError naming what is wrong."""
    try:
        info = os.stat(path)
    except FileNotFoundError as exc:
        raise ImageReadError("file not found") from exc
    except PermissionError as exc:
        raise ImageReadError("permission denied") from exc
    except OSError as exc:
        raise ImageReadError(f"cannot access file: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageReadError("is a directory, not an image file")
    if not stat.S_ISREG(info.st_mode):
        raise ImageReadError("not a regular file")
    if info.st_size == 0:
        raise ImageReadError("empty file (0 bytes)")
    return info.st_size


def _read_head(path: str | os.PathLike[str]) -> bytes:
    """The first 64 bytes of a file (empty when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(64)
    except OSError:
        return b""


def _unidentified_reason(head: bytes, source: str | os.PathLike[str] | io.BytesIO) -> str:
    """Why Pillow could not open a file: an unsupported image format, text, or unknown bytes."""
    for offset, signature, name in _KNOWN_SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return f"unsupported image format {name} (supported: {', '.join(_open_formats())})"
    other = _pillow_format(source)
    if other is not None:
        return f"unsupported image format {other} (supported: {', '.join(_open_formats())})"
    if _looks_like_text(head):
        return "not an image (the file holds text)"
    return "not an image (cannot identify the file type)"


def _pillow_format(source: str | os.PathLike[str] | io.BytesIO) -> str | None:
    """The format any Pillow plugin identifies from the header, or None (headers only)."""
    if isinstance(source, io.BytesIO):
        source.seek(0)
    try:
        with Image.open(source) as image:
            return image.format
    except Exception:  # any plugin failure just means "not identified"
        return None


def _looks_like_text(head: bytes) -> bool:
    """True when the first bytes are UTF-8 text without control characters."""
    for cut in range(4):  # a multi-byte character may be cut at the end of the sample
        try:
            text = head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return all(char.isprintable() or char in "\t\r\n\f" for char in text)
    return False
