"""Scoring streams every record through every condition and reports unreadable files."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from spotfake.data.sources import load_pixels
from spotfake.evaluate.perturb import Condition, parse_robustness
from spotfake.evaluate.protocol import open_datasets
from spotfake.evaluate.scoring import score_records

LAYOUT = {"genA/real": 3, "genA/fake": 3, "genB/fake": 2, "real": 2}


@pytest.fixture
def records(tmp_path: Path, dataset_factory: Callable[..., Path]) -> list[Any]:
    root = dataset_factory(tmp_path / "data", LAYOUT, bad=["genB/fake/broken.png"])
    return open_datasets([str(root)])[0].records


def test_every_condition_is_scored_and_bad_files_reported(
    records: list[Any], mean_detector: Any
) -> None:
    conditions = parse_robustness("jpeg=50,resize=0.5")
    scored = score_records([mean_detector], records, conditions, batch_size=4)
    assert scored.scores.shape == (1, 10, 3)
    assert [Path(p).name for p, _ in scored.unreadable] == ["broken.png"]
    assert "not an image" in scored.unreadable[0][1]
    assert scored.labels.tolist() == [r.label for r in scored.records]
    clean = [mean_detector.score([load_pixels(r.path)[0]])[0] for r in scored.records]
    assert np.allclose(scored.scores[0, :, 0], clean)
    assert max(mean_detector.calls) <= 4


def test_batch_size_does_not_change_scores(records: list[Any], detector_factory: Any) -> None:
    conditions = [Condition("clean"), Condition("blur", 1.0)]
    small = score_records([detector_factory()], records, conditions, batch_size=1, workers=1)
    large = score_records([detector_factory()], records, conditions, batch_size=32, workers=3)
    assert np.array_equal(small.scores, large.scores)
    assert [r.path for r in small.records] == [r.path for r in large.records]


def test_several_models_score_the_same_images(records: list[Any], detector_factory: Any) -> None:
    progress: list[int] = []
    scored = score_records(
        [detector_factory("a"), detector_factory("b")], records, [Condition("clean")],
        progress=progress.append,
    )  # fmt: skip
    assert scored.scores.shape == (2, 10, 1)
    assert np.array_equal(scored.scores[0], scored.scores[1])
    assert sum(progress) == len(records) == 11


def test_zip_members_are_read_in_place(
    tmp_path: Path, make_image: Callable[..., np.ndarray], mean_detector: Any
) -> None:
    archive = tmp_path / "set.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, (folder, level) in enumerate([("real", 50), ("fake", 200)] * 2):
            buffer = io.BytesIO()
            Image.fromarray(make_image(i, level)).save(buffer, format="PNG")
            zf.writestr(f"test/{folder}/{i}.png", buffer.getvalue())
        zf.writestr("test/fake/bad.png", b"garbage")
    sample = open_datasets([f"{archive}!test/"])[0]
    assert sample.name == "set/test"
    scored = score_records([mean_detector], sample.records, [Condition("clean")])
    assert len(scored.records) == 4 and len(scored.unreadable) == 1
    assert np.array_equal(scored.scores[0, :, 0] >= 0.5, scored.labels == 1)
