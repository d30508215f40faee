"""Reading a dataset in a command: a manifest file as written, anything else listed, then probed
with a progress bar on stderr, so that every command that indexes a folder shows the same bar."""

from __future__ import annotations

import os
import sys
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from spotfake.cli.common import is_terminal
from spotfake.cli.progress import progress_bar

if TYPE_CHECKING:
    from spotfake.data.layouts import Entry
    from spotfake.records import ImageRecord

# What a dataset that cannot be listed raises: a usage error on DATASET (exit 2).
DATASET_ERRORS = (FileNotFoundError, ValueError, KeyError, zipfile.BadZipFile)


def open_records(
    dataset: str,
    workers: int | None = None,
    generator: str | None = None,
    *,
    quiet: bool = False,
) -> list[ImageRecord]:
    """The dataset's records: a manifest file read as it is, anything else (a folder, which may
    hold its own manifest, a zip or a listing) listed and probed with a bar."""
    from spotfake.data.manifest import is_manifest_file, list_dataset, open_dataset

    try:
        if os.path.isfile(dataset) and is_manifest_file(dataset):
            return open_dataset(dataset, workers=workers, generator=generator)
        listing = list_dataset(dataset, generator=generator)
    except DATASET_ERRORS as exc:
        raise typer.BadParameter(str(exc), param_hint="DATASET") from exc
    return probe_with_bar(listing.entries, listing.known, workers, quiet=quiet)


def probe_with_bar(
    entries: list[Entry],
    known: Sequence[ImageRecord] = (),
    workers: int | None = None,
    *,
    quiet: bool = False,
) -> list[ImageRecord]:
    """Probe entries (reusing known records of unchanged files), the bar advancing once per file.

    The bar shows on stderr when it is a terminal, unless quiet; stdout is left to the results.
    """
    from spotfake.data.manifest import probe_entries

    show = not quiet and is_terminal(sys.stderr)
    with progress_bar(len(entries), sys.stderr, enabled=show, label="index") as advance:
        return probe_entries(entries, list(known), workers, progress=advance)
