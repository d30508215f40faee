"""Golden figures of the shipped default model: its weights hash and its scores on examples/.

Any change to the weights, the spec (crop, windows, threshold) or the preprocessing moves these,
and a change meant to leave results alone must not. When the model is retrained on purpose,
update the figures here together with the model card.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import spotfake

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

MODEL_HASH = "07554753e41c"
THRESHOLD = 0.9944400787353517
# Scores measured with `spotfake detect examples/` at the hash above. Tolerance 1e-3: float32
# sums differ across BLAS builds and thread counts by about 1e-6; any change of model, crop or
# decoding moves these by far more.
SCORES = {
    "Alessio-Albi.webp": 0.702578,
    "Ansel-Adams.webp": 0.726106,
    "astronaut.png": 0.988615,
    "chelsea.png": 0.711402,
    "coffee.png": 0.536538,
    "rocket.jpg": 0.153464,
    "sd15-sample.png": 0.819086,
}
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def detector() -> spotfake.Detector:
    return spotfake.load_detector(device="cpu")


def test_shipped_weights_are_the_documented_ones(detector: spotfake.Detector) -> None:
    assert detector.model_hash == MODEL_HASH
    assert detector.spec.threshold == pytest.approx(THRESHOLD, abs=1e-12)


def test_scores_on_the_examples(detector: spotfake.Detector) -> None:
    assert sorted(p.name for p in EXAMPLES.iterdir() if p.suffix != ".md") == sorted(SCORES)
    records = spotfake.predict(detector, [EXAMPLES / name for name in SCORES])
    got = {Path(r.path).name: r.score for r in records}
    for name, expected in SCORES.items():
        assert got[name] == pytest.approx(expected, abs=TOLERANCE), (name, got[name])
