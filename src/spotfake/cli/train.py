"""`spotfake train CONFIG -o RUN_DIR`: train a detector from a YAML recipe."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ConfigArg = Annotated[
    Path,
    typer.Argument(exists=True, dir_okay=False, help="YAML recipe, e.g. configs/default.yaml."),
]
OutputOpt = Annotated[
    Path, typer.Option("--output", "-o", file_okay=False, help="Run directory to write into.")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="Override a recipe key, e.g. optim.steps=10."),
]


def train(config: ConfigArg, output: OutputOpt, overrides: SetOpt = None) -> None:
    """Train the recipe; the run directory gets best/last weights, metrics and a summary."""
    from spotfake.train.config import load_config
    from spotfake.train.loop import fit

    try:
        recipe = load_config(config, overrides or [])
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="CONFIG / --set") from exc
    fit(recipe, output)


def register(app: typer.Typer) -> None:
    """Add `train` to the spotfake command."""
    app.command("train")(train)
