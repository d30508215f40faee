"""Plan a de-biased copy of a dataset from its records alone (the Fake-or-JPEG recipe).

Grommelt et al. (2024): GenImage's reals are JPEG q96 of many sizes, each generator's fakes PNG
of one size, so detectors learn "JPEG means real" and "this size means fake". The plan removes
those cues without decoding a pixel:

1. per generator, s = the fakes' median shorter side; images of either class whose shorter side
   lies outside [s(1-w), s(1+w)] are dropped (the size window);
2. reals without a generator, when the fakes have one, are shared: each goes to one generator
   whose window it fits (the one shortest of reals), so no real is written twice;
3. classes are balanced per generator, category and split (seeded subsampling), and every image
   is centre-cropped to one square size per generator (the largest all can give, a multiple of 16);
4. each file gets its JPEG encoding. Reals keep their own quantisation tables unless asked
   otherwise. Fakes, by default ("tables"), take the exact tables and chroma subsampling of a
   distinct kept real of their stratum (drawn without replacement while reals last), so no table
   separates the classes: camera and agency tables only round to an IJG quality, and a fake
   re-encoded at that quality with IJG tables still differs in its quantisation grid. The older
   modes remain: the reals' most common quality ("mode"), each fake the quality of a distinct
   real ("sample"), or a fixed quality. Pillow cannot write 4:4:0 (or 4:1:1): files with such
   a layout are written 4:2:0 with their tables, reals and the fakes matched to them alike;
5. after encoding, ``match_bytes_per_pixel`` evens out the compressed size per pixel.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

import numpy as np

from spotfake.io.jpeg import WRITABLE_SUBSAMPLING, writable_subsampling
from spotfake.records import GENERATED, REAL, ImageRecord

Stratum = tuple[str | None, str | None, str | None]  # generator, category, split
Cell = tuple[int, str]  # JPEG quality, chroma subsampling
# A real's encoding as a fake can copy it: quality, subsampling, exact tables (None: IJG's).
TableCell = tuple[int, str, str | None]
FakeQuality = int | Literal["tables", "mode", "sample"]
FAKE_QUALITY_MODES = ("tables", "mode", "sample")

_C = TypeVar("_C", Cell, TableCell)
FALLBACK_QUALITY = 96  # when no real is a JPEG: the quality of most ImageNet (GenImage) reals
FALLBACK_SUBSAMPLING = "4:2:0"  # libjpeg's default
CROP_MULTIPLE = 16  # crops are whole 4:2:0 MCUs, so kept tables re-encode near-losslessly

# Why a file is left out (debias.json and dropped.csv count these).
UNREADABLE = "unreadable"
UNLABELLED = "unlabelled"
NO_FAKES = "no fakes to pair with"
NO_REALS = "no reals to pair with"
OUTSIDE_WINDOW = "outside the size window"
TOO_SMALL = "smaller than the crop"
BALANCE = "class balance"
BPP = "bytes-per-pixel matching"


@dataclass(frozen=True)
class DebiasOptions:
    """How to de-bias; the defaults and their reasons are in `spotfake debias --help`."""

    fake_quality: FakeQuality = "tables"
    recompress_reals: bool = False
    size_window: float | None = 0.3
    crop: int | None = None
    resize: bool = False
    match_bpp: bool = True
    bpp_bins: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        """Refuse values no plan can follow, with a message naming the option."""
        q = self.fake_quality
        if isinstance(q, str) and q not in FAKE_QUALITY_MODES:
            raise ValueError(
                f"fake quality must be 1..100, 'tables', 'mode' or 'sample', got {q!r}"
            )
        if isinstance(q, int) and not 1 <= q <= 100:
            raise ValueError(f"fake quality must be in 1..100, got {q}")
        if self.size_window is not None and not 0 <= self.size_window < 1:
            raise ValueError(f"size window must be in [0, 1), got {self.size_window}")
        if self.crop is not None and self.crop < 8:
            raise ValueError(f"crop must be at least 8 pixels, got {self.crop}")
        if self.bpp_bins < 1 or self.seed < 0:
            raise ValueError("bpp bins must be >= 1 and the seed >= 0")


@dataclass(frozen=True)
class Drop:
    """A source file left out of the copy, and why."""

    record: ImageRecord
    reason: str
    detail: str = ""
    generator: str | None = None  # the subset it was left out of, when not its own generator

    @property
    def subset(self) -> str | None:
        return self.generator if self.generator is not None else self.record.generator


@dataclass(frozen=True)
class Job:
    """One file to write: its source, its place in the copy and how to encode it."""

    record: ImageRecord
    generator: str | None  # the generator it is written under (a shared real is given one)
    crop: int
    quality: int | None  # None: exact tables (``tables``, else the source's own)
    subsampling: str
    resize: bool = False
    name: str = ""  # path inside the output folder, '/'-separated
    tables: str | None = None  # exact tables to write (io.jpeg.format_tables): a matched real's

    @property
    def stratum(self) -> Stratum:
        return (self.generator, self.record.category, self.record.split)


@dataclass
class GroupPlan:
    """What the plan chose for one generator's subset."""

    generator: str | None
    fake_side: int  # the fakes' median shorter side
    window: tuple[float, float] | None
    crop: int
    quality: int  # fixed fake quality (with "sample": the reals' most common, for reference)
    subsampling: str
    shared_reals: bool


@dataclass
class Plan:
    """Every file to write and every file left out, in a deterministic order."""

    options: DebiasOptions
    groups: dict[str | None, GroupPlan]
    jobs: list[Job]
    dropped: list[Drop]


def plan_debias(records: Sequence[ImageRecord], options: DebiasOptions) -> Plan:
    """Decide what to keep, how to crop and encode it, from the records (no pixel decoded)."""
    ordered = sorted(records, key=lambda r: r.path)
    usable, dropped = _usable(ordered)
    fakes = _by_generator(r for r in usable if r.label == GENERATED)
    sides = {g: _median_side(rs) for g, rs in fakes.items()}
    windows = {g: _window(s, options.size_window) for g, s in sides.items()}
    members, shared = _members(usable, windows, options.seed, dropped)
    if options.crop is not None and not options.resize:
        members = {g: _fit_crop(rs, options.crop, dropped) for g, rs in members.items()}
    members = _balance(members, options.seed, dropped)
    groups: dict[str | None, GroupPlan] = {}
    jobs: list[Job] = []
    for g in sorted(members, key=name_key):
        if not members[g]:
            continue
        # Shared reals are one population: their most common quality is taken over all of them.
        pool = [r for h in shared for r in members[h]] if g in shared else members[g]
        group = _group_plan(g, members[g], pool, sides[g], windows[g], options, g in shared)
        groups[g] = group
        jobs.extend(_jobs(members[g], group, options))
    return Plan(options, groups, jobs, dropped)


def _usable(records: list[ImageRecord]) -> tuple[list[ImageRecord], list[Drop]]:
    """Records that can be planned on; the others as drops (unreadable, unlabelled)."""
    usable, dropped = [], []
    for record in records:
        if record.error is not None or not record.width or not record.height:
            dropped.append(Drop(record, UNREADABLE, record.error or "no image size"))
        elif record.label not in (REAL, GENERATED):
            dropped.append(Drop(record, UNLABELLED))
        else:
            usable.append(record)
    return usable, dropped


def _by_generator(records: Iterable[ImageRecord]) -> dict[str | None, list[ImageRecord]]:
    """Records grouped by generator, each group in the given order."""
    groups: dict[str | None, list[ImageRecord]] = defaultdict(list)
    for record in records:
        groups[record.generator].append(record)
    return dict(groups)


def _side(record: ImageRecord) -> int:
    return min(record.width or 0, record.height or 0)


def _median_side(records: list[ImageRecord]) -> int:
    return round(float(np.median([_side(r) for r in records])))


def _window(side: int, width: float | None) -> tuple[float, float] | None:
    return None if width is None else (side * (1 - width), side * (1 + width))


def _inside(record: ImageRecord, window: tuple[float, float] | None) -> bool:
    return window is None or window[0] <= _side(record) <= window[1]


def _members(
    usable: list[ImageRecord],
    windows: dict[str | None, tuple[float, float] | None],
    seed: int,
    dropped: list[Drop],
) -> tuple[dict[str | None, list[ImageRecord]], set[str | None]]:
    """Each generator's reals and fakes inside its window; shared reals spread over generators.

    Returns the members and the generators whose reals are shared ones.
    """
    reals = _by_generator(r for r in usable if r.label == REAL)
    members: dict[str | None, list[ImageRecord]] = {g: [] for g in windows}
    for record in usable:
        g = record.generator
        if record.label == GENERATED or g is not None:  # reals without one are shared below
            if g not in windows:
                dropped.append(Drop(record, NO_FAKES, f"no fakes of generator {g}"))
            elif _inside(record, windows[g]):
                members[g].append(record)
            else:
                dropped.append(Drop(record, OUTSIDE_WINDOW, _window_detail(record, windows[g])))
    lacking = sorted((g for g in windows if g is None or g not in reals), key=name_key)
    given = _share(reals.get(None, []), lacking, windows, members, seed, dropped)
    for g, records in given.items():
        members[g] = sorted(members[g] + records, key=lambda r: r.path)
    shared: set[str | None] = {g for g in lacking if g is not None and given.get(g)}
    for g in lacking:
        if not given.get(g):
            dropped.extend(Drop(r, NO_REALS, f"no reals for generator {g}") for r in members[g])
            members[g] = []
    return members, shared


def _window_detail(record: ImageRecord, window: tuple[float, float] | None) -> str:
    low, high = window or (0.0, math.inf)
    return f"shorter side {_side(record)} not in [{low:.0f}, {high:.0f}]"


def _share(
    reals: list[ImageRecord],
    targets: list[str | None],
    windows: dict[str | None, tuple[float, float] | None],
    members: dict[str | None, list[ImageRecord]],
    seed: int,
    dropped: list[Drop],
) -> dict[str | None, list[ImageRecord]]:
    """Give each shared real (no generator) to one generator it fits, the one shortest of reals."""
    wanted = Counter((g, r.category, r.split) for g in targets for r in members[g])
    given: dict[str | None, list[ImageRecord]] = defaultdict(list)
    if not targets:
        dropped.extend(Drop(r, NO_FAKES, "no generator lacks reals") for r in reals)
        return given
    for i in stream(seed, "share").permutation(len(reals)):
        record = reals[int(i)]
        fits = [g for g in targets if _inside(record, windows[g])]
        open_ = [g for g in fits if wanted[(g, record.category, record.split)] > 0]
        if not fits:
            dropped.append(Drop(record, OUTSIDE_WINDOW, _shared_detail(record, targets, windows)))
        elif not open_:
            dropped.append(Drop(record, NO_FAKES, "no fakes in its category and split"))
        else:
            best = max(open_, key=lambda g: wanted[(g, record.category, record.split)])
            wanted[(best, record.category, record.split)] -= 1
            given[best].append(record)
    return given


def _shared_detail(
    record: ImageRecord,
    targets: list[str | None],
    windows: dict[str | None, tuple[float, float] | None],
) -> str:
    spans = [w for g in targets if (w := windows[g]) is not None]
    text = ", ".join(f"[{low:.0f}, {high:.0f}]" for low, high in spans)
    return f"shorter side {_side(record)} in no generator's window ({text})"


def _fit_crop(records: list[ImageRecord], crop: int, dropped: list[Drop]) -> list[ImageRecord]:
    """The records that can give a crop x crop centre crop; the others dropped."""
    kept = []
    for record in records:
        if _side(record) >= crop:
            kept.append(record)
        else:
            detail = f"{record.width}x{record.height} < {crop}x{crop}"
            dropped.append(Drop(record, TOO_SMALL, detail))
    return kept


def _balance(
    members: dict[str | None, list[ImageRecord]], seed: int, dropped: list[Drop]
) -> dict[str | None, list[ImageRecord]]:
    """Per generator, category and split, as many reals as fakes (seeded subsampling)."""
    balanced: dict[str | None, list[ImageRecord]] = {}
    for g, records in members.items():
        strata: dict[Stratum, list[ImageRecord]] = defaultdict(list)
        for record in records:
            strata[(g, record.category, record.split)].append(record)
        kept: list[ImageRecord] = []
        for key in sorted(strata, key=_stratum_key):
            reals = [r for r in strata[key] if r.label == REAL]
            fakes = [r for r in strata[key] if r.label == GENERATED]
            n = min(len(reals), len(fakes))
            detail = f"{len(reals)} reals, {len(fakes)} fakes in {_stratum_text(key)}"
            for side in (reals, fakes):
                chosen = set(choose(len(side), n, stream(seed, "balance", key)))
                for i, record in enumerate(side):
                    if i in chosen:
                        kept.append(record)
                    else:
                        dropped.append(Drop(record, BALANCE, detail, g))
        balanced[g] = sorted(kept, key=lambda r: r.path)
    return balanced


def _group_plan(
    g: str | None,
    members: list[ImageRecord],
    pool: list[ImageRecord],
    side: int,
    window: tuple[float, float] | None,
    options: DebiasOptions,
    shared: bool,
) -> GroupPlan:
    """Crop, target quality and subsampling of one generator's subset."""
    if options.crop is not None:
        crop = options.crop
    else:
        smallest = side if options.resize else min(_side(r) for r in members)
        crop = smallest - smallest % CROP_MULTIPLE if smallest >= CROP_MULTIPLE else smallest
    reals = [r for r in pool if r.label == REAL and r.format == "JPEG" and r.jpeg_quality]
    qualities = Counter(int(r.jpeg_quality or 0) for r in reals)
    quality = max(qualities, key=lambda q: (qualities[q], q)) if qualities else FALLBACK_QUALITY
    if isinstance(options.fake_quality, int):
        quality = options.fake_quality
    kinds = Counter(
        r.chroma_subsampling for r in reals if r.chroma_subsampling in WRITABLE_SUBSAMPLING
    )
    subsampling = str(kinds.most_common(1)[0][0]) if kinds else FALLBACK_SUBSAMPLING
    return GroupPlan(g, side, window, crop, quality, subsampling, shared)


def keeps_tables(record: ImageRecord) -> bool:
    """True for a colour JPEG whose own tables Pillow can write again (a layout it cannot write,
    such as 4:4:0, is written 4:2:0: see ``writable_subsampling``)."""
    return (
        record.format == "JPEG"
        and record.mode == "RGB"
        and record.jpeg_quality is not None
        and record.chroma_subsampling is not None
        and record.chroma_subsampling != "4:0:0"
    )


def _jobs(members: list[ImageRecord], group: GroupPlan, options: DebiasOptions) -> list[Job]:
    """Jobs of one subset: reals keep their tables (or not), fakes get the target cells."""
    target: Cell = (group.quality, group.subsampling)
    sample = options.fake_quality == "sample"
    copy_tables = options.fake_quality == "tables" and not options.recompress_reals
    strata: dict[Stratum, list[ImageRecord]] = defaultdict(list)
    for record in members:
        strata[(group.generator, record.category, record.split)].append(record)
    jobs = []
    for key in sorted(strata, key=_stratum_key):
        reals = [r for r in strata[key] if r.label == REAL]
        fakes = [r for r in strata[key] if r.label == GENERATED]
        real_cells = [_real_cell(r, target) for r in reals]
        for record, own in zip(reals, real_cells, strict=True):
            quality: int | None
            if options.recompress_reals:
                quality, subsampling = own if sample else target
            else:
                quality, subsampling = (None, own[1]) if keeps_tables(record) else target
            jobs.append(_job(record, group, quality, subsampling, options))
        if copy_tables:
            cells = _drawn([_table_cell(r, target) for r in reals], len(fakes), options.seed, key)
            for record, (q, s, tables) in zip(fakes, cells, strict=True):
                jobs.append(_job(record, group, None if tables else q, s, options, tables))
            continue
        drawn = (
            _drawn(real_cells, len(fakes), options.seed, key) if sample else [target] * len(fakes)
        )
        jobs.extend(_job(r, group, q, s, options) for r, (q, s) in zip(fakes, drawn, strict=True))
    return jobs


def _real_cell(record: ImageRecord, target: Cell) -> Cell:
    """The quality and subsampling a real keeps: its own when they can be written, else target."""
    if keeps_tables(record):
        return (int(record.jpeg_quality or 0), writable_subsampling(record.chroma_subsampling))
    return target


def _table_cell(record: ImageRecord, target: Cell) -> TableCell:
    """What a fake matched to this real is written with: the real's exact tables and layout
    when it keeps them (and its record carries them), else the target quality's IJG tables."""
    if keeps_tables(record) and record.jpeg_tables:
        quality, subsampling = _real_cell(record, target)
        return (quality, subsampling, record.jpeg_tables)
    return (*target, None)


def _drawn(cells: list[_C], n: int, seed: int, key: Stratum) -> list[_C]:
    """n cells drawn from the reals' cells, without replacement while they last."""
    if not cells:
        return []
    order = stream(seed, "sample", key).permutation(max(n, len(cells)))
    return [cells[int(i) % len(cells)] for i in order[:n]]


def _job(
    record: ImageRecord,
    group: GroupPlan,
    quality: int | None,
    subsampling: str,
    o: DebiasOptions,
    tables: str | None = None,
) -> Job:
    resize = o.resize and _side(record) != group.crop
    return Job(record, group.generator, group.crop, quality, subsampling, resize, tables=tables)


def choose(count: int, n: int, rng: np.random.Generator) -> list[int]:
    """n of range(count), chosen at random, in increasing order (all when n >= count)."""
    if n >= count:
        return list(range(count))
    return sorted(int(i) for i in rng.choice(count, size=n, replace=False))


def stream(seed: int, *key: object) -> np.random.Generator:
    """A generator for one purpose and stratum, independent of every other stratum's draws."""
    return np.random.default_rng([seed, zlib.crc32(repr(key).encode())])


def name_key(name: str | None) -> tuple[bool, str]:
    return (name is not None, name or "")


def _stratum_key(key: Stratum) -> tuple[tuple[bool, str], ...]:
    return tuple(name_key(part) for part in key)


def _stratum_text(key: Stratum) -> str:
    g, category, split = key
    parts = [f"generator {g}" if g else "", f"category {category}" if category else "", split]
    return ", ".join(p for p in parts if p) or "the dataset"
