"""The spotfake command itself: help, version, exit statuses, and a cheap import."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from spotfake import __version__
from spotfake.cli import app, main

Capture = pytest.CaptureFixture[str]


def test_help_returns_0(capsys: Capture) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "detect" in out and "--version" in out


def test_detect_help_lists_the_options(capsys: Capture) -> None:
    assert main(["detect", "--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--model", "--format", "--output", "--threshold", "--batch-size", "--device"):
        assert option in out
    for option in ("--workers", "--recursive", "--quiet"):
        assert option in out


def test_version(capsys: Capture) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"spotfake {__version__}\n"


def test_unknown_subcommand_is_a_usage_error(capsys: Capture) -> None:
    assert main(["no-such-command"]) == 2
    assert capsys.readouterr().err


def test_subcommands_are_registered_on_app() -> None:
    names = {command.name for command in app.registered_commands}
    assert "detect" in names


def test_import_and_help_do_not_load_torch() -> None:
    """`spotfake --help` must stay instant: no torch, timm, numpy or PIL behind the CLI."""
    script = (
        "import json, sys\n"
        "from spotfake.cli import main\n"
        "code = main(['--help'])\n"
        "heavy = [m for m in ('torch', 'timm', 'numpy', 'PIL') if m in sys.modules]\n"
        "print(json.dumps({'code': code, 'heavy': heavy}), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stderr.strip().splitlines()[-1]) == {"code": 0, "heavy": []}
