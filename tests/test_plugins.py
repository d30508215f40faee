"""The plugin of the README's "Extending spotfake", installed into a folder and used through the
CLI in a fresh process: trained by `spotfake train`, run by `spotfake detect --model`, its
generator trained by `spotfake synth train`."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def plugin_files(readme: str) -> dict[str, str]:
    """The README section's code blocks that start with "# file: NAME", by name."""
    section = readme.split("\n## Extending spotfake\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```[a-z]*\n# file: (\S+)\n(.*?)```", section, flags=re.DOTALL)
    return {name: body for name, body in blocks}


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a process that sees the plugin (pip-installed into a target folder)."""
    root = tmp_path_factory.mktemp("plugin")
    files = plugin_files((REPO / "README.md").read_text())
    assert sorted(files) == ["pyproject.toml", "spotfake_hfe.py"]
    source = root / "spotfake-hfe"
    source.mkdir()
    for name, body in files.items():
        (source / name).write_text(body)
    target = root / "site"
    pip = [
        "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
        "--target", str(target), str(source),
    ]  # fmt: skip
    done = run(*pip, env=dict(os.environ), cwd=root)
    assert done.returncode == 0, done.stderr
    assert list(target.glob("spotfake_hfe-0.1.0.dist-info/entry_points.txt"))
    path = os.pathsep.join([str(target), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}


def _images(folder: Path, seed: int, n: int = 12) -> None:
    """Smooth reals (bilinear upsampling) and blocky fakes (nearest): their top bands differ."""
    rng = np.random.default_rng(seed)
    for kind in ("real", "fake"):
        (folder / kind).mkdir(parents=True)
    for i in range(n):
        base = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        Image.fromarray(base).resize((64, 64), Image.Resampling.BILINEAR).save(
            folder / "real" / f"r{i}.png"
        )
        Image.fromarray(np.repeat(np.repeat(base, 2, 0), 2, 1)).save(folder / "fake" / f"f{i}.png")


def test_a_plugin_detector_trains_and_detects_through_the_cli(
    installed: dict[str, str], tmp_path: Path
) -> None:
    _images(tmp_path / "data", seed=0)
    recipe = tmp_path / "hfe.yaml"
    recipe.write_text(
        yaml.safe_dump(
            {
                "model": "hf-energy",
                "name": "hfe",
                "data": {"train": str(tmp_path / "data"), "val_fraction": 0.3},
                "runtime": {"tensorboard": False},
            }
        )
    )
    trained = run("-m", "spotfake", "train", str(recipe), "-o", "run", env=installed, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    weights = tmp_path / "run" / "best.safetensors"
    assert json.loads(weights.with_suffix(".json").read_text())["architecture"] == "hf-energy"

    _images(tmp_path / "new", seed=1, n=4)
    (tmp_path / "new" / "broken.png").write_bytes(b"not an image")
    detect = ["-m", "spotfake", "detect", "new", "-r", "--model", str(weights), "--format", "jsonl"]
    done = run(*detect, env=installed, cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # the broken file is reported, the rest scored
    records = {Path(r["path"]).name: r for r in map(json.loads, done.stdout.splitlines())}
    assert len(records) == 9 and records["broken.png"]["error"]
    scores = {name: r["score"] for name, r in records.items() if r["error"] is None}
    fakes = [s for name, s in scores.items() if name.startswith("f")]
    reals = [s for name, s in scores.items() if name.startswith("r")]
    assert min(fakes) > max(reals), scores  # the fitted head separates unseen images
    assert all(r["model"] == "hfe" for r in records.values() if r["error"] is None)


def test_a_plugin_generator_trains_with_synth_train(
    installed: dict[str, str], tmp_path: Path
) -> None:
    _images(tmp_path / "data", seed=2, n=6)
    listed = run("-m", "spotfake", "synth", "list", env=installed, cwd=tmp_path)
    assert listed.returncode == 0 and "nearest-2x" in listed.stdout, listed.stdout
    train = [
        "-m", "spotfake", "synth", "train", "--arch", "nearest-2x", "--data",
        str(tmp_path / "data" / "real"), "-o", "gen", "--steps", "2", "--patch", "32",
        "--batch", "2", "--threads", "1",
    ]  # fmt: skip
    done = run(*train, env=installed, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    card = json.loads((tmp_path / "gen" / "generator.json").read_text())
    assert card["architecture"] == "nearest-2x"


def test_a_name_nobody_registered_lists_the_plugins(installed: dict[str, str]) -> None:
    code = "from spotfake.models.registry import create_detector; create_detector('nope')"
    done = run("-c", code, env=installed, cwd=REPO)
    assert done.returncode != 0 and "hf-energy" in done.stderr
