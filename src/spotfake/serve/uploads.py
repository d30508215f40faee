"""Read the images of a request into memory, enforcing size and count limits as bytes arrive.

Starlette's form parser spools every file over 1 MB to a temporary file on disk. The service
promises that nothing a user sends is written to disk unless asked (``--keep-uploads``), so
bodies are parsed here with python-multipart's streaming parser and held in memory; a file over
the per-file limit keeps streaming but its bytes are dropped, so memory stays bounded.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PureWindowsPath
from typing import Any

from spotfake.serve.settings import MIB, ServeSettings

MAX_FIELD_BYTES = 64 * 1024  # non-file form fields, all together (they are ignored)
MAX_NAME_CHARS = 200
RAW_TYPES = ("image/", "application/octet-stream")
_UNSAFE_NAME = re.compile(r"[^\w.+-]+")


class RequestRejected(Exception):
    """The request as a whole cannot be served: an HTTP status and a message in plain words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Upload:
    """One uploaded file held in memory; past the per-file limit its bytes are counted, not kept."""

    name: str
    data: bytearray = field(default_factory=bytearray)
    size: int = 0
    too_large: bool = False
    named: bool = True  # False for a part sent without a file name (a form with no file chosen)

    def add(self, chunk: bytes, limit: int) -> None:
        """Append a chunk, or count it only once the file has passed the limit."""
        self.size += len(chunk)
        if self.too_large:
            return
        if self.size > limit:
            self.too_large = True
            self.data = bytearray()
            return
        self.data += chunk


def clean_name(raw: str | None, index: int) -> str:
    """The upload's own file name without any folder part ('C:\\fakepath\\a.jpg' -> 'a.jpg')."""
    name = PureWindowsPath((raw or "").replace("\x00", "")).name.strip()
    name = "".join(char for char in name if char.isprintable())[:MAX_NAME_CHARS]
    return name or f"upload-{index + 1}"


def describe_bytes(count: int) -> str:
    """A size in words: '812 KB', '31.2 MB'."""
    if count < MIB:
        return f"{count / 1024:.0f} KB"
    return f"{count / MIB:.1f} MB"


@dataclass
class BodySource:
    """What read_uploads needs from a request, so that it never sees the web framework."""

    content_type: str | None
    content_length: str | None
    stream: AsyncIterator[bytes]
    filename: str | None = None  # the name of a raw body's image (?filename=)


async def read_uploads(body: BodySource, settings: ServeSettings) -> list[Upload]:
    """The files of a multipart body, or the one image of a raw body; RequestRejected if neither."""
    from python_multipart.multipart import parse_options_header

    _check_declared_length(body.content_length, settings)
    kind, options = parse_options_header(body.content_type)
    mime = kind.decode("latin-1").lower()
    if mime == "multipart/form-data":
        uploads = await _read_multipart(body.stream, options.get(b"boundary"), settings)
    elif mime.startswith(RAW_TYPES):
        upload = Upload(clean_name(body.filename, 0))
        async for chunk in _limited(body.stream, settings):
            upload.add(chunk, settings.max_file_bytes)
        uploads = [upload]
    else:
        raise RequestRejected(
            415,
            "send images as multipart/form-data (field 'files') or as a raw body with "
            f"an image/* Content-Type, not {mime or 'no Content-Type'}",
        )
    uploads = [upload for upload in uploads if upload.named or upload.size > 0]
    if not uploads:
        raise RequestRejected(422, "no image in the request: attach one or more files")
    return uploads


def _check_declared_length(content_length: str | None, settings: ServeSettings) -> None:
    """Refuse a body whose declared length is over the limit before reading any of it."""
    if content_length is None or not content_length.strip().isdigit():
        return
    if int(content_length) > settings.max_request_bytes:
        raise RequestRejected(413, _request_too_large(int(content_length), settings))


def _request_too_large(count: int, settings: ServeSettings) -> str:
    limit = describe_bytes(settings.max_request_bytes)
    return f"request too large ({describe_bytes(count)}): the limit is {limit} per request"


async def _limited(stream: AsyncIterator[bytes], settings: ServeSettings) -> AsyncIterator[bytes]:
    """The body's chunks, stopping with a 413 once the body passes the request limit."""
    total = 0
    async for chunk in stream:
        total += len(chunk)
        if total > settings.max_request_bytes:
            raise RequestRejected(413, _request_too_large(total, settings))
        if chunk:
            yield chunk


async def _read_multipart(
    stream: AsyncIterator[bytes], boundary: bytes | None, settings: ServeSettings
) -> list[Upload]:
    """Feed the body to python-multipart's streaming parser; files land in Upload objects."""
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser

    if not boundary:
        raise RequestRejected(400, "malformed multipart body: the Content-Type has no boundary")
    collector = _Collector(settings)
    try:
        parser = MultipartParser(boundary, collector.callbacks())
        async for chunk in _limited(stream, settings):
            parser.write(chunk)
    except FormParserError as exc:
        raise RequestRejected(400, f"malformed multipart body: {exc}") from exc
    if not collector.ended:
        raise RequestRejected(400, "malformed multipart body: it ends before its last boundary")
    return collector.uploads


class _Collector:
    """python-multipart callbacks: one Upload per part with a file name, limits checked early."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self.uploads: list[Upload] = []
        self.current: Upload | None = None
        self.field_bytes = 0
        self.ended = False
        self._header = [b"", b""]
        self._disposition = b""

    def callbacks(self) -> Any:
        """The callback table MultipartParser takes."""
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_end": self._end,
        }

    def _begin(self) -> None:
        self.current, self._disposition = None, b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        if self._header[0].strip().lower() == b"content-disposition":
            self._disposition = self._header[1]
        self._header = [b"", b""]

    def _headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self._disposition)
        if b"filename" not in options:
            return  # a plain form field: counted, then ignored
        if len(self.uploads) >= self.settings.max_files:
            raise RequestRejected(
                413, f"too many files: at most {self.settings.max_files} per request"
            )
        raw = options[b"filename"].decode("utf-8", errors="replace")
        self.current = Upload(clean_name(raw, len(self.uploads)), named=bool(raw.strip()))
        self.uploads.append(self.current)

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.current is not None:
            self.current.add(data[start:end], self.settings.max_file_bytes)
            return
        self.field_bytes += end - start
        if self.field_bytes > MAX_FIELD_BYTES:
            raise RequestRejected(413, "form fields too large: send only image files")

    def _end(self) -> None:
        self.ended = True


def save_upload(upload: Upload, folder: Path) -> Path:
    """Write an upload's bytes to FOLDER/<UTC time>-<random>-<name> (for --keep-uploads only)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    safe = _UNSAFE_NAME.sub("_", upload.name).strip("._") or "upload"
    path = folder / f"{stamp}-{uuid.uuid4().hex[:8]}-{safe}"
    path.write_bytes(bytes(upload.data))
    return path
