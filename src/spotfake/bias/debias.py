"""Write a de-biased copy of a dataset: crop and re-encode per the plan, then even out file sizes.

The copy is laid out as ``OUT/<generator>/<category>/<split>/{real,fake}/<name>.jpg`` (levels
that are None left out), which ``spotfake.data.layouts`` reads back with the same labels, and is
described by ``OUT/manifest.csv``, ``OUT/debias.json`` and ``OUT/dropped.csv``. Source files are
only ever opened for reading. Output is byte-identical for the same inputs and seed: random draws
are made in the plan, files are written in parallel threads but each from its own job only, and
each output file gets its source's modification time.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

from spotfake.bias.debias_encode import READ_ERRORS, encode_job
from spotfake.bias.debias_plan import (
    BPP,
    UNREADABLE,
    DebiasOptions,
    Drop,
    Job,
    Plan,
    choose,
    plan_debias,
    stream,
)
from spotfake.bias.debias_report import MARKER, DebiasResult, write_reports
from spotfake.data.layouts import (
    discover,
    is_zip_location,
    output_folders,
    source_stem,
)
from spotfake.data.members import Archives
from spotfake.io.outdir import check_output_folder, fresh_output_folder
from spotfake.io.probe import probe
from spotfake.progress import Progress
from spotfake.records import GENERATED, REAL, ImageRecord

MIN_PER_BIN = 8  # bytes-per-pixel bins hold at least this many files on average


def debias(
    dataset: str | os.PathLike[str],
    out: str | os.PathLike[str],
    options: DebiasOptions | None = None,
    *,
    overwrite: bool = False,
    workers: int | None = None,
    manifest_format: str = "csv",
    progress: Progress | None = None,
) -> DebiasResult:
    """Index a dataset (folder, zip, listing or manifest) and write its de-biased copy to out."""
    from spotfake.data.manifest import open_dataset

    records = open_dataset(dataset, workers=workers)
    check_output(out, dataset, records, overwrite)
    plan = plan_debias(records, options or DebiasOptions())
    return write_debiased(
        plan,
        out,
        workers=workers,
        manifest_format=manifest_format,
        progress=progress,
        source=os.fspath(dataset),
    )


def check_output(
    out: str | os.PathLike[str],
    dataset: str | os.PathLike[str],
    records: Sequence[ImageRecord],
    overwrite: bool,
) -> None:
    """ValueError when out is inside a source folder, holds sources, or holds other files."""
    target = os.path.realpath(out)
    folders = {os.path.dirname(os.path.realpath(r.path)) for r in records if _is_file(r.path)}
    if os.path.isdir(dataset):
        folders.add(os.path.realpath(dataset))
    for folder in sorted(folders):
        if _within(target, folder):
            raise ValueError(f"{out} is inside the source folder {folder}")
        if _within(folder, target):
            raise ValueError(f"{out} holds source files (in {folder}); choose another folder")
    check_output_folder(out, MARKER, overwrite)


def _is_file(location: str) -> bool:
    return not is_zip_location(location)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def write_debiased(
    plan: Plan,
    out: str | os.PathLike[str],
    *,
    workers: int | None = None,
    manifest_format: str = "csv",
    progress: Progress | None = None,
    source: str = "",
) -> DebiasResult:
    """Write the plan's files, match bytes per pixel, then the manifest, debias.json, dropped.csv.

    Call check_output first: an existing folder is cleared here.
    """
    if manifest_format not in ("csv", "parquet"):
        raise ValueError(f"manifest format must be csv or parquet, got {manifest_format!r}")
    root = fresh_output_folder(Path(out), MARKER)
    jobs = named(plan.jobs)
    result = DebiasResult(root, plan, [], list(plan.dropped))
    written = _write_all(jobs, root, workers, progress, result)
    if plan.options.match_bpp:
        written = _match_written(written, root, plan.options, result)
    result.records = sorted((record for _, record in written), key=lambda r: r.path)
    result.manifest = root / f"manifest.{manifest_format}"
    result.layout_mismatches = _layout_mismatches(root, result.records)
    write_reports(result, source)
    return result


def named(jobs: Sequence[Job]) -> list[Job]:
    """Jobs with unique output names: the layout's folders, then the source's stem + .jpg."""
    used: set[str] = set()
    result = []
    for job in jobs:
        fake = job.record.label == GENERATED
        parts = output_folders(job.generator, job.record.category, job.record.split, fake)
        folder, stem = "/".join(parts), source_stem(job.record.path)
        name, n = f"{folder}/{stem}.jpg", 1
        while name.lower() in used:  # case-insensitive file systems
            n += 1
            name = f"{folder}/{stem}-{n}.jpg"
        used.add(name.lower())
        result.append(replace(job, name=name))
    return result


def _write_all(
    jobs: list[Job],
    root: Path,
    workers: int | None,
    progress: Progress | None,
    result: DebiasResult,
) -> list[tuple[Job, ImageRecord]]:
    """Encode and write every job in threads; unreadable sources become drops."""
    written = []
    with Archives() as archives, ThreadPoolExecutor(workers or os.cpu_count()) as pool:
        for job, outcome in zip(
            jobs, pool.map(lambda j: _write_one(j, root, archives), jobs), strict=True
        ):
            if progress:
                progress(1)
            if isinstance(outcome, str):
                result.dropped.append(Drop(job.record, UNREADABLE, outcome, job.generator))
                continue
            record, notes = outcome
            result.notes.update(notes)
            written.append((job, record))
    return written


def _write_one(job: Job, root: Path, archives: Archives) -> str | tuple[ImageRecord, list[str]]:
    """Write one job's file: its record and notes, or the reason its source could not be read."""
    try:
        data, notes = encode_job(job, archives)
    except READ_ERRORS as exc:
        return str(exc) or type(exc).__name__
    target = root / job.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    stamp = job.record.modified or 0.0
    os.utime(target, ns=(round(stamp * 1e9), round(stamp * 1e9)))
    record = probe(target)
    record.label, record.generator = job.record.label, job.generator
    record.category, record.split = job.record.category, job.record.split
    record.modified = target.stat().st_mtime
    return record, notes


def match_bytes_per_pixel(
    strata: Sequence[Hashable],
    labels: Sequence[int],
    bytes_per_pixel: Sequence[float],
    bins: int,
    seed: int,
) -> list[bool]:
    """Which files to keep so both classes' log bytes-per-pixel histograms match per stratum.

    Bins are quantiles of both classes together; each bin keeps min(reals, fakes) of each class,
    seeded. Size per pixel depends on content and earlier compression, so it stays a shortcut
    after re-encoding at one quality. strata: any hashable key per file.
    """
    keep = [False] * len(labels)
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for i, key in enumerate(strata):
        groups[key].append(i)
    for key, members in groups.items():
        x = np.log(np.maximum([bytes_per_pixel[i] for i in members], 1e-9))
        n_bins = max(1, min(bins, len(members) // MIN_PER_BIN))
        edges = np.quantile(x, np.linspace(0, 1, n_bins + 1)[1:-1])
        which = np.searchsorted(edges, x, side="right")
        for b in range(n_bins):
            inside = [members[j] for j in np.flatnonzero(which == b)]
            reals = [i for i in inside if labels[i] == REAL]
            fakes = [i for i in inside if labels[i] == GENERATED]
            for side in (reals, fakes):
                chosen = choose(len(side), min(len(reals), len(fakes)), stream(seed, "bpp", key, b))
                for j in chosen:
                    keep[side[j]] = True
    return keep


def _match_written(
    written: list[tuple[Job, ImageRecord]], root: Path, options: DebiasOptions, result: DebiasResult
) -> list[tuple[Job, ImageRecord]]:
    """Keep the files bytes-per-pixel matching keeps; delete the others from the copy."""
    keep = match_bytes_per_pixel(
        [_matching_key(job, record, options) for job, record in written],
        [int(record.label or 0) for _, record in written],
        [record.bytes_per_pixel or 0.0 for _, record in written],
        options.bpp_bins,
        options.seed,
    )
    kept = []
    for (job, record), ok in zip(written, keep, strict=True):
        if ok:
            kept.append((job, record))
            continue
        (root / job.name).unlink()
        detail = f"{record.bytes_per_pixel or 0:.3f} bytes per pixel after encoding"
        result.dropped.append(Drop(job.record, BPP, detail, job.generator))
    return kept


def _matching_key(job: Job, record: ImageRecord, options: DebiasOptions) -> Hashable:
    """Files compared for bytes per pixel: same subset, and same quality and subsampling.

    The quality cell keeps quality from becoming a shortcut again (with mode it leaves out the
    reals at other qualities); a fixed --fake-quality N beside reals that keep their own is a
    choice the user made, so there the cell is left out of the key.
    """
    if isinstance(options.fake_quality, int) and not options.recompress_reals:
        return job.stratum
    return (*job.stratum, record.jpeg_quality, record.chroma_subsampling)


def _layout_mismatches(root: Path, records: list[ImageRecord]) -> list[str]:
    """Written files the folder layout reads back differently (a generator named 'train', ...).

    OUT's own name is not read as a generator: it is the user's name for the copy.
    """
    entries = discover(root, name_from_folder=False)
    read = {e.location: (e.label, e.generator, e.category, e.split) for e in entries}
    return [
        r.path for r in records if read.get(r.path) != (r.label, r.generator, r.category, r.split)
    ]
