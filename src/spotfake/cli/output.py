"""Writers that put Prediction records on a passed-in stream as a table, JSON lines, CSV or JSON.

Every format carries the same record (spotfake.prediction): the flat formats use FIELDS, the
JSON formats add the evidence dict. Streaming formats flush after each record so that
`spotfake detect big_folder | head` shows results as they come.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, Any, Protocol

from spotfake.prediction import FIELDS, GENERATED_LABEL, Prediction

BAR_CELLS = 10
# Wide enough that a table written to a file or a pipe is never wrapped or truncated.
UNWRAPPED_WIDTH = 10_000


class OutputFormat(StrEnum):
    """The record formats of the CLI."""

    table = "table"
    jsonl = "jsonl"
    csv = "csv"
    json = "json"


_SUFFIX_FORMATS = {
    ".jsonl": OutputFormat.jsonl,
    ".csv": OutputFormat.csv,
    ".json": OutputFormat.json,
}


def choose_format(
    explicit: OutputFormat | None, output: Path | None, stdout_is_terminal: bool
) -> OutputFormat:
    """The format asked for, else from the output suffix, else table for people, jsonl for pipes."""
    if explicit is not None:
        return explicit
    if output is not None:
        return _SUFFIX_FORMATS.get(output.suffix.lower(), OutputFormat.jsonl)
    return OutputFormat.table if stdout_is_terminal else OutputFormat.jsonl


@dataclass
class Tally:
    """Counts of verdicts, for the summary line and the exit code."""

    generated: int = 0
    real: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.generated + self.real + self.failed

    def add(self, prediction: Prediction) -> None:
        """Count one record under its verdict."""
        if prediction.error is not None:
            self.failed += 1
        elif prediction.label == GENERATED_LABEL:
            self.generated += 1
        else:
            self.real += 1

    def __add__(self, other: Tally) -> Tally:
        """Both counts together: an earlier part of a resumed run plus this one."""
        return Tally(
            self.generated + other.generated, self.real + other.real, self.failed + other.failed
        )

    def summary(self) -> str:
        """One line such as '3 images: 1 generated, 1 real, 1 failed'."""
        noun = "image" if self.total == 1 else "images"
        return (
            f"{self.total} {noun}: {self.generated} generated, {self.real} real, "
            f"{self.failed} failed"
        )


class RecordWriter(Protocol):
    """Takes records one by one; close() finishes the document (it does not close the stream)."""

    def write(self, prediction: Prediction) -> None: ...

    def close(self) -> None: ...


def _json_record(prediction: Prediction) -> str:
    return json.dumps(prediction.to_dict(), ensure_ascii=False, default=str)


class JsonlWriter:
    """One JSON object per line, flushed as it is written."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream

    def write(self, prediction: Prediction) -> None:
        """Write and flush one line."""
        self.stream.write(_json_record(prediction) + "\n")
        self.stream.flush()

    def close(self) -> None:
        """Nothing to finish: every line is complete."""


class JsonWriter:
    """A JSON list, streamed one element per line so it can be read before it is complete."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.count = 0

    def write(self, prediction: Prediction) -> None:
        """Write one element of the list."""
        opener = "[\n" if self.count == 0 else ",\n"
        self.stream.write(opener + "  " + _json_record(prediction))
        self.stream.flush()
        self.count += 1

    def close(self) -> None:
        """Close the list (an empty run gives [])."""
        self.stream.write("\n]\n" if self.count else "[]\n")
        self.stream.flush()


class CsvWriter:
    """A header of FIELDS, then one row per record; missing values are empty cells."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.writer = csv.writer(stream, lineterminator="\n")
        self.writer.writerow(FIELDS)

    def write(self, prediction: Prediction) -> None:
        """Write and flush one row."""
        values = prediction.to_dict()
        self.writer.writerow(["" if values[key] is None else values[key] for key in FIELDS])
        self.stream.flush()

    def close(self) -> None:
        """Nothing to finish: every row is complete."""


class TableWriter:
    """Collects records, then renders a rich table and the summary line on close."""

    def __init__(self, stream: IO[str], terminal: bool = False, width: int | None = None) -> None:
        self.stream = stream
        self.terminal = terminal
        self.width = width
        self.predictions: list[Prediction] = []

    def write(self, prediction: Prediction) -> None:
        """Keep the record: a table is laid out once all rows are known."""
        self.predictions.append(prediction)

    def close(self) -> None:
        """Render the table (if there are rows) and the summary."""
        write_table(self.predictions, self.stream, terminal=self.terminal, width=self.width)


def write_table(
    predictions: list[Prediction],
    stream: IO[str],
    terminal: bool = False,
    width: int | None = None,
) -> None:
    """Render records as a table plus a summary; colour and terminal width only on a terminal."""
    from rich.console import Console

    console = Console(
        file=stream,
        width=width if width is not None or terminal else UNWRAPPED_WIDTH,
        force_terminal=terminal,
        color_system="auto" if terminal else None,
        highlight=False,
        emoji=False,
    )
    tally = Tally()
    for prediction in predictions:
        tally.add(prediction)
    if predictions:
        console.print(_table(predictions))
    console.print(tally.summary(), markup=False)
    stream.flush()


def _table(predictions: list[Prediction]) -> Any:
    """The rich Table: path, verdict, score and a bar (or the error, in words).

    A "decided by" column is added when provenance (a C2PA manifest, a generator's text chunk,
    a watermark...) rather than the score decided some verdict.
    """
    from rich import box
    from rich.table import Table
    from rich.text import Text

    first = predictions[0]
    table = Table(
        title=Text(f"{first.model} ({first.model_hash}), threshold {first.threshold:g}"),
        box=box.SIMPLE,
    )
    table.add_column("path", overflow="fold")
    table.add_column("verdict")
    table.add_column("score", justify="right")
    table.add_column("")
    by_marks = any(_by_provenance(prediction) for prediction in predictions)
    if by_marks:
        table.add_column("decided by")
    for prediction in predictions:
        cells = _row(prediction)
        if by_marks:
            cells = (*cells, Text(_decided_by(prediction)))
        table.add_row(*cells)
    return table


_MARKS = {
    "c2pa": "C2PA manifest",
    "xmp": "XMP source type",
    "png-text": "PNG text chunk",
    "exif": "EXIF",
    "watermark": "SD watermark",
}


def _by_provenance(prediction: Prediction) -> bool:
    return (prediction.decided_by or "").startswith("provenance:")


def _decided_by(prediction: Prediction) -> str:
    """The table's words for decided_by: the mark's name, "pixels", or nothing."""
    decided = prediction.decided_by or ""
    if _by_provenance(prediction):
        signal = decided.split(":", 1)[1]
        return _MARKS.get(signal, signal)
    return decided


_STYLES = {"generated": "bold red", "real": "green", "failed": "yellow"}


def _row(prediction: Prediction) -> tuple[Any, ...]:
    """Cells of one row; Text objects so that brackets in file names are not read as markup."""
    from rich.text import Text

    path = Text(prediction.path)
    if prediction.error is not None or prediction.score is None:
        detail = prediction.error or "no score"
        return path, Text("failed", style=_STYLES["failed"]), Text(""), Text(detail)
    label = prediction.label or ""
    return (
        path,
        Text(label, style=_STYLES.get(label, "")),
        Text(f"{prediction.score:.4f}"),
        Text(score_bar(prediction.score), style=_STYLES.get(label, "")),
    )


def score_bar(score: float, cells: int = BAR_CELLS) -> str:
    """A bar of filled and empty cells proportional to the score."""
    filled = max(0, min(cells, round(score * cells)))
    return "█" * filled + "░" * (cells - filled)


def make_writer(fmt: OutputFormat, stream: IO[str], terminal: bool = False) -> RecordWriter:
    """The writer for a format; terminal=True lets the table use colour and the terminal width."""
    if fmt is OutputFormat.table:
        return TableWriter(stream, terminal=terminal)
    if fmt is OutputFormat.csv:
        return CsvWriter(stream)
    if fmt is OutputFormat.json:
        return JsonWriter(stream)
    return JsonlWriter(stream)
