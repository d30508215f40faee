"""Batch detection on Ray: the local pipeline, run by actors of a Ray cluster over Ray Data.

Every actor loads the detector once and scores its batches of paths with the scoring code of
``spotfake detect`` itself (``spotfake.detect.iter_predict``: the same decoding, provenance and
crops), so the records are the local CLI's, per-file errors included. Paths, not bytes, travel:
the images must be readable at the same path on every node, as the weights (shipped inside the
package) must be installed on every node.

Two ways out: ``iter_predict_on_ray`` streams the records back to this process in input order
(the CLI writes them with its own writers: one JSON lines, CSV or JSON file, resumable), and
``write_parquet_on_ray`` lets the actors write Parquet shards into a folder, nothing flowing
back (for runs whose records are too many to pass through one process). Ray is imported only
when one of them runs.
"""

from __future__ import annotations

import json
import logging
import math
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from spotfake.errors import SpotfakeError
from spotfake.prediction import FIELDS, GENERATED_LABEL, REAL_LABEL, Prediction

if TYPE_CHECKING:
    import pyarrow as pa
    from ray.data import Dataset

    from spotfake.models.base import Detector

# The column that carries each input's position, so that shards can be put back in order.
INDEX_COLUMN = "index"
# Blocks handed to the actors: one batch each, unless that would make more than this many.
MAX_BLOCKS = 10_000
FAILED = "failed"
LOG_LEVEL_VARIABLE = "RAY_DATA_LOG_LEVEL"
# What detect_on_ray reads: one path (file, folder, glob, manifest, listing) or several.
Inputs = str | os.PathLike[str] | Iterable[str]


class RayEngineError(SpotfakeError):
    """Ray is missing, or the cluster cannot be reached."""


@dataclass(frozen=True)
class RayJob:
    """What the actors run and how many there are.

    ``workers`` actors each load the model once and reserve ``threads`` CPUs, which are also
    their torch threads (1 by default: on a small machine several actors beat one actor's
    threads); ``decode_threads`` decode the next images inside each actor while it scores.
    ``address``: an existing cluster ("auto", "ray://host:10001", "host:6379"); None starts a
    local one with ``workers * threads`` CPUs for this run (and stops it after). ``cwd``: the
    folder relative paths (of images and of the model) are read from in the actors, when it
    exists on their node; the running functions fill in this process's.
    """

    model: str | None = None
    workers: int = 2
    threads: int = 1
    batch_size: int = 16
    threshold: float | None = None
    crops: int | None = None
    device: str = "cpu"
    provenance: bool = True
    decode_threads: int = 2
    adversarial: bool = False
    adversarial_model: str | None = None
    address: str | None = None
    cwd: str | None = None
    backend: str = "auto"  # what runs the network in each actor (load_detector's backend)
    precision: str = "fp32"  # the forward pass in each actor (load_detector's precision)

    @property
    def gpus(self) -> float:
        """GPUs reserved per actor: one when the model runs on CUDA."""
        return 1.0 if self.device.startswith("cuda") else 0.0


# --- the actors ---------------------------------------------------------------------------------
class BatchScorer:
    """A Ray Data actor: loads the detector (and the adversarial guard) once, then turns each
    batch of paths into a table of records with ``iter_predict``, the local CLI's pipeline."""

    def __init__(self, job: RayJob) -> None:
        import torch

        from spotfake.detect import adversarial_guard, load_detector

        torch.set_num_threads(job.threads)
        if job.cwd is not None and os.path.isdir(job.cwd):
            os.chdir(job.cwd)  # this actor's own process: relative paths as the caller meant
        self.job = job
        self.detector = load_detector(
            job.model, device=job.device, crops=job.crops, backend=job.backend,
            precision=job.precision,
        )  # fmt: skip
        self.guard: Detector | None = None
        if job.adversarial or job.adversarial_model is not None:
            self.guard = adversarial_guard(self.detector, job.adversarial_model)

    def __call__(self, batch: dict[str, Any]) -> pa.Table:
        """Score one batch: columns index and path in, one record per row out, in order."""
        from spotfake.detect import iter_predict
        from spotfake.provenance.read import ProvenanceNotice

        paths = [str(path) for path in batch["path"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProvenanceNotice)  # the driver says it once
            records = list(
                iter_predict(
                    self.detector,
                    paths,
                    batch_size=self.job.batch_size,
                    threshold=self.job.threshold,
                    workers=self.job.decode_threads,
                    provenance=self.job.provenance,
                    adversarial=self.guard,
                )
            )
        return records_table([int(i) for i in batch[INDEX_COLUMN]], records)


def records_schema() -> pa.Schema:
    """The columns of a record table: the index, FIELDS, and evidence as JSON text.

    Evidence is text because its shape varies from file to file (provenance marks), which
    Parquet shards written separately could not agree on as nested columns.
    """
    import pyarrow as pa

    types = {"score": pa.float64(), "threshold": pa.float64()}
    columns = [pa.field(INDEX_COLUMN, pa.int64(), nullable=False)]
    columns += [pa.field(name, types.get(name, pa.string())) for name in FIELDS]
    columns.append(pa.field("evidence", pa.string()))
    return pa.schema(columns)


def records_table(indices: Sequence[int], records: Sequence[Prediction]) -> pa.Table:
    """Records as a table of records_schema(), row i being input indices[i]."""
    import pyarrow as pa

    rows = []
    for index, record in zip(indices, records, strict=True):
        row = record.to_dict()
        row["evidence"] = json.dumps(row["evidence"], ensure_ascii=False, default=str)
        row[INDEX_COLUMN] = index
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=records_schema())


def record_from_row(row: dict[str, Any]) -> Prediction:
    """The Prediction of one row of a record table (the inverse of records_table)."""
    return Prediction(
        path=row["path"],
        score=row["score"],
        label=row["label"],
        decided_by=row["decided_by"],
        threshold=row["threshold"],
        model=row["model"],
        model_hash=row["model_hash"],
        error=row["error"],
        evidence=json.loads(row["evidence"]) if row["evidence"] else {},
    )


# --- running ------------------------------------------------------------------------------------
def iter_predict_on_ray(paths: Sequence[str], job: RayJob) -> Iterator[Prediction]:
    """The records of ``paths`` scored by Ray actors, streamed back in input order."""
    if not paths:
        return
    with ray_session(job):
        for row in scored_dataset(paths, job).iter_rows():
            yield record_from_row(row)


def write_parquet_on_ray(paths: Sequence[str], folder: str | os.PathLike[str], job: RayJob) -> None:
    """The actors write the records of ``paths`` as Parquet shards into ``folder``.

    Each shard is some blocks of records; the ``index`` column gives each input's position.
    ``folder`` must be writable by every node (shared storage or a URI such as s3://...).
    """
    with ray_session(job):
        scored_dataset(paths, job).write_parquet(os.fspath(folder))


def scored_dataset(paths: Sequence[str], job: RayJob) -> Dataset:
    """The lazy Ray Dataset of records: paths in blocks of whole batches, scored by an actor
    pool of ``job.workers`` actors, in input order."""
    import ray.data

    if job.cwd is None:
        job = replace(job, cwd=os.getcwd())
    items = [{INDEX_COLUMN: index, "path": path} for index, path in enumerate(paths)]
    source = ray.data.from_items(items, override_num_blocks=block_count(len(paths), job))
    scored = source.map_batches(
        BatchScorer,
        fn_constructor_kwargs={"job": job},
        batch_size=job.batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=job.workers),
        num_cpus=job.threads,
        num_gpus=job.gpus,
    )
    scored.context.execution_options.preserve_order = True
    scored.context.enable_progress_bars = False
    return scored


def block_count(rows: int, job: RayJob) -> int:
    """Blocks of paths: one batch each, but at least one per actor (so that a small run still
    spreads) and at most MAX_BLOCKS (so that a huge listing does not flood the object store)."""
    batches = math.ceil(rows / job.batch_size)
    return max(1, min(rows, MAX_BLOCKS, max(batches, job.workers)))


@contextmanager
def ray_session(job: RayJob) -> Iterator[None]:
    """Use the Ray this process is already connected to; else join ``job.address``, or start a
    local Ray with ``workers * threads`` CPUs; disconnect (stopping a local one) after."""
    try:
        import ray
    except ImportError as exc:
        raise RayEngineError(
            "the Ray engine needs Ray: pip install 'spotfake[ray]' (or 'ray[data]')"
        ) from exc
    if ray.is_initialized():
        with _quiet_ray_data():
            yield
        return
    options: dict[str, Any] = {"logging_level": logging.WARNING, "include_dashboard": False}
    if job.address is not None:
        options["address"] = job.address
    else:
        options["num_cpus"] = job.workers * job.threads
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise RayEngineError(f"cannot start or join Ray ({job.address or 'local'}): {exc}") from exc
    try:
        with _quiet_ray_data():
            yield
    finally:
        ray.shutdown()


@contextmanager
def _quiet_ray_data() -> Iterator[None]:
    """Ray Data's progress lines and notes off while it runs (RAY_DATA_LOG_LEVEL, unless the
    user set it): the CLI has its own progress bar and summary, and records may stream to the
    same terminal. Ray Data reconfigures its loggers at each execution, hence the variable."""
    if LOG_LEVEL_VARIABLE in os.environ:
        yield
        return
    os.environ[LOG_LEVEL_VARIABLE] = "ERROR"
    try:
        yield
    finally:
        os.environ.pop(LOG_LEVEL_VARIABLE, None)


# --- the Python entry point ---------------------------------------------------------------------
def expand_inputs(inputs: Inputs, recursive: bool = False) -> list[str]:
    """Image paths from files, folders, globs, manifests (CSV or Parquet) and path,label CSV
    listings, in order; manifests and listings stand for the images they list."""
    from spotfake.data.manifest import listed_paths
    from spotfake.io import iter_image_paths

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [os.fspath(inputs)]
    paths: list[str] = []
    for argument in iter_image_paths(inputs, recursive=recursive):
        paths.extend(listed_paths(argument) or [argument])
    return paths


def detect_on_ray(
    inputs: Inputs,
    model: str | None = None,
    *,
    output: str | os.PathLike[str] | None = None,
    format: Literal["jsonl", "parquet"] = "jsonl",
    recursive: bool = False,
    **options: Any,
) -> list[Prediction] | Counter[str]:
    """Score images on Ray with the local pipeline; ``options`` are RayJob's fields
    (address, workers, threads, batch_size, threshold, crops, device, provenance, ...).

    Without ``output``: the records, in input order. With it: ``format="jsonl"`` writes one
    JSON lines file in input order (the local CLI's lines), ``"parquet"`` Parquet shards into
    the folder ``output``; both return the count of records per verdict (generated, real,
    failed).
    """
    job = RayJob(model=model, **options)
    paths = expand_inputs(inputs, recursive=recursive)
    if output is None:
        return list(iter_predict_on_ray(paths, job))
    if format == "parquet":
        if not paths:
            return Counter()
        write_parquet_on_ray(paths, output, job)
        return parquet_outcomes(output)
    counts: Counter[str] = Counter()
    with Path(output).open("w", encoding="utf-8", errors="surrogateescape", newline="") as stream:
        for record in iter_predict_on_ray(paths, job):
            stream.write(json.dumps(record.to_dict(), ensure_ascii=False, default=str) + "\n")
            counts[outcome(record.label, record.error)] += 1
    return counts


def parquet_outcomes(folder: str | os.PathLike[str]) -> Counter[str]:
    """Records per verdict (generated, real, failed) in a folder of Parquet record shards."""
    import pyarrow.dataset as pads

    table = pads.dataset(os.fspath(folder), format="parquet").to_table(columns=["label", "error"])
    labels, errors = table.column("label").to_pylist(), table.column("error").to_pylist()
    return Counter(outcome(label, error) for label, error in zip(labels, errors, strict=True))


def outcome(label: str | None, error: str | None) -> str:
    """A record's verdict for counting: generated, real, or failed."""
    if error is not None or label not in (GENERATED_LABEL, REAL_LABEL):
        return FAILED
    return label
