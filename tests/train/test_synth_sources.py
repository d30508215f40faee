"""Training with synthesised fakes: `synth make` folders as sources, twin splits, paired batches."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tiny_sets import write_recipe

from spotfake.cli import main
from spotfake.data.manifest import open_dataset
from spotfake.data.sources import DataConfig, SourceConfig, SynthSourceConfig
from spotfake.models.base import load_detector_file
from spotfake.synth.make import make_fakes
from spotfake.synth.reals import select_reals
from spotfake.train.config import load_config, with_absolute_paths
from spotfake.train.data import list_samples, load_data, twin_indices
from spotfake.train.sampling import epoch_draws, pair_draws


def nearest_twice(pixels: np.ndarray) -> np.ndarray:
    """A stand-in decoder: half size, then nearest upsampling (blocky, like a generator)."""
    small = pixels[::2, ::2]
    up = np.repeat(np.repeat(small, 2, 0), 2, 1)
    return up[: pixels.shape[0], : pixels.shape[1]]


@pytest.fixture
def synth_out(tmp_path: Path, folder: Path) -> Path:
    """`synth make` output for the 12 reals of the folder fixture."""
    records = select_reals(open_dataset(str(folder / "real")))
    out = tmp_path / "synth"
    make_fakes(nearest_twice, records, out, "synth-nearest")
    return out


def _data(folder: Path, synth_out: Path, **more: object) -> DataConfig:
    return DataConfig(
        root=str(folder),
        val_fraction=0.3,
        sources=[
            SourceConfig("reals", "real", 0),
            SourceConfig("fakes", "fake", 1),
        ],
        synth=[SynthSourceConfig("synth-nearest", str(synth_out))],
        **more,  # type: ignore[arg-type]
    )


def test_synthesised_fakes_take_their_twins_split(folder: Path, synth_out: Path) -> None:
    train, val = list_samples(_data(folder, synth_out))
    real_split = {s.location: split for split, ss in (("t", train), ("v", val)) for s in ss}
    synth = [(s, "t") for s in train if s.group == "synth-nearest"]
    synth += [(s, "v") for s in val if s.group == "synth-nearest"]
    assert len(synth) == 12
    for sample, split in synth:
        assert sample.label == 1 and sample.twin is not None
        assert real_split[sample.twin] == split  # never train on a fake of a validation real
    # The split is the recipe's own (val_fraction 0.3 of the sources), not synth make's 0.15.
    assert sum(split == "v" for _, split in synth) == sum(s.group == "reals" for s in val)


def test_twins_link_fakes_to_training_reals(folder: Path, synth_out: Path) -> None:
    data = load_data(_data(folder, synth_out, in_memory=False))
    assert data.twins, "no synthesised fake found its twin"
    for fake, real in data.twins.items():
        assert data.train[fake].group == "synth-nearest" and data.train[real].label == 0
        assert data.train[fake].twin == data.train[real].location
    assert data.weights["synth-nearest"] == 1.0
    assert twin_indices(data.train) == data.twins


def test_paired_draws_keep_each_twin_in_its_batch() -> None:
    labels = [0] * 10 + [1] * 10
    twins = {10 + i: i for i in range(10)}  # fake 10+i is made from real i
    groups = ["r"] * 10 + ["s"] * 10
    indices, _ = epoch_draws(labels, groups, {}, "balanced", seed=3, epoch=0, n=400)
    paired = pair_draws(indices, labels, twins, window=8)
    assert len(paired) == len(indices)
    hits = fakes = 0
    for start in range(0, 400, 8):
        batch = paired[start : start + 8].tolist()
        # the class of every draw is kept: twins only replace draws of reals
        assert [labels[i] for i in batch] == [labels[i] for i in indices[start : start + 8]]
        n_fakes = sum(i in twins for i in batch)
        paired_here = sum(twins[i] in batch for i in batch if i in twins)
        # every fake is paired while the batch has reals to give
        assert paired_here >= min(n_fakes, len(batch) - n_fakes)
        hits, fakes = hits + paired_here, fakes + n_fakes
    assert hits / fakes > 0.7
    # Without pairing the twins meet by chance only.
    chance = sum(
        twins[i] in indices[s : s + 8].tolist()
        for s in range(0, 400, 8)
        for i in indices[s : s + 8].tolist()
        if i in twins
    )
    assert chance / fakes < 0.5


def test_recipe_with_synth_sources_trains_paired(
    tmp_path: Path, folder: Path, synth_out: Path
) -> None:
    recipe = write_recipe(
        tmp_path / "recipe.yaml",
        data={
            "root": str(folder),
            "val_fraction": 0.3,
            "sources": [
                {"name": "reals", "path": "real", "label": 0},
                {"name": "fakes", "path": "fake", "label": 1},
            ],
            "synth": [{"name": "synth-nearest", "path": str(synth_out), "weight": 2.0}],
            "paired": True,
        },
    )
    cfg = with_absolute_paths(load_config(recipe))
    assert cfg.data.synth[0].path == str(synth_out) and cfg.data.paired
    run = tmp_path / "run"
    assert main(["train", str(recipe), "-o", str(run)]) == 0
    assert json.loads((run / "summary.json").read_text())["stopped"] == "completed"
    val = load_detector_file(run / "best.safetensors").spec.training["val"]
    assert "synth-nearest" in val  # the synthesised fakes are scored as a group of their own


def test_missing_synth_folder_is_a_clear_error(tmp_path: Path, folder: Path) -> None:
    with pytest.raises(FileNotFoundError, match="synth make"):
        list_samples(_data(folder, tmp_path / "nowhere"))
