"""`spotfake attack MODEL DATA -o OUT`: adversarial examples against a detector (see
spotfake.adversarial for the method and OUT's layout)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from spotfake.cli.common import Device, is_terminal, report_failures
from spotfake.errors import DeviceError, SpotfakeError

EXIT_OK = 0
EXIT_SOME_UNREADABLE = 1
MARKER = "summary.json"


def attack(
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL", help="A shipped model name or a .safetensors file.", show_default=False
        ),
    ],
    data: Annotated[
        str,
        typer.Argument(
            metavar="DATA",
            help="A labelled dataset: real/ and fake/ folders, a GenImage or CNNDetection "
            "layout, a zip archive or a CSV listing path,label.",
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="Folder for the attacked PNGs, manifest and report.",
            show_default=False,
        ),
    ],
    attacks: Annotated[
        str,
        typer.Option(help="Comma-separated attacks: fgsm, bim, pgd (L-inf), deepfool, cw (L2)."),
    ] = "fgsm,bim,pgd,deepfool,cw",
    eps: Annotated[
        str,
        typer.Option(help="Comma-separated L-inf budgets of fgsm, bim and pgd, in 1/255 units."),
    ] = "1,2,4,8",
    target: Annotated[
        str,
        typer.Option(
            help="real: push generated images to 'real' (the evasion threat); fake: push real "
            "images to 'generated'; both: each.",
        ),
    ] = "real",
    limit: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="At most this many images per class (and generator), seeded.",
            show_default=False,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the --limit sample and of PGD.")] = 0,
    batch_size: Annotated[int, typer.Option(min=1, help="Images attacked at once.")] = 8,
    device: Annotated[Device, typer.Option(help="Where the model runs.")] = Device.auto,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an earlier attack output in OUT.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Attack a detector: save adversarial examples of DATA and report what they do to it.

    Each attack runs through the detector's own preprocessing (crop windows at native
    resolution, normalisation) against its own threshold; the attacked images are saved as PNG
    and re-scored from the saved 8-bit pixels, so 'after' is what `spotfake detect` says of the
    files. Accuracy and AUC after an attack are over the clean reals and the attacked fakes
    (with --target real). Exit status: 0 done; 1 some files unreadable (reported); 2 usage error.
    """
    from spotfake.adversarial.attacks import TARGETS, attackable, plans
    from spotfake.adversarial.run import attack_dataset, report_markdown
    from spotfake.cli.progress import progress_bar
    from spotfake.detect import load_detector
    from spotfake.evaluate.protocol import open_datasets
    from spotfake.io.outdir import check_output_folder, fresh_output_folder

    if target not in TARGETS:
        raise typer.BadParameter(f"choose from {', '.join(TARGETS)}", param_hint="'--target'")
    try:
        budgets = [float(v) for v in eps.split(",") if v.strip()]
        todo = plans([a.strip() for a in attacks.split(",") if a.strip()], budgets)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--attacks' / '--eps'") from exc
    try:
        detector = load_detector(model, device=device.value, backend="torch")  # gradients
        attackable(detector)
    except DeviceError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--device'") from exc
    except (SpotfakeError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="MODEL") from exc
    try:
        check_output_folder(output, MARKER, overwrite)
        sample = open_datasets([data], limit=limit, seed=seed)[0]
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--output' / DATA") from exc
    except (FileNotFoundError, KeyError) as exc:
        raise typer.BadParameter(str(exc), param_hint="DATA") from exc
    if not sample.records:
        raise typer.BadParameter(f"{data}: no labelled images", param_hint="DATA")
    out = fresh_output_folder(output, MARKER)
    show = is_terminal(sys.stderr)
    with progress_bar(len(todo), sys.stderr, show, "attack") as advance:
        run = attack_dataset(
            detector, sample.records, todo, out, target=target, batch_size=batch_size,
            seed=seed, progress=advance, model_name=model,
        )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(run.to_dict(), indent=2))
    else:
        typer.echo(report_markdown(run))
        typer.echo(f"\nwrote {out}/ (manifest.csv, adversarial.csv, report.md, summary.json)")
    if run.unreadable:
        report_failures(run.unreadable, data)
    raise typer.Exit(EXIT_SOME_UNREADABLE if run.unreadable else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.command("attack")(attack)
