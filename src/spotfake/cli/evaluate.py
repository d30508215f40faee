"""`spotfake evaluate MODEL DATASET...`: the field's evaluation protocol, per generator.

`spotfake evaluate --matrix MODEL... --data DATASET...` scores several models on the same
datasets and writes the cross-generator matrix (models x test generators, AP and accuracy).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any

import typer

from spotfake.cli.common import Device, is_terminal
from spotfake.cli.progress import progress_bar
from spotfake.errors import DeviceError, SpotfakeError

if TYPE_CHECKING:
    from spotfake.evaluate.indicators import Indicators
    from spotfake.evaluate.protocol import DatasetSample, Evaluation, ModelInfo
    from spotfake.evaluate.views import Matrix
    from spotfake.models.base import Detector

EXIT_OK = 0
EXIT_SOME_UNREADABLE = 1
_SHOWN_UNREADABLE = 20

ItemsArg = Annotated[
    list[str],
    typer.Argument(
        metavar="MODEL DATASET",
        help="A model (a shipped name such as 'default', or a .safetensors file with its .json "
        "spec) then datasets: folders (GenImage, CNNDetection, real/ + fake/), zip archives "
        "(archive.zip or 'archive.zip!prefix/'), CSV listings or manifests. With --matrix: "
        "models only.",
        show_default=False,
    ),
]
DataOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--data",
        "-d",
        metavar="DATASET",
        help="A dataset to test on (repeat for several); required with --matrix.",
        show_default=False,
    ),
]
MatrixOpt = Annotated[
    bool,
    typer.Option("--matrix", help="Every argument is a model: write the cross-generator matrix."),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="DIR",
        file_okay=False,
        help="Write metrics.csv, metrics.json, scores.csv, report.md, report.html, PNG plots "
        "and gallery/ thumbnails into DIR.",
        show_default=False,
    ),
]
ThresholdOpt = Annotated[
    float | None,
    typer.Option(
        min=0.0,
        max=1.0,
        help="Score at or above which an image is called generated (default: each model's).",
        show_default=False,
    ),
]
BatchOpt = Annotated[int, typer.Option(min=1, help="Images per forward pass.")]
WorkersOpt = Annotated[int, typer.Option(min=1, help="Threads that decode and perturb images.")]
LimitOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="At most N images per generator and class (a seeded random sample).",
        show_default=False,
    ),
]
SeedOpt = Annotated[int, typer.Option(help="Seed of the --limit sample.")]
SplitOpt = Annotated[
    str | None,
    typer.Option(
        help="Only images of this split (e.g. val for GenImage's <gen>/val/{ai,nature}).",
        show_default=False,
    ),
]
DeviceOpt = Annotated[Device, typer.Option(help="Where the models run.")]
RobustOpt = Annotated[
    str | None,
    typer.Option(
        "--robustness",
        metavar="KINDS",
        help="Comma-separated sweeps: jpeg (quality 100..30), resize (bicubic x0.5..x2), blur "
        "(sigma 0.5..3); the clean images are always included. Own levels: 'jpeg=90/50,blur=1'.",
        show_default=False,
    ),
]
IndicatorsOpt = Annotated[
    bool,
    typer.Option(
        "--indicators",
        help="Also compute latent-clustering robustness indicators on the clean images (torch "
        "models only): per layer, silhouette of k-means at k=2 and over k=2..8, purity at k=2. "
        "Adds an indicators table (and 'indicators' in --json, indicators.json in -o DIR) after "
        "the usual evaluation, which is unchanged.",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")]


def evaluate(
    items: ItemsArg,
    data: DataOpt = None,
    matrix: MatrixOpt = False,
    output: OutputOpt = None,
    threshold: ThresholdOpt = None,
    batch_size: BatchOpt = 16,
    workers: WorkersOpt = 2,
    limit: LimitOpt = None,
    seed: SeedOpt = 0,
    split: SplitOpt = None,
    device: DeviceOpt = Device.auto,
    robustness: RobustOpt = None,
    indicators: IndicatorsOpt = False,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Measure detectors per generator: accuracy (real, fake), AP, AUC, oracle accuracy, ECE.

    spotfake evaluate MODEL DATASET... [-o DIR]: one model on one or more datasets.
    spotfake evaluate --matrix MODEL... --data DATASET [--data DATASET...] [-o DIR]: the
    cross-generator matrix (models x test generators, AP and accuracy, row means).
    --indicators adds, per model, how cleanly its latent features of the clean images cluster
    (k-means silhouettes and purity per layer), a label-free hint of robustness.

    A generator's fakes are scored against the reals of its own subset when the layout has
    them, else against all the dataset's reals. Cost: each image is decoded once, then scored
    once per condition; the default model runs ~30-40 images/s on 2 CPU cores, so a full
    jpeg,resize,blur sweep (18 conditions) on 1,000 images takes about 10 minutes: start with
    --limit 100. Exit status: 0 done; 1 some files unreadable (reported); 2 usage error.
    """
    from spotfake.evaluate.perturb import parse_robustness
    from spotfake.evaluate.protocol import evaluate as run
    from spotfake.evaluate.views import cross_matrix

    models, datasets = _split(items, data or [], matrix)
    try:
        conditions = parse_robustness(robustness)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="'--robustness'") from exc
    # --indicators reads the networks' feature maps: torch; the scores alone may use onnx.
    backend = "torch" if indicators else "auto"
    detectors, infos = _load_models(models, device, threshold, backend)
    if indicators:
        _check_indicators(detectors)
    samples = _open(datasets, limit, seed, workers, split)
    total = sum(len(s.records) for s in samples)
    show_bar = not quiet and is_terminal(sys.stderr)
    with progress_bar(total, sys.stderr, show_bar, "evaluate") as advance:
        result = run(detectors, infos, samples, conditions, batch_size, workers, advance)
    table = cross_matrix(result) if matrix else None
    found = None
    if indicators:
        found = _indicators(detectors, infos, samples, batch_size, seed, show_bar)
    settings = {"limit": limit, "seed": seed, "split": split, "batch_size": batch_size,
                "robustness": robustness, "threshold": threshold}  # fmt: skip
    _emit(result, table, settings, output, as_json, found)
    raise typer.Exit(EXIT_SOME_UNREADABLE if result.unreadable else EXIT_OK)


def _emit(
    result: Evaluation,
    table: Matrix | None,
    settings: dict[str, Any],
    output: Path | None,
    as_json: bool,
    indicators: list[Indicators] | None = None,
) -> None:
    """Write the report folder, warnings and unreadable files (stderr), then the summary."""
    from spotfake.evaluate.indicators import format_table
    from spotfake.evaluate.report import summary, write_report

    found = [i.to_dict() for i in indicators] if indicators is not None else None
    if output is not None:
        write_report(result, output, table, settings)
        if found is not None:
            (output / "indicators.json").write_text(json.dumps(found, indent=2) + "\n")
    _report_problems(result, sys.stderr)
    if as_json:
        data = summary(result, table, settings)
        if found is not None:
            data["indicators"] = found
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    print_summary(result, table, sys.stdout)
    for item in indicators or []:
        sys.stdout.write(format_table(item))
    if output is not None:
        also = ", indicators.json" if found is not None else ""
        typer.echo(f"report: {output / 'report.html'} (also report.md, metrics.csv, "
                   f"metrics.json, scores.csv{also})")  # fmt: skip


def _check_indicators(detectors: list[Detector]) -> None:
    """--indicators needs torch models: any other is a usage error, found before any work."""
    from spotfake.evaluate.latents import check_torch_detector

    for detector in detectors:
        try:
            check_torch_detector(detector)
        except TypeError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--indicators'") from exc


def _indicators(
    detectors: list[Detector],
    infos: list[ModelInfo],
    samples: list[DatasetSample],
    batch_size: int,
    seed: int,
    show_bar: bool,
) -> list[Indicators]:
    """Each model's indicators on the clean images of every dataset together."""
    from spotfake.evaluate.indicators import ClusterSettings, latent_indicators

    records = [r for sample in samples for r in sample.records]
    found = []
    for detector, info in zip(detectors, infos, strict=True):
        with progress_bar(len(records), sys.stderr, show_bar, "indicators") as advance:
            found.append(latent_indicators(detector, records, info.name, ClusterSettings(seed=seed),
                                           batch_size=batch_size, progress=advance))  # fmt: skip
    return found


def _split(items: list[str], data: list[str], matrix: bool) -> tuple[list[str], list[str]]:
    """(models, datasets) from the arguments: MODEL DATASET..., or --matrix MODEL... --data."""
    if matrix:
        if not data:
            raise typer.BadParameter("--matrix needs at least one --data DATASET",
                                     param_hint="'--data'")  # fmt: skip
        return items, data
    datasets = items[1:] + data
    if not datasets:
        raise typer.BadParameter("give a model then at least one dataset (or --data DATASET)",
                                 param_hint="MODEL DATASET")  # fmt: skip
    return items[:1], datasets


def _load_models(
    models: list[str], device: Device, threshold: float | None, backend: str = "auto"
) -> tuple[list[Detector], list[ModelInfo]]:
    """The detectors and their labels; a model that cannot be loaded is a usage error."""
    from spotfake.detect import load_detector
    from spotfake.evaluate.protocol import model_info, unique_model_names

    detectors, infos = [], []
    for name in models:
        try:
            detector = load_detector(name, device=device.value, backend=backend)
        except DeviceError as exc:
            raise typer.BadParameter(str(exc), param_hint="'--device'") from exc
        except SpotfakeError as exc:
            raise typer.BadParameter(str(exc), param_hint="MODEL") from exc
        detectors.append(detector)
        infos.append(model_info(detector, name, threshold))
    unique_model_names(infos)
    return detectors, infos


def _open(
    datasets: list[str], limit: int | None, seed: int, workers: int, split: str | None
) -> list[DatasetSample]:
    """The datasets' samples; a missing, unreadable or unlabelled dataset is a usage error."""
    from spotfake.evaluate.protocol import open_datasets

    try:
        samples = open_datasets(datasets, limit=limit, seed=seed, workers=workers, split=split)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise typer.BadParameter(str(exc), param_hint="DATASET") from exc
    for sample in samples:
        if not sample.records:
            where = f" in split {split!r}" if split else ""
            raise typer.BadParameter(
                f"{sample.location}: no labelled images{where} ({sample.files} files); labels "
                "come from real/ and fake/ folders (or GenImage, CNNDetection layouts) or a CSV "
                "listing path,label",
                param_hint="DATASET",
            )
    return samples


def _report_problems(result: Evaluation, stream: IO[str]) -> None:
    """Warnings, then one line per unreadable file (the first few; all are in metrics.json)."""
    for warning in result.warnings:
        stream.write(f"spotfake evaluate: warning: {warning}\n")
    bad = result.unreadable
    for dataset, path, reason in bad[:_SHOWN_UNREADABLE]:
        stream.write(f"spotfake evaluate: {dataset}: unreadable {path}: {reason}\n")
    if len(bad) > _SHOWN_UNREADABLE:
        stream.write(f"spotfake evaluate: ... and {len(bad) - _SHOWN_UNREADABLE} more\n")


def print_summary(result: Evaluation, matrix: Matrix | None, stream: IO[str]) -> None:
    """Per model and dataset the clean per-generator table, the sweeps' overall rows, a matrix."""
    from spotfake.evaluate.perturb import CLEAN

    write = stream.write
    for model in result.models:
        write(f"{model.name} (weights {model.model_hash}, threshold {model.threshold:g})\n")
        for sample, scored in zip(result.datasets, result.scored, strict=True):
            n_fake = int(scored.labels.sum())
            write(f"{sample.name}: {len(scored.records) - n_fake} real, {n_fake} generated "
                  f"scored ({len(scored.unreadable)} unreadable, {sample.unlabelled} "
                  "unlabelled)\n")  # fmt: skip
        rows = [r for r in result.rows if r["model"] == model.name]
        write(_table([r for r in rows if r["condition"] == CLEAN], "generator"))
        swept = [r for r in rows if r["condition"] != CLEAN and r["generator"] == "all"]
        if swept:
            write(_table(swept, "condition"))
    write("best: accuracy at the threshold tuned on this data (an oracle, not deployable)\n")
    if matrix is not None:
        for name, values in (("AP", matrix.ap), ("accuracy", matrix.accuracy)):
            write(_matrix_text(matrix, name, values))


_COLUMNS = (("reals", 6), ("n_real", 6), ("n_fake", 6), ("accuracy", 6), ("real_accuracy", 6),
            ("fake_accuracy", 6), ("ap", 6), ("auc", 6), ("best_threshold_accuracy", 6),
            ("ece", 6))  # fmt: skip
_HEADS = ("reals", "real", "fake", "acc", "r-acc", "f-acc", "AP", "AUC", "best", "ECE")


def _table(rows: list[dict[str, Any]], first: str) -> str:
    """A fixed-width table of rows, keyed by generator (dataset/generator) or condition."""
    several = len({r["dataset"] for r in rows}) > 1

    def key(row: dict[str, Any]) -> str:
        if first == "condition":
            prefix = f"{row['dataset']}:" if several else ""
            return prefix + row["condition"]
        if row["dataset"] == "all":
            return "all datasets"
        return row["generator"] if not several else f"{row['dataset']}/{row['generator']}"

    width = max([len(first), *(len(key(r)) for r in rows)]) + 2
    lines = [f"{first:<{width}}" + "".join(f"{h:>{w + 1}}" for h, (_, w) in
                                           zip(_HEADS, _COLUMNS, strict=True))]  # fmt: skip
    for row in rows:
        cells = "".join(f"{_cell(row[k]):>{w + 1}}" for k, w in _COLUMNS)
        lines.append(f"{key(row):<{width}}{cells}")
    return "\n".join(lines) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _matrix_text(matrix: Matrix, name: str, values: Any) -> str:
    """A matrix as text: models down, test generators across, then the row mean."""
    means = matrix.row_means(values)
    width = max(len(m) for m in matrix.models) + 2
    heads = [*matrix.columns, "mean"]
    lines = [f"{name} matrix", f"{'model':<{width}}" + "".join(f"{h:>{max(len(h), 5) + 2}}"
                                                             for h in heads)]  # fmt: skip
    for model, row, mean in zip(matrix.models, values, means, strict=True):
        cells = [*row, mean]
        lines.append(f"{model:<{width}}" + "".join(
            f"{('n/a' if v != v else f'{v:.3f}'):>{max(len(h), 5) + 2}}"
            for v, h in zip(cells, heads, strict=True)))  # fmt: skip
    return "\n".join(lines) + "\n"


def register(app: typer.Typer) -> None:
    """Add `evaluate` to the spotfake command."""
    app.command("evaluate")(evaluate)
