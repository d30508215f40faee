"""`spotfake audit DATASET|MANIFEST`: find storage shortcuts that separate real from generated."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from spotfake.cli.datasets import open_records
from spotfake.cli.progress import progress_bar

if TYPE_CHECKING:
    from spotfake.bias.audit import Audit
    from spotfake.bias.pixels import PixelBaseline
    from spotfake.records import ImageRecord


class FailOn(StrEnum):
    """The verdict at or above which the command exits 3 (for scripts and CI)."""

    never = "never"
    weak = "weak"
    strong = "strong"


DatasetArg = Annotated[
    str,
    typer.Argument(
        metavar="DATASET|MANIFEST",
        help="A manifest (.csv/.parquet from spotfake index), or a folder, zip or CSV listing "
        "to index now (a folder holding its own manifest.csv, as debias, synth make and attack "
        "write, keeps that manifest's labels).",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="DIR",
        file_okay=False,
        help="Write audit.json, report.md, report.html and PNG plots into DIR.",
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the audit as JSON on stdout.")]
FoldsOpt = Annotated[int, typer.Option(min=2, max=20, help="Cross-validation folds.")]
SeedOpt = Annotated[int, typer.Option(help="Seed of the folds, sampling and classifiers.")]
MaxRowsOpt = Annotated[
    int, typer.Option(min=100, help="Rows the classifiers see at most (a stratified sample).")
]
GeneratorOpt = Annotated[
    str | None,
    typer.Option(help="Generator name for files whose layout names none.", show_default=False),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        min=1, help="Processes that read headers (default: all cores).", show_default=False
    ),
]
FailOnOpt = Annotated[
    FailOn, typer.Option("--fail-on", help="Exit 3 when the overall verdict is at least this.")
]
PixelsOpt = Annotated[
    bool,
    typer.Option(
        "--pixels/--no-pixels",
        help="Also decode a sample and cross-validate a classifier on cheap pixel statistics "
        "(colour, sharpness, noise, blockiness): how separable the data is without any "
        "generation trace.",
    ),
]
PixelRowsOpt = Annotated[
    int, typer.Option(min=20, help="Images the pixel-statistics baseline decodes at most.")
]

_LEVEL = {"none": 0, "n/a": 0, "weak": 1, "strong": 2}


def audit(
    dataset: DatasetArg,
    output: OutputOpt = None,
    as_json: JsonOpt = False,
    folds: FoldsOpt = 5,
    seed: SeedOpt = 0,
    max_rows: MaxRowsOpt = 100_000,
    generator: GeneratorOpt = None,
    workers: WorkersOpt = None,
    fail_on: FailOnOpt = FailOn.never,
    pixels: PixelsOpt = True,
    pixel_rows: PixelRowsOpt = 2000,
) -> None:
    """Audit a dataset for metadata shortcuts (format, JPEG quality, size, compression, mode).

    Prints a verdict per property (none / weak / strong) with the numbers behind it, and the
    cross-validated AUC a metadata-only classifier reaches (shortcut_auc in --json), and
    beside it the AUC of a classifier on cheap pixel statistics (pixel_baseline in --json).
    Exit status: 0 done; 2 usage error; 3 the metadata verdict reached --fail-on.
    """
    from spotfake.bias.audit import audit as run_audit

    records = open_records(dataset, workers, generator)
    try:
        result = run_audit(records, folds=folds, seed=seed, max_rows=max_rows)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="DATASET") from exc
    if pixels:
        result.pixel_baseline = _pixel_baseline(records, pixel_rows, folds, seed, workers)
    if output is not None:
        from spotfake.bias.report import write_report

        write_report(result, records, output, title=dataset)
    if as_json:
        json.dump(result.to_dict(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_summary(result, sys.stdout)
        if output is not None:
            typer.echo(f"report: {output / 'report.html'} (also report.md, audit.json)")
    failed = fail_on is not FailOn.never and _LEVEL[result.verdict] >= _LEVEL[fail_on.value]
    raise typer.Exit(3 if failed else 0)


def _pixel_baseline(
    records: list[ImageRecord], rows: int, folds: int, seed: int, workers: int | None
) -> PixelBaseline:
    """The pixel-statistics baseline on a sample, with a bar on a terminal."""
    from spotfake.bias.pixels import pixel_baseline, pixel_sample

    total = len(pixel_sample(records, rows, seed))
    with progress_bar(total, sys.stderr, sys.stderr.isatty(), "pixels") as advance:
        return pixel_baseline(records, rows, folds, seed, workers, progress=advance)


def print_summary(result: Audit, stream: IO[str]) -> None:
    """The terminal summary: counts, the overall verdict, one line per property and generator."""
    from spotfake.bias.audit import interval_text

    c = result.counts
    write = stream.write
    write(
        f"{c['real']} real, {c['generated']} generated"
        f" ({c['unlabelled']} unlabelled, {c['unreadable']} unreadable left out)\n"
    )
    ci = interval_text(
        result.shortcut_auc_ci_low, result.shortcut_auc_ci_high, result.confident, result.rows_used
    )
    write(
        f"metadata shortcut: AUC {_fmt(result.shortcut_auc)} -> {result.verdict.upper()}"
        f" ({ci}; what a detector reaches without looking at pixels; 0.5 = none)\n"
    )
    for item in result.confounds:
        ci = interval_text(item.ci_low, item.ci_high, item.confident, result.rows_used)
        write(f"  {item.name:<19} {item.verdict:<6} AUC {_fmt(item.auc)} ({ci})  {item.detail}\n")
    for gen in result.per_generator:
        ci = interval_text(gen.ci_low, gen.ci_high, gen.confident, gen.rows_used)
        write(
            f"  generator {gen.generator}: AUC {_fmt(gen.shortcut_auc)} {gen.verdict}"
            f" ({ci}; {gen.n_fake} fakes vs {gen.n_real} {gen.reals} reals)\n"
        )
    _tables_and_metadata(result, write)
    if result.pixel_baseline is not None:
        write(_pixel_line(result.pixel_baseline) + "\n")


def _tables_and_metadata(result: Audit, write: Callable[[str], object]) -> None:
    """The table-identity line and the file-metadata lines of the summary."""
    from spotfake.bias.audit import interval_text

    if result.table_identity is not None:
        t = result.table_identity
        ci = interval_text(t.ci_low, t.ci_high, t.confident, result.rows_used)
        write(
            f"JPEG tables: {len(t.tables['real'])} distinct among reals, "
            f"{len(t.tables['generated'])} among fakes; shared with the other class: "
            f"real {_pct(t.shared['real'])}, generated {_pct(t.shared['generated'])}; "
            f"table values alone AUC {_fmt(t.values_auc)} {t.verdict} ({ci})\n"
        )
    if result.file_metadata is not None:
        m = result.file_metadata
        ci = interval_text(m.ci_low, m.ci_high, m.confident, result.rows_used)
        write(
            f"file metadata (not seen by pixel detectors): AUC {_fmt(m.shortcut_auc)} -> "
            f"{m.verdict.upper()} ({ci})\n"
        )
        for item in m.properties[:3]:
            write(f"  {item.name:<19} {item.verdict:<6} AUC {_fmt(item.auc)}  {item.detail}\n")


def _pixel_line(baseline: PixelBaseline) -> str:
    """ "pixel statistics: AUC 0.93 -> STRONG (95% CI ...; features: ...)", unreadable counted."""
    from spotfake.bias.audit import interval_text

    if baseline.auc != baseline.auc:  # NaN: too few measured images to cross-validate
        reasons = list(baseline.unreadable.values())
        example = f", e.g. {reasons[0]}" if reasons else ""
        return (
            f"pixel statistics: AUC n/a ({baseline.rows_used} of {baseline.sampled} sampled "
            f"images measured{example}; too few of a class to cross-validate)"
        )
    ci = interval_text(baseline.ci_low, baseline.ci_high, baseline.confident, baseline.rows_used)
    carrying = ", ".join(f"{f.name} {_fmt(f.auc)}" for f in baseline.carrying())
    unreadable = len(baseline.unreadable)
    return (
        f"pixel statistics: AUC {_fmt(baseline.auc)} -> {baseline.verdict.upper()}"
        f" ({ci}; features: {carrying or 'none separates alone'}"
        f"; {baseline.rows_used} images measured"
        + (f", {unreadable} unreadable" if unreadable else "")
        + "; separable without generation traces when high)"
    )


def _pct(value: float) -> str:
    return "n/a" if value != value else f"{value:.0%}"


def _fmt(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"


def register(app: typer.Typer) -> None:
    """Add `audit` to the spotfake command."""
    app.command("audit")(audit)
