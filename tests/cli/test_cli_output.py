"""The record writers: exact output of each format for hand-made records, format choice, tally."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from spotfake.cli.output import (
    OutputFormat,
    Tally,
    choose_format,
    make_writer,
    score_bar,
    write_table,
)
from spotfake.cli.progress import progress_bar
from spotfake.prediction import FIELDS, Prediction


def _record(
    path: str, score: float | None, label: str | None, error: str | None = None
) -> Prediction:
    decided_by = None if score is None else "pixels"
    return Prediction(
        path, score, label, 0.5, "cnn-tiny", "abc123def456", error, decided_by=decided_by
    )


@pytest.fixture
def records() -> list[Prediction]:
    """A generated, a real (with brackets in its name) and a failed record."""
    generated = _record("a.png", 0.912345, "generated")
    generated.evidence = {"image": {"format": "PNG"}}
    failed = _record("x.jpg", None, None, error="cannot identify image file")
    return [generated, _record("dir/[b].jpg", 0.1, "real"), failed]


def _render(fmt: OutputFormat, records: list[Prediction]) -> str:
    stream = io.StringIO()
    writer = make_writer(fmt, stream)
    for record in records:
        writer.write(record)
    writer.close()
    return stream.getvalue()


def test_jsonl_is_one_object_per_line_with_evidence(records: list[Prediction]) -> None:
    lines = _render(OutputFormat.jsonl, records).splitlines()
    assert lines[0] == (
        '{"path": "a.png", "score": 0.912345, "label": "generated", "decided_by": "pixels", '
        '"threshold": 0.5, "model": "cnn-tiny", "model_hash": "abc123def456", "error": null, '
        '"evidence": {"image": {"format": "PNG"}}}'
    )
    parsed = [json.loads(line) for line in lines]
    assert [list(obj) for obj in parsed] == [[*FIELDS, "evidence"]] * 3
    assert parsed[2]["error"] == "cannot identify image file"
    assert parsed[2]["score"] is None


def test_csv_has_fields_header_and_empty_cells_for_missing(records: list[Prediction]) -> None:
    text = _render(OutputFormat.csv, records)
    assert text == (
        "path,score,label,decided_by,threshold,model,model_hash,error\n"
        "a.png,0.912345,generated,pixels,0.5,cnn-tiny,abc123def456,\n"
        "dir/[b].jpg,0.1,real,pixels,0.5,cnn-tiny,abc123def456,\n"
        "x.jpg,,,,0.5,cnn-tiny,abc123def456,cannot identify image file\n"
    )
    assert tuple(next(csv.reader(io.StringIO(text)))) == FIELDS


def test_json_is_a_list_of_full_records(records: list[Prediction]) -> None:
    parsed = json.loads(_render(OutputFormat.json, records))
    assert parsed == [record.to_dict() for record in records]
    assert json.loads(_render(OutputFormat.json, [])) == []


def test_table_is_exact_and_ends_with_summary(records: list[Prediction]) -> None:
    stream = io.StringIO()
    write_table(records, stream)
    expected = [
        "             cnn-tiny (abc123def456), threshold 0.5              ",
        "                                                                 ",
        "  path          verdict      score                               ",
        " ─────────────────────────────────────────────────────────────── ",
        "  a.png         generated   0.9123   █████████░                  ",
        "  dir/[b].jpg   real        0.1000   █░░░░░░░░░                  ",
        "  x.jpg         failed               cannot identify image file  ",
        "                                                                 ",
        "3 images: 1 generated, 1 real, 1 failed",
    ]
    assert stream.getvalue() == "\n".join(expected) + "\n"


def test_table_names_the_mark_that_decided(records: list[Prediction]) -> None:
    marked = _record("c.png", 0.2, "generated")
    marked.decided_by = "provenance:c2pa"
    stream = io.StringIO()
    write_table([*records, marked], stream)
    lines = stream.getvalue().splitlines()
    assert lines[2].split() == ["path", "verdict", "score", "decided", "by"]
    assert lines[4].split()[-1] == "pixels"
    assert lines[7].split()[-2:] == ["C2PA", "manifest"]
    assert lines[7].split()[:3] == ["c.png", "generated", "0.2000"]
    assert lines[-1] == "4 images: 2 generated, 1 real, 1 failed"


def test_table_of_nothing_is_the_summary_only() -> None:
    stream = io.StringIO()
    write_table([], stream)
    assert stream.getvalue() == "0 images: 0 generated, 0 real, 0 failed\n"


def test_table_on_a_terminal_uses_colour_and_width(records: list[Prediction]) -> None:
    stream = io.StringIO()
    write_table(records, stream, terminal=True, width=60)
    text = stream.getvalue()
    assert "\x1b[" in text
    assert all(len(line) <= 60 for line in _strip_ansi(text).splitlines())


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def test_tally_summary_and_singular() -> None:
    tally = Tally()
    assert tally.summary() == "0 images: 0 generated, 0 real, 0 failed"
    tally.add(_record("p", 0.2, "real"))
    assert tally.summary() == "1 image: 0 generated, 1 real, 0 failed"


@pytest.mark.parametrize(
    ("explicit", "output", "terminal", "expected"),
    [
        (None, None, True, OutputFormat.table),
        (None, None, False, OutputFormat.jsonl),
        (OutputFormat.csv, None, True, OutputFormat.csv),
        (None, "out.CSV", True, OutputFormat.csv),
        (None, "out.json", False, OutputFormat.json),
        (None, "out.jsonl", True, OutputFormat.jsonl),
        (None, "out.txt", True, OutputFormat.jsonl),
        (OutputFormat.table, "out.csv", False, OutputFormat.table),
    ],
)
def test_choose_format(
    explicit: OutputFormat | None, output: str | None, terminal: bool, expected: OutputFormat
) -> None:
    path = None if output is None else Path(output)
    assert choose_format(explicit, path, terminal) is expected


def test_score_bar_bounds() -> None:
    assert score_bar(0.0) == "░" * 10
    assert score_bar(1.0) == "█" * 10
    assert score_bar(0.46) == "█████░░░░░"


def test_progress_bar_goes_to_the_given_stream_only(capsys: pytest.CaptureFixture[str]) -> None:
    stream = io.StringIO()
    with progress_bar(3, stream, enabled=True, label="detect") as advance:
        for _ in range(3):
            advance()
    with progress_bar(3, stream, enabled=False) as advance:
        advance()
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
