"""What a de-biased copy holds: its manifest, debias.json, dropped.csv and the terminal summary."""

from __future__ import annotations

import csv
import json
import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from spotfake import __version__
from spotfake.bias.debias_plan import UNREADABLE, Drop, GroupPlan, Plan, name_key
from spotfake.data.manifest import write_manifest
from spotfake.records import GENERATED, ImageRecord

MARKER = "debias.json"  # written first: marks a folder --overwrite may clear
DROPPED = "dropped.csv"
NO_GENERATOR = "(none)"
CLASSES = ("real", "fake")


@dataclass
class DebiasResult:
    """What was written where, what was left out and why, and what happened on the way."""

    out: Path
    plan: Plan
    records: list[ImageRecord]  # the copy's manifest
    dropped: list[Drop]
    notes: Counter[str] = field(default_factory=Counter)
    manifest: Path | None = None
    layout_mismatches: list[str] = field(default_factory=list)

    @property
    def unreadable(self) -> int:
        return sum(d.reason == UNREADABLE for d in self.dropped)


def write_reports(result: DebiasResult, source: str = "") -> None:
    """The manifest, dropped.csv and the final debias.json (which marks the copy complete)."""
    if result.manifest is not None:
        write_manifest(result.records, result.manifest)
    write_dropped(result.dropped, os.path.join(result.out, DROPPED))
    text = json.dumps(summary(result, source), indent=2) + "\n"
    with open(os.path.join(result.out, MARKER), "w", encoding="utf-8") as handle:
        handle.write(text)


def write_dropped(dropped: list[Drop], path: str | os.PathLike[str]) -> None:
    """One row per source file left out: path, label, generator, reason, detail."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "generator", "reason", "detail"])
        for drop in sorted(dropped, key=lambda d: (d.record.path, d.reason)):
            label = "" if drop.record.label is None else drop.record.label
            generator = drop.subset or ""
            writer.writerow([drop.record.path, label, generator, drop.reason, drop.detail])


def _kind(label: int | None) -> str:
    return "fake" if label == GENERATED else "real"


def _key(generator: str | None) -> str:
    return NO_GENERATOR if generator is None else generator


def counts(result: DebiasResult) -> dict[str, dict[str, dict[str, Any]]]:
    """Per generator and class: files written and files left out by reason."""
    table: dict[str, dict[str, dict[str, Any]]] = {}

    def cell(generator: str | None, label: int | None) -> dict[str, Any]:
        row = table.setdefault(_key(generator), {k: {"written": 0, "dropped": {}} for k in CLASSES})
        return row[_kind(label)]

    for record in result.records:
        cell(record.generator, record.label)["written"] += 1
    for drop in result.dropped:
        reasons = cell(drop.subset, drop.record.label)["dropped"]
        reasons[drop.reason] = reasons.get(drop.reason, 0) + 1
    ordered = sorted(table, key=lambda g: name_key(None if g == NO_GENERATOR else g))
    return {g: table[g] for g in ordered}


def _group(group: GroupPlan, fake_quality: object) -> dict[str, Any]:
    return {
        "fake_side": group.fake_side,
        "size_window": None if group.window is None else [round(v, 1) for v in group.window],
        "crop": group.crop,
        "fake_quality": fake_quality if fake_quality in ("sample", "tables") else group.quality,
        "reals_most_common_quality": group.quality,
        "subsampling": group.subsampling,
        "shared_reals": group.shared_reals,
    }


def summary(result: DebiasResult, source: str = "") -> dict[str, Any]:
    """debias.json: parameters, per-generator choices, counts kept and left out by reason."""
    options = result.plan.options
    labels = Counter(_kind(r.label) for r in result.records)
    return {
        "spotfake": __version__,
        "status": "complete",
        "source": source,
        "options": asdict(options),
        "generators": {
            _key(g): _group(group, options.fake_quality) for g, group in result.plan.groups.items()
        },
        "totals": {
            "sources": len(result.records) + len(result.dropped),
            "written": {k: labels[k] for k in CLASSES},
            "dropped": dict(sorted(Counter(d.reason for d in result.dropped).items())),
        },
        "counts": counts(result),
        "notes": dict(sorted(result.notes.items())),
        "layout_mismatches": result.layout_mismatches,
    }


def summary_text(result: DebiasResult) -> str:
    """The terminal summary: what was written, per generator, and what was left out and why."""
    labels = Counter(_kind(r.label) for r in result.records)
    total = len(result.records) + len(result.dropped)
    lines = [
        f"wrote {len(result.records)} images to {result.out} "
        f"({labels['real']} real, {labels['fake']} fake); {len(result.dropped)} of {total} left out"
    ]
    lines += _table(result)
    reasons = Counter((_kind(d.record.label), d.reason) for d in result.dropped)
    if reasons:
        lines.append("left out:")
        width = max(len(reason) for _, reason in reasons)
        for (kind, reason), n in sorted(reasons.items()):
            lines.append(f"  {kind}  {reason:<{width}}  {n}")
    if result.notes:
        lines.append("notes:")
        lines += [f"  {n} {note}" for note, n in sorted(result.notes.items())]
    if result.unreadable:
        lines.append(f"{result.unreadable} files could not be read: see {DROPPED}")
    if result.layout_mismatches:
        lines.append(
            f"warning: the folder layout reads {len(result.layout_mismatches)} files back with "
            "other labels or generators; use the manifest"
        )
    lines.append(f"manifest: {result.manifest}; details: {MARKER}, {DROPPED}")
    return "\n".join(lines)


def _table(result: DebiasResult) -> list[str]:
    """One row per generator: crop, fake JPEG settings, window, kept/considered per class."""
    table = counts(result)
    rows: list[tuple[str, ...]] = [
        ("generator", "crop", "fake JPEG", "size window", "real kept", "fake kept")
    ]
    for g, group in result.plan.groups.items():
        cells = table.pop(_key(g), {})
        kept = [_kept(cells.get(kind)) for kind in CLASSES]
        window = "-" if group.window is None else "{:.0f}-{:.0f}".format(*group.window)
        rows.append((_key(g), f"{group.crop}x{group.crop}", _jpeg(result, group), window, *kept))
    for name, cells in table.items():  # e.g. shared reals no generator took
        rows.append((name, "-", "-", "-", *[_kept(cells.get(kind)) for kind in CLASSES]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in rows]  # fmt: skip


def _kept(cell: dict[str, Any] | None) -> str:
    if not cell:
        return "0/0"
    return f"{cell['written']}/{cell['written'] + sum(cell['dropped'].values())}"


def _jpeg(result: DebiasResult, group: GroupPlan) -> str:
    if result.plan.options.fake_quality == "tables" and not result.plan.options.recompress_reals:
        return f"tables of matched reals (mostly q{group.quality} {group.subsampling})"
    if result.plan.options.fake_quality == "sample":
        return f"as reals (mostly q{group.quality} {group.subsampling})"
    return f"q{group.quality} {group.subsampling}"
