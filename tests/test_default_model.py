"""The shipped default model on images it never trained on (../shared/data, skipped if absent).

The validation split is decided by a hash of each file name (spotfake.data.sources.split_of), so
these images were held out of training; SD 2.1 was held out as a whole.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import spotfake
from spotfake.data.sources import Example, list_items, load_examples
from spotfake.evaluate.metrics import detection_metrics
from spotfake.evaluate.shortcuts import shortcut_conditions, shortcut_report
from spotfake.train.config import load_config

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
pytestmark = pytest.mark.skipif(
    not DATA.is_dir(),
    reason=f"shared data not found at {DATA} (put ../shared/data beside the repo)",
)


def _held_out(per_source: int) -> list[Example]:
    cfg = load_config(REPO / "configs" / "default.yaml")
    items = []
    for source in cfg.data.sources:
        val = [
            i
            for i in list_items(source, DATA, cfg.data.val_fraction, cfg.data.split_rule)
            if i.split == "val"
        ]
        items += val[:per_source]
    sd21 = next(s for s in cfg.data.heldout if s.name == "sd21")
    items += list_items(sd21, DATA, 0.0)[:per_source]
    return load_examples(items)


@pytest.fixture(scope="module")
def examples() -> list[Example]:
    return _held_out(per_source=20)


@pytest.fixture(scope="module")
def detector() -> spotfake.Detector:
    return spotfake.load_detector(device="cpu")


def test_separates_held_out_images(detector: spotfake.Detector, examples: list[Example]) -> None:
    labels = np.array([e.label for e in examples])
    metrics = detection_metrics(labels, detector.score([e.pixels for e in examples]))
    assert metrics["auc"] >= 0.95, metrics
    assert metrics["real_accuracy"] >= 0.85 and metrics["fake_accuracy"] >= 0.85, metrics


def test_does_not_read_jpeg_quality(detector: spotfake.Detector, examples: list[Example]) -> None:
    """Re-encoding the reals at the fakes' quality (75) must not turn them into fakes."""
    labels = np.array([e.label for e in examples])
    conditions = shortcut_conditions(real_q=96, fake_q=75, size=128)
    report = shortcut_report(detector.score, [e.pixels for e in examples], labels, conditions)
    swapped = report["reals re-encoded at q75 (the fakes' quality)"]
    assert swapped["auc"] >= 0.93 and swapped["real_accuracy"] >= 0.8, report
