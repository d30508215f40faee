"""Read zip members addressed as "archive.zip!member" from several threads, each archive once."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from spotfake.data.layouts import is_zip_location, split_zip_location
from spotfake.errors import SpotfakeError

Reader = Callable[[str], bytes | None]


@contextmanager
def member_reader() -> Iterator[Reader]:
    """A function giving a zip member's bytes (None for a plain file); each archive opened once.

    Opening a large archive parses its whole central directory, which takes about a second;
    ZipFile reads are safe from several threads (each read seeks under the archive's lock).
    """
    archives: dict[str, zipfile.ZipFile] = {}
    lock = threading.Lock()

    def read(location: str) -> bytes | None:
        if not is_zip_location(location):
            return None
        archive, member = split_zip_location(location)
        with lock:
            if archive not in archives:
                archives[archive] = zipfile.ZipFile(archive)
            zf = archives[archive]
        try:
            return zf.read(member)
        except KeyError as exc:
            raise SpotfakeError("not found in the archive") from exc

    try:
        yield read
    finally:
        for zf in archives.values():
            zf.close()
