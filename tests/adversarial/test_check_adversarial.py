"""--check-adversarial: records carry the SpectralDefense verdict, attacked files score higher
than clean ones, and a check trained for other weights (or none at all) is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import spotfake
from spotfake.adversarial.attacks import AttackPlan, attack_images
from spotfake.cli import main
from spotfake.detect import adversarial_guard
from spotfake.errors import ModelLoadError
from spotfake.models.base import load_detector_file
from spotfake.models.registry import create_detector


@pytest.fixture(scope="module")
def guard_and_files(toy_detector: Path, toy_images, tmp_path_factory: pytest.TempPathFactory):
    """A check trained for the toy detector, and held-out clean and attacked PNGs."""
    protected = load_detector_file(toy_detector)
    clean = toy_images(40, 120, False)
    attacked = [r.pixels for r in attack_images(protected, clean, [1] * 40,
                                                AttackPlan("pgd", 4), threshold=0.5)]  # fmt: skip
    guard = create_detector("adv-spectral-input", crop=32, grid=8, protected=str(toy_detector))
    guard.fit_images(clean[:30] + attacked[:30], np.array([0] * 30 + [1] * 30))
    folder = tmp_path_factory.mktemp("check")
    path = guard.save(folder / "guard")
    for i in range(30, 40):
        Image.fromarray(clean[i]).save(folder / f"clean{i}.png")
        Image.fromarray(attacked[i]).save(folder / f"attacked{i}.png")
    return path, folder


def test_detect_adds_the_adversarial_evidence(
    toy_detector: Path, guard_and_files, capsys: pytest.CaptureFixture[str]
) -> None:
    guard, folder = guard_and_files
    files = sorted(str(p) for p in folder.glob("*.png"))
    code = main(["detect", *files, "--model", str(toy_detector), "--adversarial-model",
                 str(guard), "--format", "jsonl", "--quiet", "--no-provenance"])  # fmt: skip
    assert code == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    checks = {Path(r["path"]).name: r["evidence"]["adversarial"] for r in records}
    assert all(set(c) == {"score", "verdict", "detector"} for c in checks.values())
    attacked = [c["score"] for name, c in checks.items() if name.startswith("attacked")]
    clean = [c["score"] for name, c in checks.items() if name.startswith("clean")]
    assert np.mean(attacked) > np.mean(clean)
    assert sum(c["verdict"] == "adversarial" for c in checks.values()) >= 1


def test_python_api_and_plain_records(toy_detector: Path, guard_and_files) -> None:
    guard_path, folder = guard_and_files
    detector = spotfake.load_detector(toy_detector, device="cpu")
    image = str(next(folder.glob("attacked*.png")))
    plain = spotfake.predict(detector, image, provenance=False)[0]
    assert "adversarial" not in plain.evidence
    guard = adversarial_guard(detector, guard_path)
    checked = spotfake.predict(detector, image, provenance=False, check_adversarial=guard)[0]
    assert checked.evidence["adversarial"]["detector"] == guard.spec.display_name
    assert checked.score == plain.score  # the check never changes the verdict on generation


def test_a_check_for_other_weights_or_none_is_refused(
    guard_and_files, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    guard_path, folder = guard_and_files
    other = create_detector("cnn-cifar-resnet", crop=32, width=8)
    with pytest.raises(ModelLoadError, match="trained against model"):
        adversarial_guard(other, guard_path)
    with pytest.raises(ModelLoadError, match="no adversarial check is shipped"):
        adversarial_guard(other)
    saved = other.save(tmp_path / "other")
    image = str(next(folder.glob("clean*.png")))
    assert main(["detect", image, "--model", str(saved), "--check-adversarial"]) == 2
    assert "no adversarial check" in capsys.readouterr().err
