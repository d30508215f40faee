"""The shipped default model on images it never trained on (../shared/data, skipped if absent).

Its recipe (configs/default.yaml) splits every source by group (spotfake.data.groups): these are
the validation images of the recipe's sources that ../shared holds (the others are made by
scripts/prepare_data.sh). Stable Diffusion 2.1 was held out whole.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import spotfake
from spotfake.data.sources import Example, Item, SourceConfig, list_items, load_examples
from spotfake.evaluate.metrics import detection_metrics
from spotfake.evaluate.shortcuts import shortcut_conditions, shortcut_report
from spotfake.train.config import TrainConfig

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

AUC_FLOOR = 0.95  # measured 0.975 (20 validation images per shared source, 20 SD 2.1)

pytestmark = [
    pytest.mark.slow,  # about 90 s: scores a few hundred shared images with the default model
    pytest.mark.skipif(
        not DATA.is_dir(),
        reason=f"shared data not found at {DATA} (put ../shared/data beside the repo)",
    ),
]


def _validation(source: SourceConfig, recipe: TrainConfig) -> list[Item]:
    items = list_items(source, DATA, recipe.data.val_fraction, recipe.data.split_rule)
    return [i for i in items if i.split == "val"]


@pytest.fixture(scope="module")
def examples(
    default_recipe: TrainConfig, default_shared_sources: list[SourceConfig]
) -> list[Example]:
    """20 validation images of each shared source, and 20 SD 2.1 images."""
    items = [i for s in default_shared_sources for i in _validation(s, default_recipe)[:20]]
    sd21 = next(s for s in default_recipe.data.heldout if s.name == "sd21")
    sd21 = SourceConfig(sd21.name, sd21.path.removeprefix("shared/"), sd21.label)
    return load_examples(items + list_items(sd21, DATA, 0.0)[:20])


@pytest.fixture(scope="module")
def detector() -> spotfake.Detector:
    return spotfake.load_detector(device="cpu")


def test_separates_held_out_images(detector: spotfake.Detector, examples: list[Example]) -> None:
    labels = np.array([e.label for e in examples])
    metrics = detection_metrics(labels, detector.score([e.pixels for e in examples]))
    assert metrics["auc"] >= AUC_FLOOR, metrics


def test_flags_at_most_its_share_of_each_real_sources_validation_images(
    detector: spotfake.Detector,
    default_recipe: TrainConfig,
    default_shared_sources: list[SourceConfig],
) -> None:
    """The threshold in the spec was calibrated on these images: at most max_real_flag of each
    real source flagged (one image of slack for arithmetic that differs across machines)."""
    assert default_recipe.calibration is not None
    allowed = default_recipe.calibration.max_real_flag
    threshold = detector.spec.threshold
    for source in (s for s in default_shared_sources if s.label == 0):
        reals = load_examples(_validation(source, default_recipe))
        flagged = float((detector.score([e.pixels for e in reals]) >= threshold).mean())
        assert flagged <= allowed + 1 / len(reals), (source.name, flagged, threshold)


def test_does_not_read_jpeg_quality(detector: spotfake.Detector, examples: list[Example]) -> None:
    """Re-encoding the reals at the fakes' quality (75) must not turn them into fakes."""
    labels = np.array([e.label for e in examples])
    conditions = shortcut_conditions(real_q=96, fake_q=75, size=128)
    pixels = [e.pixels for e in examples]
    report = shortcut_report(detector.score, pixels, labels, conditions, detector.spec.threshold)
    swapped = report["reals re-encoded at q75 (the fakes' quality)"]
    assert swapped["auc"] >= report["as stored"]["auc"] - 0.03, report
    assert swapped["real_accuracy"] >= report["as stored"]["real_accuracy"] - 0.05, report
