"""The one reader of zip members addressed as "archive.zip!member".

Opening a large archive parses its whole central directory (about a second for CIFAKE's
120,000 members), so archives are opened once and kept: by an ``Archives`` for the length of a
job (``member_reader``), or by the process-wide one (``read_member``, ``archive``) for readers
called from many places, such as dataset workers. ZipFile reads are safe from several threads
(each read seeks under the archive's lock); handles inherited across a fork belong to the
parent, so a forked process opens its own.
"""

from __future__ import annotations

import os
import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType

from spotfake.data.layouts import is_zip_location, split_zip_location
from spotfake.errors import SpotfakeError

Reader = Callable[[str], bytes | None]


class MemberNotFound(SpotfakeError, KeyError):
    """The archive has no member of that name."""

    def __str__(self) -> str:
        return "not found in the archive"


class Archives:
    """Zip archives opened once each, shared by threads, closed by close() or on leaving."""

    def __init__(self) -> None:
        self._open: dict[str, zipfile.ZipFile] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def archive(self, path: str) -> zipfile.ZipFile:
        """The open archive at path (opened on first use, again after a fork or a close)."""
        with self._lock:
            if self._pid != os.getpid():  # inherited across fork: the parent owns those
                self._open.clear()
                self._pid = os.getpid()
            zf = self._open.get(path)
            if zf is None or zf.fp is None:
                zf = self._open[path] = zipfile.ZipFile(path)
            return zf

    def info(self, location: str) -> zipfile.ZipInfo:
        """The member's entry (size, time); MemberNotFound when absent."""
        archive, member = split_zip_location(location)
        try:
            return self.archive(archive).getinfo(member)
        except KeyError:
            raise MemberNotFound(location) from None

    def read(self, location: str) -> bytes:
        """The member's bytes; MemberNotFound when absent, OSError / BadZipFile for the archive."""
        archive, member = split_zip_location(location)
        try:
            return self.archive(archive).read(member)
        except KeyError:
            raise MemberNotFound(location) from None

    def close(self) -> None:
        with self._lock:
            while self._open:
                self._open.popitem()[1].close()

    def __enter__(self) -> Archives:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


_PROCESS = Archives()  # kept open for the life of the process (or until close_archives)


def archive(path: str) -> zipfile.ZipFile:
    """A zip archive from the process-wide cache."""
    return _PROCESS.archive(path)


def member_info(location: str) -> zipfile.ZipInfo:
    """A member's entry (size, time) through the process-wide cache."""
    return _PROCESS.info(location)


def read_member(location: str) -> bytes:
    """A member's bytes through the process-wide cache."""
    return _PROCESS.read(location)


def close_archives() -> None:
    """Close the archives the process-wide cache holds."""
    _PROCESS.close()


@contextmanager
def member_reader() -> Iterator[Reader]:
    """A function giving a zip member's bytes (None for a plain file) for the length of a job."""
    with Archives() as archives:

        def read(location: str) -> bytes | None:
            return archives.read(location) if is_zip_location(location) else None

        yield read
