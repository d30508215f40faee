"""Tiny synthetic real/fake images and recipes for the training tests (built per test)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from PIL import Image


def real_and_fake(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth 48x48 'photo' and a 'generated' one with a 2x nearest-upsampling pattern."""
    base = np.random.default_rng(seed).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    real = np.asarray(Image.fromarray(base).resize((48, 48), Image.Resampling.BILINEAR))
    return real, np.repeat(np.repeat(base, 2, 0), 2, 1)


def encoded(pixels: np.ndarray, fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **({"quality": 90} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def write_recipe(path: Path, **recipe: Any) -> Path:
    """A YAML recipe for cnn-tiny with small crops and a few steps, updated by recipe."""
    base: dict[str, Any] = {
        "model": "cnn-tiny",
        "name": "tiny-test",
        "train_crop": 32,
        "eval_crop": 40,
        "optim": {"steps": 4, "batch_size": 4, "eval_every": 2, "warmup_steps": 1},
        "runtime": {"tensorboard": False},
    }
    for key, value in recipe.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    path.write_text(yaml.safe_dump(base))
    return path


def torchrun_train(recipe: Path, run: Path, processes: int = 2) -> subprocess.CompletedProcess[str]:
    """`spotfake train RECIPE -o RUN` under torchrun with `processes` CPU processes."""
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
        str(processes), "-m", "spotfake", "train", str(recipe), "-o", str(run),
        "--set", "runtime.device=cpu",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)
