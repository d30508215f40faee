"""`spotfake calibrate MODEL --recipe RECIPE`: choose a model's threshold on validation reals.

The recipe names the data and its split exactly as `spotfake train` reads them, so the
validation images are the ones training held out (pass RUN_DIR/config.yaml for a run's own
recipe, overrides included). The threshold is the smallest at which at most --max-flag of
each real source's validation images is called generated.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from spotfake.cli.common import Device, is_terminal
from spotfake.errors import DeviceError, SpotfakeError

if TYPE_CHECKING:
    from spotfake.evaluate.calibration import Calibration
    from spotfake.models.base import Detector
    from spotfake.train.config import TrainConfig

DEFAULT_MAX_FLAG = 0.05

ModelArg = Annotated[
    str,
    typer.Argument(
        metavar="MODEL",
        help="A shipped model name (e.g. 'default') or a .safetensors file with its .json spec.",
        show_default=False,
    ),
]
RecipeOpt = Annotated[
    Path,
    typer.Option(
        "--recipe",
        "-r",
        exists=True,
        dir_okay=False,
        help="The training recipe whose validation split to calibrate on (RUN_DIR/config.yaml "
        "for a trained run).",
        show_default=False,
    ),
]
MaxFlagOpt = Annotated[
    float | None,
    typer.Option(
        "--max-flag",
        help="Largest share of each real source's images that may be flagged (default: the "
        f"recipe's calibration.max_real_flag, else {DEFAULT_MAX_FLAG}).",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="OUT_DIR",
        file_okay=False,
        help="Write a copy of the model with the new threshold, and calibration.json, into "
        "OUT_DIR (default: print only).",
        show_default=False,
    ),
]
CropsOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        metavar="N",
        help="Score N crop windows per image (InputPolicy.crops) and write that into the "
        "calibrated spec (default: the model's own).",
        show_default=False,
    ),
]
MinSideOpt = Annotated[
    int | None,
    typer.Option(
        min=0,
        metavar="PX",
        help="With --crops: use the windows only on images whose shorter side is at least PX; "
        "smaller ones get the centre crop (default 0: every image).",
        show_default=False,
    ),
]
BatchOpt = Annotated[int, typer.Option(min=1, help="Images per forward pass.")]
DeviceOpt = Annotated[Device, typer.Option(help="Where the model runs.")]


def calibrate(
    model: ModelArg,
    recipe: RecipeOpt,
    max_flag: MaxFlagOpt = None,
    output: OutputOpt = None,
    batch_size: BatchOpt = 32,
    device: DeviceOpt = Device.auto,
    crops: CropsOpt = None,
    crops_min_side: MinSideOpt = None,
) -> None:
    """Choose MODEL's threshold so at most --max-flag of each kind of real is flagged.

    Scores the recipe's validation images (the split training used), then prints each real
    source's flag rate at 0.5 and at the new threshold, the fake recall and the ECE. With -o
    OUT_DIR, writes OUT_DIR/NAME.safetensors (the same weights), NAME.json (the spec with the
    new threshold) and calibration.json. --crops N [--crops-min-side PX] calibrates the model
    for N crop windows per image instead of its own input policy, and writes that policy into
    the new spec. Exit status: 0 done; 2 usage error.
    """
    from spotfake.evaluate.calibration import calibrate as choose

    cfg = _recipe(recipe)
    rate = _max_flag(max_flag, cfg)
    if crops is None and crops_min_side is not None:
        raise typer.BadParameter("needs --crops", param_hint="'--crops-min-side'")
    weights, detector = _load_model(model, device, crops, crops_min_side or 0)
    if output is not None and (output / weights.name).resolve() == weights.resolve():
        raise typer.BadParameter(f"{output} holds MODEL itself: choose another folder",
                                 param_hint="'-o'")  # fmt: skip
    labels, scores, sources = _score_validation(detector, cfg, batch_size)
    result = choose(labels, scores, sources, rate)
    print_calibration(result, detector.spec.threshold, sys.stdout, is_terminal(sys.stdout))
    if output is not None:
        written = write_calibrated(weights, detector, result, recipe, output)
        typer.echo(f"calibrated model: {written}", err=True)


def _recipe(path: Path) -> TrainConfig:
    from spotfake.train.config import load_config

    try:
        return load_config(path)
    except (ValueError, TypeError) as exc:
        raise typer.BadParameter(str(exc), param_hint="'--recipe'") from exc


def _max_flag(option: float | None, cfg: TrainConfig) -> float:
    """--max-flag (checked by the recipe option's own rule), else the recipe's
    calibration.max_real_flag, else 0.05."""
    from spotfake.train.config import CalibrationConfig

    if option is not None:
        try:
            return CalibrationConfig(max_real_flag=option).max_real_flag
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--max-flag'") from exc
    return cfg.calibration.max_real_flag if cfg.calibration is not None else DEFAULT_MAX_FLAG


def _load_model(
    model: str, device: Device, crops: int | None = None, min_side: int = 0
) -> tuple[Path, Detector]:
    """The model's weights file and the loaded detector (with --crops applied to its spec);
    failures are usage errors."""
    from spotfake.detect import load_detector, resolve_model

    try:
        detector = load_detector(model, device=device.value, crops=crops, crops_min_side=min_side)
        return resolve_model(model), detector
    except DeviceError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--device'") from exc
    except SpotfakeError as exc:
        raise typer.BadParameter(str(exc), param_hint="MODEL") from exc
    except ValueError as exc:  # only the crop override: bad model files raise ModelLoadError
        raise typer.BadParameter(str(exc), param_hint="'--crops'") from exc


def _score_validation(
    detector: Detector, cfg: TrainConfig, batch_size: int
) -> tuple[list[int], Any, list[str]]:
    """(labels, scores, source names) of the recipe's validation images, listed as training
    lists them (spotfake.train.data.list_samples)."""
    from spotfake.data.dataset import PixelStore
    from spotfake.train.data import list_samples
    from spotfake.train.evaluation import score_samples

    try:
        _, val = list_samples(cfg.data, sys.stderr)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise typer.BadParameter(str(exc), param_hint="'--recipe'") from exc
    if not any(s.label == 0 for s in val):
        raise typer.BadParameter("the recipe's validation split holds no real images",
                                 param_hint="'--recipe'")  # fmt: skip
    typer.echo(f"scoring {len(val)} validation images", err=True)
    store = PixelStore.load(val, in_memory=False)
    scores = score_samples(detector, val, store, batch_size=batch_size,
                           workers=cfg.data.workers or 0)  # fmt: skip
    return [s.label for s in val], scores, [s.group for s in val]


def print_calibration(
    result: Calibration, current: float, stream: IO[str], terminal: bool = False
) -> None:
    """A table of each real source's flag rates (at 0.5 and at the new threshold), then the
    threshold, fake recall and ECE."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from spotfake.cli.output import UNWRAPPED_WIDTH

    console = Console(file=stream, width=None if terminal else UNWRAPPED_WIDTH,
                      force_terminal=terminal, color_system="auto" if terminal else None,
                      highlight=False, emoji=False)  # fmt: skip
    table = Table(box=box.SIMPLE)
    table.add_column("source")
    for name in ("n", "flagged at 0.5", f"flagged at {result.threshold:.6g}"):
        table.add_column(name, justify="right")
    for name, rates in result.sources.items():
        table.add_row(name, str(rates.n), f"{rates.flag_rate_at_half:.1%}",
                      f"{rates.flag_rate:.1%}")  # fmt: skip
    console.print(table)
    recall = "n/a" if result.fake_recall is None else f"{result.fake_recall:.1%}"
    ece = "n/a" if result.ece is None else f"{result.ece:.4f}"
    lines = (
        f"threshold {result.threshold:.6g} (was {current:g}): at most {result.max_flag_rate:.1%} "
        f"of each real source flagged",
        f"fake recall {recall} of {result.n_fake} validation fakes; ECE {ece}",
    )
    for line in lines:
        console.print(line, markup=False)
    stream.flush()


def write_calibrated(
    weights: Path, detector: Detector, result: Calibration, recipe: Path, output: Path
) -> Path:
    """OUT_DIR/NAME.safetensors (a byte copy: the model hash stays), NAME.json with the new
    threshold and the calibration in its training record, and OUT_DIR/calibration.json."""
    output.mkdir(parents=True, exist_ok=True)
    target = output / weights.name
    shutil.copyfile(weights, target)
    record = {**result.to_dict(), "recipe": str(recipe)}
    spec = detector.spec
    spec.threshold = result.threshold
    spec.training = {**spec.training, "calibration": record}
    target.with_suffix(".json").write_text(spec.to_json() + "\n")
    (output / "calibration.json").write_text(json.dumps(record, indent=2) + "\n")
    return target


def register(app: typer.Typer) -> None:
    """Add `calibrate` to the spotfake command."""
    app.command("calibrate")(calibrate)
