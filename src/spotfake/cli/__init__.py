"""The spotfake command: one module per subcommand, each registered on `app`.

Importing this package stays cheap (no torch, timm or numpy) so that `spotfake --help` is
instant; subcommands import the library inside their functions.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from spotfake import __version__
from spotfake.cli import attack as _attack
from spotfake.cli import audit as _audit
from spotfake.cli import calibrate as _calibrate
from spotfake.cli import debias as _debias
from spotfake.cli import detect as _detect
from spotfake.cli import evaluate as _evaluate
from spotfake.cli import index as _index
from spotfake.cli import serve as _serve
from spotfake.cli import spectrum as _spectrum
from spotfake.cli import synth as _synth
from spotfake.cli import train as _train

app = typer.Typer(
    name="spotfake",
    help="Find AI-generated images and say how far to trust the answer.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

# Each subcommand module exposes register(app); add new ones (train, evaluate, ...) here.
SUBCOMMANDS = (
    _detect, _train, _calibrate, _index, _audit, _spectrum, _debias, _evaluate, _synth, _serve,
    _attack,
)  # fmt: skip
for _module in SUBCOMMANDS:
    _module.register(app)


def _print_version(value: bool) -> None:
    """Eager --version: print and stop before any subcommand runs."""
    if value:
        typer.echo(f"spotfake {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Find AI-generated images and say how far to trust the answer."""


def main(argv: list[str] | None = None) -> int:
    """Run the command line (sys.argv when argv is None) and return its exit status."""
    try:
        app(args=argv, prog_name="spotfake")
    except SystemExit as exc:
        return _exit_status(exc.code)
    return 0


def _exit_status(code: object) -> int:
    """SystemExit.code as an int: None is success, a message is printed and means failure."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1
