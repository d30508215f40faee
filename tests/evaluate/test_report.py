"""The report folder: CSV and JSON that recompute, Markdown and HTML with plots and galleries."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from spotfake.evaluate.metrics import full_metrics
from spotfake.evaluate.perturb import parse_robustness
from spotfake.evaluate.protocol import evaluate, model_info, open_datasets
from spotfake.evaluate.report import summary, write_report
from spotfake.evaluate.views import cross_matrix


def _run(folder: Path, factory: Any, names: list[str], datasets: list[str]) -> Any:
    detectors = [factory(name) for name in names]
    models = [model_info(d, name, None) for d, name in zip(detectors, names, strict=True)]
    samples = open_datasets(datasets)
    return evaluate(detectors, models, samples, parse_robustness("blur=1/2"), batch_size=4)


@pytest.fixture
def data(tmp_path: Path, dataset_factory: Callable[..., Path]) -> Path:
    layout = {"a/real": 3, "a/fake": 3, "b/real": 2, "b/fake": 3}
    return dataset_factory(tmp_path / "data", layout, bad=["a/fake/bad.png"])


def test_report_files_recompute_and_link(tmp_path: Path, data: Path, detector_factory: Any) -> None:
    evaluation = _run(tmp_path, detector_factory, ["mean"], [str(data)])
    out = tmp_path / "report"
    write_report(evaluation, out, settings={"limit": None, "seed": 0})
    with (out / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 3 * 3  # (all, a, b) x (clean, blur 1, blur 2)
    with (out / "scores.csv").open() as handle:
        scores = list(csv.DictReader(handle))
    assert len(scores) == 11 * 3 and set(scores[0]) >= {"path", "label", "condition", "score"}
    # Anyone can recompute a row from scores.csv.
    clean_b = [s for s in scores if s["condition"] == "clean" and s["generator"] == "b"]
    labels = np.array([int(s["label"]) for s in clean_b])
    again = full_metrics(labels, np.array([float(s["score"]) for s in clean_b]), 0.5)
    row = next(r for r in rows if r["generator"] == "b" and r["condition"] == "clean")
    assert float(row["auc"]) == pytest.approx(again["auc"])
    assert float(row["accuracy"]) == pytest.approx(again["accuracy"])
    data_json = json.loads((out / "metrics.json").read_text())
    assert data_json["unreadable"][0]["path"].endswith("bad.png")
    assert "oracle" in data_json["notes"]["best_threshold_accuracy"]
    for name in ("roc-data.png", "robustness-blur.png", "calibration.png"):
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.width > 300
    thumbs = sorted((out / "gallery").glob("*.jpg"))
    assert thumbs and all(max(Image.open(t).size) <= 160 for t in thumbs)
    markdown, page = (out / "report.md").read_text(), (out / "report.html").read_text()
    for thumb in thumbs:
        assert f"gallery/{thumb.name}" in markdown and f"gallery/{thumb.name}" in page
    assert "![ROC curves on data, per generator](roc-data.png)" in markdown
    assert "| a | own | 3 | 3 |" in markdown and "bad.png" in markdown


def test_galleries_show_the_most_confident_calls(
    tmp_path: Path, data: Path, detector_factory: Any
) -> None:
    from spotfake.evaluate.gallery import pick_galleries

    evaluation = _run(tmp_path, detector_factory, ["mean"], [str(data)])
    galleries = pick_galleries(evaluation.scored[0], "data", 0.5, per_side=2)
    assert [g.group for g in galleries] == ["a", "b"]
    a = galleries[0]
    # make_dataset puts one image per folder on the wrong side: one real, one fake mistake.
    assert sorted(t.label for t in a.mistakes) == [0, 1]
    assert sorted(t.label for t in a.correct) == [0, 1]
    for tile in a.mistakes:
        assert (tile.score >= 0.5) != (tile.label == 1)
    scores = evaluation.scored[0].scores[0, :, 0]
    fakes = [s for r, s in zip(evaluation.scored[0].records, scores, strict=True)
             if r.generator == "a" and r.label == 1 and s >= 0.5]  # fmt: skip
    assert max(t.score for t in a.correct if t.label == 1) == pytest.approx(max(fakes))


def test_matrix_files(tmp_path: Path, data: Path, detector_factory: Any) -> None:
    evaluation = _run(tmp_path, detector_factory, ["m1", "m2"], [str(data)])
    matrix = cross_matrix(evaluation)
    out = tmp_path / "matrix"
    write_report(evaluation, out, matrix)
    with (out / "matrix-ap.csv").open() as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["model", "a", "b", "mean"] and [r[0] for r in table[1:]] == ["m1", "m2"]
    assert json.loads((out / "matrix.json").read_text())["columns"] == ["a", "b"]
    assert (out / "matrix.png").stat().st_size > 0
    assert (out / "roc-data-m1.png").is_file() and (out / "robustness-blur-m2.png").is_file()
    assert "Cross-generator matrix" in (out / "report.md").read_text()
    assert summary(evaluation, matrix)["matrix"]["models"] == ["m1", "m2"]
