"""The --engine options of `spotfake detect`: score in this process, or on a Ray cluster.

The Ray engine (spotfake.engines.ray) is imported only when --engine ray is given: Ray is an
optional extra, and `spotfake detect --help` must stay instant.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Protocol

import typer

from spotfake.cli.output import Tally

if TYPE_CHECKING:
    from spotfake.engines.ray import RayJob
    from spotfake.models.base import Detector
    from spotfake.prediction import Prediction


class PredictOptions(Protocol):
    """The prediction options of detect that the actors need too (detect's _Options)."""

    @property
    def batch_size(self) -> int: ...
    @property
    def threshold(self) -> float | None: ...
    @property
    def workers(self) -> int: ...  # decode threads, in each actor
    @property
    def provenance(self) -> bool: ...
    @property
    def adversarial(self) -> Detector | None: ...  # the guard of --check-adversarial


class Engine(StrEnum):
    """Where detection runs."""

    local = "local"
    ray = "ray"


EngineOpt = Annotated[
    Engine,
    typer.Option(
        case_sensitive=False,
        help="local: this process; ray: actors of a Ray cluster, each loading the model once "
        "(needs the ray extra of spotfake).",
    ),
]
AddressOpt = Annotated[
    str | None,
    typer.Option(
        metavar="ADDR",
        help="With --engine ray: the cluster to join (auto, HOST:6379, ray://HOST:10001; "
        "default: start a local Ray with --actors x --actor-threads CPUs).",
        show_default=False,
    ),
]
ActorsOpt = Annotated[
    int, typer.Option(min=1, help="With --engine ray: actors, each with its own model copy.")
]
ActorThreadsOpt = Annotated[
    int, typer.Option(min=1, help="With --engine ray: CPUs and torch threads per actor.")
]
ParquetDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--parquet-dir",
        metavar="DIR",
        file_okay=False,
        help="With --engine ray: the actors write the records as Parquet shards into DIR "
        "(new or empty; readable by every node) instead of -o or stdout.",
        show_default=False,
    ),
]

DEFAULT_ACTORS = 2
DEFAULT_ACTOR_THREADS = 1


@dataclass(frozen=True)
class RayOptions:
    """The options of detect that only --engine ray reads."""

    address: str | None = None
    actors: int = DEFAULT_ACTORS
    actor_threads: int = DEFAULT_ACTOR_THREADS
    parquet_dir: Path | None = None

    def given(self) -> list[str]:
        """The options set away from their defaults, by name."""
        changed = {
            "--address": self.address is not None,
            "--actors": self.actors != DEFAULT_ACTORS,
            "--actor-threads": self.actor_threads != DEFAULT_ACTOR_THREADS,
            "--parquet-dir": self.parquet_dir is not None,
        }
        return [name for name, set_ in changed.items() if set_]


def check_engine_options(
    engine: Engine, ray: RayOptions, output: Path | None, resume: bool
) -> None:
    """Refuse (exit 2) Ray options without --engine ray, and --parquet-dir with -o, with
    --resume or on a folder that holds files."""
    if engine is Engine.local:
        if ray.given():
            raise typer.BadParameter("needs --engine ray", param_hint=f"'{ray.given()[0]}'")
        return
    folder = ray.parquet_dir
    if folder is None:
        return
    if output is not None or resume:
        raise typer.BadParameter(
            "writes its own shards: leave out -o and --resume", param_hint="'--parquet-dir'"
        )
    if folder.exists() and any(folder.iterdir()):
        raise typer.BadParameter(
            f"{folder} is not empty: name a new or empty folder", param_hint="'--parquet-dir'"
        )


def ray_job(
    ray: RayOptions,
    model: str | None,
    device: str,
    crops: int | None,
    options: PredictOptions,
    adversarial_model: Path | None,
    backend: str = "auto",
    precision: str = "fp32",
) -> RayJob:
    """What the actors run, from detect's options.

    The device is decided here: auto becomes cuda when this machine has a GPU, so that each
    actor reserves one (Ray hides GPUs from actors that reserve none); a missing GPU is a
    usage error.
    """
    from spotfake.detect import pick_device
    from spotfake.engines.ray import RayJob
    from spotfake.errors import DeviceError

    try:
        chosen = pick_device(device)
    except DeviceError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--device'") from exc
    return RayJob(
        model=model,
        workers=ray.actors,
        threads=ray.actor_threads,
        batch_size=options.batch_size,
        threshold=options.threshold,
        crops=crops,
        device=chosen,
        provenance=options.provenance,
        decode_threads=options.workers,
        adversarial=options.adversarial is not None,
        adversarial_model=None if adversarial_model is None else os.fspath(adversarial_model),
        address=ray.address,
        backend=backend,
        precision=precision,
    )


def ray_records(files: list[str], job: RayJob) -> Iterator[Prediction]:
    """The records of ``files`` from the Ray actors, in order; Ray missing or unreachable is a
    usage error."""
    from spotfake.engines.ray import RayEngineError, iter_predict_on_ray

    try:
        yield from iter_predict_on_ray(files, job)
    except RayEngineError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--engine'") from exc


def write_parquet(files: list[str], folder: Path, job: RayJob) -> Tally:
    """Have the actors write ``files``' records into ``folder``; the verdicts counted back."""
    from spotfake.engines.ray import RayEngineError, parquet_outcomes, write_parquet_on_ray

    if not files:
        return Tally()
    try:
        write_parquet_on_ray(files, os.fspath(folder), job)
    except RayEngineError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--engine'") from exc
    counts: Counter[str] = parquet_outcomes(folder)
    return Tally(generated=counts["generated"], real=counts["real"], failed=counts["failed"])
