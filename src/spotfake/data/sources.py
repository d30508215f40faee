"""Labelled image sources for training and evaluation: folders or zip members, split by hash."""

from __future__ import annotations

import hashlib
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from spotfake.data.layouts import is_zip_location, split_zip_location
from spotfake.data.members import archive as archive_of
from spotfake.data.members import read_member

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"}


@dataclass
class SourceConfig:
    """A folder (or "archive.zip!prefix/") of images that all carry one label."""

    name: str
    path: str
    label: int
    weight: float = 1.0
    limit: int | None = None
    group: str | None = None  # held-out sources of one group are scored against each other


@dataclass
class SynthSourceConfig:
    """Fakes written by `spotfake synth make` (its OUT folder), each paired with its real twin.

    A fake takes its twin's split when the twin is one of the recipe's real training images, so
    no content is in training and validation at once; otherwise the split of its twin's name.
    """

    name: str
    path: str  # the OUT folder of `synth make`, relative to the current directory
    weight: float = 1.0
    limit: int | None = None  # this many pairs, a fixed random subset


@dataclass
class DataConfig:
    """Where the images are, which are trained on, which are only evaluated (held out).

    Training data is either ``sources`` (folders or zip prefixes under ``root``, one label each)
    or ``train``: any dataset spotfake reads (a manifest, a GenImage / CNNDetection / real+fake
    folder, a zip archive, a CSV listing), relative to the current directory. Validation is
    ``val`` when given, else the dataset's own val (or test) split, else ``val_fraction`` of the
    files chosen by a hash of their path (``split_of``).
    """

    root: str = "../shared/data"
    val_fraction: float = 0.15
    split_rule: str = "group"  # group | path: what split_of hashes (see spotfake.data.groups)
    sources: list[SourceConfig] = field(default_factory=list)
    heldout: list[SourceConfig] = field(default_factory=list)
    synth: list[SynthSourceConfig] = field(default_factory=list)  # synthesised fakes (label 1)
    paired: bool = False  # put a synthesised fake's real twin in the same batch
    train: str | None = None
    val: str | None = None
    generator: str | None = None  # names the generator of a one-generator dataset
    limit: int | None = None  # train on a fixed random subset of this many images
    val_limit: int | None = None
    sampling: str = "balanced"  # balanced: classes equally, then groups by weight; or shuffle
    in_memory: bool | None = None  # decode everything up front (None: when it fits memory_mb)
    memory_mb: int = 4096
    workers: int | None = None  # DataLoader processes (None: 0 on CPU, up to 8 per GPU)


@dataclass
class Item:
    """One image of a source: where it is and which split it falls in."""

    source: str
    label: int
    location: str  # a file path, or "archive.zip!member"
    split: str


def split_of(key: str, val_fraction: float) -> str:
    """'val' or 'train', stable across machines and runs: decided by a hash of the file name."""
    digest = int(hashlib.sha1(key.encode()).hexdigest()[:8], 16)
    return "val" if digest / 0xFFFFFFFF < val_fraction else "train"


def list_items(
    source: SourceConfig, root: Path, val_fraction: float, rule: str = "group"
) -> list[Item]:
    """Every image of a source, sorted, each assigned to train or val by the split rule
    (``spotfake.data.groups``: the file's group, or its path under the root)."""
    from spotfake.data.groups import group_key

    if is_zip_location(source.path):
        archive, prefix = split_zip_location(source.path)
        names = sorted(
            n
            for n in archive_of(str(root / archive)).namelist()
            if n.startswith(prefix) and Path(n).suffix.lower() in IMAGE_SUFFIXES
        )
        locations = [f"{root / archive}!{n}" for n in names]
        keys = names
    else:
        folder = root / source.path
        if not folder.is_dir():
            raise FileNotFoundError(f"source {source.name}: folder {folder} not found")
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        locations = [str(p) for p in files]
        keys = [f"{source.path}/{p.name}" for p in files]
    if rule == "group":
        keys = [group_key(key) for key in keys]
    items = [
        Item(source.name, source.label, loc, split_of(key, val_fraction))
        for loc, key in zip(locations, keys, strict=True)
    ]
    if source.limit is not None:
        rng = np.random.default_rng(0)
        keep = sorted(rng.permutation(len(items))[: source.limit])
        items = [items[i] for i in keep]
    return items


def load_pixels(location: str, data: bytes | None = None) -> tuple[np.ndarray, int | None]:
    """Decode an item to RGB uint8 and return its JPEG quality (None when not a JPEG).

    data: the bytes of a zip member, read beforehand.
    """
    from spotfake.io import read_image

    if not is_zip_location(location):
        image = read_image(location)
        return image.pixels, image.record.jpeg_quality
    from PIL import Image

    from spotfake.io import as_rgb_array, estimate_jpeg_quality

    if data is None:
        data = read_member(location)
    with Image.open(io.BytesIO(data)) as im:
        tables = getattr(im, "quantization", None) if im.format == "JPEG" else None
        quality = estimate_jpeg_quality(tables[0])[0] if tables else None
        return as_rgb_array(im), quality


@dataclass
class Example:
    """A decoded image kept in memory with what the sampler and augmenter need."""

    pixels: np.ndarray
    label: int
    source: str
    quality: int | None


def load_examples(items: list[Item], threads: int = 2) -> list[Example]:
    """Decode every item once, in parallel threads (Pillow releases the GIL while decoding)."""
    # Through the process-wide cache, which list_items already opened each archive into.
    blobs = {i.location: read_member(i.location) for i in items if is_zip_location(i.location)}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        decoded = list(pool.map(lambda i: load_pixels(i.location, blobs.get(i.location)), items))
    return [
        Example(pixels, item.label, item.source, quality)
        for item, (pixels, quality) in zip(items, decoded, strict=True)
    ]
