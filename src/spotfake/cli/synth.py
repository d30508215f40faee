"""`spotfake synth train|make|report`: generator-like decoders and content-matched fakes."""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from spotfake.cli.detect import Device, is_terminal
from spotfake.cli.progress import progress_bar

if TYPE_CHECKING:
    from spotfake.records import ImageRecord
    from spotfake.synth.fidelity import Fidelity
    from spotfake.synth.spec import GeneratorSpec

ARCHITECTURES = "transposed, nearest, bilinear, pixelshuffle, ldm-vae"

synth_app = typer.Typer(
    name="synth",
    help="Train generator-like autoencoders on reals and make content-matched fakes.",
    no_args_is_help=True,
)


class Reals(StrEnum):
    """How make's output holds the reals."""

    link = "link"
    copy = "copy"
    manifest = "manifest"


DataOpt = Annotated[
    str,
    typer.Option(
        "--data",
        metavar="REALS",
        help="Real images: a folder, zip, CSV listing or manifest (its label-0 files; all "
        "files when it has no labels, e.g. a plain folder of photos).",
    ),
]
DeviceOpt = Annotated[Device, typer.Option(help="Where the model runs.")]
TileOpt = Annotated[
    int, typer.Option(min=16, help="Tile side for full-resolution images (then blended).")
]
OverlapOpt = Annotated[int, typer.Option(min=0, help="Overlap of neighbouring tiles in px.")]
LimitOpt = Annotated[
    int | None,
    typer.Option(
        min=1, help="Use this many reals, chosen by a hash of their names.", show_default=False
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no log.")]
ThreadsOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="torch CPU threads (default: torch's; 1 is faster on a machine busy with other work).",
        show_default=False,
    ),
]


@synth_app.command("train")
def train(
    arch: Annotated[str, typer.Option(help=f"Upsampling family: {ARCHITECTURES}.")],
    data: DataOpt,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            metavar="GEN_DIR",
            file_okay=False,
            help="Folder for the generator, its spec and fidelity.json.",
        ),
    ],
    steps: Annotated[
        int, typer.Option(min=1, help="Training steps (in all, with --resume).")
    ] = 2000,
    patch: Annotated[int, typer.Option(min=16, help="Side of the random training patches.")] = 128,
    batch: Annotated[int, typer.Option(min=1, help="Patches per step.")] = 8,
    lr: Annotated[float, typer.Option(help="Adam learning rate (cosine decay to a tenth).")] = 2e-4,
    disc_start: Annotated[
        int | None,
        typer.Option(
            help="Step at which the patch critic joins (default: a quarter of the steps).",
            show_default=False,
        ),
    ] = None,
    sets: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="Architecture option: width, latent, down, blocks; ldm-vae also "
            "attention, kl_weight (e.g. --set down=4).",
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(help="Generator name in manifests (default synth-ARCH).", show_default=False),
    ] = None,
    limit: LimitOpt = None,
    eval_limit: Annotated[int, typer.Option(min=1, help="Held-out reals to measure.")] = 16,
    tile: TileOpt = 512,
    device: DeviceOpt = Device.auto,
    seed: Annotated[int, typer.Option(help="Seed of initialisation and patches.")] = 0,
    threads: ThreadsOpt = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue GEN_DIR/checkpoint.pt.")
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace a generator in GEN_DIR.")
    ] = False,
    quiet: QuietOpt = False,
) -> None:
    """Train an autoencoder whose decoder upsamples like a generator family, on real images.

    Writes GEN_DIR/generator.safetensors, generator.json (spec), checkpoint.pt and
    fidelity.json, and prints the fidelity on held-out reals (PSNR, bytes-per-pixel ratio,
    high-frequency ratio; see `spotfake synth report`).
    """
    from spotfake.errors import SpotfakeError
    from spotfake.synth.spec import SPEC
    from spotfake.synth.train import TrainOptions, train_generator

    if (output / SPEC).exists() and not (resume or overwrite):
        raise typer.BadParameter(
            f"{output} holds a generator; --resume or --overwrite", param_hint="-o"
        )
    options = TrainOptions(
        steps=steps,
        patch=patch,
        batch=batch,
        lr=lr,
        disc_start=disc_start,
        seed=seed,
        device=device.value,
        eval_limit=eval_limit,
        tile=tile,
        threads=threads,
    )
    reals = _reals(data, limit)
    log = None if quiet else sys.stderr
    try:
        spec, fidelity = train_generator(
            arch,
            _options(sets or []),
            reals,
            output,
            options,
            source=data,
            name=name,
            resume=resume,
            log=log,
        )
    except (SpotfakeError, ValueError, TypeError, FileNotFoundError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    print_table([(spec, fidelity)], sys.stdout)


@synth_app.command("make")
def make(
    generator: Annotated[
        Path, typer.Option("--generator", "-g", metavar="GEN_DIR", help="A trained generator.")
    ],
    data: DataOpt,
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
    limit: LimitOpt = None,
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
            help="Share of pairs put in the val split (reals "
            "without a split of their own; 0: none).",
        ),
    ] = 0.15,
    tile: TileOpt = 512,
    overlap: OverlapOpt = 32,
    device: DeviceOpt = Device.auto,
    threads: ThreadsOpt = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier OUT.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Pass each real at full resolution through the generator and write its fake with the same
    size, format, mode, JPEG tables and subsampling, plus a manifest pairing each with its real.

    `spotfake audit OUT`, `spotfake train` (data.train: OUT) and the other commands read OUT
    directly. Exit status: 0 all made; 1 some reals could not be read (listed); 2 usage error.
    """
    from spotfake.synth.make import MakeOptions, check_output, make_fakes

    spec, pick = _generator(generator, device, threads)
    records = _reals(data, limit=None)
    try:
        options = MakeOptions(limit=limit, reals=reals.value, val_fraction=val_fraction)
        check_output(output, data, overwrite)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    about = _about(generator, spec, data, tile, overlap)
    started = time.perf_counter()
    total = min(len(records), limit or len(records))
    show = not quiet and is_terminal(sys.stderr)
    with progress_bar(total, sys.stderr, enabled=show, label="synth make") as advance:
        result = make_fakes(
            pick(tile, overlap),
            records,
            output,
            spec.display_name,
            options,
            about,
            progress=lambda _: advance(),
        )
    for path, reason in result.failed:
        typer.echo(f"error: {path}: {reason}", err=True)
    if not quiet:
        seconds = time.perf_counter() - started
        typer.echo(
            f"wrote {len(result.pairs)} fakes of {spec.display_name} to {output} "
            f"({len(result.failed)} failed) in {seconds:.1f} s",
            err=True,
        )
    raise typer.Exit(1 if result.failed else 0)


@synth_app.command("report")
def report(
    generators: Annotated[list[Path], typer.Argument(metavar="GEN_DIR...", help="Generators.")],
    data: DataOpt,
    limit: Annotated[int, typer.Option(min=1, help="Held-out reals to measure.")] = 16,
    tile: TileOpt = 512,
    device: DeviceOpt = Device.auto,
    threads: ThreadsOpt = None,
) -> None:
    """Fidelity of each generator on held-out reals (the names its training left out):
    PSNR, bytes-per-pixel ratio at equal JPEG tables (goal 0.95-1.05), high-frequency energy
    ratio (goal 0.9-1.1). Prints a table and writes GEN_DIR/fidelity.json.
    """
    import json

    from spotfake.synth.fidelity import measure
    from spotfake.synth.spec import FIDELITY
    from spotfake.synth.train import split_reals

    readable = [r for r in _reals(data, limit=None) if r.error is None]
    _, held, held_out = split_reals(readable, limit)
    rows = []
    for folder in generators:
        spec, pick = _generator(folder, device, threads)
        fidelity = measure(pick(tile, 32), held, held_out)
        (folder / FIDELITY).write_text(json.dumps(fidelity.to_dict(), indent=2) + "\n")
        rows.append((spec, fidelity))
    print_table(rows, sys.stdout)
    raise typer.Exit(0 if all(f.images for _, f in rows) else 1)


def print_table(rows: list[tuple[GeneratorSpec, Fidelity]], stream: IO[str]) -> None:
    """One line per generator: steps, speed and the fidelity figures beside their goals."""
    write = stream.write
    write(
        f"{'generator':<20} {'arch':<13} {'steps':>6} {'s/step':>7} {'images':>6} "
        f"{'PSNR':>6} {'bpp':>6} {'HF':>6} {'HF-all':>6}\n"
    )
    for spec, f in rows:
        t = spec.training
        held = "" if f.held_out else "*"
        write(
            f"{spec.display_name:<20} {spec.architecture:<13} {t.get('steps_done', 0):>6} "
            f"{t.get('seconds_per_step', 0):>7.2f} {f.images:>5}{held:1} {f.psnr:>6.2f} "
            f"{f.bpp_ratio:>6.3f} {f.hf_ratio:>6.3f} {f.hf_energy_ratio:>6.3f}\n"
        )
    write(
        "goals: bpp (fake/real bytes per pixel at the real's JPEG tables) 0.95-1.05, HF "
        "(median ring ratio of high-frequency power) 0.9-1.1; HF-all: band energy ratio\n"
    )
    if any(not f.held_out for _, f in rows):
        write("* measured on training images: the set was too small to hold any out\n")


def _reals(data: str, limit: int | None) -> list[ImageRecord]:
    """The real images of a dataset (see select_reals), the first `limit` by name hash."""
    from spotfake.data.manifest import open_dataset
    from spotfake.synth.reals import hashed_order, select_reals

    try:
        records = select_reals(open_dataset(data))
    except (FileNotFoundError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--data") from exc
    if not records:
        raise typer.BadParameter(f"{data} holds no real images", param_hint="--data")
    return hashed_order(records, limit)


def _options(pairs: list[str]) -> dict[str, Any]:
    """--set KEY=VALUE pairs as typed values (YAML scalars: 4, 1e-6, true)."""
    import yaml

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--set")
        options[key.strip()] = yaml.safe_load(value)
    return options


def _generator(folder: Path, device: Device, threads: int | None) -> tuple[GeneratorSpec, Any]:
    """The generator's spec, and a factory of its full-resolution reconstruct function."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    from spotfake.detect import pick_device
    from spotfake.errors import SpotfakeError
    from spotfake.synth.spec import load_generator
    from spotfake.synth.tiling import reconstruct_array

    try:
        target = pick_device(device.value)
        model, spec = load_generator(folder)
    except SpotfakeError as exc:
        raise typer.BadParameter(str(exc), param_hint="GEN_DIR / --device") from exc
    model.to(target)

    def pick(tile: int, overlap: int) -> Any:
        return lambda pixels: reconstruct_array(model, pixels, tile, overlap, device=target)

    return spec, pick


def _about(folder: Path, spec: GeneratorSpec, data: str, tile: int, overlap: int) -> dict[str, Any]:
    """What synth.json records about the generator and the run."""
    from spotfake.synth.spec import weights_hash

    return {
        "architecture": spec.architecture,
        "config": spec.config,
        "generator_dir": str(folder),
        "weights_hash": weights_hash(folder),
        "training_steps": spec.training.get("steps_done"),
        "source": data,
        "tile": tile,
        "overlap": overlap,
    }


def register(app: typer.Typer) -> None:
    """Add `synth` (train, make, report) to the spotfake command."""
    app.add_typer(synth_app, name="synth")
