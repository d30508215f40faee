"""`spotfake attack`: the saved files fool the detector as reported, the listings pair them with
their clean copies, bad files are reported and the batch goes on."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from spotfake.cli import main
from spotfake.data.groups import group_key
from spotfake.io import read_image
from spotfake.models.base import load_detector_file
from spotfake.models.registry import create_detector


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


def test_attack_writes_files_that_score_as_reported(
    toy_detector: Path, toy_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    code = main(["attack", str(toy_detector), str(toy_folder), "-o", str(out),
                 "--attacks", "fgsm,pgd,deepfool", "--eps", "4"])  # fmt: skip
    assert code == 1  # the corrupt file is reported, the rest is done
    assert "broken.png" in capsys.readouterr().err
    detector = load_detector_file(toy_detector)
    rows = _rows(out / "manifest.csv")
    attacked = [r for r in rows if r["attack"] != "clean"]
    assert {r["attack"] for r in attacked} == {"fgsm-e4", "pgd-e4", "deepfool"}
    assert len(attacked) == 3 * 4  # the four readable fakes, each attack
    assert all(r["target"] == "real" and r["label"] == "1" for r in attacked)
    saved = detector.score([read_image(out / r["path"]).pixels for r in attacked])
    assert saved == pytest.approx([float(r["score"]) for r in attacked], abs=1e-5)
    clean = {r["source"]: r for r in rows if r["attack"] == "clean"}
    assert len(clean) == 9  # every readable image has a lossless clean copy
    for row in clean.values():
        original = read_image(row["source"]).pixels
        assert np.array_equal(read_image(out / row["path"]).pixels, original)
    for row in attacked:  # an attacked file and its clean copy are one group, one split
        twin = clean[row["source"]]
        assert group_key(row["path"]) == group_key(twin["path"])
        assert row["split"] == twin["split"]
    summary = json.loads((out / "summary.json").read_text())
    pgd = next(a for a in summary["attacks"] if a["attack"] == "pgd-e4")
    assert pgd["auc_after"] < pgd["auc_before"]
    assert pgd["linf"] <= 4
    adversarial = _rows(out / "adversarial.csv")
    assert sum(r["label"] == "1" for r in adversarial) == 12
    assert sum(r["label"] == "0" for r in adversarial) == 9


def test_attack_both_directions(toy_detector: Path, toy_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    main(["attack", str(toy_detector), str(toy_folder), "-o", str(out), "--attacks", "fgsm",
          "--eps", "2", "--target", "both"])  # fmt: skip
    rows = [r for r in _rows(out / "manifest.csv") if r["attack"] != "clean"]
    assert {(r["label"], r["target"]) for r in rows} == {("1", "real"), ("0", "fake")}


def test_attack_usage_errors(toy_detector: Path, toy_folder: Path, tmp_path: Path) -> None:
    args = [str(toy_detector), str(toy_folder), "-o", str(tmp_path / "o")]
    assert main(["attack", *args, "--attacks", "nope"]) == 2
    assert main(["attack", *args, "--target", "sideways"]) == 2
    spectral = create_detector("spectral-logreg")
    spectral.fit(np.random.default_rng(0).random((6, 80)), np.array([0, 1] * 3))
    path = spectral.save(tmp_path / "spectral")
    assert main(["attack", str(path), str(toy_folder), "-o", str(tmp_path / "p")]) == 2
    assert not (tmp_path / "p").exists()
