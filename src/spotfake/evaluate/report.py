"""The evaluation as files: metrics.csv/json, scores.csv, report.md and report.html with plots.

scores.csv holds every score (model, dataset, path, label, generator, condition), so anyone can
recompute any figure; metrics.csv one row per model x dataset x generator x condition.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from spotfake.evaluate.gallery import pick_galleries, safe_name, write_thumbnails
from spotfake.evaluate.perturb import CLEAN, GRIDS, kinds_of
from spotfake.evaluate.protocol import ALL, ROW_KEYS, Evaluation
from spotfake.evaluate.views import Matrix, robustness_curves, series_name
from spotfake.reporting import Section, to_html, to_markdown

NOTES = {
    "reals": "own: a generator's fakes against the reals of the same generator subset; "
    "shared: against every real of the dataset (the layout gives the generator no reals)",
    "best_threshold_accuracy": "oracle: the threshold that maximises accuracy on this very test "
    "data (an upper bound on what a tuned threshold reaches, not a deployable figure)",
    "ece": "expected calibration error: 15 equal-width bins of the predicted class's confidence "
    "max(p, 1 - p), |accuracy - confidence| weighted by the bin's share",
    "perturbations": "are applied to every image of both classes before the model's own "
    "preprocessing (its centre crop); JPEG via Pillow at 4:2:0, resize with Pillow's bicubic "
    "filter, Gaussian blur of sigma pixels",
}
_NOTE_NAMES = {"reals": "Reals", "best_threshold_accuracy": "Best-threshold accuracy",
               "ece": "ECE"}  # fmt: skip
_TABLE_KEYS = ("n_real", "n_fake", "accuracy", "real_accuracy", "fake_accuracy", "ap", "auc",
               "best_threshold_accuracy", "ece")  # fmt: skip
_TABLE_HEAD = ["reals", "real", "fake", "acc", "real acc", "fake acc", "AP", "AUC",
               "best-thr acc (oracle)", "ECE"]  # fmt: skip


def summary(
    evaluation: Evaluation, matrix: Matrix | None = None, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON summary (metrics.json and --json): settings, notes, rows, matrix, unreadable."""
    data = {"settings": settings or {}, "notes": NOTES, **evaluation.to_dict()}
    if matrix is not None:
        data["matrix"] = matrix.to_dict()
    return data


def write_report(
    evaluation: Evaluation,
    folder: Path,
    matrix: Matrix | None = None,
    settings: dict[str, Any] | None = None,
    per_side: int = 8,
) -> None:
    """Write every output file into folder (created when missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_rows(evaluation.rows, folder / "metrics.csv")
    write_scores(evaluation, folder / "scores.csv")
    data = summary(evaluation, matrix, settings)
    (folder / "metrics.json").write_text(json.dumps(data, indent=2) + "\n")
    sections = _result_sections(evaluation, folder)
    if matrix is not None:
        _write_matrix(matrix, folder)
        sections.insert(0, _matrix_section(matrix))
    else:
        sections.append(_gallery_section(evaluation, folder, per_side))
    sections.append(_unreadable_section(evaluation))
    title = _title(evaluation)
    intro = _intro(evaluation, settings or {})
    (folder / "report.md").write_text(to_markdown(title, intro, sections))
    (folder / "report.html").write_text(to_html(title, intro, sections))


def write_rows(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """metrics.csv: one row per model, dataset, generator and condition (empty for None)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(ROW_KEYS)
        for row in rows:
            writer.writerow(["" if row.get(k) is None else row[k] for k in ROW_KEYS])


def write_scores(evaluation: Evaluation, path: Path) -> None:
    """scores.csv: every score of every model on every image under every condition."""
    with path.open("w", newline="", encoding="utf-8", errors="surrogateescape") as handle:
        writer = csv.writer(handle)
        writer.writerow(["model", "dataset", "path", "label", "generator", "condition", "score"])
        for sample, scored in zip(evaluation.datasets, evaluation.scored, strict=True):
            names = [c.name for c in scored.conditions]
            for m, model in enumerate(evaluation.models):
                for i, record in enumerate(scored.records):
                    for c, name in enumerate(names):
                        writer.writerow([model.name, sample.name, record.path, record.label,
                                         record.generator or "", name,
                                         f"{scored.scores[m, i, c]:.6f}"])  # fmt: skip


def _write_matrix(matrix: Matrix, folder: Path) -> None:
    """matrix-ap.csv, matrix-accuracy.csv (models x columns + mean), matrix.json, matrix.png."""
    from spotfake.evaluate.plots import plot_matrix

    for name, values in (("ap", matrix.ap), ("accuracy", matrix.accuracy)):
        with (folder / f"matrix-{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["model", *matrix.columns, "mean"])
            for model, row, mean in zip(matrix.models, values, Matrix.row_means(values),
                                        strict=True):  # fmt: skip
                writer.writerow([model, *[_csv_number(v) for v in row], _csv_number(mean)])
    (folder / "matrix.json").write_text(json.dumps(matrix.to_dict(), indent=2) + "\n")
    plot_matrix(matrix, folder / "matrix.png")


def _csv_number(value: float) -> str:
    return "" if value != value else f"{value:.6f}"


# -- sections ---------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _clean_table(evaluation: Evaluation, model: str) -> tuple[str, list[str], list[list[str]]]:
    """Per dataset and generator, the clean condition: every metric."""
    several = len(evaluation.datasets) > 1
    rows = [
        [series_name(r["dataset"], r["generator"], several), r["reals"]]
        + [_fmt(r[k]) for k in _TABLE_KEYS]
        for r in evaluation.rows
        if r["model"] == model and r["condition"] == CLEAN
    ]
    return f"{model}: clean images", ["group", *_TABLE_HEAD], rows


def _result_sections(evaluation: Evaluation, folder: Path) -> list[Section]:
    """Per model: the clean table with ROC and reliability plots, then one section per sweep."""
    from spotfake.evaluate.plots import plot_robustness

    sections = []
    single = len(evaluation.models) == 1
    for m, model in enumerate(evaluation.models):
        suffix = "" if single else f"-{safe_name(model.name)}"
        sections.append(_model_section(evaluation, m, folder, suffix))
        for kind in kinds_of(evaluation.conditions):
            sections.append(_sweep_section(evaluation, model.name, kind, folder, suffix))
            plot_robustness(robustness_curves(evaluation.rows, model.name, kind), kind,
                            folder / f"robustness-{kind}{suffix}.png",
                            f"{model.name}: {kind} sweep")  # fmt: skip
    return sections


def _model_section(evaluation: Evaluation, m: int, folder: Path, suffix: str) -> Section:
    """One model on clean images: the table, ROC curves per dataset, the reliability diagram."""
    from spotfake.evaluate.plots import plot_reliability, plot_roc

    model = evaluation.models[m].name
    section = Section(f"Results: {model}", tables=[_clean_table(evaluation, model)])
    calibration = {}
    for sample, scored, groups in zip(evaluation.datasets, evaluation.scored,
                                      evaluation.groups, strict=True):  # fmt: skip
        curves = {
            series_name(sample.name, g.generator, False): (
                scored.labels[g.mask], scored.scores[m, g.mask, 0])
            for g in groups
        }  # fmt: skip
        name = f"roc-{safe_name(sample.name)}{suffix}.png"
        plot_roc(curves, folder / name, f"{model} on {sample.name} (clean)")
        section.images.append((name, f"ROC curves on {sample.name}, per generator"))
        calibration[sample.name] = (scored.labels, scored.scores[m, :, 0])
    name = f"calibration{suffix}.png"
    plot_reliability(calibration, folder / name, f"{model}: calibration on clean images")
    section.images.append((name, "Reliability diagram: accuracy against confidence (ECE bins)"))
    return section


def _sweep_section(
    evaluation: Evaluation, model: str, kind: str, folder: Path, suffix: str
) -> Section:
    """One sweep: the overall rows per level, and the plot of every generator."""
    top = ALL if len(evaluation.datasets) > 1 else evaluation.datasets[0].name
    rows = [
        [r["condition"], *[_fmt(r[k]) for k in _TABLE_KEYS[2:]]]
        for r in evaluation.rows
        if r["model"] == model and r["dataset"] == top and r["generator"] == ALL
        and r["perturbation"] in (CLEAN, kind)
    ]  # fmt: skip
    levels = "/".join(f"{v:g}" for v in GRIDS[kind])
    return Section(
        f"Robustness: {kind} ({model})",
        text=[f"Perturbations {NOTES['perturbations']} (the full {kind} grid: {levels})."],
        tables=[(f"{'all datasets' if top == ALL else top}, all generators",
                 ["condition", *_TABLE_HEAD[3:]], rows)],
        images=[(f"robustness-{kind}{suffix}.png", f"Accuracy and AP against {kind} level")],
    )  # fmt: skip


def _matrix_section(matrix: Matrix) -> Section:
    """The cross-generator matrices as tables (with row means) and the heatmap."""
    tables = []
    for name, values in (("AP", matrix.ap), ("accuracy", matrix.accuracy)):
        rows = [[model, *[_fmt(None if v != v else float(v)) for v in [*row, mean]]]
                for model, row, mean in zip(matrix.models, values, Matrix.row_means(values),
                                            strict=True)]  # fmt: skip
        tables.append((f"{name} (clean images)", ["model", *matrix.columns, "mean"], rows))
    return Section(
        "Cross-generator matrix",
        text=["Rows: models; columns: test generators (own or shared reals as the layout "
              "allows); cells on clean images at each model's threshold; mean over the row."],
        tables=tables,
        images=[("matrix.png", "AP and accuracy per model and test generator")],
    )  # fmt: skip


def _gallery_section(evaluation: Evaluation, folder: Path, per_side: int) -> Section:
    """Galleries of the (only) model: most confident mistakes and correct calls per generator."""
    model = evaluation.models[0]
    galleries = [
        gallery
        for sample, scored in zip(evaluation.datasets, evaluation.scored, strict=True)
        for gallery in pick_galleries(scored, sample.name, model.threshold, 0, per_side)
    ]
    write_thumbnails(galleries, folder)
    text = [f"Clean images; confidence is the distance of the score from the threshold "
            f"{model.threshold:g}. Up to {per_side} each, half real and half generated when "
            "possible."]  # fmt: skip
    return Section("Galleries", text=text, galleries=galleries)


def _unreadable_section(evaluation: Evaluation) -> Section:
    """The files that could not be read (first 200) and why."""
    bad = evaluation.unreadable
    rows = [[d, p, r] for d, p, r in bad[:200]]
    text = [f"{len(bad)} unreadable files (listed in metrics.json)." if bad else "None."]
    tables = [("Unreadable files", ["dataset", "path", "reason"], rows)] if rows else []
    return Section("Unreadable files", text=text, tables=tables)


def _title(evaluation: Evaluation) -> str:
    models = ", ".join(m.name for m in evaluation.models)
    return f"Evaluation: {models} on {', '.join(d.name for d in evaluation.datasets)}"


def _intro(evaluation: Evaluation, settings: dict[str, Any]) -> list[str]:
    """Models, datasets with their counts, the sampling, and how to read the figures."""
    lines = [
        f"Model {m.name} ({m.architecture}, weights {m.model_hash}, threshold {m.threshold:g}, "
        f"from {m.source})."
        for m in evaluation.models
    ]
    for sample, scored in zip(evaluation.datasets, evaluation.scored, strict=True):
        n_fake = int(scored.labels.sum())
        lines.append(
            f"Dataset {sample.name} ({sample.location}): {sample.files} files, "
            f"{len(sample.records)} sampled, {len(scored.records) - n_fake} real and {n_fake} "
            f"generated scored, {len(scored.unreadable)} unreadable, {sample.unlabelled} "
            "unlabelled left out."
        )
    lines += [f"Warning: {w}." for w in evaluation.warnings]
    if settings.get("split"):
        lines.append(f"Only images of the {settings['split']!r} split.")
    if settings.get("limit"):
        lines.append(f"At most {settings['limit']} images per generator and class, drawn with "
                     f"seed {settings.get('seed', 0)}.")  # fmt: skip
    lines += [f"{_NOTE_NAMES[key]}: {text}." for key, text in NOTES.items() if key in _NOTE_NAMES]
    return lines


# -- rendering --------------------------------------------------------------------------------
