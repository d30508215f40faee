"""`spotfake synth list` and `spotfake synth make`: every generator, and the fakes it makes."""

from __future__ import annotations

import json
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from spotfake.cli.common import Device, is_terminal, report_failures
from spotfake.cli.progress import progress_bar
from spotfake.cli.synth import DeviceOpt, OverlapOpt, ThreadsOpt, TileOpt

if TYPE_CHECKING:
    from spotfake.synth.generators import Listed
    from spotfake.synth.zoo.base import AnyGenerator, RunOptions


class Reals(StrEnum):
    """How make's output holds the reals."""

    link = "link"
    copy = "copy"
    manifest = "manifest"


def list_generators(
    as_json: Annotated[bool, typer.Option("--json", help="A JSON list of objects.")] = False,
) -> None:
    """Every generator spotfake can run: name, family, mode, upsampling, source, licence, and
    whether it is available here (package installed, weights found)."""
    from spotfake.synth.generators import catalogue

    rows = catalogue()
    if as_json:
        typer.echo(json.dumps([row.to_dict() for row in rows], indent=2))
        return
    print_catalogue(rows, sys.stdout)


def print_catalogue(rows: list[Listed], stream: IO[str]) -> None:
    """A head line per generator (name, family, mode, available), then its upsampling, source
    and licence indented beneath; last, what is missing for each unavailable pretrained one."""
    write = stream.write
    width = max(len(row.card.name) for row in rows) if rows else 0
    write(f"{'name':<{width}}  {'family':<20}  {'mode':<16}  available\n")
    for row in rows:
        c = row.card
        mode = f"{c.mode} x{c.factor}" if c.factor > 1 else c.mode
        ready = "yes" if row.available else ("train first" if not c.pretrained else "no")
        write(f"{c.name:<{width}}  {c.family:<20}  {mode:<16}  {ready}\n")
        write(f"{'':<{width}}  upsampling: {c.upsampling}\n")
        write(f"{'':<{width}}  source: {c.source}\n")
        write(f"{'':<{width}}  licence: {c.licence}\n")
    n_ready = sum(row.available for row in rows if row.card.pretrained)
    n_pretrained = sum(row.card.pretrained for row in rows)
    write(f"{n_ready} of {n_pretrained} pretrained generators available here\n")
    for row in rows:
        if row.card.pretrained and not row.available:
            write(f"  {row.card.name}: {row.note}\n")


def make(
    generator: Annotated[
        str,
        typer.Option(
            "--generator",
            "-g",
            metavar="NAME|GEN_DIR",
            help="A generator of `spotfake synth list`, or a folder `synth train` wrote.",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="OUT",
            file_okay=False,
            help="Folder for the fakes, manifest.csv, pairs.csv, synth.json.",
        ),
    ],
    data: Annotated[
        str | None,
        typer.Option(
            "--data",
            metavar="REALS",
            help="Real images: a folder, zip, CSV listing or manifest (its label-0 files; all "
            "files when it has no labels). Not for sampling generators.",
            show_default=False,
        ),
    ] = None,
    count: Annotated[
        int | None,
        typer.Option(min=1, help="Sampling generators: how many fakes.", show_default=False),
    ] = None,
    seed: Annotated[int, typer.Option(help="Sampling generators: the seed.")] = 0,
    counterparts: Annotated[
        bool,
        typer.Option(
            "--counterparts",
            help="Also write each real's counterpart (the operation without a generator: "
            "bicubic for super-resolution, a blur matching the fake's high frequencies "
            "otherwise), stored like the twin, labelled real.",
        ),
    ] = False,
    limit: Annotated[
        int | None,
        typer.Option(
            min=1, help="Use this many reals, chosen by a hash of their names.", show_default=False
        ),
    ] = None,
    reals: Annotated[
        Reals,
        typer.Option(
            help="Reals in OUT as links (copies where links fail), copies, or only in the manifest."
        ),
    ] = Reals.link,
    val_fraction: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.99,
            help="Share put in the val split (reals without a split of their own; 0: none).",
        ),
    ] = 0.15,
    tile: TileOpt = 512,
    overlap: OverlapOpt = 32,
    device: DeviceOpt = Device.auto,
    threads: ThreadsOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier OUT.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no log.")] = False,
) -> None:
    """Make fakes with any generator. Paired generators pass each real at full resolution
    through the generator and write its fake with the same size, format, mode, JPEG tables and
    subsampling, plus a manifest pairing each with its real; sampling generators (no twins) take
    --count instead of --data.

    `spotfake audit OUT`, `spotfake train` (data.synth) and the other commands read OUT
    directly. Exit status: 0 all made; 1 some reals could not be read (listed); 2 usage error
    or an unavailable generator.
    """
    from spotfake.synth.zoo.base import SamplingGenerator

    run = run_options(device, threads, tile, overlap)
    model = open_or_exit(generator, run)
    if isinstance(model, SamplingGenerator):
        if data is not None or count is None:
            raise typer.BadParameter(
                f"{model.card.name} draws from noise: give --count N, not --data", param_hint="-g"
            )
        _check_output(output, None, overwrite)
        about = _about(model, None, run)
        _sample(model, count, seed, output, val_fraction, about, quiet)
        return
    if data is None or count is not None:
        raise typer.BadParameter(
            f"{model.card.name} makes the fake of each real: give --data REALS (not --count)",
            param_hint="--data",
        )
    about = _about(model, data, run, counterparts=counterparts)
    choice = (limit, reals, val_fraction, overwrite)
    _paired(model, data, output, counterparts, choice, about, quiet)


def run_options(device: Device, threads: int | None, tile: int, overlap: int) -> RunOptions:
    from spotfake.detect import pick_device
    from spotfake.errors import DeviceError
    from spotfake.synth.zoo.base import RunOptions

    try:
        target = pick_device(device.value)
    except DeviceError as exc:
        raise typer.BadParameter(str(exc), param_hint="--device") from exc
    return RunOptions(device=target, threads=threads, tile=tile, overlap=overlap)


def open_or_exit(generator: str, options: RunOptions) -> AnyGenerator:
    """The generator, or a usage error (exit 2) saying why it cannot run here."""
    from spotfake.errors import SpotfakeError
    from spotfake.synth.generators import open_generator

    try:
        return open_generator(generator, options)
    except SpotfakeError as exc:
        raise typer.BadParameter(str(exc), param_hint="--generator") from exc


def _check_output(output: Path, data: str | None, overwrite: bool) -> None:
    from spotfake.io.outdir import check_output_folder
    from spotfake.synth.make import MARKER, check_output

    try:
        if data is None:
            check_output_folder(output, MARKER, overwrite)
        else:
            check_output(output, data, overwrite)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="-o") from exc


def _about(model: AnyGenerator, data: str | None, run: RunOptions, **extra: Any) -> dict[str, Any]:
    """What synth.json records about the generator and the run."""
    about: dict[str, Any] = {
        "card": model.card.to_dict(),
        "source": data,
        "tile": run.tile,
        "overlap": run.overlap,
        **extra,
    }
    from spotfake.synth.generators import TrainedGenerator

    if isinstance(model, TrainedGenerator):  # a decoder trained here: which one exactly
        from spotfake.synth.spec import weights_hash

        about.update(
            architecture=model.spec.architecture,
            config=model.spec.config,
            generator_dir=str(model.folder),
            weights_hash=weights_hash(model.folder),
            training_steps=model.spec.training.get("steps_done"),
        )
    return about


def _sample(
    model: Any,
    count: int,
    seed: int,
    output: Path,
    val_fraction: float,
    about: dict[str, Any],
    quiet: bool,
) -> None:
    from spotfake.synth.sample import make_samples

    started = time.perf_counter()
    show = not quiet and is_terminal(sys.stderr)
    with progress_bar(count, sys.stderr, enabled=show, label="synth make") as advance:
        result = make_samples(model, count, output, seed, val_fraction, about, progress=advance)
    if not quiet:
        seconds = time.perf_counter() - started
        typer.echo(
            f"wrote {len(result.fakes)} samples of {model.card.name} to {output} "
            f"in {seconds:.1f} s",
            err=True,
        )


def _paired(
    model: Any,
    data: str,
    output: Path,
    counterparts: bool,
    choice: tuple[int | None, Reals, float, bool],
    about: dict[str, Any],
    quiet: bool,
) -> None:
    from spotfake.cli.synth import reals_of
    from spotfake.synth.make import MakeOptions, make_fakes

    limit, reals, val_fraction, overwrite = choice
    records = reals_of(data, limit=None)
    try:
        options = MakeOptions(limit=limit, reals=reals.value, val_fraction=val_fraction)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    _check_output(output, data, overwrite)
    started = time.perf_counter()
    total = min(len(records), limit or len(records))
    show = not quiet and is_terminal(sys.stderr)
    with progress_bar(total, sys.stderr, enabled=show, label="synth make") as advance:
        result = make_fakes(
            model.fake,
            records,
            output,
            model.card.name,
            options,
            about,
            progress=lambda _: advance(),
            counterpart=model.counterpart if counterparts else None,
        )
    report_failures(result.failed, data)
    if not quiet:
        seconds = time.perf_counter() - started
        typer.echo(
            f"wrote {len(result.pairs)} fakes of {model.card.name} to {output} "
            f"({len(result.failed)} failed) in {seconds:.1f} s",
            err=True,
        )
    raise typer.Exit(1 if result.failed else 0)


def hard_reals(
    data: Annotated[
        str,
        typer.Option(
            "--data", metavar="REALS", help="Real images (a folder, zip, listing or manifest)."
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", metavar="OUT", file_okay=False, help="Output folder."),
    ],
    ops: Annotated[
        str,
        typer.Option(
            "--ops",
            help="Comma-separated operations: up2, down2, updown2, updown4, lanczos-up2, blur, "
            "sharpen, median3.",
        ),
    ] = "up2,down2,updown2,updown4,blur,sharpen,median3",
    limit: Annotated[
        int | None,
        typer.Option(min=1, help="This many reals, chosen by a hash of their names."),
    ] = None,
    val_fraction: Annotated[
        float, typer.Option(min=0.0, max=0.99, help="Share in val (reals without a split).")
    ] = 0.15,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier OUT.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no log.")] = False,
) -> None:
    """Reals after classical processing (resampling, blur, sharpening, denoising), stored like
    the originals and labelled real, so a detector cannot learn "processed means generated".

    Writes OUT/hard-<op>/<split>/real/ and manifest.csv. Exit status: 0 all written; 1 some
    reals could not be read or written (listed); 2 usage error.
    """
    from spotfake.cli.synth import reals_of
    from spotfake.io.outdir import check_output_folder
    from spotfake.synth.hard_reals import MARKER, make_hard_reals

    operations = [op.strip() for op in ops.split(",") if op.strip()]
    records = reals_of(data, limit=None)
    try:
        check_output_folder(output, MARKER, overwrite)
        total = min(len(records), limit or len(records))
        show = not quiet and is_terminal(sys.stderr)
        with progress_bar(total, sys.stderr, enabled=show, label="hard reals") as advance:
            result = make_hard_reals(records, output, operations, limit, val_fraction, advance)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    report_failures(result.failed, data)
    if not quiet:
        typer.echo(f"wrote {len(result.records)} hard reals to {output}", err=True)
    raise typer.Exit(1 if result.failed else 0)
