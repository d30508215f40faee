"""Group splits: images that share a prompt, a seed or a real twin never straddle train and val."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.data.groups import group_key
from spotfake.data.sources import DataConfig, SourceConfig, list_items
from spotfake.train.config import TrainConfig
from spotfake.train.data import list_samples

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


def test_group_key_ignores_folders_extensions_and_generator_suffixes() -> None:
    assert group_key("x/drawbench-sd/sd14/001.jpg") == group_key("y/sd21/001.png") == "001"
    assert group_key("data.zip!train/REAL/1000.jpg") == "1000"
    assert group_key("out/dalle-2/val/fake/red-fox-12__dal2-3.png") == "red-fox-12"
    assert group_key(r"C:\\photos\\n01443537_goldfish.JPEG") == "n01443537_goldfish"


def _straddling(items: list[tuple[str, str]]) -> set[str]:
    """Groups found in both splits, from (group, split) pairs."""
    splits: dict[str, set[str]] = defaultdict(set)
    for group, split in items:
        splits[group].add(split)
    return {g for g, s in splits.items() if len(s) > 1}


def _write(path: Path, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def test_twins_of_one_prompt_share_a_split_under_the_group_rule(tmp_path: Path) -> None:
    for i in range(40):
        for k, generator in enumerate(("sd14", "sd15", "sd21")):
            _write(tmp_path / generator / f"{i:03d}.png", i * 3 + k)
    sources = [SourceConfig(g, g, 1) for g in ("sd14", "sd15", "sd21")]
    grouped = [
        (group_key(i.location), i.split) for s in sources for i in list_items(s, tmp_path, 0.3)
    ]
    assert not _straddling(grouped)
    assert {split for _, split in grouped} == {"train", "val"}
    by_path = [
        (group_key(i.location), i.split)
        for s in sources
        for i in list_items(s, tmp_path, 0.3, "path")
    ]
    assert _straddling(by_path)  # the older rule sends twins to both sides


def test_a_dataset_without_splits_is_split_by_group(tmp_path: Path) -> None:
    for i in range(40):
        _write(tmp_path / "set" / "real" / f"photo{i}.png", i)
        _write(tmp_path / "set" / "gen-a" / "fake" / f"photo{i}.png", 100 + i)
        _write(tmp_path / "set" / "gen-b" / "fake" / f"photo{i}.png", 200 + i)
    data = DataConfig(train=str(tmp_path / "set"), val_fraction=0.3, in_memory=False)
    train, val = list_samples(data)
    pairs = [(group_key(s.location), "train") for s in train]
    pairs += [(group_key(s.location), "val") for s in val]
    assert len(pairs) == 120 and val and not _straddling(pairs)


@pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data not found at {DATA}")
def test_the_default_sources_split_by_group_leave_no_group_on_both_sides(
    default_recipe: TrainConfig, default_shared_sources: list[SourceConfig]
) -> None:
    assert default_recipe.data.split_rule == "group"
    grouped = [
        (group_key(i.location), i.split)
        for s in default_shared_sources
        for i in list_items(s, DATA, default_recipe.data.val_fraction, "group")
    ]
    assert len(grouped) > 3000 and not _straddling(grouped)
    by_path = [
        (group_key(i.location), i.split)
        for s in default_shared_sources
        for i in list_items(s, DATA, default_recipe.data.val_fraction, "path")
    ]
    # the older rule (the first default model's) sends DrawBench's sd14/sd15 twins to both sides
    assert len(_straddling(by_path)) > 10
