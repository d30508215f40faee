"""What the commands share: per-file failures reported without a line per file."""

from __future__ import annotations

import pytest

from spotfake.cli.common import SHOWN_PER_REASON, report_failures


def test_many_failures_of_one_reason_are_counted(capsys: pytest.CaptureFixture[str]) -> None:
    failed = [(f"img{i}.png", "file not found") for i in range(164)] + [("x.jpg", "corrupt")]
    report_failures(failed, "data/listing.csv")
    lines = capsys.readouterr().err.splitlines()
    assert lines[:SHOWN_PER_REASON] == [f"error: img{i}.png: file not found" for i in range(3)]
    assert f"error: ... and {164 - SHOWN_PER_REASON} more files: file not found" in lines
    assert "error: x.jpg: corrupt" in lines
    assert lines[-1].startswith("note: 164 files of data/listing.csv were not found")
    assert len(lines) == SHOWN_PER_REASON + 3


def test_no_listing_note_for_a_folder(capsys: pytest.CaptureFixture[str]) -> None:
    report_failures([("a.png", "file not found")], "photos/")
    assert capsys.readouterr().err.splitlines() == ["error: a.png: file not found"]
