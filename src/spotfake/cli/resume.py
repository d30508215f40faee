"""`spotfake detect --resume` and `--shard`: finish a killed run and split a listing across runs.

A resumed run reads the JSON lines an earlier run left in the -o file, skips every input already
recorded there (a score or a per-file error: both are answers, and a corrupt file stays corrupt;
--retry-errors redoes the errors), and appends the rest. JSON lines because each record is one
self-contained line: a run killed mid-write leaves at most a cut last line, which is dropped,
and every record names the model and threshold that made it, which are checked.

One process at a time writes an -o file: ``output_lock`` holds an advisory lock (flock) on it
from reading the earlier records to the last one written, so a second run into the same file,
resumed or not, is refused instead of interleaving its records or truncating the first's.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from spotfake.cli.output import OutputFormat, Tally
from spotfake.prediction import GENERATED_LABEL, REAL_LABEL
from spotfake.shard import Shard, normalise_path

if TYPE_CHECKING:
    from spotfake.models.base import Detector

FAILED = "failed"

Identity = tuple[str, str, float]  # model, model_hash, threshold


@contextmanager
def output_lock(output: Path | None) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``output`` for the run; a usage error if another
    process holds it. No lock without -o, where flock is missing (Windows), or where the file
    cannot be opened (writing it reports that)."""
    try:
        import fcntl
    except ImportError:
        fcntl = None  # type: ignore[assignment]
    if output is None or fcntl is None:
        yield
        return
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise typer.BadParameter(
                f"{output} is being written by another spotfake detect: wait for it to end, "
                "or write to another file",
                param_hint="'--output'",
            ) from exc
        yield
    finally:
        os.close(fd)


class ResumeError(ValueError):
    """The output file cannot be resumed: it is not what `spotfake detect` writes."""


@dataclass
class ResumePlan:
    """What this run must do: the inputs left, the earlier part's counts, append or start anew."""

    todo: list[str]
    carried: Tally = field(default_factory=Tally)
    append: bool = False
    recorded: int = 0  # records found in the output file


@dataclass
class EarlierRun:
    """What an earlier run left in the output file."""

    outcomes: dict[str, str] = field(default_factory=dict)  # normalised path -> outcome
    identities: set[Identity] = field(default_factory=set)
    complete_bytes: int = 0  # where the last complete line ends
    cut_tail: bool = False  # a last line without its newline (the run was killed mid-write)


def select_shard(files: list[str], text: str | None) -> list[str]:
    """The inputs of --shard I/N (all of them without it); a malformed I/N is a usage error."""
    if text is None:
        return files
    try:
        shard = Shard.parse(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--shard'") from exc
    return shard.select(files)


def check_resumable(
    resume: bool, retry_errors: bool, output: Path | None, fmt: OutputFormat
) -> None:
    """Refuse, before any model loads, a --resume that cannot be honoured (exit 2)."""
    if retry_errors and not resume:
        raise typer.BadParameter("needs --resume", param_hint="'--retry-errors'")
    if not resume:
        return
    if output is None:
        raise typer.BadParameter("needs -o FILE, the file to resume", param_hint="'--resume'")
    if fmt is not OutputFormat.jsonl:
        raise typer.BadParameter(
            f"{fmt.value} output cannot be resumed ({_NOT_APPENDABLE[fmt]}): write JSON lines, "
            "-o FILE.jsonl or --format jsonl",
            param_hint="'--resume'",
        )


_NOT_APPENDABLE = {
    OutputFormat.json: "a JSON list ends with its closing bracket",
    OutputFormat.csv: "a CSV row may span lines, so a cut row cannot be told from a whole one",
    OutputFormat.table: "a table is laid out at the end",
}


def plan_run(
    files: list[str],
    output: Path | None,
    resume: bool,
    retry_errors: bool,
    detector: Detector,
    threshold: float | None,
) -> ResumePlan:
    """All inputs for a fresh run; for --resume, those not yet in the output file.

    The file is repaired first: a cut last line is dropped (with a note), and with
    --retry-errors the error records of inputs about to be redone are removed, so that every
    input ends with exactly one record. A missing output file starts a new run.
    """
    if not resume or output is None or not output.exists():
        return ResumePlan(files, append=resume)
    try:
        earlier = read_earlier(output)
    except (ResumeError, OSError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else str(exc)
        raise typer.BadParameter(f"{output}: {reason}", param_hint="'--resume'") from exc
    _check_identity(output, earlier, _identity(detector, threshold))
    if earlier.cut_tail:
        typer.echo(
            f"spotfake detect: {output} ends in a cut line (an interrupted write): dropped, "
            "that image is scored again",
            err=True,
        )
    retry = _errors_among(earlier, files) if retry_errors else set()
    _repair(output, earlier, retry)
    done = {path: outcome for path, outcome in earlier.outcomes.items() if path not in retry}
    todo, carried = _split(files, done)
    return ResumePlan(todo, carried, append=True, recorded=len(earlier.outcomes))


def _split(files: list[str], done: dict[str, str]) -> tuple[list[str], Tally]:
    """The inputs still to do, in order, and the counts of those already done."""
    todo: list[str] = []
    carried: Counter[str] = Counter()
    for path in files:
        outcome = done.get(normalise_path(path))
        if outcome is None:
            todo.append(path)
        else:
            carried[outcome] += 1
    return todo, Tally(carried[GENERATED_LABEL], carried[REAL_LABEL], carried[FAILED])


def resume_note(output: Path, plan: ResumePlan) -> str:
    """One stderr line: how much of the listing the earlier run did and what is left."""
    done = plan.carried.total
    text = f"spotfake detect: resuming {output}: {done} of {done + len(plan.todo)} images done"
    if plan.carried.failed:
        text += f" ({plan.carried.failed} failed)"
    text += f", {len(plan.todo)} to go"
    if plan.recorded and not done and plan.todo:
        text += f"; none of its {plan.recorded} records is among these inputs (another listing?)"
    return text


def read_earlier(path: Path) -> EarlierRun:
    """The records of an output file up to its last complete line; ResumeError if not JSONL."""
    earlier = EarlierRun()
    with path.open("rb") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.endswith(b"\n"):
                earlier.cut_tail = True
                break
            earlier.complete_bytes += len(line)
            record = _parse(line, number)
            if record is not None:
                earlier.outcomes[normalise_path(record["path"])] = _outcome(record)
                earlier.identities.add(_record_identity(record, number))
    return earlier


def _parse(line: bytes, number: int) -> dict[str, Any] | None:
    """One record of the file (None for a blank line); ResumeError for anything else."""
    text = line.decode("utf-8", "surrogateescape").strip()
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError as exc:
        raise ResumeError(f"line {number} is not JSON: not written by spotfake detect") from exc
    if not isinstance(record, dict) or not isinstance(record.get("path"), str):
        raise ResumeError(f"line {number} is not a spotfake detect record (no path)")
    return record


def _outcome(record: dict[str, Any]) -> str:
    """The verdict under which Tally counts a record: failed, generated or real."""
    if record.get("error") is not None:
        return FAILED
    return GENERATED_LABEL if record.get("label") == GENERATED_LABEL else REAL_LABEL


def _record_identity(record: dict[str, Any], number: int) -> Identity:
    """The model, weights hash and threshold a record was made with."""
    try:
        return str(record["model"]), str(record["model_hash"]), float(record["threshold"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ResumeError(f"line {number} lacks the model, model_hash or threshold") from exc


def _identity(detector: Detector, threshold: float | None) -> Identity:
    chosen = detector.spec.threshold if threshold is None else threshold
    return detector.spec.display_name, detector.model_hash, float(chosen)


def _check_identity(output: Path, earlier: EarlierRun, expected: Identity) -> None:
    """Refuse to continue records of another model, weights or threshold (exit 2)."""
    others = sorted(earlier.identities - {expected})
    if not others:
        return
    (model, digest, threshold), (now_model, now_digest, now_threshold) = others[0], expected
    raise typer.BadParameter(
        f"{output} holds records of model {model} ({digest}) at threshold {threshold:g}; this "
        f"run uses {now_model} ({now_digest}) at threshold {now_threshold:g}: resume with the "
        "same --model and --threshold, or write to another file",
        param_hint="'--resume'",
    )


def _errors_among(earlier: EarlierRun, files: list[str]) -> set[str]:
    """Normalised paths of this run's inputs whose earlier record is an error."""
    wanted = {normalise_path(path) for path in files}
    return {path for path, outcome in earlier.outcomes.items() if outcome == FAILED} & wanted


def _repair(output: Path, earlier: EarlierRun, drop: set[str]) -> None:
    """Cut the file after its last complete line; rewrite it without the records in `drop`."""
    if drop:
        _rewrite_without(output, earlier.complete_bytes, drop)
    elif earlier.cut_tail:
        os.truncate(output, earlier.complete_bytes)


def _rewrite_without(output: Path, end: int, drop: set[str]) -> None:
    """Copy the complete lines except the error records of `drop`, then swap the copy in.

    A new file renamed over the old one, so a kill during the rewrite leaves either file whole.
    """
    handle, temporary = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    with os.fdopen(handle, "wb") as copy:
        for line in _complete_lines(output, end):
            record = _parse(line, 0)
            if record is None or (
                normalise_path(record["path"]) in drop and _outcome(record) == FAILED
            ):
                continue
            copy.write(line)
    os.chmod(temporary, output.stat().st_mode)
    os.replace(temporary, output)


def _complete_lines(path: Path, end: int) -> Iterator[bytes]:
    """The lines of a file that end at or before byte `end`."""
    read = 0
    with path.open("rb") as stream:
        for line in stream:
            read += len(line)
            if read > end:
                return
            yield line
