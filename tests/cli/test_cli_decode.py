"""`spotfake detect --decode device` and `--precision`: the same records as the CPU decoder
(the device decoder runs on the CPU here), bad files reported alike, and the refusals."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image
from pytest import MonkeyPatch

from spotfake.cli import main

pytest.importorskip("torchvision")

Capture = pytest.CaptureFixture[str]


def _records(capsys: Capture, *args: str) -> tuple[int, list[dict[str, object]], str]:
    code = main(["detect", "-q", "--format", "jsonl", "--backend", "torch", *args])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def _mixed(folder: Path, bad_dir: Path) -> Path:
    """Baseline, progressive, grayscale and CMYK JPEGs and a PNG beside bad_dir's bad files."""
    rng = np.random.default_rng(3)
    saves: list[tuple[str, str, dict[str, Any]]] = [
        ("base.jpg", "RGB", {"quality": 90}),
        ("big.jpg", "RGB", {"quality": 75}),
        ("prog.jpg", "RGB", {"quality": 90, "progressive": True}),
        ("gray.jpg", "L", {"quality": 85}),
        ("cmyk.jpg", "CMYK", {"quality": 90}),
        ("flat.png", "RGB", {}),
    ]
    for name, mode, save in saves:
        side = 150 if name == "big.jpg" else 80
        pixels = rng.integers(0, 256, (side, side + 10, 3), dtype=np.uint8)
        Image.fromarray(pixels).convert(mode).save(folder / name, **save)
    for path in bad_dir.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    return folder


def test_device_decode_gives_the_cpu_records(
    capsys: Capture, tiny_model: Path, bad_dir: Path, tmp_path: Path, monkeypatch: MonkeyPatch
) -> None:
    import spotfake.io.device as device

    folder = _mixed(tmp_path, bad_dir)
    sent: list[int] = []
    decode_jpegs = device.decode_jpegs

    def counted(datas: list[bytes], on: str) -> list[Any]:
        sent.append(len(datas))
        return decode_jpegs(datas, on)

    monkeypatch.setattr(device, "decode_jpegs", counted)
    runs = {}
    for decode in ("cpu", "device"):
        code, records, _ = _records(
            capsys, str(folder), "--model", str(tiny_model), "--no-provenance",
            "--decode", decode, "--batch-size", "4",
        )  # fmt: skip
        assert code == 1  # bad_dir's unreadable files
        runs[decode] = records
    assert len(runs["device"]) == 10
    assert sum(r["error"] is not None for r in runs["device"]) == 3
    assert runs["device"] == runs["cpu"]
    assert sum(sent) == 3  # base, big and gray; progressive, CMYK and bad files on the CPU


def test_device_decode_refusals(capsys: Capture, tiny_model: Path, bad_dir: Path) -> None:
    code, records, err = _records(capsys, str(bad_dir), "--model", str(tiny_model),
                                  "--decode", "device")  # fmt: skip
    assert code == 2 and records == []
    assert "--no-provenance" in " ".join(err.replace("│", " ").split())
    code, _, err = _records(capsys, str(bad_dir), "--model", str(tiny_model), "--no-provenance",
                            "--decode", "device", "--engine", "ray")  # fmt: skip
    assert code == 2 and "decode on the CPU" in " ".join(err.replace("│", " ").split())


def test_precision_option(capsys: Capture, tiny_model: Path, tmp_path: Path) -> None:
    buffer = io.BytesIO()
    Image.fromarray(np.full((70, 70, 3), 90, np.uint8)).save(buffer, format="PNG")
    (tmp_path / "a.png").write_bytes(buffer.getvalue())
    code, fp32, _ = _records(capsys, str(tmp_path / "a.png"), "--model", str(tiny_model))
    code16, bf16, _ = _records(capsys, str(tmp_path / "a.png"), "--model", str(tiny_model),
                               "--precision", "bf16")  # fmt: skip
    assert code == code16 == 0
    assert abs(float(fp32[0]["score"]) - float(bf16[0]["score"])) < 0.05  # type: ignore[arg-type]
    pytest.importorskip("onnxruntime")
    code, _, err = _records(capsys, str(tmp_path), "--model", str(tiny_model),
                            "--backend", "onnx", "--precision", "fp16")  # fmt: skip
    assert code == 2 and "--precision" in err
