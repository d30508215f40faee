"""`spotfake detect PATH...`: score images with a detector and write one record per image."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from spotfake.cli.common import (
    Backend,
    BackendOpt,
    Device,
    DeviceOpt,
    ModelOpt,
    Precision,
    PrecisionOpt,
    is_terminal,
    load_model,
)
from spotfake.cli.engine import (
    DEFAULT_ACTOR_THREADS,
    DEFAULT_ACTORS,
    ActorsOpt,
    ActorThreadsOpt,
    AddressOpt,
    Engine,
    EngineOpt,
    ParquetDirOpt,
    RayOptions,
    check_engine_options,
    ray_job,
    ray_records,
    write_parquet,
)
from spotfake.cli.inputs import expand_arguments, expand_listings
from spotfake.cli.output import OutputFormat, RecordWriter, Tally, choose_format, make_writer
from spotfake.cli.progress import Advance, progress_bar
from spotfake.cli.resume import (
    check_resumable,
    output_lock,
    plan_run,
    resume_note,
    select_shard,
)
from spotfake.errors import SpotfakeError

if TYPE_CHECKING:
    from spotfake.engines.ray import RayJob
    from spotfake.models.base import Detector

EXIT_OK = 0
EXIT_SOME_FAILED = 1


PathsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="PATH",
        help="Image files, folders, glob patterns, or - to read paths from stdin, one per line.",
        show_default=False,
    ),
]
FormatOpt = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        case_sensitive=False,
        help="Record format (default: table on a terminal, else jsonl; with -o, from the suffix).",
        show_default=False,
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output", "-o", metavar="FILE", dir_okay=False, help="Write the records to FILE."
    ),
]
ThresholdOpt = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=1.0,
        help="Score at or above which an image is called generated (default: the model's).",
        show_default=False,
    ),
]
BatchOpt = Annotated[int, typer.Option(min=1, help="Images per forward pass.")]
CropsOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        metavar="N",
        help="Score N crop windows spread over each image at native resolution and combine "
        "their logits, on every image (default: the model's policy, which may keep windows for "
        "large images only).",
        show_default=False,
    ),
]
WorkersOpt = Annotated[int, typer.Option(min=1, help="Threads that decode images.")]
RecursiveOpt = Annotated[
    bool, typer.Option("--recursive", "-r", help="Also look in the folders' sub-folders.")
]
ProvenanceOpt = Annotated[
    bool,
    typer.Option(
        "--provenance/--no-provenance",
        help="Read C2PA, XMP, generator text chunks, EXIF and watermarks; a decisive mark "
        "decides the verdict (--no-provenance: the pixels alone).",
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="No progress bar and no summary on stderr.")
]
CheckAdversarialOpt = Annotated[
    bool,
    typer.Option(
        "--check-adversarial",
        help="Also check each image for an adversarial attack on the model (SpectralDefense): "
        "adds evidence.adversarial with P(adversarial) and a verdict.",
    ),
]
AdversarialModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--adversarial-model",
        help="The SpectralDefense model for --check-adversarial (default: the one shipped for "
        "the detector's weights).",
        show_default=False,
    ),
]
ResumeOpt = Annotated[
    bool,
    typer.Option(
        "--resume",
        help="Skip the inputs already recorded in the -o JSON lines file (scored or failed) and "
        "append the others; a missing file is started.",
    ),
]
RetryErrorsOpt = Annotated[
    bool,
    typer.Option("--retry-errors", help="With --resume, also redo the inputs recorded as failed."),
]
ShardOpt = Annotated[
    str | None,
    typer.Option(
        metavar="I/N",
        help="Only part I of N of the inputs, chosen by a hash of each path: N runs given the "
        "same paths split them without overlap.",
        show_default=False,
    ),
]


class Decode(StrEnum):
    """Where JPEG files are decoded."""

    cpu = "cpu"
    device = "device"


DecodeOpt = Annotated[
    Decode,
    typer.Option(
        help="device: decode JPEG files in batches on the model's GPU (nvJPEG), the others "
        "on the CPU; needs --backend torch and --no-provenance.",
    ),
]


def detect(
    paths: PathsArg,
    model: ModelOpt = None,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    threshold: ThresholdOpt = None,
    batch_size: BatchOpt = 16,
    crops: CropsOpt = None,
    device: DeviceOpt = Device.auto,
    workers: WorkersOpt = 2,
    recursive: RecursiveOpt = False,
    provenance: ProvenanceOpt = True,
    check_adversarial: CheckAdversarialOpt = False,
    adversarial_model: AdversarialModelOpt = None,
    quiet: QuietOpt = False,
    resume: ResumeOpt = False,
    retry_errors: RetryErrorsOpt = False,
    shard: ShardOpt = None,
    backend: BackendOpt = Backend.auto,
    precision: PrecisionOpt = Precision.fp32,
    decode: DecodeOpt = Decode.cpu,
    engine: EngineOpt = Engine.local,
    address: AddressOpt = None,
    actors: ActorsOpt = DEFAULT_ACTORS,
    actor_threads: ActorThreadsOpt = DEFAULT_ACTOR_THREADS,
    parquet_dir: ParquetDirOpt = None,
) -> None:
    """Say which images are AI-generated: one record per image with its score and verdict.

    Exit status: 0 all images read; 1 some unreadable (all records still written, and with
    --resume the earlier part's failures count too); 2 usage error.
    """
    check_resumable(
        resume, retry_errors, output, choose_format(fmt, output, is_terminal(sys.stdout))
    )
    ray = RayOptions(address, actors, actor_threads, parquet_dir)
    check_engine_options(engine, ray, output, resume)
    files = _listed(expand_arguments(paths, sys.stdin, recursive=recursive))
    if not files:
        typer.echo("spotfake detect: no images found in the given paths", err=True)
    files = select_shard(files, shard)
    detector = load_model(model, device, crops, backend, precision)
    guard = _load_guard(detector, check_adversarial or adversarial_model is not None,
                        adversarial_model)  # fmt: skip
    _check_decode(detector, decode, provenance, guard, engine)
    if provenance and not quiet:
        _print_provenance_notice()
    job = None
    if engine is Engine.ray:
        options = _Options(batch_size, threshold, workers, provenance, guard)
        job = ray_job(
            ray, model, device.value, crops, options, adversarial_model, backend.value,
            precision.value,
        )  # fmt: skip
    if job is not None and parquet_dir is not None:
        _finish_parquet(files, parquet_dir, job, quiet)
    chosen = choose_format(fmt, output, is_terminal(sys.stdout))
    to_terminal = output is None and is_terminal(sys.stdout)
    with output_lock(output):
        plan = plan_run(files, output, resume, retry_errors, detector, threshold)
        if resume and output is not None and not quiet:
            typer.echo(resume_note(output, plan), err=True)
        files = plan.todo
        show_bar = not quiet and wants_progress_bar(
            len(files), batch_size, chosen, to_terminal, is_terminal(sys.stderr)
        )
        with _open_output(output, append=plan.append) as stream:
            writer = make_writer(chosen, stream, terminal=to_terminal)
            with progress_bar(len(files), sys.stderr, enabled=show_bar, label="detect") as advance:
                options = _Options(
                    batch_size, threshold, workers, provenance, guard, job, decode.value
                )
                tally = plan.carried + _stream_records(detector, files, writer, advance, options)
            writer.close()
    if not quiet and (output is not None or chosen is not OutputFormat.table):
        typer.echo(tally.summary(), err=True)
    raise typer.Exit(EXIT_SOME_FAILED if tally.failed else EXIT_OK)


def _listed(files: list[str]) -> list[str]:
    """Manifests and path,label CSV listings among the inputs expanded to their images."""
    try:
        return expand_listings(files)
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(str(exc), param_hint="'PATH'") from exc


def wants_progress_bar(
    count: int, batch_size: int, fmt: OutputFormat, records_to_terminal: bool, stderr_tty: bool
) -> bool:
    """A bar on a terminal stderr for more than one batch, unless records stream to that terminal.

    Streamed records on the same terminal would tear the bar; a table is printed after it ends.
    """
    if not stderr_tty or count <= batch_size:
        return False
    return fmt is OutputFormat.table or not records_to_terminal


@dataclass(frozen=True)
class _Options:
    """How to predict: the options of detect that reach spotfake.detect.iter_predict."""

    batch_size: int
    threshold: float | None
    workers: int
    provenance: bool
    adversarial: Detector | None = None
    ray: RayJob | None = None  # --engine ray: the actors score, with these options
    decode: str = "cpu"


def _stream_records(
    detector: Detector,
    files: list[str],
    writer: RecordWriter,
    advance: Advance,
    options: _Options,
) -> Tally:
    """Predict in order, handing each record to the writer as soon as it exists."""
    from spotfake.detect import iter_predict
    from spotfake.provenance.read import ProvenanceNotice

    tally = Tally()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProvenanceNotice)  # printed once by detect itself
        if options.ray is not None:
            records = ray_records(files, options.ray)
        else:
            records = iter_predict(
                detector,
                files,
                batch_size=options.batch_size,
                threshold=options.threshold,
                workers=options.workers,
                provenance=options.provenance,
                adversarial=options.adversarial,
                decode=options.decode,
            )
        for prediction in records:
            writer.write(prediction)
            tally.add(prediction)
            advance()
    return tally


def _check_decode(
    detector: Detector, decode: Decode, provenance: bool, guard: Detector | None, engine: Engine
) -> None:
    """--decode device: a usage error where it cannot run, before any file is read."""
    if decode is Decode.cpu:
        return
    if engine is Engine.ray:
        raise typer.BadParameter("the Ray actors decode on the CPU", param_hint="'--decode'")
    from spotfake.detect_device import check_decode

    try:
        check_decode(detector, decode.value, provenance, guard)
    except (ValueError, SpotfakeError) as exc:
        raise typer.BadParameter(str(exc), param_hint="'--decode'") from exc


def _finish_parquet(files: list[str], folder: Path, job: RayJob, quiet: bool) -> None:
    """--parquet-dir: the Ray actors write the records into folder; the summary, then exit."""
    tally = write_parquet(files, folder, job)
    if not quiet:
        typer.echo(f"{tally.summary()} (Parquet shards in {folder})", err=True)
    raise typer.Exit(EXIT_SOME_FAILED if tally.failed else EXIT_OK)


def _load_guard(detector: Detector, wanted: bool, path: Path | None) -> Detector | None:
    """The SpectralDefense model of --check-adversarial; a missing one is a usage error."""
    if not wanted:
        return None
    from spotfake.detect import adversarial_guard

    try:
        return adversarial_guard(detector, path)
    except SpotfakeError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--check-adversarial'") from exc


def _print_provenance_notice() -> None:
    """One stderr line when a provenance reader is disabled by a missing library."""
    from spotfake.provenance.read import disabled_readers, notice_text

    disabled = disabled_readers()
    if disabled:
        typer.echo(f"spotfake detect: {notice_text(disabled)}", err=True)


@contextmanager
def _open_output(output: Path | None, append: bool = False) -> Iterator[IO[str]]:
    """The file named by -o (created, or truncated unless appending), else stdout, left open."""
    if output is None:
        yield sys.stdout
        return
    try:
        stream = output.open(
            "a" if append else "w", encoding="utf-8", errors="surrogateescape", newline=""
        )
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot write {output}: {exc.strerror}", param_hint="'--output'"
        ) from exc
    with stream:
        yield stream


def register(app: typer.Typer) -> None:
    """Add `detect` to the spotfake command."""
    app.command("detect")(detect)
