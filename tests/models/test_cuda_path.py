"""The GPU path on a real CUDA device: AMP, device normalisation and nvJPEG decoding against
the CPU's float32 scores. Skipped, with the reason, where torch sees no CUDA device."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from spotfake.detect import iter_predict, load_detector

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _photos(folder: Path, n: int = 12) -> list[Path]:
    """Smooth noisy 512x384 JPEGs (baseline, quality 90): what nvJPEG is for."""
    rng = np.random.default_rng(0)
    paths = []
    for index in range(n):
        ramp = np.linspace(0, 200, 512)[None, :, None] + np.linspace(0, 40, 384)[:, None, None]
        pixels = np.clip(ramp + rng.normal(0, 12, (384, 512, 3)), 0, 255).astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
        paths.append(folder / f"photo{index}.jpg")
        paths[-1].write_bytes(buffer.getvalue())
    return paths


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    return np.log(p / (1 - p))


def test_cuda_scores_match_the_cpu_in_fp32_and_closely_in_fp16(tmp_path: Path) -> None:
    paths = _photos(tmp_path)
    pixels = [np.asarray(Image.open(path).convert("RGB")) for path in paths]
    cpu = load_detector(device="cpu", backend="torch").score(pixels)
    gpu32 = load_detector(device="cuda", backend="torch")  # fp32 by default
    assert gpu32.device_preprocess  # type: ignore[attr-defined]
    np.testing.assert_allclose(_logit(gpu32.score(pixels)), _logit(cpu), atol=1e-2)
    gpu16 = load_detector(device="cuda", backend="torch", precision="fp16")
    # Under bf16 on the CPU the embedded model's logits move by up to 0.3; fp16 is 8x finer.
    assert np.abs(_logit(gpu16.score(pixels)) - _logit(cpu)).max() < 0.25


def test_nvjpeg_decode_is_close_to_pillow_and_scores_alike(tmp_path: Path) -> None:
    from spotfake.io.device import decode_jpegs, read_for_device

    paths = _photos(tmp_path, 6)
    accepted = [read_for_device(path) for path in paths]
    decoded = decode_jpegs([item.data for item in accepted if item], "cuda")
    for path, tensor in zip(paths, decoded, strict=True):
        assert tensor is not None and tensor.device.type == "cuda"
        reference = np.asarray(Image.open(path).convert("RGB")).astype(int)
        assert np.abs(tensor.cpu().numpy().astype(int) - reference).max() <= 4  # IDCT rounding
    detector = load_detector(device="cuda", backend="torch", precision="fp32")
    on_cpu = list(iter_predict(detector, paths, provenance=False))
    on_gpu = list(iter_predict(detector, paths, provenance=False, decode="device"))
    for a, b in zip(on_cpu, on_gpu, strict=True):
        assert a.error is None and b.error is None
        assert abs(a.score - b.score) < 0.02  # type: ignore[operator]
