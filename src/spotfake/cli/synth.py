"""`spotfake synth train|make|report`: generator-like decoders and content-matched fakes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from spotfake.cli.common import Device

if TYPE_CHECKING:
    from spotfake.records import ImageRecord
    from spotfake.synth.fidelity import Fidelity
    from spotfake.synth.spec import GeneratorSpec
    from spotfake.synth.zoo.base import GeneratorCard

ARCHITECTURES = "transposed, nearest, bilinear, pixelshuffle, ldm-vae, or a plugin's"

synth_app = typer.Typer(
    name="synth",
    help="Make content-matched training fakes: pretrained generators (list, make), or decoders "
    "trained here (train), and their fidelity (report).",
    no_args_is_help=True,
)


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
        help="CPU threads (default: the library's; 1 is faster on a machine busy with other work).",
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
    reals = reals_of(data, limit)
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


@synth_app.command("report")
def report(
    generators: Annotated[
        list[str],
        typer.Argument(metavar="NAME|GEN_DIR...", help="Generators: zoo names or folders."),
    ],
    data: DataOpt,
    limit: Annotated[int, typer.Option(min=1, help="Held-out reals to measure.")] = 16,
    tile: TileOpt = 512,
    device: DeviceOpt = Device.auto,
    threads: ThreadsOpt = None,
    json_out: Annotated[
        Path | None,
        typer.Option("--json", metavar="FILE", help="Also write every figure as JSON."),
    ] = None,
) -> None:
    """Fidelity and speed of each generator on reals it never saw: PSNR, bytes-per-pixel ratio
    at equal JPEG tables (goal 0.95-1.05), high-frequency energy ratio (goal 0.9-1.1), images/s.

    A trained decoder is measured on the names its training left out, and its GEN_DIR gets a
    fidelity.json; pretrained generators on the first `limit` reals by name hash. Sampling
    generators have no twins and are skipped.
    """
    import json

    from spotfake.cli.synth_make import open_or_exit, run_options
    from spotfake.synth.fidelity import measure
    from spotfake.synth.generators import TrainedGenerator
    from spotfake.synth.reals import hashed_order
    from spotfake.synth.spec import FIDELITY
    from spotfake.synth.train import split_reals
    from spotfake.synth.zoo.base import PairedGenerator

    readable = [r for r in reals_of(data, limit=None) if r.error is None]
    run = run_options(device, threads, tile, 32)
    rows: list[tuple[Any, Fidelity]] = []
    for name in generators:
        model = open_or_exit(name, run)
        if not isinstance(model, PairedGenerator):
            typer.echo(
                f"{model.card.name}: draws from noise, no twins to compare: skipped", err=True
            )
            continue
        if isinstance(model, TrainedGenerator):  # the names its training left out
            _, held, held_out = split_reals(readable, limit)
        else:
            held, held_out = hashed_order(readable, limit), True
        fidelity = measure(model.fake, held, held_out)
        if isinstance(model, TrainedGenerator):
            text = json.dumps(fidelity.to_dict(), indent=2) + "\n"
            (model.folder / FIDELITY).write_text(text)
            rows.append((model.spec, fidelity))
        else:
            rows.append((model.card, fidelity))
    print_table(rows, sys.stdout)
    if json_out is not None:
        figures = [{"generator": _names(who)[0], **f.to_dict()} for who, f in rows]
        json_out.write_text(json.dumps(figures, indent=2) + "\n")
    raise typer.Exit(0 if rows and all(f.images for _, f in rows) else 1)


def _names(who: GeneratorSpec | GeneratorCard) -> tuple[str, str, str, str]:
    """(name, kind, steps, seconds per step) of a trained spec or a pretrained card."""
    from spotfake.synth.spec import GeneratorSpec

    if isinstance(who, GeneratorSpec):
        t = who.training
        steps, per_step = t.get("steps_done", 0), t.get("seconds_per_step", 0)
        return who.display_name, who.architecture, f"{steps}", f"{per_step:.2f}"
    return who.name, "pretrained", "-", "-"


def print_table(rows: list[tuple[Any, Fidelity]], stream: IO[str]) -> None:
    """One line per generator (a trained spec or a pretrained card): steps, the fidelity
    figures beside their goals, and images per second."""
    write = stream.write
    write(
        f"{'generator':<26} {'kind':<13} {'steps':>6} {'s/step':>7} {'images':>6} "
        f"{'PSNR':>6} {'bpp':>6} {'HF':>6} {'HF-all':>6} {'img/s':>7}\n"
    )
    for who, f in rows:
        name, kind, steps, per_step = _names(who)
        held = "" if f.held_out else "*"
        speed = 1 / f.seconds_per_image if f.seconds_per_image else float("nan")
        write(
            f"{name:<26} {kind:<13} {steps:>6} {per_step:>7} {f.images:>5}{held:1} "
            f"{f.psnr:>6.2f} {f.bpp_ratio:>6.3f} {f.hf_ratio:>6.3f} {f.hf_energy_ratio:>6.3f} "
            f"{speed:>7.2f}\n"
        )
    write(
        "goals: bpp (fake/real bytes per pixel at the real's JPEG tables) 0.95-1.05, HF "
        "(median ring ratio of high-frequency power) 0.9-1.1; HF-all: band energy ratio; "
        "img/s: decoding, generating and measuring, on this machine's threads\n"
    )
    if any(not f.held_out for _, f in rows):
        write("* measured on training images: the set was too small to hold any out\n")


def reals_of(data: str, limit: int | None) -> list[ImageRecord]:
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


def register(app: typer.Typer) -> None:
    """Add `synth` (list, make, train, report) to the spotfake command."""
    from spotfake.cli import synth_make

    synth_app.command("list")(synth_make.list_generators)
    synth_app.command("make")(synth_make.make)
    synth_app.command("hard-reals")(synth_make.hard_reals)
    app.add_typer(synth_app, name="synth")
