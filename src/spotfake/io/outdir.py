"""Output folders that a command may clear on --overwrite: only those its own marker file names.

The marker is written first (status "incomplete") and rewritten at the end, so a folder of
unrelated files is never deleted, and an interrupted run is recognisable as such.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def check_output_folder(out: str | os.PathLike[str], marker: str, overwrite: bool) -> None:
    """ValueError unless out is missing, empty, or an earlier output (holds marker) to replace."""
    target = os.path.realpath(out)
    if os.path.isfile(target):
        raise ValueError(f"{out} is a file, not a folder")
    if os.path.isdir(target) and os.listdir(target):
        if not overwrite:
            raise ValueError(f"{out} is not empty; pass --overwrite to replace an earlier output")
        if not os.path.isfile(os.path.join(target, marker)):
            raise ValueError(f"{out} is not empty and holds no {marker}: not an earlier output")


def fresh_output_folder(root: Path, marker: str) -> Path:
    """An empty output folder holding only a provisional marker (its absolute path)."""
    if root.is_dir():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / marker).write_text('{"status": "incomplete"}\n', encoding="utf-8")
    return root.resolve()
