"""`synth make`: a content-matched fake for each real, stored exactly like it, and the pairing.

OUT is laid out as ``OUT/<generator>/[<category>/][<split>/]{real,fake}/<name>`` (the folder
layout ``spotfake.data.layouts`` reads back with the same labels), described by
``OUT/manifest.csv`` (ImageRecords: reals label 0, fakes label 1, both under the generator's
name), ``OUT/pairs.csv`` (real, fake, source: each fake beside its real twin) and
``OUT/synth.json`` (generator, options, counts, failures). With a counterpart function, each
real also gets a counterpart (the generator's operation done without a generator, see
``counterparts``), stored like the twin under ``OUT/<generator>-counterpart/...{real}/``, labelled
real, and named in pairs.csv's ``counterpart`` column. Reals are symbolic links to the
sources by default (``reals="link"``; zip members and file systems without links get copies),
byte copies (``"copy"``) or only referenced from the manifest (``"manifest"``: then read
OUT through its manifest, as the folder holds fakes only).

A real and its fake share a split: the real's own, else one drawn from a hash of its name, so
no content is in training and validation at once. Output is byte-identical for the same inputs
and generator: files are processed one by one in a fixed order, each fake gets its real's
modification time.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from spotfake.data.groups import group_key
from spotfake.data.layouts import is_zip_location, output_folders, source_stem, split_zip_location
from spotfake.data.members import Reader, member_reader
from spotfake.data.sources import split_of
from spotfake.errors import SpotfakeError
from spotfake.io.outdir import check_output_folder, fresh_output_folder
from spotfake.io.probe import probe
from spotfake.progress import Progress
from spotfake.records import GENERATED, REAL, ImageRecord
from spotfake.synth.encode import encode_like
from spotfake.synth.reals import hashed_order, read_source

MARKER = "synth.json"  # written first: marks a folder --overwrite may clear
PAIRS = "pairs.csv"
REAL_MODES = ("link", "copy", "manifest")
Reconstruct = Callable[[np.ndarray], np.ndarray]
Counterpart = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (real, fake) -> counterpart
COUNTERPART_SUFFIX = "-counterpart"


@dataclass
class MakeOptions:
    """Which reals, how they appear in OUT, and how splits are assigned."""

    limit: int | None = None  # this many reals, chosen by a hash of their names
    reals: str = "link"  # link | copy | manifest
    val_fraction: float = 0.15  # for reals without a split; 0: leave the split empty
    manifest_format: str = "csv"

    def __post_init__(self) -> None:
        if self.reals not in REAL_MODES:
            raise ValueError(f"reals must be one of {', '.join(REAL_MODES)}, got {self.reals!r}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"val_fraction must lie in [0, 1), got {self.val_fraction}")
        if self.manifest_format not in ("csv", "parquet"):
            raise ValueError(f"manifest format must be csv or parquet, not {self.manifest_format}")


@dataclass
class Pair:
    """A real (as OUT's manifest lists it), its fake, and where the real came from."""

    real: ImageRecord
    fake: ImageRecord
    source: str
    counterpart: ImageRecord | None = None


@dataclass
class MakeResult:
    """What was written: the pairs and the files that failed."""

    out: Path
    pairs: list[Pair] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    manifest: Path | None = None


def check_output(out: str | os.PathLike[str], dataset: str, overwrite: bool) -> None:
    """ValueError when out is (inside) the dataset folder or holds files of another kind."""
    target = os.path.realpath(out)
    if os.path.isdir(dataset):
        source = os.path.realpath(dataset)
        if target == source or target.startswith(source.rstrip(os.sep) + os.sep):
            raise ValueError(f"{out} is inside the dataset {dataset}: choose another folder")
    check_output_folder(out, MARKER, overwrite)


def make_fakes(
    reconstruct: Reconstruct,
    reals: Sequence[ImageRecord],
    out: str | os.PathLike[str],
    name: str,
    options: MakeOptions | None = None,
    about: dict[str, Any] | None = None,
    progress: Progress | None = None,
    counterpart: Counterpart | None = None,
) -> MakeResult:
    """Write each real's fake (and counterpart) into out (cleared first; call check_output
    before).

    reals: records of real images (unreadable ones are reported as failed). name: the
    generator name of the fakes and their reals in the manifest. about: written into synth.json.
    """
    options = options or MakeOptions()
    root = fresh_output_folder(Path(out), MARKER)
    result = MakeResult(root)
    chosen = hashed_order(reals, options.limit)
    names = _names(chosen, name, options)
    with member_reader() as read:
        for record in chosen:
            work = (reconstruct, counterpart)
            outcome = _make_one(record, work, root, names[record.path], options, read)
            if isinstance(outcome, str):
                result.failed.append((record.path, outcome))
            else:
                result.pairs.append(outcome)
            if progress:
                progress(1)
    result.pairs.sort(key=lambda pair: pair.real.path)
    result.failed.sort()
    _write_tables(result, options, name, about or {})
    return result


def _names(
    reals: Sequence[ImageRecord], name: str, options: MakeOptions
) -> dict[str, tuple[ImageRecord, str, str, str]]:
    """Per real: its record for OUT (label, generator, split) and the real, fake and
    counterpart file names."""
    used: set[str] = set()
    names = {}
    for record in sorted(reals, key=lambda r: r.path):
        split = record.split
        if split is None and options.val_fraction > 0:
            split = split_of(group_key(record.path), options.val_fraction)
        labelled = replace(record, label=REAL, generator=name, split=split)
        folder = output_folders(name, record.category, split, fake=False)
        base = "/".join(folder[:-1])
        stem, suffix = source_stem(record.path), _suffix(record.path)
        leaf, n = f"{stem}{suffix}", 1
        while f"{base}/{leaf}".lower() in used:  # case-insensitive file systems
            n += 1
            leaf = f"{stem}-{n}{suffix}"
        used.add(f"{base}/{leaf}".lower())
        real = "/".join([*folder, leaf])
        fake = "/".join([*output_folders(name, record.category, split, fake=True), leaf])
        twin = name + COUNTERPART_SUFFIX
        counterpart = "/".join([*output_folders(twin, record.category, split, fake=False), leaf])
        names[record.path] = (labelled, real, fake, counterpart)
    return names


def _suffix(location: str) -> str:
    """The real's own extension (a zip member's), so the fake's name says the same format."""
    if is_zip_location(location):
        location = split_zip_location(location)[1]
    return PurePosixPath(location.replace("\\", "/")).suffix


def _make_one(
    record: ImageRecord,
    work: tuple[Reconstruct, Counterpart | None],
    root: Path,
    names: tuple[ImageRecord, str, str, str],
    options: MakeOptions,
    read: Reader,
) -> Pair | str:
    """Write one fake and its counterpart (and place its real): the pair, or why it failed."""
    if record.error is not None:
        return record.error
    reconstruct, counterpart = work
    labelled, real_name, fake_name, twin_name = names
    try:
        pixels, storage = read_source(record.path, read)
        fake, twin = _generate(pixels, reconstruct, counterpart)
        if fake.shape != pixels.shape:
            return f"the generator returned {fake.shape} for an image of {pixels.shape}"
        if twin is not None and twin.shape != pixels.shape:
            return f"the counterpart has shape {twin.shape}, the image {pixels.shape}"
        data = encode_like(fake, storage)
        twin_data = encode_like(twin, storage) if twin is not None else None
    except SpotfakeError as exc:
        return str(exc) or type(exc).__name__
    fake_record = _write(root / fake_name, data, labelled, GENERATED)
    twin_record = None
    if twin_data is not None:
        like = replace(labelled, generator=f"{labelled.generator}{COUNTERPART_SUFFIX}")
        twin_record = _write(root / twin_name, twin_data, like, REAL)
    real_record = _place_real(labelled, root / real_name, options.reals, read)
    return Pair(real_record, fake_record, record.path, twin_record)


def _generate(
    pixels: np.ndarray, reconstruct: Reconstruct, counterpart: Counterpart | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The fake and the counterpart; a generator's failure on one image (out of memory, a
    shape its network refuses) becomes that file's error, and the batch goes on."""
    try:
        fake = reconstruct(pixels)
        return fake, counterpart(pixels, fake) if counterpart else None
    except (RuntimeError, ValueError, MemoryError) as exc:
        raise GenerationError(f"the generator failed on this image: {exc}") from exc


class GenerationError(SpotfakeError):
    """A generator could not make one image's fake."""


def _write(target: Path, data: bytes, like: ImageRecord, label: int) -> ImageRecord:
    """Write a made file with its real's modification time; its record, labelled."""
    stamp = like.modified or 0.0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    os.utime(target, ns=(round(stamp * 1e9), round(stamp * 1e9)))
    return _described(target, like, label)


def _described(path: Path, like: ImageRecord, label: int) -> ImageRecord:
    """The written file's record, labelled and placed like its twin."""
    record = probe(path)
    record.modified = os.stat(path).st_mtime
    return replace(
        record, label=label, generator=like.generator, split=like.split, category=like.category
    )


def _place_real(record: ImageRecord, target: Path, mode: str, read: Reader) -> ImageRecord:
    """The real in OUT as a link or a copy (its record then names it there), or as it is."""
    if mode == "manifest":
        return record
    target.parent.mkdir(parents=True, exist_ok=True)
    data = read(record.path)
    if data is None and mode == "link":
        try:
            target.symlink_to(os.path.abspath(record.path))
            return _described(target, record, REAL)
        except OSError:
            pass  # no links on this file system: copy
    if data is None:
        shutil.copyfile(record.path, target)
    else:
        target.write_bytes(data)
    stamp = record.modified or 0.0
    os.utime(target, ns=(round(stamp * 1e9), round(stamp * 1e9)))
    return _described(target, record, REAL)


def _write_tables(
    result: MakeResult, options: MakeOptions, name: str, about: dict[str, Any]
) -> None:
    """manifest, pairs.csv and synth.json (last: its status marks a finished output)."""
    from spotfake.data.manifest import write_manifest

    root = result.out
    records = [r for pair in result.pairs for r in (pair.real, pair.fake, pair.counterpart) if r]
    result.manifest = root / f"manifest.{options.manifest_format}"
    write_manifest(sorted(records, key=lambda r: r.path), result.manifest)
    with open(root / PAIRS, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["real", "fake", "source", "counterpart"])
        for pair in result.pairs:
            real, fake = _inside(pair.real.path, root), _inside(pair.fake.path, root)
            twin = _inside(pair.counterpart.path, root) if pair.counterpart else ""
            writer.writerow([real, fake, pair.source, twin])
    summary = {
        "status": "complete",
        "generator": name,
        **about,
        "options": {
            "limit": options.limit,
            "reals": options.reals,
            "val_fraction": options.val_fraction,
        },
        "pairs": len(result.pairs),
        "counterparts": sum(pair.counterpart is not None for pair in result.pairs),
        "failed": [{"path": path, "error": reason} for path, reason in result.failed],
    }
    (root / MARKER).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")


def read_pairs(out: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """(fake location, its real's source location) for each pair of a `synth make` folder, in
    the order of its pairs.csv; fakes below OUT come back as paths joined to OUT."""
    folder = Path(out)
    table = folder / PAIRS
    if not table.is_file():
        raise FileNotFoundError(f"{table} not found (expected a `spotfake synth make` output)")
    with open(table, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [(_located(row["fake"], folder), row["source"]) for row in rows]


def _located(location: str, folder: Path) -> str:
    if is_zip_location(location) or os.path.isabs(location):
        return location
    return str(folder / location)


def _inside(location: str, root: Path) -> str:
    """A path relative to OUT when it lies below it, else as it is (absolute)."""
    if is_zip_location(location):
        return location
    rel = os.path.relpath(os.path.abspath(location), root)
    return location if rel.startswith(os.pardir) else rel.replace(os.sep, "/")
