"""spotfake.io.device: which JPEG files go to the device decoder, and that its pixels (here
torchvision's libjpeg-turbo on the CPU) and records are the CPU reader's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.io import read_image
from spotfake.io.device import decode_jpegs, read_for_device

pytest.importorskip("torchvision")


def _photo(size: tuple[int, int] = (48, 64)) -> Image.Image:
    """A smooth gradient with noise, RGB."""
    rng = np.random.default_rng(1)
    h, w = size
    ramp = np.linspace(0, 220, w)[None, :, None] + np.linspace(0, 30, h)[:, None, None]
    pixels = np.clip(ramp + rng.normal(0, 15, (h, w, 3)), 0, 255).astype(np.uint8)
    return Image.fromarray(pixels)


def test_baseline_jpegs_decode_to_the_cpu_readers_pixels_and_record(
    write: Callable[..., Path],
) -> None:
    paths = [
        write("colour.jpg", _photo(), quality=90),
        write("gray.jpg", _photo().convert("L"), quality=80),
        write("s444.jpg", _photo((33, 47)), quality=95, subsampling=0),
    ]
    accepted = [read_for_device(path) for path in paths]
    assert all(item is not None for item in accepted)
    pixels = decode_jpegs([item.data for item in accepted if item], "cpu")
    for path, item, got in zip(paths, accepted, pixels, strict=True):
        cpu = read_image(path)
        assert item is not None and item.record == cpu.record
        assert got is not None and tuple(got.shape) == cpu.pixels.shape
        np.testing.assert_array_equal(got.numpy(), cpu.pixels)


@pytest.mark.parametrize(
    ("name", "save"),
    [
        ("progressive.jpg", {"quality": 90, "progressive": True}),
        ("image.png", {}),
        ("image.webp", {"quality": 90}),
    ],
)
def test_other_files_stay_on_the_cpu(
    write: Callable[..., Path], name: str, save: dict[str, object]
) -> None:
    assert read_for_device(write(name, _photo(), **save)) is None


def test_cmyk_truncated_missing_and_huge_files_stay_on_the_cpu(
    write: Callable[..., Path], tmp_path: Path
) -> None:
    cmyk = write("cmyk.jpg", _photo().convert("CMYK"), quality=90)
    good = write("good.jpg", _photo(), quality=90)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    assert read_for_device(cmyk) is None
    assert read_for_device(truncated) is None
    assert read_for_device(tmp_path / "missing.jpg") is None
    assert read_for_device(good, max_pixels=100) is None  # the CPU reader says why
    assert read_for_device(good) is not None


def test_a_file_the_decoder_refuses_costs_only_itself(write: Callable[..., Path]) -> None:
    good = write("good.jpg", _photo(), quality=90).read_bytes()
    broken = good[:200] + good[-2:]  # cut inside the headers, EOI kept: libjpeg refuses it
    decoded = decode_jpegs([good, broken, good], "cpu")
    assert decoded[1] is None
    assert decoded[0] is not None and decoded[2] is not None
    np.testing.assert_array_equal(decoded[0].numpy(), decoded[2].numpy())
