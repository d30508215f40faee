"""The protocol: per-generator groups with own or shared reals, rows, sweeps and the matrix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spotfake.evaluate.metrics import full_metrics
from spotfake.evaluate.perturb import parse_robustness
from spotfake.evaluate.protocol import (
    ALL,
    ROW_KEYS,
    dataset_name,
    evaluate,
    generator_groups,
    model_info,
    open_datasets,
    training_overlap,
    unique_model_names,
)
from spotfake.evaluate.views import cross_matrix, robustness_curves
from spotfake.records import ImageRecord


def _records(spec: list[tuple[int, str | None]]) -> list[ImageRecord]:
    return [ImageRecord(path=f"{i}.png", label=label, generator=gen)
            for i, (label, gen) in enumerate(spec)]  # fmt: skip


def test_fakes_go_with_their_own_reals_when_the_layout_has_them() -> None:
    records = _records([(0, "a"), (1, "a"), (0, "b"), (1, "b"), (1, "b")])
    groups = {g.generator: g for g in generator_groups(records, "set")}
    assert list(groups) == [ALL, "a", "b"]
    assert groups["a"].reals == "own" and groups["a"].mask.tolist() == [1, 1, 0, 0, 0]
    assert groups["b"].mask.tolist() == [0, 0, 1, 1, 1]
    assert groups[ALL].mask.all()


def test_fakes_share_all_reals_when_their_subset_has_none() -> None:
    records = _records([(0, None), (0, "imagenet"), (1, "sd14"), (1, "sd15"), (1, None)])
    groups = {g.generator: g for g in generator_groups(records, "set")}
    assert groups["sd14"].reals == "shared"
    assert groups["sd14"].mask.tolist() == [1, 1, 1, 0, 0]
    # Top-level fake/ files pair with the top-level real/ files: the same (unnamed) subset.
    assert groups["unnamed"].reals == "own"
    assert groups["unnamed"].mask.tolist() == [1, 0, 0, 0, 1]


def test_a_dataset_without_generator_names_has_the_overall_group_only() -> None:
    groups = generator_groups(_records([(0, None), (1, None)]), "faces")
    assert [(g.dataset, g.generator, g.reals) for g in groups] == [("faces", ALL, ALL)]


def test_limit_samples_per_generator_and_class_with_a_seed(
    tmp_path: Path, dataset_factory: Callable[..., Path]
) -> None:
    root = dataset_factory(tmp_path / "d", {"a/real": 5, "a/fake": 4, "b/fake": 2})
    first = open_datasets([str(root), str(root)], limit=3, seed=1)
    again = open_datasets([str(root)], limit=3, seed=1)[0]
    counts: dict[tuple[Any, Any], int] = {}
    for r in first[0].records:
        counts[(r.generator, r.label)] = counts.get((r.generator, r.label), 0) + 1
    assert counts == {("a", 0): 3, ("a", 1): 3, ("b", 1): 2}
    assert [r.path for r in first[0].records] == [r.path for r in again.records]
    assert first[0].files == 11 and [s.name for s in first] == ["d", "d+"]


def test_split_keeps_one_split_before_sampling(
    tmp_path: Path, dataset_factory: Callable[..., Path]
) -> None:
    layout = {f"g/{s}/{c}": 3 for s in ("train", "val") for c in ("ai", "nature")}
    root = dataset_factory(tmp_path / "genimage", layout)
    sample = open_datasets([str(root)], limit=2, split="val")[0]
    assert len(sample.records) == 4 and {r.split for r in sample.records} == {"val"}
    assert {r.label for r in sample.records} == {0, 1}
    assert open_datasets([str(root)], split="test")[0].records == []


def test_dataset_names() -> None:
    assert dataset_name("/x/faces-hard/") == "faces-hard"
    assert dataset_name("/x/cifake-train.zip!train/") == "cifake-train/train"
    assert dataset_name("list.csv") == "list"


@pytest.fixture
def evaluation(tmp_path: Path, dataset_factory: Callable[..., Path], detector_factory: Any) -> Any:
    one = dataset_factory(tmp_path / "one", {"a/real": 3, "a/fake": 3, "b/real": 2, "b/fake": 3})
    two = dataset_factory(tmp_path / "two", {"real": 3, "fake": 3})
    detectors = [detector_factory("bright"), detector_factory("strict", threshold=0.9)]
    detectors[0].spec.training = {"sources": {"a-real": {"path": "one/a/real", "label": 0}}}
    models = [model_info(d, d.spec.name, None) for d in detectors]
    samples = open_datasets([str(one), str(two)])
    conditions = parse_robustness("jpeg=90/50")
    return evaluate(detectors, models, samples, conditions, batch_size=4)


def test_rows_cover_every_model_group_and_condition(evaluation: Any) -> None:
    rows = evaluation.rows
    # Per model: one (all, a, b) x 3 conditions, two (all) x 3, both datasets together x 3.
    assert len(rows) == 2 * (3 * 3 + 1 * 3 + 3)
    assert all(tuple(row) == ROW_KEYS for row in rows)
    row = next(r for r in rows if r["model"] == "strict" and r["dataset"] == "one"
               and r["generator"] == "b" and r["condition"] == "clean")  # fmt: skip
    scored, groups = evaluation.scored[0], evaluation.groups[0]
    mask = next(g for g in groups if g.generator == "b").mask
    expected = full_metrics(scored.labels[mask], scored.scores[1, mask, 0], 0.9)
    assert {k: row[k] for k in expected} == expected
    assert row["reals"] == "own" and row["threshold"] == 0.9 and row["n"] == 5
    together = [r for r in rows if r["dataset"] == ALL and r["model"] == "bright"]
    assert [r["n"] for r in together] == [17, 17, 17]


def test_robustness_curves_run_from_clean_to_most_damaged(evaluation: Any) -> None:
    curves = robustness_curves(evaluation.rows, "bright", "jpeg")
    assert next(iter(curves)) == "all datasets"
    assert "one/a" in curves and "two (all)" in curves
    assert [level for level, _, _ in curves["one/a"]] == [None, 90.0, 50.0]


def test_cross_matrix_has_a_column_per_generator(evaluation: Any) -> None:
    matrix = cross_matrix(evaluation)
    assert matrix.models == ["bright", "strict"]
    assert matrix.columns == ["one/a", "one/b", "two"]
    assert matrix.ap.shape == matrix.accuracy.shape == (2, 3)
    # One threshold or another, the same scores: AP agrees, accuracy does not.
    assert np.allclose(matrix.ap[0], matrix.ap[1])
    assert not np.allclose(matrix.accuracy[0], matrix.accuracy[1])
    means = matrix.row_means(matrix.accuracy)
    assert means[0] == pytest.approx(matrix.accuracy[0].mean())
    data = matrix.to_dict()
    assert data["ap_row_mean"][0] == pytest.approx(matrix.ap[0].mean())


def test_training_overlap_is_flagged(evaluation: Any) -> None:
    assert evaluation.models[0].trained_on == ["one/a/real"]
    assert len(evaluation.warnings) == 1
    assert evaluation.warnings[0].startswith("bright was trained on folders named one/a/real; 3")
    assert evaluation.to_dict()["warnings"] == evaluation.warnings


def test_training_overlap_by_path_names() -> None:
    trained = ["faces-hard/real", "faces-hard/fake", "cifake-train.zip!train/REAL"]
    paths = ["/d/faces-hard/real/1.jpg", "/d/faces-hard/real/sub/2.jpg", "/d/faces-hard/x.jpg",
             "/d/cifake-train.zip!train/REAL/3.jpg", "/d/cifake-train.zip!test/REAL/4.jpg",
             "/d/imagenet-real/5.jpg", "/d/other/faces-hard/fake/6.png"]  # fmt: skip
    assert training_overlap(trained, paths) == {
        "faces-hard/real": 2, "faces-hard/fake": 1, "cifake-train.zip!train/REAL": 1,
    }  # fmt: skip
    assert training_overlap(trained, paths[5:6]) == {}


def test_clashing_model_names_are_made_distinct() -> None:
    from spotfake.evaluate.protocol import ModelInfo

    models = [ModelInfo("net", src, "h", 0.5, "cnn") for src in ("a/x.safetensors",
              "b/y.safetensors", "b/y.safetensors", "solo")]  # fmt: skip
    models[3].name = "other"
    unique_model_names(models)
    assert [m.name for m in models] == ["net (x)", "net (y)", "net (y) #3", "other"]
