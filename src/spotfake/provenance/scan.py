"""Find the metadata blocks of an image file in one pass over its bytes, without decoding pixels.

JPEG: the APP1 (EXIF, XMP) and APP11 (JUMBF, where C2PA lives) segments before the scan data.
PNG: tEXt / zTXt / iTXt (generation parameters, XMP), eXIf and caBX (C2PA) chunks, before and
after the image data. WebP: the EXIF, XMP and C2PA chunks. Other formats (TIFF, GIF, AVIF...):
a search for an XMP packet and a JUMBF box, and Pillow's EXIF reader (headers only).

Malformed structure ends the walk quietly with what was found so far (and a note in
``errors``): a broken file must never stop a batch.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

JPEG_SOI = b"\xff\xd8"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
XMP_JPEG_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
EXIF_HEADER = b"Exif\x00\x00"
XMP_PNG_KEY = "XML:com.adobe.xmp"
MAX_TEXT_BYTES = 4 * 1024 * 1024  # one decompressed text chunk; more is cut (zip bombs)
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOFn (not DHT, JPG, DAC)


@dataclass
class Metadata:
    """The metadata blocks found in one file (raw: the readers interpret them)."""

    container: str = "other"  # jpeg, png, webp or other
    texts: dict[str, str] = field(default_factory=dict)  # PNG text chunks, key -> text
    exif: bytes | None = None  # a TIFF-structured EXIF block
    xmp: str | None = None  # the XMP packet
    c2pa: bool = False  # a JUMBF / C2PA box is present: worth asking the C2PA library
    chroma_subsampled: bool = False  # a JPEG whose colour planes are stored at lower resolution
    errors: list[str] = field(default_factory=list)


def scan(data: bytes) -> Metadata:
    """The metadata blocks of an image file's bytes; never raises on malformed data."""
    if data.startswith(JPEG_SOI):
        meta = Metadata("jpeg")
        _guard(meta, _scan_jpeg, data)
    elif data.startswith(PNG_SIGNATURE):
        meta = Metadata("png")
        _guard(meta, _scan_png, data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        meta = Metadata("webp")
        _guard(meta, _scan_webp, data)
    else:
        meta = Metadata("other")
        _guard(meta, _scan_other, data)
    return meta


def _guard(meta: Metadata, walker: Callable[[Metadata, bytes], None], data: bytes) -> None:
    """Run a walker; a failure keeps what was found and notes the error."""
    try:
        walker(meta, data)
    except Exception as exc:  # malformed input of any kind: keep going with what was found
        meta.errors.append(f"{meta.container} structure: {exc}")


def _scan_jpeg(meta: Metadata, data: bytes) -> None:
    """Walk the markers from SOI to SOS: metadata segments all come before the scan data."""
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            meta.errors.append(f"jpeg: no marker at byte {pos}")
            return
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _JPEG_STANDALONE:
            pos += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan, end of image
            return
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if length < 2:
            meta.errors.append(f"jpeg: bad segment length at byte {pos}")
            return
        if marker in (0xE1, 0xEB):
            _jpeg_app(meta, marker, data[pos + 4 : pos + 2 + length])
        elif marker in _JPEG_FRAMES:
            meta.chroma_subsampled = _subsampled(data[pos + 4 : pos + 2 + length])
        pos += 2 + length


def _jpeg_app(meta: Metadata, marker: int, body: bytes) -> None:
    """Keep EXIF and XMP from APP1; note a JUMBF box in APP11."""
    if marker == 0xEB:
        if body[:2] == b"JP" and b"jumb" in body[:32]:
            meta.c2pa = True
    elif body.startswith(EXIF_HEADER) and meta.exif is None:
        meta.exif = body[len(EXIF_HEADER) :]
    elif body.startswith(XMP_JPEG_HEADER) and meta.xmp is None:
        meta.xmp = body[len(XMP_JPEG_HEADER) :].decode("utf-8", "replace")


def _subsampled(frame: bytes) -> bool:
    """True when a colour JPEG's frame header stores a chroma plane below the luma resolution."""
    count = frame[5]
    factors = [frame[6 + 3 * i + 1] for i in range(count)]  # H << 4 | V per component
    return count == 3 and any(f != factors[0] for f in factors[1:])


def _scan_png(meta: Metadata, data: bytes) -> None:
    """Walk every chunk (text may follow the image data) up to IEND."""
    pos, end = len(PNG_SIGNATURE), len(data)
    while pos + 8 <= end:
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            key, text = _png_text(kind, data[pos + 8 : pos + 8 + length])
            if key == XMP_PNG_KEY:
                meta.xmp = meta.xmp or text
            elif key:
                meta.texts.setdefault(key, text)
        elif kind == b"eXIf":
            body = data[pos + 8 : pos + 8 + length]
            meta.exif = body[len(EXIF_HEADER) :] if body.startswith(EXIF_HEADER) else body
        elif kind == b"caBX":
            meta.c2pa = True
        elif kind == b"IEND":
            return
        pos += 12 + length


def _png_text(kind: bytes, body: bytes) -> tuple[str, str]:
    """(key, text) of a tEXt (Latin-1), zTXt (deflated Latin-1) or iTXt (UTF-8) chunk."""
    key, _, rest = body.partition(b"\x00")
    name = key.decode("latin-1")
    if kind == b"tEXt":
        return name, rest.decode("latin-1")
    if kind == b"zTXt":
        return name, _inflate(rest[1:]).decode("latin-1")
    compressed, rest = rest[0], rest[2:]  # flag, method
    _language, _, rest = rest.partition(b"\x00")
    _translated, _, text = rest.partition(b"\x00")
    raw = _inflate(text) if compressed else text
    return name, raw.decode("utf-8", "replace")


def _inflate(data: bytes) -> bytes:
    """zlib-decompress at most MAX_TEXT_BYTES (a hostile chunk cannot exhaust memory)."""
    return zlib.decompressobj().decompress(data, MAX_TEXT_BYTES)


def _scan_webp(meta: Metadata, data: bytes) -> None:
    """Walk the RIFF chunks: EXIF, 'XMP ' and C2PA."""
    pos, end = 12, len(data)
    while pos + 8 <= end:
        kind = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = data[pos + 8 : pos + 8 + size]
        if kind == b"EXIF":
            meta.exif = body[len(EXIF_HEADER) :] if body.startswith(EXIF_HEADER) else body
        elif kind == b"XMP ":
            meta.xmp = body.decode("utf-8", "replace")
        elif kind == b"C2PA":
            meta.c2pa = True
        pos += 8 + size + (size & 1)


def _scan_other(meta: Metadata, data: bytes) -> None:
    """TIFF, GIF, AVIF, BMP...: search for an XMP packet and a JUMBF box; EXIF via Pillow."""
    start = data.find(b"<x:xmpmeta")
    if start >= 0:
        stop = data.find(b"</x:xmpmeta>", start)
        if stop > start:
            meta.xmp = data[start : stop + len(b"</x:xmpmeta>")].decode("utf-8", "replace")
    meta.c2pa = data.find(b"jumb") >= 0 and data.find(b"c2pa") >= 0
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:  # headers only: getexif never decodes pixels
        exif = image.getexif()
        if len(exif):
            meta.exif = exif.tobytes()
