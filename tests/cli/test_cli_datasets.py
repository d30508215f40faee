"""Commands that read a dataset: the indexing bar advances once per file, and a folder holding
its own manifest.csv is read with that manifest's labels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO

import numpy as np
import pytest
from PIL import Image

from spotfake.cli import datasets, main
from spotfake.cli.progress import Advance
from spotfake.data.manifest import index, read_manifest, write_manifest

Capture = pytest.CaptureFixture[str]


def _save(path: Path, seed: int, size: int = 48) -> None:
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """set/real/0..4.png and set/fake/0..4.png."""
    for i in range(5):
        _save(tmp_path / f"set/real/{i}.png", i)
        _save(tmp_path / f"set/fake/{i}.png", 10 + i)
    return tmp_path / "set"


@dataclass
class Bar:
    """One indexing bar as a command drove it."""

    total: int
    enabled: bool
    advances: list[int] = field(default_factory=list)


@pytest.fixture
def bars(monkeypatch: pytest.MonkeyPatch) -> list[Bar]:
    """Stderr is a terminal; each indexing bar is recorded instead of drawn."""
    recorded: list[Bar] = []

    @contextmanager
    def record(total: int, stream: IO[str], enabled: bool, label: str = "") -> Iterator[Advance]:
        assert label == "index"
        bar = Bar(total, enabled)
        recorded.append(bar)
        yield lambda n=1: bar.advances.append(n)

    monkeypatch.setattr(datasets, "is_terminal", lambda stream: True)
    monkeypatch.setattr(datasets, "progress_bar", record)
    return recorded


@pytest.mark.parametrize(
    "command",
    [["audit", "--json"], ["spectrum", "-o", "{out}", "--json"], ["debias", "-o", "{out}"],
     ["index", "-o", "{out}.csv"]],
)  # fmt: skip
def test_the_indexing_bar_advances_once_per_file(
    folder: Path, tmp_path: Path, bars: list[Bar], capsys: Capture, command: list[str]
) -> None:
    args = [a.format(out=tmp_path / "out") for a in command]
    assert main([args[0], str(folder), *args[1:]]) in (0, 1)
    capsys.readouterr()
    assert [(bar.total, bar.enabled, sum(bar.advances)) for bar in bars] == [(10, True, 10)]


def test_quiet_turns_the_bar_off(folder: Path, tmp_path: Path, bars: list[Bar]) -> None:
    assert main(["index", str(folder), "-o", str(tmp_path / "m.csv"), "-q"]) == 0
    assert [(bar.total, bar.enabled) for bar in bars] == [(10, False)]


def _relabel(folder: Path) -> None:
    """Write folder/manifest.csv saying the files under real/ are fakes of "sd" and the reverse."""
    records = [
        replace(r, label=1 - (r.label or 0), generator="sd" if r.label == 0 else None)
        for r in index(folder)
    ]
    write_manifest(records, folder / "manifest.csv")


def test_audit_reads_a_folders_manifest(folder: Path, capsys: Capture) -> None:
    _relabel(folder)
    (folder / "real/0.png").unlink()  # listed but gone: counted as unreadable
    assert main(["audit", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"] == {"real": 5, "generated": 4, "unlabelled": 0, "unreadable": 1}
    assert [g["generator"] for g in data["per_generator"]] == ["sd"]


def test_index_refreshes_a_folders_own_manifest(folder: Path, capsys: Capture) -> None:
    _relabel(folder)
    (folder / "real/0.png").unlink()
    _save(folder / "fake/new.png", 99)
    own = folder / "manifest.csv"
    assert main(["index", str(folder), "-o", str(own), "-q"]) == 0
    records = {str(Path(r.path).relative_to(folder)): r for r in read_manifest(own)}
    assert "real/0.png" not in records  # gone: left out of the refreshed manifest
    assert (records["real/1.png"].label, records["real/1.png"].generator) == (1, "sd")
    assert (records["fake/1.png"].label, records["fake/new.png"].label) == (0, 1)
    assert len(records) == 10
