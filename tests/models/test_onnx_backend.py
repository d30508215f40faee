"""The ONNX Runtime backend: parity with torch, the export cache, fallbacks, threads, start-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import spotfake
from spotfake.detect import _gpu_possible, load_detector
from spotfake.errors import BackendError, DeviceError
from spotfake.models import onnx_export
from spotfake.models.base import Detector
from spotfake.models.cnn import CNNDetector
from spotfake.models.onnx_runtime import (
    OnnxDetector,
    default_threads,
    failure_path,
    graph_path,
    load_onnx,
)
from spotfake.models.registry import create_detector, list_detectors
from spotfake.models.spec import DetectorSpec

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

PARITY = 1e-4  # scores, torch vs ONNX Runtime


def _photo(height: int, width: int, seed: int) -> np.ndarray:
    """Gradients, a ripple and noise: image-like pixels at any size."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (xx / max(1, width) + yy / max(1, height)) * 80
    ripple = 25 * np.sin(xx / rng.uniform(3, 9)) * np.cos(yy / rng.uniform(3, 9))
    base = np.stack([ramp + ripple + rng.uniform(40, 120) for _ in range(3)], axis=-1)
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)


def _saved(tmp_path: Path, name: str = "cnn-tiny", **config: Any) -> Path:
    return create_detector(name, **config).save(tmp_path / name)


# --- parity ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def default_pair() -> tuple[Detector, Detector]:
    return load_detector(backend="torch", device="cpu"), load_detector(backend="onnx")


def test_default_model_scores_match_torch(default_pair: tuple[Detector, Detector]) -> None:
    torch_detector, onnx_detector = default_pair
    assert isinstance(onnx_detector, OnnxDetector)
    # 4 windows on the two large ones (shorter side >= 768), the centre crop on the 512 one,
    # images smaller than the crop scored whole at their own (odd) sizes
    images = [
        _photo(800, 1000, 0),
        _photo(1024, 768, 1),
        _photo(512, 512, 2),
        _photo(150, 100, 3),
        _photo(191, 77, 4),
    ]
    assert [len(onnx_detector.views(image)) for image in images] == [4, 4, 1, 1, 1]  # type: ignore[attr-defined]
    want = torch_detector.score(images)
    got = onnx_detector.score(images)
    np.testing.assert_allclose(got, want, rtol=0, atol=PARITY)
    assert onnx_detector.model_hash == torch_detector.model_hash


def test_records_match_torch_end_to_end(
    default_pair: tuple[Detector, Detector], tmp_path: Path
) -> None:
    torch_detector, onnx_detector = default_pair
    paths = []
    for index, (height, width) in enumerate([(900, 900), (300, 400)]):
        path = tmp_path / f"image{index}.png"
        Image.fromarray(_photo(height, width, 10 + index)).save(path)
        paths.append(path)
    want = spotfake.predict(torch_detector, paths)
    got = spotfake.predict(onnx_detector, paths)
    for a, b in zip(got, want, strict=True):
        assert a.score is not None and b.score is not None
        assert abs(a.score - b.score) <= PARITY
        assert (a.label, a.model, a.model_hash, a.evidence) == (
            b.label,
            b.model,
            b.model_hash,
            b.evidence,
        )


CNN_ARCHITECTURES = [
    name
    for name in list_detectors()
    if name.startswith("cnn-") and name not in ("cnn-swin-tiny", "cnn-resnet50")
]


@pytest.mark.parametrize(
    ("name", "config"),
    [(name, {}) for name in CNN_ARCHITECTURES]
    + [
        ("cnn-resnet50", {"crop": 32}),
        ("cnn-tiny", {"residual": "npr"}),
        ("cnn-tiny", {"upscale": 2, "upscale_method": "nearest"}),
    ],
)
def test_every_cnn_exports_with_equal_scores(
    name: str, config: dict[str, Any], tmp_path: Path
) -> None:
    weights = _saved(tmp_path, name, **config)
    torch_detector = load_detector(weights, backend="torch", device="cpu", crops=4)
    onnx_detector = load_detector(weights, backend="onnx", crops=4)
    assert isinstance(onnx_detector, OnnxDetector)
    crop = torch_detector.spec.input.crop or 64
    images = [
        _photo(crop * 2, crop * 3, 0),
        _photo(crop, crop, 1),
        _photo(crop // 2 + 3, crop - 5, 2),
    ]
    np.testing.assert_allclose(
        onnx_detector.score(images), torch_detector.score(images), atol=PARITY
    )


@pytest.mark.slow
def test_swin_exports_with_equal_scores(tmp_path: Path) -> None:
    weights = _saved(tmp_path, "cnn-swin-tiny")
    images = [_photo(300, 260, 0), _photo(130, 150, 1)]  # a crop, and a trimmed small image
    want = load_detector(weights, backend="torch", device="cpu").score(images)
    np.testing.assert_allclose(
        load_detector(weights, backend="onnx").score(images), want, atol=PARITY
    )


# --- the cache -------------------------------------------------------------------------------
def test_the_graph_is_exported_once_then_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = _saved(tmp_path)
    cache = tmp_path / "cache"
    monkeypatch.setenv("SPOTFAKE_ONNX_CACHE", str(cache))
    first = load_detector(weights, backend="onnx")
    graph = graph_path(weights, DetectorSpec.read(weights.with_suffix(".json")))
    assert graph.parent == cache and graph.is_file()
    assert [p.name for p in cache.iterdir()] == [graph.name]  # no temporary file left behind

    def no_export(*args: Any) -> None:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_export, "export_to_cache", no_export)
    again = load_detector(weights, backend="onnx", crops=4)  # the policy is not in the key
    image = [_photo(200, 300, 0)]
    assert again.spec.input.crops == 4
    assert first.score(image)[0] != again.score(image)[0]  # 4 windows, not the centre crop


def test_the_key_follows_the_weights_and_config_not_the_policy(tmp_path: Path) -> None:
    weights = _saved(tmp_path)
    spec = DetectorSpec.read(weights.with_suffix(".json"))
    key = graph_path(weights, spec, tmp_path).name
    assert graph_path(weights, spec.with_crops(4), tmp_path).name == key
    other = _saved(tmp_path / "other")  # new random weights
    assert graph_path(other, spec, tmp_path).name != key
    spec.config = {**spec.config, "residual": "npr"}
    assert graph_path(weights, spec, tmp_path).name != key


def test_an_unwritable_cache_still_runs_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = _saved(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SPOTFAKE_ONNX_CACHE", str(blocker / "cache"))
    with pytest.warns(UserWarning, match="cannot cache the ONNX graph"):
        detector = load_detector(weights, backend="onnx")
    assert isinstance(detector, OnnxDetector)
    assert detector.score([_photo(70, 90, 0)]).shape == (1,)


# --- fallbacks and refusals -------------------------------------------------------------------
def test_a_non_cnn_model_falls_back_to_its_own_backend(tmp_path: Path) -> None:
    spectral = create_detector("spectral-logreg")
    rng = np.random.default_rng(0)
    spectral.fit(rng.random((8, spectral.n_bins)), np.array([0, 1] * 4))  # type: ignore[attr-defined]
    weights = spectral.save(tmp_path / "spectral")
    assert not isinstance(load_detector(weights, backend="auto"), OnnxDetector)
    with pytest.raises(BackendError, match="not a CNN detector"):
        load_detector(weights, backend="onnx")


def test_a_failed_export_is_remembered_for_this_torch_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = _saved(tmp_path)
    calls: list[int] = []

    def inexact(detector: CNNDetector, graph: bytes) -> None:
        calls.append(1)
        raise onnx_export.NotExportableError("differs from torch by 1 in logit")

    monkeypatch.setattr(onnx_export, "check_export", inexact)
    assert isinstance(load_detector(weights, backend="auto"), CNNDetector)
    graph = graph_path(weights, DetectorSpec.read(weights.with_suffix(".json")))
    marker = failure_path(graph)
    assert not graph.exists() and "differs from torch" in marker.read_text()
    assert isinstance(load_detector(weights, backend="auto"), CNNDetector)
    assert len(calls) == 1  # not retried
    with pytest.raises(BackendError, match=r"differs from torch.*delete"):
        load_detector(weights, backend="onnx")
    marker.write_text(json.dumps({"torch": "0.0", "reason": "an older exporter"}))
    monkeypatch.undo()  # a new torch version gets its own try, which succeeds
    assert isinstance(load_detector(weights, backend="auto"), OnnxDetector)


def test_refusals_of_the_onnx_backend(tmp_path: Path) -> None:
    weights = _saved(tmp_path)
    with pytest.raises(BackendError, match="CPU"):
        load_detector(weights, backend="onnx", device="cuda")
    with pytest.raises(ValueError, match="backend must be one of"):
        load_detector(weights, backend="tensorrt")
    detector = load_detector(weights, backend="onnx")
    with pytest.raises(DeviceError):
        detector.to("cuda")
    with pytest.raises(TypeError, match="backend='torch'"):
        detector.load_state_dict({})
    assert detector.to("cpu") is detector


def test_state_and_save_round_trip_through_the_weights(tmp_path: Path) -> None:
    weights = _saved(tmp_path)
    detector = load_detector(weights, backend="onnx")
    torch_detector = load_detector(weights, backend="torch", device="cpu")
    state, want = detector.state_dict(), torch_detector.state_dict()
    assert sorted(state) == sorted(want)
    assert all(bool((state[k] == want[k]).all()) for k in want)
    copy = load_detector(detector.save(tmp_path / "copy" / "tiny"), backend="torch", device="cpu")
    assert copy.model_hash == detector.model_hash == torch_detector.model_hash


def test_load_onnx_reads_a_graph_without_its_exporter(tmp_path: Path) -> None:
    weights = _saved(tmp_path)
    detector = load_onnx(weights, required=True, folder=tmp_path / "cache")
    assert isinstance(detector, OnnxDetector)
    graph = next((tmp_path / "cache").glob("*.onnx"))
    fresh = OnnxDetector(detector.spec, graph, weights, threads=1)
    image = [_photo(64, 64, 0)]
    assert fresh.score(image)[0] == detector.score(image)[0]


# --- threads ------------------------------------------------------------------------------------
def test_threads_follow_the_torch_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert default_threads() == 1
        assert load_detector(_saved(tmp_path), backend="onnx").threads == 1  # type: ignore[attr-defined]
    finally:
        torch.set_num_threads(before)
    monkeypatch.delitem(sys.modules, "torch")  # as in a process that never imported it
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert default_threads() == len(os.sched_getaffinity(0))


# --- start-up ---------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["onnx", "auto"])
def test_detect_from_the_cache_imports_neither_torch_nor_timm(
    backend: str, tmp_path: Path, onnx_cache: Path
) -> None:
    if backend == "auto" and _gpu_possible():
        pytest.skip("auto asks torch whether it sees a GPU on a machine with GPU device nodes")
    load_detector(backend="onnx")  # fills this session's cache with the default model's graph
    image = tmp_path / "one.jpg"
    Image.fromarray(_photo(300, 400, 0)).save(image, quality=90)
    script = (
        "import json, sys\n"
        "from spotfake.cli import main\n"
        f"code = main(['detect', {str(image)!r}, '--format', 'jsonl', '-q', '--backend', "
        f"{backend!r}])\n"
        "heavy = [m for m in ('torch', 'timm', 'torchvision') if m in sys.modules]\n"
        "print(json.dumps({'code': code, 'heavy': heavy}), file=sys.stderr)\n"
    )
    env = {**os.environ, "SPOTFAKE_ONNX_CACHE": str(onnx_cache)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert json.loads(done.stderr.strip().splitlines()[-1]) == {"code": 0, "heavy": []}, done.stderr
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record["model_hash"] == load_detector(backend="onnx").model_hash
    assert 0.0 <= record["score"] <= 1.0
