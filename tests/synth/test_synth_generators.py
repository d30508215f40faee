"""Every registered generator: builds, trains a few steps, reconstructs at the input size, and
comes back from its saved files with identical outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from synth_images import TINY, photo

from spotfake.data.manifest import open_dataset
from spotfake.errors import ModelLoadError, RegistryError
from spotfake.synth.base import create_generator, list_generators
from spotfake.synth.reals import select_reals
from spotfake.synth.spec import FIDELITY, SPEC, WEIGHTS, load_generator
from spotfake.synth.tiling import reconstruct_array
from spotfake.synth.train import TrainOptions, train_generator

ARCHS = ["transposed", "nearest", "bilinear", "pixelshuffle", "ldm-vae"]


def test_the_zoo_is_registered() -> None:
    assert list_generators() == sorted(ARCHS)
    with pytest.raises(RegistryError, match="unknown generator"):
        create_generator("stylegan9")


@pytest.mark.parametrize("arch", ARCHS)
def test_training_pass_shapes_and_gradients(arch: str) -> None:
    torch.manual_seed(0)
    model = create_generator(arch, **TINY[arch])
    x = torch.rand(2, 3, 32, 48) * 2 - 1
    recon, regulariser = model(x)
    assert recon.shape == x.shape and regulariser.ndim == 0
    (recon.abs().mean() + regulariser).backward()
    assert model.last_layer.grad is not None and model.last_layer.grad.abs().sum() > 0


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("size", [(37, 53), (64, 64), (5, 70)])
def test_reconstructs_at_the_input_size(arch: str, size: tuple[int, int]) -> None:
    model = create_generator(arch, **TINY[arch]).eval()
    pixels = photo(size[1], size[0], 1)
    out = reconstruct_array(model, pixels, tile=32, overlap=8)
    assert out.shape == pixels.shape and out.dtype == np.uint8


def test_the_ldm_vae_downsamples_as_asked() -> None:
    assert create_generator("ldm-vae").stride == 8
    assert create_generator("ldm-vae", down=4, width=8).stride == 4
    with pytest.raises(ValueError, match="4x or 8x"):
        create_generator("ldm-vae", down=16)


def _train(arch: str, reals: Path, out: Path, steps: int = 3) -> None:
    options = TrainOptions(steps=steps, patch=32, batch=2, disc_start=1, eval_limit=2, tile=32)
    records = select_reals(open_dataset(reals))
    train_generator(arch, TINY[arch], records, out, options, source=str(reals))


@pytest.mark.parametrize("arch", ARCHS)
def test_trains_saves_and_round_trips(arch: str, reals: Path, tmp_path: Path) -> None:
    out = tmp_path / "gen"
    _train(arch, reals, out)
    spec = json.loads((out / SPEC).read_text())
    assert spec["architecture"] == arch and spec["config"] == TINY[arch]
    assert spec["training"]["steps_done"] == 3 and spec["training"]["data"] == str(reals)
    assert "disc" in spec["training"]["final_losses"]  # the critic ran after its start
    fidelity = json.loads((out / FIDELITY).read_text())
    assert 1 <= fidelity["images"] <= 2 and 0 < fidelity["psnr"] < 100
    model, loaded = load_generator(out)
    again, _ = load_generator(out / WEIGHTS)
    pixels = photo(45, 39, 7)
    first = reconstruct_array(model, pixels, tile=32, overlap=8)
    assert np.array_equal(first, reconstruct_array(again, pixels, tile=32, overlap=8))
    assert loaded.stride == model.stride and loaded.display_name == f"synth-{arch}"


def test_resume_continues_to_more_steps(reals: Path, tmp_path: Path) -> None:
    out = tmp_path / "gen"
    _train("nearest", reals, out, steps=2)
    options = TrainOptions(steps=4, patch=32, batch=2, disc_start=1, eval_limit=2, tile=32)
    records = select_reals(open_dataset(reals))
    spec, _ = train_generator("nearest", TINY["nearest"], records, out, options, resume=True)
    assert spec.training["steps_done"] == 4


def test_missing_or_mismatched_weights_are_refused(reals: Path, tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="no generator"):
        load_generator(tmp_path)
    out = tmp_path / "gen"
    _train("nearest", reals, out, steps=1)
    spec = json.loads((out / SPEC).read_text())
    spec["config"]["width"] = 16
    (out / SPEC).write_text(json.dumps(spec))
    with pytest.raises(ModelLoadError, match="do not fit"):
        load_generator(out)
