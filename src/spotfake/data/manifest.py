"""Manifests: a dataset as one table of ImageRecords (CSV or Parquet), built from headers only.

A manifest is what the audit, the de-biaser, training and evaluation read. ``index`` builds one
from any layout (see ``layouts``) by probing every file's headers on all cores; given the
previous manifest it probes only files that are new or changed (size or modification time).
Paths are written relative to the manifest's folder, so a dataset and its manifest move together.

A folder that holds its own ``manifest.csv`` (or ``manifest.parquet``), as the copies written by
``spotfake debias``, ``synth make`` and ``attack`` do, is described by it (``list_dataset``):
the files it lists keep its labels, generators, splits and categories, which are the truth (a
layout can read a copy's folders otherwise); listed files that are gone are reported unreadable
like any file; image files it does not list are read by layout. The manifest may be a spotfake
manifest (its records are reused for unchanged files) or a ``path,label[,generator,split]``
listing (attack's); a ``manifest.csv`` with neither header is not ours and is left alone.
"""

from __future__ import annotations

import csv
import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from typing import Any

from spotfake.data.layouts import (
    ZIP_SEPARATOR,
    Entry,
    discover,
    is_zip_location,
    read_listing,
    split_zip_location,
)
from spotfake.data.members import archive, member_info, read_member
from spotfake.data.workers import map_chunks
from spotfake.errors import ImageReadError
from spotfake.progress import Progress
from spotfake.records import ImageRecord

COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ImageRecord))
_INT_COLUMNS = {"label", "width", "height", "file_bytes", "jpeg_quality", "n_frames"}
_BOOL_COLUMNS = {
    "jpeg_quality_exact", "jpeg_tables_standard", "progressive", "has_exif", "has_xmp",
}  # fmt: skip
_FLOAT_COLUMNS = {"modified"}
_LIST_SEPARATOR = ";"
# Files per task sent to a worker: large enough that process overhead stays small.
_CHUNK = 512
# Below this many files probing in this process is faster than starting workers.
_PARALLEL_MIN = 4_000
# The files a folder's own manifest may be, in the order they are looked for.
FOLDER_MANIFESTS = ("manifest.csv", "manifest.parquet")


@dataclass
class Listing:
    """A dataset's files before probing, and records a manifest already holds for some of them."""

    entries: list[Entry]
    known: list[ImageRecord] = field(default_factory=list)  # reused for files left unchanged
    manifest: str | None = None  # the folder's own manifest the labels came from, if any


def index(
    dataset: str | os.PathLike[str],
    previous: list[ImageRecord] | None = None,
    workers: int | None = None,
    generator: str | None = None,
    progress: Progress | None = None,
) -> list[ImageRecord]:
    """ImageRecords of every image in a dataset, from headers only (no pixel is decoded).

    previous: records of an earlier index; unchanged files reuse them instead of being probed.
    workers: processes to probe with (default: all cores). progress(n) is called as files finish.
    Files that cannot be read are kept, with ``error`` saying why. A folder's own manifest
    labels the files it lists (see the module doc).
    """
    listing = list_dataset(dataset, generator=generator)
    return probe_entries(listing.entries, [*listing.known, *(previous or [])], workers, progress)


def list_dataset(
    dataset: str | os.PathLike[str],
    generator: str | None = None,
    *,
    drop_missing: bool = False,
) -> Listing:
    """The files of a dataset to probe: discovered by layout, labelled by the folder's manifest.

    generator: the generator of files that have none. drop_missing: leave out files the
    folder's manifest lists that no longer exist (when that manifest is being rebuilt) instead
    of keeping them to be reported unreadable. Raises as ``layouts.discover`` does, and
    ValueError for a folder manifest that cannot be read.
    """
    discovered = discover(dataset, generator=generator)
    manifest = folder_manifest(dataset)
    if manifest is None:
        return Listing(discovered)
    full = is_manifest_file(manifest)  # else a path,label listing
    known = read_manifest(manifest) if full else []
    listed = [_entry_of(r) for r in known] if full else read_listing(manifest)
    if generator is not None:
        listed = [e if e.generator else replace(e, generator=generator) for e in listed]
    if drop_missing:
        listed = [e for e in listed if _exists(e.location)]
    seen = {os.path.normpath(e.location) for e in listed}
    unlisted = [e for e in discovered if os.path.normpath(e.location) not in seen]
    return Listing([*listed, *unlisted], known, manifest)


def folder_manifest(dataset: str | os.PathLike[str]) -> str | None:
    """The folder's own manifest.csv/.parquet (a manifest or a path,label listing), else None."""
    folder = os.fspath(dataset)
    if not os.path.isdir(folder):
        return None
    for name in FOLDER_MANIFESTS:
        path = os.path.join(os.path.abspath(folder), name)
        if os.path.isfile(path) and (is_manifest_file(path) or _is_listing_csv(path)):
            return path
    return None


def _entry_of(record: ImageRecord) -> Entry:
    """The entry a manifest's record describes: its location and the labels it gives."""
    return Entry(record.path, record.label, record.generator, record.split, record.category)


def _exists(location: str) -> bool:
    """Whether a file (or a zip location's archive) is still there."""
    path = split_zip_location(location)[0] if is_zip_location(location) else location
    return os.path.exists(path)


def probe_entries(
    entries: list[Entry],
    previous: list[ImageRecord] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> list[ImageRecord]:
    """Records for entries in their order; labels come from the entries, the rest from probing."""
    stamps = _stamps(entries) if previous else {}
    known = {r.path: r for r in previous or [] if r.error is None and not _outdated(r)}
    records: list[ImageRecord | None] = [None] * len(entries)
    todo: list[int] = []
    for i, entry in enumerate(entries):
        old = known.get(entry.location)
        if old is not None and stamps.get(entry.location) == (old.file_bytes, old.modified):
            records[i] = _labelled(old, entry)
        else:
            todo.append(i)
    if progress and len(todo) < len(entries):
        progress(len(entries) - len(todo))
    probed = _probe_all([entries[i] for i in todo], workers, progress)
    for i, record in zip(todo, probed, strict=True):
        records[i] = record
    return [r for r in records if r is not None]


def _outdated(record: ImageRecord) -> bool:
    """A record from a manifest older than the JPEG table fields: its file is probed again."""
    return record.format in ("JPEG", "MPO") and record.jpeg_tables_id is None


def _probe_all(
    entries: list[Entry], workers: int | None, progress: Progress | None
) -> Iterator[ImageRecord]:
    """Probe entries in order, in worker processes when there are many."""
    return map_chunks(
        probe_chunk,
        entries,
        chunk=_CHUNK,
        parallel_min=_PARALLEL_MIN,
        workers=workers,
        progress=progress,
    )


def probe_chunk(entries: list[Entry]) -> list[ImageRecord]:
    """Probe a list of entries (the task a worker runs); zip archives stay open between tasks."""
    return [_probe_entry(entry) for entry in entries]


def _probe_entry(entry: Entry) -> ImageRecord:
    """One entry's record, or a record carrying the reason it could not be read."""
    from spotfake.io.probe import probe, probe_bytes

    try:
        if is_zip_location(entry.location):
            info = member_info(entry.location)
            record = probe_bytes(read_member(entry.location), entry.location)
            record.modified = _zip_time(info)
        else:
            record = probe(entry.location)
            record.modified = os.stat(entry.location).st_mtime
    except (ImageReadError, KeyError, OSError, zipfile.BadZipFile) as exc:
        record = ImageRecord(path=entry.location, error=_reason(exc))
    record.label, record.generator = entry.label, entry.generator
    record.split, record.category = entry.split, entry.category
    return record


def _reason(exc: BaseException) -> str:
    """A one-line reason for a probe failure."""
    if isinstance(exc, KeyError):
        return "not found in the archive"
    return str(exc) or type(exc).__name__


def _zip_time(info: zipfile.ZipInfo) -> float:
    """A zip member's stored modification time as a POSIX timestamp."""
    return datetime(*info.date_time).timestamp()


def _stamps(entries: list[Entry]) -> dict[str, tuple[int, float]]:
    """(size, mtime) of each entry's file or zip member, to tell unchanged files from changed."""
    stamps: dict[str, tuple[int, float]] = {}
    by_archive: dict[str, list[str]] = {}
    for entry in entries:
        if is_zip_location(entry.location):
            path, member = split_zip_location(entry.location)
            by_archive.setdefault(path, []).append(member)
            continue
        try:
            info = os.stat(entry.location)
        except OSError:
            continue
        stamps[entry.location] = (info.st_size, info.st_mtime)
    for path, members in by_archive.items():
        try:
            zf = archive(path)
        except (OSError, zipfile.BadZipFile):
            continue  # gone or broken: its members are probed and reported
        for member in members:
            try:
                zinfo = zf.getinfo(member)
            except KeyError:
                continue
            stamps[f"{path}{ZIP_SEPARATOR}{member}"] = (zinfo.file_size, _zip_time(zinfo))
    return stamps


def _labelled(record: ImageRecord, entry: Entry) -> ImageRecord:
    """The record with the label, generator, split and category the layout gives."""
    return replace(
        record,
        label=entry.label,
        generator=entry.generator,
        split=entry.split,
        category=entry.category,
    )


# -- reading and writing ----------------------------------------------------------------------


def write_manifest(records: list[ImageRecord], path: str | os.PathLike[str]) -> None:
    """Write records as CSV or Parquet (by the file's suffix), paths relative to its folder."""
    text = os.fspath(path)
    base = os.path.dirname(os.path.abspath(text))
    rows = [_to_row(r, base) for r in records]
    os.makedirs(base, exist_ok=True)
    if text.lower().endswith(".parquet"):
        _write_parquet(rows, text)
    elif text.lower().endswith(".csv"):
        with open(text, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMNS)
            writer.writerows([_cell(row[name]) for name in COLUMNS] for row in rows)
    else:
        raise ValueError(f"{text}: a manifest is a .csv or .parquet file")


def read_manifest(path: str | os.PathLike[str]) -> list[ImageRecord]:
    """Records of a manifest written by write_manifest (CSV or Parquet)."""
    text = os.fspath(path)
    base = os.path.dirname(os.path.abspath(text))
    if text.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        rows: list[dict[str, Any]] = pq.read_table(text).to_pylist()
    else:
        with open(text, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if not is_manifest_header(reader.fieldnames or []):
                raise ValueError(f"{text}: not a manifest (no format/width/height columns)")
            rows = [_parse_csv_row(row) for row in reader]
    return [_from_row(row, base) for row in rows]


def is_manifest_header(columns: Sequence[str]) -> bool:
    """True when CSV columns are a manifest's (a listing has only path,label,...)."""
    return {"path", "format", "width", "height"} <= set(columns)


def _to_row(record: ImageRecord, base: str) -> dict[str, Any]:
    """A record as a flat row: relative path, list joined, every column present."""
    row = {name: getattr(record, name) for name in COLUMNS}  # shallow: asdict is slow
    row["path"] = _relative(record.path, base)
    row["png_text_keys"] = _LIST_SEPARATOR.join(record.png_text_keys)
    return row


def _from_row(row: dict[str, Any], base: str) -> ImageRecord:
    """A record from a flat row (relative paths resolved against the manifest's folder)."""
    row = dict(row)
    row["path"] = _absolute(str(row["path"]), base)
    keys = row.get("png_text_keys") or ""
    row["png_text_keys"] = [k for k in str(keys).split(_LIST_SEPARATOR) if k]
    if row.get("n_frames") is None:
        row["n_frames"] = 1
    row["has_exif"] = bool(row.get("has_exif"))
    row["has_xmp"] = bool(row.get("has_xmp"))
    return ImageRecord.from_dict(row)


def _cell(value: Any) -> Any:
    """A CSV cell: None as empty."""
    return "" if value is None else value


def _parse_csv_row(row: dict[str, str]) -> dict[str, Any]:
    """Typed values from a CSV row: empty cells are None, numbers and booleans parsed."""
    parsed: dict[str, Any] = {}
    for key, value in row.items():
        if value is None or value == "":
            parsed[key] = None
        elif key in _INT_COLUMNS:
            parsed[key] = int(float(value))
        elif key in _FLOAT_COLUMNS:
            parsed[key] = float(value)
        elif key in _BOOL_COLUMNS:
            parsed[key] = value.strip().lower() in {"true", "1"}
        else:
            parsed[key] = value
    return parsed


def _write_parquet(rows: list[dict[str, Any]], path: str) -> None:
    """Rows as a Parquet file with a fixed schema (so empty columns keep their types)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    kinds = {"path": pa.string()}
    for name in COLUMNS:
        if name in _INT_COLUMNS:
            kinds[name] = pa.int64()
        elif name in _BOOL_COLUMNS:
            kinds[name] = pa.bool_()
        elif name in _FLOAT_COLUMNS:
            kinds[name] = pa.float64()
        else:
            kinds.setdefault(name, pa.string())
    schema = pa.schema([(name, kinds[name]) for name in COLUMNS])
    columns = {name: [row[name] for row in rows] for name in COLUMNS}
    pq.write_table(pa.Table.from_pydict(columns, schema=schema), path)


def _parts(location: str) -> tuple[str, str, str]:
    """(file, "!", member) of a zip location, (file, "", "") of a plain file path."""
    if is_zip_location(location):
        archive, member = split_zip_location(location)
        return archive, ZIP_SEPARATOR, member
    return location, "", ""


def _relative(location: str, base: str) -> str:
    """A path (or a zip location's archive) relative to base when it lies below it, else absolute.

    Files below the manifest's folder move with it; files elsewhere keep working when the
    manifest alone is moved.
    """
    head, sep, member = _parts(location)
    full = os.path.abspath(head)
    rel = os.path.relpath(full, base)
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return f"{full}{sep}{member}"
    return f"{rel.replace(os.sep, '/')}{sep}{member}"


def _absolute(location: str, base: str) -> str:
    """A manifest path resolved against the manifest's folder."""
    head, sep, member = _parts(location)
    full = head if os.path.isabs(head) else os.path.normpath(os.path.join(base, head))
    return f"{full}{sep}{member}"


def open_dataset(
    dataset: str | os.PathLike[str],
    workers: int | None = None,
    generator: str | None = None,
    progress: Progress | None = None,
) -> list[ImageRecord]:
    """Records of a manifest file, or of a dataset (folder, zip, CSV listing) indexed now.

    A manifest file is read as written; a folder holding its own manifest is indexed with that
    manifest's labels, its records reused for unchanged files (see the module doc).
    """
    text = os.fspath(dataset)
    if is_manifest_file(text):
        records = read_manifest(text)
        if generator is not None:
            records = [r if r.generator else replace(r, generator=generator) for r in records]
        return records
    return index(text, workers=workers, generator=generator, progress=progress)


def is_manifest_file(path: str | os.PathLike[str]) -> bool:
    """A Parquet manifest, or a CSV whose header is a manifest's rather than a listing's."""
    text = os.fspath(path)
    if text.lower().endswith(".parquet"):
        return True
    return text.lower().endswith(".csv") and is_manifest_header(_csv_header(text))


def _is_listing_csv(path: str) -> bool:
    """A CSV with a listing's path and label columns (and not a manifest's)."""
    return {"path", "label"} <= set(_csv_header(path))


def _csv_header(path: str) -> list[str]:
    """The first row of a CSV file; empty when it is not a readable file."""
    if not os.path.isfile(path):
        return []
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            return next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def listed_paths(path: str) -> list[str] | None:
    """The image paths a manifest (CSV or Parquet) or a ``path,label`` CSV listing names, without
    probing any file; None when ``path`` is neither (an image, a folder, another file)."""
    lower = path.lower()
    if not os.path.isfile(path) or not lower.endswith((".csv", ".parquet")):
        return None
    if is_manifest_file(path):
        return [record.path for record in read_manifest(path)]
    try:
        return [entry.location for entry in read_listing(path)]
    except ValueError:
        return None
