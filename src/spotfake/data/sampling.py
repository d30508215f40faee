"""Samples of a dataset by group: up to a limit of labelled files per (label, generator), seeded,
so that the same seed draws the same files; what `spectrum` and `evaluate` measure on."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from spotfake.data.layouts import Entry
from spotfake.data.manifest import is_manifest_file, list_dataset, open_dataset, probe_entries
from spotfake.records import ImageRecord

DEFAULT_LIMIT = 500

GroupKey = tuple[int, str | None]
Item = TypeVar("Item", ImageRecord, Entry)
# Probes entries, reusing the known records of unchanged files (probe_entries, or one with a bar).
Prober = Callable[[list[Entry], list[ImageRecord]], list[ImageRecord]]


@dataclass
class Selection:
    """A dataset's sample: probed records per (label, generator) group, and what was left out."""

    groups: dict[GroupKey, list[ImageRecord]]
    available: dict[GroupKey, int]  # labelled files of each group before the limit
    files: int
    unlabelled: int
    limit: int
    seed: int


def group_order(key: GroupKey) -> tuple[int, str]:
    """Sort key of groups: class, then generator name (unnamed last)."""
    return key[0], key[1] if key[1] is not None else "\uffff"


def select(
    dataset: str | os.PathLike[str],
    limit: int = DEFAULT_LIMIT,
    seed: int = 0,
    workers: int | None = None,
    generator: str | None = None,
    probe: Prober | None = None,
) -> Selection:
    """Up to ``limit`` labelled files per (label, generator) group, probed; same seed, same files.

    A manifest is read as it is; any other dataset is listed first (``list_dataset``: a folder's
    own manifest labels its files) and only the sample is probed, by ``probe`` when given.
    """
    text = os.fspath(dataset)
    groups: dict[GroupKey, list[ImageRecord]]
    if is_manifest_file(text):
        records = open_dataset(text, generator=generator)
        groups = sample_groups(records, limit, seed)
        keys = [(r.label, r.generator) for r in records]
    else:
        listing = list_dataset(text, generator=generator)
        prober = probe or (lambda todo, known: probe_entries(todo, known, workers=workers))
        groups = _probed(sample_groups(listing.entries, limit, seed), listing.known, prober)
        keys = [(e.label, e.generator) for e in listing.entries]
    available = Counter((label, name) for label, name in keys if label is not None)
    unlabelled = len(keys) - available.total()
    return Selection(groups, dict(available), len(keys), unlabelled, limit, seed)


def _probed(
    sampled: dict[GroupKey, list[Entry]], known: list[ImageRecord], probe: Prober
) -> dict[GroupKey, list[ImageRecord]]:
    """Records of the sampled entries, probed in one call so that large samples use all workers."""
    records = iter(probe([e for items in sampled.values() for e in items], known))
    return {key: [next(records) for _ in items] for key, items in sampled.items()}


def sample_groups(items: list[Item], limit: int, seed: int) -> dict[GroupKey, list[Item]]:
    """Labelled items by (label, generator); a group over ``limit`` keeps a seeded random subset.

    Each group is sorted by location and drawn with its own generator seeded by ``seed``, so a
    group's sample does not change when other groups are added.
    """
    groups: dict[GroupKey, list[Item]] = {}
    for item in items:
        if item.label is not None:
            groups.setdefault((int(item.label), item.generator), []).append(item)
    for key, members in groups.items():
        members.sort(key=_location)
        if len(members) > limit:
            keep = np.sort(np.random.default_rng(seed).permutation(len(members))[:limit])
            groups[key] = [members[i] for i in keep]
    return dict(sorted(groups.items(), key=lambda kv: group_order(kv[0])))


def _location(item: ImageRecord | Entry) -> str:
    """Where an item is: a record's path or an entry's location."""
    return item.path if isinstance(item, ImageRecord) else item.location
