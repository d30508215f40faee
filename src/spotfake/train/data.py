"""load_data: the recipe's training and validation images as Samples and pixel stores.

Two forms name the data. ``data.sources`` lists folders or zip prefixes under ``data.root``
with one label each (what configs/default.yaml uses); ``data.train`` is any dataset spotfake
reads (``spotfake.data.manifest.open_dataset``). Validation is ``data.val`` when given, else
the dataset's own val split (test when it has no val), else a ``val_fraction`` of the files
chosen by a hash of their path inside the dataset, the same on every machine.

Synthesised fakes (``data.synth``: folders written by ``spotfake synth make``) join either form;
each takes its real twin's split, and ``TrainData.twins`` links it to the twin for paired
sampling.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np

from spotfake.data.dataset import PixelStore, Sample
from spotfake.data.layouts import Entry, is_zip_location, split_zip_location
from spotfake.data.sources import DataConfig, SynthSourceConfig, list_items, split_of
from spotfake.records import ImageRecord


@dataclass
class TrainData:
    """Training and validation samples with their pixels (in memory or read on demand)."""

    train: list[Sample]
    val: list[Sample]
    train_store: PixelStore
    val_store: PixelStore
    weights: dict[str, float]  # group -> sampling weight (balanced sampling)
    in_memory: bool
    twins: dict[int, int] = field(default_factory=dict)  # train index: fake -> its real twin


def load_data(data: DataConfig, world: int = 1, log: TextIO | None = None) -> TrainData:
    """List, split and (when it fits) decode the recipe's images."""
    started = time.time()
    train, val = list_samples(data, log)
    if not train:
        raise ValueError("data: no labelled training images found")
    in_memory = decide_in_memory(data, train + val)
    threads = max(1, (os.cpu_count() or 1) // world)
    listed = time.time() - started
    result = TrainData(
        train=train,
        val=val,
        train_store=PixelStore.load(train, in_memory, threads),
        val_store=PixelStore.load(val, in_memory, threads),
        weights={
            **{s.name: s.weight for s in data.sources},
            **{s.name: s.weight for s in data.synth},
        },
        in_memory=in_memory,
        twins=twin_indices(train),
    )
    if log is not None:
        how = f"decoded in {time.time() - started - listed:.0f} s" if in_memory else "read lazily"
        print(
            f"{len(train)} training and {len(val)} validation images (listed in {listed:.0f} s, "
            f"{how})",
            file=log,
        )
        if data.synth:
            paired = len(result.twins)
            print(f"{paired} synthesised fakes have their real twin in training", file=log)
    return result


def list_samples(data: DataConfig, log: TextIO | None = None) -> tuple[list[Sample], list[Sample]]:
    """(train, val) samples of either data form."""
    if bool(data.sources) == bool(data.train):
        raise ValueError("data: give either `train` (a dataset) or `sources`, not both or neither")
    if data.sources:
        train, val = _from_sources(data, log)
    else:
        train, val = _from_dataset(data, log)
    if data.synth:
        more_train, more_val = _from_synth(data, train, val, log)
        train, val = train + more_train, val + more_val
    return _limited(train, data.limit), _limited(val, data.val_limit)


def _from_synth(
    data: DataConfig, train: list[Sample], val: list[Sample], log: TextIO | None
) -> tuple[list[Sample], list[Sample]]:
    """The fakes of each `synth make` folder, in their real twin's split (see SynthSourceConfig)."""
    from spotfake.data.manifest import probe_entries
    from spotfake.synth.reals import location_key

    known = {
        _real_key(s.location): (s.location, split)
        for samples, split in ((train, "train"), (val, "val"))
        for s in samples
        if s.label == 0
    }
    entries, twins = [], {}
    for source in data.synth:
        for fake, real in _pairs(source):
            location, split = known.get(_real_key(real), (None, None))
            if split is None:
                split = split_of(_group(real, data.split_rule, location_key), data.val_fraction)
            entries.append(Entry(fake, 1, source.name, split))
            twins[fake] = location
    records = _usable(probe_entries(entries, workers=data.workers or None), log)
    out: dict[str, list[Sample]] = {"train": [], "val": []}
    for r in records:
        sample = _sample(r, r.generator or "")
        out[r.split or "train"].append(dataclasses.replace(sample, twin=twins.get(r.path)))
    return out["train"], out["val"]


def _pairs(source: SynthSourceConfig) -> list[tuple[str, str]]:
    """(fake location, real source location) of a `synth make` folder, a fixed subset if limited."""
    from spotfake.synth.make import read_pairs

    try:
        pairs = read_pairs(source.path)
    except FileNotFoundError as error:
        raise FileNotFoundError(f"synth source {source.name}: {error}") from None
    if source.limit is not None and len(pairs) > source.limit:
        keep = np.sort(np.random.default_rng(0).permutation(len(pairs))[: source.limit])
        pairs = [pairs[i] for i in keep]
    return pairs


def _real_key(location: str) -> str:
    """A location compared across spellings: the resolved path of a file, a zip member as is."""
    return location if is_zip_location(location) else os.path.realpath(location)


def twin_indices(train: list[Sample]) -> dict[int, int]:
    """Index of each training fake whose real twin is also a training image -> the twin's index."""
    index = {s.location: i for i, s in enumerate(train) if s.label == 0}
    return {i: index[s.twin] for i, s in enumerate(train) if s.twin is not None and s.twin in index}


def _from_sources(data: DataConfig, log: TextIO | None) -> tuple[list[Sample], list[Sample]]:
    """Folders / zip prefixes with one label each, split by a hash of the file name."""
    from spotfake.data.manifest import probe_entries

    root = Path(data.root)
    items = [
        i for s in data.sources for i in list_items(s, root, data.val_fraction, data.split_rule)
    ]
    entries = [Entry(i.location, i.label, i.source, i.split) for i in items]
    records = _usable(probe_entries(entries, workers=data.workers or None), log)
    samples = [(_sample(r, r.generator or ""), r.split) for r in records]
    return [s for s, split in samples if split == "train"], [
        s for s, split in samples if split == "val"
    ]


def _from_dataset(data: DataConfig, log: TextIO | None) -> tuple[list[Sample], list[Sample]]:
    """A dataset in any form open_dataset reads; validation as the module doc says."""
    from spotfake.data.manifest import open_dataset

    assert data.train is not None
    records = _usable(open_dataset(data.train, generator=data.generator), log)
    if data.val is not None:
        val = _usable(open_dataset(data.val, generator=data.generator), log)
        return [sample_of(r) for r in records], [sample_of(r) for r in val]
    splits = {r.split for r in records}
    held = "val" if "val" in splits else "test" if "test" in splits else None
    if held is not None:
        train = [sample_of(r) for r in records if r.split in (None, "train")]
        return train, [sample_of(r) for r in records if r.split == held]
    base = _base_folder(data.train)
    keyed = [
        (
            r,
            split_of(
                _group(r.path, data.split_rule, lambda p: _split_key(p, base)), data.val_fraction
            ),
        )
        for r in records
    ]
    train = [sample_of(r) for r, split in keyed if split == "train"]
    return train, [sample_of(r) for r, split in keyed if split == "val"]


def sample_of(record: ImageRecord) -> Sample:
    """A record as a Sample, grouped by generator (or by class when the layout names none)."""
    return _sample(record, record.generator or ("fake" if record.label else "real"))


def _sample(record: ImageRecord, group: str) -> Sample:
    n_pixels = record.width * record.height if record.width and record.height else None
    assert record.label is not None
    return Sample(record.path, int(record.label), group, record.jpeg_quality, n_pixels)


def _usable(records: list[ImageRecord], log: TextIO | None) -> list[ImageRecord]:
    """Records with a label and no read error; says how many were left out."""
    keep = [r for r in records if r.error is None and r.label is not None]
    if len(keep) < len(records) and log is not None:
        dropped = len(records) - len(keep)
        print(f"notice: {dropped} unreadable or unlabelled files left out", file=log)
    return keep


def _group(location: str, rule: str, by_path: Callable[[str], str]) -> str:
    """What split_of hashes for a file: its group (``spotfake.data.groups``) or, under the
    older ``path`` rule, by_path(location)."""
    from spotfake.data.groups import group_key

    return group_key(location) if rule == "group" else by_path(location)


def _base_folder(dataset: str) -> str:
    """The folder paths are made relative to before hashing (machine-independent keys)."""
    head = split_zip_location(dataset)[0] if is_zip_location(dataset) else dataset
    return head if os.path.isdir(head) else os.path.dirname(os.path.abspath(head))


def _split_key(location: str, base: str) -> str:
    """A zip member's name, or a file's path relative to the dataset folder."""
    if is_zip_location(location):
        return split_zip_location(location)[1]
    return os.path.relpath(location, base).replace(os.sep, "/")


def _limited(samples: list[Sample], limit: int | None) -> list[Sample]:
    """A fixed random subset (the same every run), kept in the original order."""
    if limit is None or len(samples) <= limit:
        return samples
    keep = np.sort(np.random.default_rng(0).permutation(len(samples))[:limit])
    return [samples[i] for i in keep]


def decide_in_memory(data: DataConfig, samples: list[Sample]) -> bool:
    """Decode up front unless the recipe says otherwise or the pixels exceed memory_mb."""
    if data.in_memory is not None:
        return data.in_memory
    if any(s.n_pixels is None for s in samples):
        return True
    return 3 * sum(s.n_pixels or 0 for s in samples) <= data.memory_mb * 2**20
