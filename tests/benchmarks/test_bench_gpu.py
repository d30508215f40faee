"""benchmarks/bench_gpu.py: a clean skip without CUDA, and every stage run on the CPU."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("torchvision")


def test_without_cuda_it_says_so_and_measures_nothing(
    capsys: pytest.CaptureFixture[str],
    benchmark_script: Callable[[str], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert benchmark_script("bench_gpu").main(["--n", "4"]) == 0
    assert capsys.readouterr().out.strip() == (
        "bench_gpu: skipped: torch sees no CUDA device; nothing measured"
    )


def test_every_stage_runs_on_the_cpu(
    capsys: pytest.CaptureFixture[str],
    benchmark_script: Callable[[str], ModuleType],
    tmp_path: Path,
) -> None:
    from spotfake.models.registry import create_detector

    model = create_detector("cnn-tiny").save(tmp_path / "tiny")
    script = benchmark_script("bench_gpu")
    args = ["--n", "6", "--batch-size", "4", "--workers", "1", "--device", "cpu"]
    assert script.main([*args, "--model", str(model)]) == 0
    out = capsys.readouterr().out
    for stage in ("decode Pillow", "decode device (cpu)", "model fp32", "model bf16",
                  "predict bf16 decode cpu", "predict bf16 decode device"):  # fmt: skip
        assert stage in out
    # libjpeg-turbo on both sides: device decoding changes no score on the CPU.
    assert "largest score change against Pillow's pixels 0.00000" in out
