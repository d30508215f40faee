"""`spotfake index DATASET -o MANIFEST`: describe every image of a dataset in one table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from spotfake.cli.datasets import DATASET_ERRORS, probe_with_bar

if TYPE_CHECKING:
    from spotfake.records import ImageRecord

DatasetArg = Annotated[
    str,
    typer.Argument(
        metavar="DATASET",
        help="Folder (GenImage, CNNDetection, real/ + fake/ layouts), zip archive "
        "(archive.zip or archive.zip!prefix/) or CSV listing path,label[,generator,split]. "
        "A folder holding its own manifest.csv keeps the labels it lists.",
        show_default=False,
    ),
]
ManifestOpt = Annotated[
    Path,
    typer.Option(
        "--output",
        "-o",
        metavar="MANIFEST",
        dir_okay=False,
        help="Manifest to write (.csv or .parquet).",
    ),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        min=1, help="Processes that read headers (default: all cores).", show_default=False
    ),
]
GeneratorOpt = Annotated[
    str | None,
    typer.Option(help="Generator name for files whose layout names none.", show_default=False),
]
FreshOpt = Annotated[
    bool, typer.Option("--fresh", help="Probe every file, even if MANIFEST already lists it.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary.")]

_SHOWN_ERRORS = 10


def index(
    dataset: DatasetArg,
    output: ManifestOpt,
    workers: WorkersOpt = None,
    generator: GeneratorOpt = None,
    fresh: FreshOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a manifest of DATASET from file headers only (no pixel is decoded).

    If MANIFEST exists, only new or changed files are probed. Unreadable files stay in the
    manifest with their error. A folder holding its own manifest.csv keeps the labels it lists
    (files it does not list are read by layout); when MANIFEST is that file, listed files that
    are gone are left out. Exit status: 0 all read; 1 some unreadable; 2 usage error.
    """
    from spotfake.data.manifest import list_dataset, read_manifest, write_manifest

    if output.suffix.lower() not in (".csv", ".parquet"):
        raise typer.BadParameter("the manifest must end in .csv or .parquet", param_hint="'-o'")
    try:
        listing = list_dataset(dataset, generator, drop_missing=_rewrites_own(dataset, output))
    except DATASET_ERRORS as exc:
        raise typer.BadParameter(str(exc), param_hint="DATASET") from exc
    previous = None if fresh or not output.exists() else read_manifest(output)
    known = [] if fresh else [*listing.known, *(previous or [])]
    start = time.perf_counter()
    records = probe_with_bar(listing.entries, known, workers, quiet=quiet)
    seconds = time.perf_counter() - start
    write_manifest(records, output)
    failed = [r for r in records if r.error is not None]
    if not quiet:
        reused = _reused(records, known)
        _summary(len(records), reused, failed, seconds, output)
    raise typer.Exit(1 if failed else 0)


def _rewrites_own(dataset: str, output: Path) -> bool:
    """Whether MANIFEST is the manifest DATASET holds (a refresh of it)."""
    from spotfake.data.manifest import folder_manifest

    own = folder_manifest(dataset)
    return own is not None and Path(own).resolve() == output.resolve()


def _reused(records: list[ImageRecord], previous: list[ImageRecord] | None) -> int:
    """How many records were taken over unchanged from the previous manifest."""
    if not previous:
        return 0
    old = {(r.path, r.file_bytes, r.modified) for r in previous if r.error is None}
    return sum((r.path, r.file_bytes, r.modified) in old for r in records)


def _summary(
    total: int, reused: int, failed: list[ImageRecord], seconds: float, output: Path
) -> None:
    """Counts, speed and the first errors, on stderr."""
    probed = total - reused
    speed = f", {probed / seconds:,.0f} files/s" if probed and seconds > 0 else ""
    typer.echo(
        f"indexed {total} files ({probed} probed, {reused} unchanged) in {seconds:.1f} s"
        f"{speed} -> {output}",
        err=True,
    )
    for record in failed[:_SHOWN_ERRORS]:
        typer.echo(f"  error: {record.path}: {record.error}", err=True)
    if len(failed) > _SHOWN_ERRORS:
        typer.echo(f"  ... and {len(failed) - _SHOWN_ERRORS} more unreadable files", err=True)


def register(app: typer.Typer) -> None:
    """Add `index` to the spotfake command."""
    app.command("index")(index)
