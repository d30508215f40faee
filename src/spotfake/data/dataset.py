"""Torch datasets over labelled images, decoded up front (small sets) or read per item (large).

A set that fits in memory is decoded once (``decode_all``); a large one (GenImage, CIFAKE on a
small machine) is read lazily, item by item, in DataLoader worker processes. Zip archives are
opened once per process and never shared across a fork: a handle inherited from the parent
shares its file offset with it, and reads from two processes would interleave.

Training items are keyed by ``(index, seed)``: the seed drives every random choice of that
view, so a run gives the same batches whatever the number of workers, and resumes exactly.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from spotfake.data.layouts import is_zip_location
from spotfake.data.members import read_member
from spotfake.errors import ImageReadError

View = Callable[[np.ndarray, int, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class Sample:
    """One labelled image as training needs it: where it is, its class, group and storage."""

    location: str  # a file path, or "/abs/archive.zip!member"
    label: int
    group: str  # a source or generator: what balanced sampling and per-group metrics use
    quality: int | None = None  # JPEG quality of the stored file (None: not a JPEG)
    n_pixels: int | None = None  # width * height when known, to estimate decoded memory
    twin: str | None = None  # a synthesised fake's real twin (the location of its source)


def read_pixels(location: str, max_pixels: int | None = None) -> np.ndarray:
    """HxWx3 uint8 RGB of a file or zip member; ImageReadError naming it when unreadable."""
    from spotfake.io.read import DEFAULT_MAX_PIXELS, read_image

    limit = DEFAULT_MAX_PIXELS if max_pixels is None else max_pixels
    if not is_zip_location(location):
        return read_image(location, limit).pixels
    try:
        data = read_member(location)
    except (KeyError, OSError, zipfile.BadZipFile) as exc:
        raise ImageReadError(f"{location}: {exc}") from exc
    return _decode_bytes(data, location, limit)


def _decode_bytes(data: bytes, location: str, max_pixels: int) -> np.ndarray:
    """Decode an in-memory image with the same checks read_image applies to files."""
    from PIL import Image

    from spotfake.io.convert import DECODE_ERRORS, as_rgb_array
    from spotfake.io.read import check_pixel_count

    try:
        with Image.open(io.BytesIO(data)) as image:
            check_pixel_count(image.width, image.height, max_pixels)
            return as_rgb_array(image)
    except ImageReadError as exc:
        raise ImageReadError(f"{location}: {exc}") from exc
    except Image.DecompressionBombError as exc:
        raise ImageReadError(f"{location}: too many pixels: {exc}") from exc
    except DECODE_ERRORS as exc:
        raise ImageReadError(f"{location}: cannot decode: {exc}") from exc


def decode_all(locations: Sequence[str], threads: int = 2) -> list[np.ndarray]:
    """Decode every location once, in threads (Pillow releases the GIL while decoding)."""
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        return list(pool.map(read_pixels, locations, chunksize=64))


class PixelStore:
    """Pixels by index: from memory when decoded up front, else read from disk at each call."""

    def __init__(self, locations: Sequence[str], decoded: list[np.ndarray] | None = None) -> None:
        self.locations = list(locations)
        self.decoded = decoded

    def __len__(self) -> int:
        return len(self.locations)

    def __getitem__(self, index: int) -> np.ndarray:
        if self.decoded is not None:
            return self.decoded[index]
        return read_pixels(self.locations[index])

    def subset(self, indices: Sequence[int]) -> PixelStore:
        """A store over some of these images (sharing decoded pixels)."""
        decoded = None if self.decoded is None else [self.decoded[i] for i in indices]
        return PixelStore([self.locations[i] for i in indices], decoded)

    @classmethod
    def load(cls, samples: Sequence[Sample], in_memory: bool, threads: int = 2) -> PixelStore:
        """A store over samples, decoding them now when in_memory."""
        locations = [s.location for s in samples]
        return cls(locations, decode_all(locations, threads) if in_memory else None)


class TrainViews(Dataset[tuple[torch.Tensor, torch.Tensor]]):
    """Augmented training views: item (index, seed) -> (HxWx3 uint8 tensor, float label)."""

    def __init__(self, store: PixelStore, labels: Sequence[int], view: View) -> None:
        self.store = store
        self.labels = list(labels)
        self.view = view

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, seed = key
        label = self.labels[index]
        pixels = self.view(self.store[index], label, np.random.default_rng(seed))
        pixels = np.require(pixels, requirements=["C", "W"])  # torch wants writable memory
        return torch.from_numpy(pixels), torch.tensor(float(label))


class ImageItems(Dataset[tuple[Any, int, int]]):
    """Whole images to score or featurise: index -> (transform(pixels), label, index)."""

    def __init__(
        self,
        store: PixelStore,
        labels: Sequence[int],
        transform: Callable[[np.ndarray], Any] | None = None,
    ) -> None:
        self.store = store
        self.labels = list(labels)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.store)

    def __getitem__(self, index: int) -> tuple[Any, int, int]:
        pixels = self.store[index]
        item = self.transform(pixels) if self.transform is not None else pixels
        return item, self.labels[index], index


def collate_items(batch: list[tuple[Any, int, int]]) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """Images of different sizes stay a list; labels and indices become arrays."""
    items, labels, indices = zip(*batch, strict=True)
    return list(items), np.asarray(labels), np.asarray(indices)
