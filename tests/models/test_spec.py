"""DetectorSpec JSON: round trips, specs from before multi-crop, the input policy's checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spotfake.models.spec import DetectorSpec, InputPolicy

OLD_SPEC = {  # as written before InputPolicy had crops and aggregate
    "architecture": "cnn-tiny",
    "config": {"crop": 64},
    "input": {"crop": 64, "mean": [0.5, 0.5, 0.5], "resize": None, "std": [0.25, 0.25, 0.25]},
    "name": None,
    "threshold": 0.4,
    "training": {},
    "version": "0",
}


def test_old_spec_loads_with_one_centre_crop(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps(OLD_SPEC))
    spec = DetectorSpec.read(path)
    assert spec.input.crops == 1 and spec.input.aggregate == "mean-logit"
    assert spec.input.mean == (0.5, 0.5, 0.5) and spec.threshold == 0.4


def test_defaults_are_not_written_so_old_specs_stay_identical() -> None:
    spec = DetectorSpec.from_dict(OLD_SPEC)
    assert json.loads(spec.to_json()) == OLD_SPEC
    assert DetectorSpec.from_dict(json.loads(spec.to_json())) == spec


@pytest.mark.parametrize(
    ("crops", "aggregate"), [(4, "mean-logit"), (9, "max-logit"), (1, "max-logit")]
)
def test_round_trip_with_the_new_fields(crops: int, aggregate: str, tmp_path: Path) -> None:
    spec = DetectorSpec("cnn-tiny", input=InputPolicy(crop=64, crops=crops, aggregate=aggregate))
    written = json.loads(spec.to_json())
    assert written["input"].get("crops", 1) == crops
    assert written["input"].get("aggregate", "mean-logit") == aggregate
    path = tmp_path / "spec.json"
    path.write_text(spec.to_json())
    assert DetectorSpec.read(path) == spec


def test_with_crops_copies() -> None:
    spec = DetectorSpec("cnn-tiny", input=InputPolicy(crop=64))
    more = spec.with_crops(4)
    assert more.input.crops == 4 and spec.input.crops == 1
    assert more.input.crop == 64 and more.architecture == spec.architecture


@pytest.mark.parametrize(
    "policy",
    [
        {"crops": 0},
        {"crops": -2},
        {"crops": 2.0},
        {"crops": True},
        {"crops": 4, "crop": None},
        {"aggregate": "median"},
        {"crops": 4, "crops_min_side": -1},
        {"crops": 4, "crops_min_side": 7.5},
    ],
)
def test_bad_policies_are_refused(policy: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        InputPolicy(**policy)  # type: ignore[arg-type]


def test_min_side_round_trips_and_stays_quiet_at_zero(tmp_path: Path) -> None:
    gated = DetectorSpec("cnn-tiny", input=InputPolicy(crop=64, crops=4, crops_min_side=128))
    assert json.loads(gated.to_json())["input"]["crops_min_side"] == 128
    assert DetectorSpec.from_dict(json.loads(gated.to_json())).input.crops_min_side == 128
    plain = DetectorSpec("cnn-tiny", input=InputPolicy(crop=64, crops=4))
    assert "crops_min_side" not in json.loads(plain.to_json())["input"]
    # with_crops without a side applies the windows to every image
    assert gated.with_crops(9).input.crops_min_side == 0
    assert gated.with_crops(9, min_side=300).input.crops_min_side == 300


def test_whole_image_policy_keeps_one_view() -> None:
    assert InputPolicy(crop=None).crops == 1
    with pytest.raises(ValueError, match="needs a crop size"):
        DetectorSpec("spectral-logreg", input=InputPolicy(crop=None)).with_crops(2)
