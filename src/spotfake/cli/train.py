"""`spotfake train CONFIG -o RUN_DIR`: train a detector from a YAML recipe (or resume a run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigArg = Annotated[
    Path | None,
    typer.Argument(
        exists=True,
        dir_okay=False,
        help="YAML recipe, e.g. configs/default.yaml (with --resume: RUN_DIR/config.yaml).",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option("--output", "-o", file_okay=False, help="Run directory to write into."),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="Override a recipe key, e.g. optim.steps=10."),
]
ResumeOpt = Annotated[
    Path | None,
    typer.Option(
        "--resume",
        file_okay=False,
        exists=True,
        help="Continue the run in this directory from its checkpoint.pt.",
    ),
]


def train(
    config: ConfigArg = None,
    output: OutputOpt = None,
    overrides: SetOpt = None,
    resume: ResumeOpt = None,
) -> None:
    """Train a recipe into RUN_DIR: weights, metrics, checkpoint, summary (GPUs: see README)."""
    from spotfake.train.config import load_config
    from spotfake.train.loop import RunDirError, fit

    if resume is not None:
        output = output or resume
        config = config or resume / "config.yaml"
        if output.resolve() != resume.resolve():
            raise typer.BadParameter("--resume continues RUN_DIR in place", param_hint="-o")
    if config is None or output is None:
        raise typer.BadParameter("give a recipe and -o RUN_DIR (or --resume RUN_DIR)")
    try:
        recipe = load_config(config, overrides or [])
        fit(recipe, output, resume=resume is not None)
    except RunDirError as exc:
        raise typer.BadParameter(str(exc), param_hint="-o / --resume") from exc
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="CONFIG / --set") from exc


def register(app: typer.Typer) -> None:
    """Add `train` to the spotfake command."""
    app.command("train")(train)
