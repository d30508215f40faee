"""scripts/stage_imagen.py on a small tree shaped like dcsan/imagen's renders."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
from PIL import Image

from spotfake.data.manifest import open_dataset

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "stage_imagen.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("stage_imagen", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _render(path: Path, size: int, fmt: str = "PNG") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(len(path.name)).integers(0, 256, (size, size, 3), np.uint8)
    Image.fromarray(pixels).save(path, fmt)


def test_staging_groups_prompts_crops_the_signature_and_skips_strays(tmp_path: Path) -> None:
    src, out = tmp_path / "imagen", tmp_path / "staged"
    prompts = [f"prompt-{i}-{i * 7919}" for i in range(12)]
    for prompt in prompts:
        folder = src / "output" / "renders" / prompt
        _render(folder / "ldif-1.png", 32)
        _render(folder / "stab-1.png", 48)
    _render(src / "output" / "renders" / prompts[0] / "dal2-1.jpg", 1024, "JPEG")
    _render(src / "output" / "renders" / prompts[0] / "output_0000.png", 16)
    counts = _script().stage(src, out, 0.3)
    assert counts["latent-diffusion"] == 12 and counts["stable-diffusion-2022"] == 12
    assert counts["dalle-2"] == 1 and counts["skipped (unknown prefix)"] == 1
    records = open_dataset(str(out))
    assert len(records) == 25 and all(r.label == 1 for r in records)
    split_of_prompt: dict[str, set[str | None]] = {}
    for record in records:
        prompt = Path(record.path).name.split("__")[0]
        split_of_prompt.setdefault(prompt, set()).add(record.split)
    assert all(len(splits) == 1 for splits in split_of_prompt.values())  # a group split
    assert {s for splits in split_of_prompt.values() for s in splits} == {"train", "val"}
    (dalle,) = [r for r in records if r.generator == "dalle-2"]
    assert (dalle.width, dalle.height, dalle.format) == (1008, 1008, "PNG")
    (stab,) = [
        r for r in records if r.generator == "stable-diffusion-2022" and prompts[0] in r.path
    ]
    original = src / "output" / "renders" / prompts[0] / "stab-1.png"
    assert Path(stab.path).read_bytes() == original.read_bytes()
    assert (out / "SOURCE.md").is_file()
