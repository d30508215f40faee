"""`spotfake spectrum DATASET -o DIR`: mean Fourier spectra per class and generator, as figures."""

from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from spotfake.cli.common import is_terminal
from spotfake.cli.datasets import probe_with_bar
from spotfake.cli.progress import Advance, progress_bar

if TYPE_CHECKING:
    from spotfake.data.layouts import Entry
    from spotfake.data.sampling import Selection
    from spotfake.records import ImageRecord

EXIT_OK = 0
EXIT_NO_IMAGES = 1

DatasetArg = Annotated[
    str,
    typer.Argument(
        metavar="DATASET",
        help="Folder (real/ + fake/, GenImage, CNNDetection), zip, CSV listing or manifest "
        "(a folder holding its own manifest.csv keeps that manifest's labels).",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        metavar="DIR",
        file_okay=False,
        help="Folder for azimuthal.png, spectrum2d.png, spectra.npz and spectra.json.",
        show_default=False,
    ),
]
LimitOpt = Annotated[
    int, typer.Option(min=1, help="Images per (class, generator) group, drawn with --seed.")
]
SeedOpt = Annotated[int, typer.Option(help="Seed of the draw when a group has more than --limit.")]
CropOpt = Annotated[
    int,
    typer.Option(
        min=8,
        help="Centre-crop side; never resized: a group's smallest side if its images are smaller.",
    ),
]
BinsOpt = Annotated[int, typer.Option(min=2, help="Bins of the 1-D azimuthal spectrum.")]
WorkersOpt = Annotated[
    int, typer.Option(min=1, help="Threads that decode images (processes that read headers).")
]
GeneratorOpt = Annotated[
    str | None,
    typer.Option(
        metavar="NAME", help="Generator name for sets whose layout names none.", show_default=False
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar and no summary on stderr.")
]


def spectrum(
    dataset: DatasetArg,
    output: OutputOpt,
    limit: LimitOpt = 500,
    seed: SeedOpt = 0,
    crop: CropOpt = 256,
    bins: BinsOpt = 80,
    workers: WorkersOpt = 2,
    generator: GeneratorOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Plot mean 1-D and 2-D Fourier spectra per class and generator (Durall et al. 2019).

    Upsampling generators show as peaks and excess high frequencies. Exit status: 0 written;
    1 no labelled readable image; 2 usage error.
    """
    from spotfake.bias.spectra import compute_spectra
    from spotfake.bias.spectra_report import write_outputs
    from spotfake.errors import SpotfakeError

    selection = _select(dataset, limit, seed, workers, generator, quiet)
    total = sum(len(records) for records in selection.groups.values())
    show_bar = not quiet and total > 64 and is_terminal(sys.stderr)
    try:
        with progress_bar(total, sys.stderr, enabled=show_bar, label="spectrum") as advance:
            result = compute_spectra(
                selection, crop=crop, bins=bins, workers=workers, progress=_stepper(advance)
            )
    except SpotfakeError as exc:
        typer.echo(f"spotfake spectrum: {dataset}: {exc}", err=True)
        raise typer.Exit(EXIT_NO_IMAGES) from exc
    try:
        report = write_outputs(result, output)
    except OSError as exc:
        raise typer.BadParameter(f"cannot write {output}: {exc}", param_hint="'--output'") from exc
    if as_json:
        typer.echo(json.dumps(report, indent=2))
    if not quiet:
        typer.echo(summary_text(report), err=True)
    raise typer.Exit(EXIT_OK)


def _select(
    dataset: str, limit: int, seed: int, workers: int, generator: str | None, quiet: bool
) -> Selection:
    """The sample of each group, its headers read with a bar; a missing or unreadable dataset is
    a usage error (exit 2)."""
    from spotfake.data.sampling import select

    def probe(entries: list[Entry], known: list[ImageRecord]) -> list[ImageRecord]:
        return probe_with_bar(entries, known, workers, quiet=quiet)

    try:
        return select(
            dataset, limit=limit, seed=seed, workers=workers, generator=generator, probe=probe
        )
    except (FileNotFoundError, ValueError, zipfile.BadZipFile) as exc:
        raise typer.BadParameter(str(exc), param_hint="DATASET") from exc


def _stepper(advance: Advance) -> Callable[[int], None]:
    """progress(n) for the library from the bar's advance-by-one."""

    def progress(count: int) -> None:
        for _ in range(count):
            advance()

    return progress


def summary_text(report: dict[str, Any]) -> str:
    """A few lines for the terminal: groups, counts, ratios, skipped files, where files went."""
    lines = [
        f"{report['used']} images in {len(report['groups'])} groups, {report['bins']} bins; "
        f"{report['skipped']} skipped, {report['unlabelled']} unlabelled of {report['files']} files"
    ]
    for group in report["groups"]:
        ratio = group["high_frequency_ratio"]
        against = (
            "" if ratio is None else f", high-frequency ratio {ratio:+.4f} vs {group['reference']}"
        )
        lines.append(
            f"  {group['name']:<28} {group['count']:>6} of {group['available']:<6} "
            f"crop {group['crop']}{against}"
        )
    for path, reason in ((s["path"], s["reason"]) for s in report["skipped_files"][:3]):
        lines.append(f"  skipped {path}: {reason}")
    if len(report["skipped_files"]) > 3:
        lines.append(f"  ... and {len(report['skipped_files']) - 3} more (see spectra.json)")
    folder = Path(report["outputs"]["summary"]).parent if report["outputs"] else None
    lines.append(f"wrote azimuthal.png, spectrum2d.png, spectra.npz, spectra.json to {folder}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add `spectrum` to the spotfake command."""
    app.command("spectrum")(spectrum)
