"""Fixtures for the provenance tests: an untrained cnn-tiny and a folder of marked files."""

from __future__ import annotations

from pathlib import Path

import pytest
from marked_images import (
    HAS_C2PA,
    HAS_WATERMARK,
    a1111_png,
    c2pa_signed,
    comfyui_png,
    encode,
    example_rgb,
    exif_jpeg,
    make_signer,
    novelai_png,
    pixels,
    watermark,
    xmp_jpeg,
)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained cnn-tiny saved as weights + spec; returns the .safetensors path."""
    from spotfake.models.registry import create_detector

    folder = tmp_path_factory.mktemp("model")
    return create_detector("cnn-tiny").save(folder / "tiny")


@pytest.fixture(scope="session")
def marked_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file per kind of mark, plus a camera JPEG and a file without marks.

    The C2PA and watermark files are left out when their libraries are missing.
    """
    folder = tmp_path_factory.mktemp("marked")
    files = {
        "a1111.png": a1111_png(),
        "comfyui.png": comfyui_png(),
        "novelai.png": novelai_png(),
        "xmp.jpg": xmp_jpeg(),
        "camera.jpg": exif_jpeg(make="Canon", model="Canon EOS R5", software="Firmware 1.0"),
        "plain.png": encode(pixels(3), "PNG"),
    }
    if HAS_C2PA:
        files["c2pa.jpg"] = c2pa_signed(encode(pixels(4), "JPEG"), "image/jpeg", make_signer())
    if HAS_WATERMARK:
        files["sd1.png"] = encode(watermark(example_rgb(), "sd1"), "PNG")
        files["sdxl.png"] = encode(watermark(example_rgb("sd15-sample.png"), "sdxl"), "PNG")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder
