"""`spotfake debias DATASET -o OUT`: write a copy of a dataset without its format and size cues."""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal, cast

import typer

from spotfake.cli.common import is_terminal
from spotfake.cli.progress import progress_bar

EXIT_OK = 0
EXIT_SOME_UNREADABLE = 1


class ManifestFormat(StrEnum):
    """File format of OUT/manifest."""

    csv = "csv"
    parquet = "parquet"


def _fake_quality(value: str) -> int | Literal["tables", "mode", "sample"]:
    """'tables', 'mode', 'sample' or a quality 1..100."""
    text = value.strip().lower()
    if text in ("tables", "mode", "sample"):
        return cast(Literal["tables", "mode", "sample"], text)
    if text.isdigit() and 1 <= int(text) <= 100:
        return int(text)
    raise typer.BadParameter(f"{value!r} is not 'tables', 'mode', 'sample' or a quality in 1..100")


def _size_window(value: str) -> float | None:
    """'none' or a relative half-width in [0, 1)."""
    if value.strip().lower() == "none":
        return None
    try:
        width = float(value)
    except ValueError:
        width = -1.0
    if not 0 <= width < 1:
        raise typer.BadParameter(f"{value!r} is not 'none' or a number in [0, 1)")
    return width


DatasetArg = Annotated[
    str,
    typer.Argument(
        metavar="DATASET|MANIFEST",
        help="A folder (GenImage, CNNDetection or real/fake layout), a zip archive, a CSV "
        "listing path,label[,generator,split] or a manifest (.csv/.parquet). Never modified. "
        "A folder holding its own manifest.csv (an earlier copy) keeps that manifest's labels.",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Path,
    typer.Option(
        "--output", "-o", metavar="OUT", file_okay=False, help="Folder to write the copy into."
    ),
]
FakeQualityOpt = Annotated[
    str,
    typer.Option(
        metavar="tables|mode|sample|N",
        help="How the fakes are encoded (those that are JPEG already are re-encoded too). "
        "tables (default): each fake takes the exact quantisation tables and subsampling of a "
        "distinct kept real, so neither the quality nor the tables separate the classes "
        "(camera and agency tables only round to a quality); mode (the paper's recipe): the "
        "reals' most common quality with IJG tables, per generator; sample: each fake the "
        "quality of a distinct kept real, IJG tables; N: fixed quality.",
    ),
]
RecompressOpt = Annotated[
    bool,
    typer.Option(
        "--recompress-reals",
        help="Re-encode reals with standard tables at the fakes' quality (with sample: at "
        "their own). Default: colour JPEG reals keep their own tables and subsampling and are "
        "cropped on the block grid (near-lossless); other reals get the fakes' quality.",
    ),
]
WindowOpt = Annotated[
    str,
    typer.Option(
        metavar="W|none",
        help="Keep images whose shorter side is within s(1-W)..s(1+W), s = the median shorter "
        "side of the generator's fakes (0.3 keeps ImageNet's 500x375 against 512x512 fakes).",
    ),
]
CropOpt = Annotated[
    int | None,
    typer.Option(
        min=8,
        help="Square centre crop for every image; smaller ones are left out (default: per "
        "generator, the largest crop all kept images give, a multiple of 16).",
        show_default=False,
    ),
]
ResizeOpt = Annotated[
    bool,
    typer.Option(
        "--resize",
        help="Scale the shorter side to the crop first (alters generator traces; default "
        "crop: the fakes' median shorter side). Default: crop only, never resize.",
    ),
]
MatchOpt = Annotated[
    bool,
    typer.Option(
        help="After encoding, subsample both classes so that their log bytes-per-pixel "
        "histograms match (quantile bins) per generator, JPEG quality and subsampling (not "
        "per quality with a fixed N): without it size per pixel still separates ImageNet from "
        "Stable Diffusion (metadata-only AUC 0.71).",
    ),
]
BinsOpt = Annotated[int, typer.Option(min=1, help="Bins for --match-bpp.")]
SeedOpt = Annotated[
    int, typer.Option(min=0, help="Seed of every random choice: same seed, same bytes.")
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        min=1, help="Threads that decode and encode (default: all cores).", show_default=False
    ),
]
FormatOpt = Annotated[ManifestFormat, typer.Option(help="Format of OUT/manifest.")]
OverwriteOpt = Annotated[
    bool,
    typer.Option("--overwrite", help="Replace an earlier copy in OUT (one holding debias.json)."),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar and no summary on stderr.")
]


def debias(
    dataset: DatasetArg,
    output: OutputOpt,
    fake_quality: FakeQualityOpt = "tables",
    recompress_reals: RecompressOpt = False,
    size_window: WindowOpt = "0.3",
    crop: CropOpt = None,
    resize: ResizeOpt = False,
    match_bpp: MatchOpt = True,
    bpp_bins: BinsOpt = 10,
    seed: SeedOpt = 0,
    workers: WorkersOpt = None,
    manifest_format: FormatOpt = ManifestFormat.csv,
    overwrite: OverwriteOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a de-biased copy: fakes JPEG-compressed like the reals, sizes windowed and
    centre-cropped alike, classes balanced per generator (Grommelt et al., "Fake or JPEG?").

    OUT gets the images, manifest.csv, debias.json (parameters and counts) and dropped.csv.
    Exit status: 0 done; 1 some files could not be read (listed in dropped.csv); 2 usage error.
    """
    from spotfake.bias.debias import check_output, write_debiased
    from spotfake.bias.debias_plan import DebiasOptions, plan_debias
    from spotfake.bias.debias_report import summary_text
    from spotfake.cli.datasets import open_records

    started = time.perf_counter()
    try:
        options = DebiasOptions(
            fake_quality=_fake_quality(fake_quality),
            recompress_reals=recompress_reals,
            size_window=_size_window(size_window),
            crop=crop,
            resize=resize,
            match_bpp=match_bpp,
            bpp_bins=bpp_bins,
            seed=seed,
        )
        records = open_records(dataset, workers, quiet=quiet)
        check_output(output, dataset, records, overwrite)
    except (ValueError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    plan = plan_debias(records, options)
    show = not quiet and is_terminal(sys.stderr)
    with progress_bar(len(plan.jobs), sys.stderr, enabled=show, label="debias") as advance:
        result = write_debiased(
            plan,
            output,
            workers=workers,
            manifest_format=manifest_format.value,
            progress=lambda _: advance(),
            source=dataset,
        )
    if not quiet:
        seconds = time.perf_counter() - started
        typer.echo(f"spotfake debias: {summary_text(result)}\ntook {seconds:.1f} s", err=True)
    raise typer.Exit(EXIT_SOME_UNREADABLE if result.unreadable else EXIT_OK)


def register(app: typer.Typer) -> None:
    """Add `debias` to the spotfake command."""
    app.command("debias")(debias)
