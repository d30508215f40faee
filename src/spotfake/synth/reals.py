"""The real images a generator trains on and `make` pairs with: choice, order, decoding.

Labelled datasets give their reals (label 0). A folder or listing without labels (a plain folder
of photos such as ``imagenet-real/``) is taken as all real: that is what a user points
`synth` at. Order and subsets are fixed by hashes of the file names, so every run and machine
picks the same images.
"""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from spotfake.data.layouts import is_zip_location, split_zip_location
from spotfake.data.members import Reader
from spotfake.errors import ImageReadError
from spotfake.records import REAL, ImageRecord
from spotfake.synth.encode import Storage, storage_of


def select_reals(records: Sequence[ImageRecord]) -> list[ImageRecord]:
    """The reals (label 0), or every file when the dataset carries no labels, labelled 0.

    Unreadable files are kept, with their error, for the caller to report.
    """
    labelled = any(r.label is not None for r in records)
    return [replace(r, label=REAL) for r in records if r.label == REAL or not labelled]


def name_key(record: ImageRecord) -> str:
    """A machine-independent key of a file: its name (a zip member's own path)."""
    return location_key(record.path)


def location_key(location: str) -> str:
    """name_key of a location: a file's name, or a zip member's path inside its archive."""
    if is_zip_location(location):
        return split_zip_location(location)[1]
    return location.replace("\\", "/").rsplit("/", 1)[-1]


def hashed_order(records: Sequence[ImageRecord], limit: int | None = None) -> list[ImageRecord]:
    """Records in a fixed pseudo-random order (by a hash of the name), the first `limit` kept.

    Sorting by name would take the first classes of a class-sorted set (all the fish of
    ImageNet); a hash spreads any prefix over the whole set.
    """
    ordered = sorted(records, key=lambda r: (_digest(name_key(r)), r.path))
    return ordered if limit is None else ordered[:limit]


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


class PixelCache:
    """Decoded images by location, least recently used dropped beyond `budget_mb`."""

    def __init__(self, budget_mb: int = 2048) -> None:
        self.budget = budget_mb * 2**20
        self.used = 0
        self.items: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, location: str) -> np.ndarray:
        """HxWx3 uint8 RGB of a file or zip member (ImageReadError when unreadable)."""
        from spotfake.data.dataset import read_pixels

        if location in self.items:
            self.items.move_to_end(location)
            return self.items[location]
        pixels = read_pixels(location)
        self.items[location] = pixels
        self.used += pixels.nbytes
        while self.used > self.budget and len(self.items) > 1:
            self.used -= self.items.popitem(last=False)[1].nbytes
        return pixels


class PatchSampler:
    """Random square patches of the reals, each image chosen uniformly, flipped half the time.

    Only images at least `patch` px on both sides are used; unreadable ones are skipped and
    named in `skipped` (path, reason).
    """

    def __init__(
        self, records: Sequence[ImageRecord], patch: int, seed: int, budget_mb: int = 2048
    ) -> None:
        self.records = [r for r in records if min(r.width or 0, r.height or 0) >= patch]
        if not self.records:
            raise ValueError(f"no real image is at least {patch} px on both sides")
        self.patch = patch
        self.rng = np.random.default_rng(seed)
        self.cache = PixelCache(budget_mb)
        self.skipped: dict[str, str] = {}

    def batch(self, n: int) -> np.ndarray:
        """An n x patch x patch x 3 uint8 array of patches."""
        patches: list[np.ndarray] = []
        while len(patches) < n:
            record = self.records[int(self.rng.integers(len(self.records)))]
            try:
                pixels = self.cache.get(record.path)
            except ImageReadError as exc:
                self.skipped[record.path] = str(exc)
                self.records.remove(record)
                if not self.records:
                    raise ValueError("every real image failed to decode") from exc
                continue
            patches.append(self._crop(pixels))
        return np.stack(patches)

    def _crop(self, pixels: np.ndarray) -> np.ndarray:
        h, w = pixels.shape[:2]
        top = int(self.rng.integers(h - self.patch + 1))
        left = int(self.rng.integers(w - self.patch + 1))
        crop = pixels[top : top + self.patch, left : left + self.patch]
        return crop[:, ::-1] if self.rng.random() < 0.5 else crop


def read_source(location: str, read: Reader) -> tuple[np.ndarray, Storage]:
    """A real's RGB pixels and its storage (to write its twin alike), from its bytes, read once.

    read: a ``spotfake.data.members`` reader (zip members). Raises ImageReadError for what the
    prober refuses or cannot decode, StorageError for what `make` cannot reproduce.
    """
    from PIL import Image

    from spotfake.io.convert import DECODE_ERRORS, image_to_rgb
    from spotfake.io.probe import probe_bytes
    from spotfake.io.read import DEFAULT_MAX_PIXELS, check_pixel_count

    data = read(location)
    if data is None:
        try:
            data = Path(location).read_bytes()
        except OSError as exc:
            raise ImageReadError(f"cannot read file: {exc.strerror or exc}") from exc
    probe_bytes(data, location)  # the prober's refusals and messages
    try:
        with Image.open(io.BytesIO(data)) as image:
            check_pixel_count(image.width, image.height, DEFAULT_MAX_PIXELS)
            image.load()
            return image_to_rgb(image), storage_of(image, data)
    except DECODE_ERRORS as exc:
        raise ImageReadError(f"truncated or corrupt image data: {exc}") from exc
