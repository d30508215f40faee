"""Latent-clustering indicators: the clustering figures, the hooked features, the CLI flag."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from spotfake.evaluate.indicators import (
    ClusterSettings,
    cluster_layer,
    format_table,
    latent_indicators,
    purity,
)
from spotfake.evaluate.latents import PRE_LOGITS, default_layers, pool, view_features
from spotfake.records import ImageRecord

FAST = ClusterSettings(ks=(2, 3, 4), n_init=2)


def _blobs(n: int = 12, gap: float = 10.0) -> tuple[np.ndarray, np.ndarray]:
    """Two tight, far-apart Gaussian blobs in 6-D and their labels (0 then 1)."""
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(0, 1, (n, 6)), rng.normal(gap, 1, (n, 6))])
    return features, np.repeat([0, 1], n)


def test_separable_features_cluster_purely() -> None:
    features, labels = _blobs()
    row = cluster_layer("x", features, labels, FAST)
    assert row.purity_k2 == 1.0 and row.best_k == 2 and row.channels == 6
    assert row.silhouette_k2 is not None and row.silhouette_k2 > 0.8
    assert set(row.sweep) == {"2", "3", "4"}
    assert row.mean_silhouette == pytest.approx(np.mean(list(row.sweep.values())))


def test_clustering_is_deterministic_and_pca_reduces() -> None:
    rng = np.random.default_rng(1)
    features, labels = rng.normal(size=(30, 50)), rng.integers(0, 2, 30)
    settings = ClusterSettings(ks=(2, 3), pca_dims=8, n_init=2, seed=3)
    assert cluster_layer("x", features, labels, settings) == cluster_layer(
        "x", features, labels, settings
    )


def test_degenerate_inputs_give_none_not_errors() -> None:
    same = np.ones((5, 4))
    row = cluster_layer("flat", same, np.array([0, 1, 0, 1, 0]), FAST)
    assert row.silhouette_k2 is None and row.best_k is None and row.mean_silhouette is None
    tiny = cluster_layer("two", np.array([[0.0], [1.0]]), np.array([0, 1]), FAST)
    assert tiny.silhouette_k2 is None and tiny.purity_k2 is None
    assert purity(np.array([0, 1, 1]), np.array([1, 1, 1])) is None


def test_pool_finds_the_channel_axis() -> None:
    import torch

    nchw = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    assert pool(nchw).shape == (2, 3)
    assert pool(nchw.permute(0, 2, 3, 1), channels=3).shape == (2, 3)  # NHWC (Swin)
    assert pool(torch.ones(2, 7, 3)).shape == (2, 3)  # tokens
    assert torch.allclose(pool(nchw)[0], nchw[0].mean(dim=(1, 2)))


def _images(n: int) -> list[np.ndarray]:
    """Flat grey images then noise images: two visibly different kinds."""
    rng = np.random.default_rng(2)
    flat = [np.full((36, 40, 3), 20 * i, np.uint8) for i in range(n)]
    noisy = [rng.integers(0, 256, (36, 40, 3), dtype=np.uint8) for _ in range(n)]
    return flat + noisy


@pytest.mark.parametrize(("name", "options"), [("cnn-tiny", {"crop": 32}),
                                               ("cnn-cifar-resnet", {"width": 4})])  # fmt: skip
def test_layers_are_hooked_and_pooled(name: str, options: dict[str, int]) -> None:
    from spotfake.models.registry import create_detector

    detector = create_detector(name, **options)
    layers = default_layers(detector.model)
    features = view_features(detector, _images(2), layers)
    assert list(features) == [layer.name for layer in layers]
    assert layers[-1].name == PRE_LOGITS
    assert all(f.shape[0] == 4 and np.isfinite(f).all() for f in features.values())
    if name == "cnn-tiny":
        assert [layer.name for layer in layers[:2]] == ["blocks.0", "blocks.1"]


def test_multi_crop_views_are_averaged() -> None:
    from spotfake.models.registry import create_detector

    detector = create_detector("cnn-tiny", crop=16)
    image = _images(1)[1]
    layers = default_layers(detector.model)
    single = view_features(detector, [image], layers)
    detector.spec.input = replace(detector.spec.input, crops=4)
    views = detector.views(image)
    assert len(views) == 4
    merged = view_features(detector, [image], layers)[PRE_LOGITS]
    each = [view_features(_Fixed(detector, v), [image], layers)[PRE_LOGITS] for v in views]
    assert np.allclose(merged, np.mean(each, axis=0), atol=1e-5)
    assert single[PRE_LOGITS].shape == merged.shape


class _Fixed:
    """The detector's model with one given view per image."""

    def __init__(self, detector: object, view: np.ndarray) -> None:
        self.model = detector.model  # type: ignore[attr-defined]
        self.view = view

    def views(self, image: np.ndarray) -> list[np.ndarray]:
        return [self.view]


def _write(folder: Path, images: list[np.ndarray], label: int) -> list[ImageRecord]:
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i, pixels in enumerate(images):
        path = folder / f"{i}.png"
        Image.fromarray(pixels).save(path)
        records.append(ImageRecord(path=str(path), label=label))
    return records


def test_end_to_end_is_deterministic_and_skips_bad_files(tmp_path: Path) -> None:
    import torch

    from spotfake.models.registry import create_detector

    torch.manual_seed(0)  # the untrained weights

    images = _images(4)
    records = _write(tmp_path / "real", images[:4], 0) + _write(tmp_path / "fake", images[4:], 1)
    (tmp_path / "bad.png").write_text("not an image")
    records.append(ImageRecord(path=str(tmp_path / "bad.png"), label=1))
    detector = create_detector("cnn-tiny", crop=32)
    first = latent_indicators(detector, records, "tiny", FAST, batch_size=3)
    assert latent_indicators(detector, records, "tiny", FAST, batch_size=3) == first
    other = latent_indicators(detector, records, "tiny", FAST, batch_size=5)
    assert other.indicator == pytest.approx(first.indicator, abs=1e-6)
    assert (first.n_real, first.n_fake) == (4, 4)
    assert [u["path"] for u in first.unreadable] == [str(tmp_path / "bad.png")]
    assert first.indicator_layer == PRE_LOGITS
    assert first.indicator == first.layers[-1].mean_silhouette
    assert first.layers[0].layer == "blocks.0" and first.layers[0].purity_k2 == 1.0  # flat vs noise
    json.dumps(first.to_dict())
    assert "indicator, mean silhouette" in format_table(first)


@pytest.fixture
def cli_setup(tmp_path: Path) -> tuple[Path, Path]:
    """A saved untrained cnn-tiny (crop 32) and a real/ + fake/ folder of 3 + 3 PNGs."""
    import torch

    from spotfake.models.registry import create_detector

    torch.manual_seed(0)
    model = create_detector("cnn-tiny", crop=32).save(tmp_path / "model" / "tiny")
    images = _images(3)
    _write(tmp_path / "data" / "real", images[:3], 0)
    _write(tmp_path / "data" / "fake", images[3:], 1)
    return model, tmp_path / "data"


def test_cli_adds_an_indicators_section(
    cli_setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from spotfake.cli import main

    model, data = cli_setup
    assert main(["evaluate", str(model), str(data), "-q"]) == 0
    plain = capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["evaluate", str(model), str(data), "-q", "--indicators", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.startswith(plain.split("report:")[0])  # the usual evaluation, unchanged
    assert "tiny: latent indicators on 3 real, 3 generated clean images" in text
    assert "pre_logits" in text and "indicators.json" in text
    saved = json.loads((out / "indicators.json").read_text())
    assert saved[0]["model"] == "tiny" and saved[0]["layers"][-1]["layer"] == PRE_LOGITS
    assert main(["evaluate", str(model), str(data), "--json", "--indicators", "--limit", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["indicators"][0]["n_real"] == 2 and summary["indicators"][0]["n_fake"] == 2
    assert main(["evaluate", str(model), str(data), "--json"]) == 0
    assert "indicators" not in json.loads(capsys.readouterr().out)


def test_cli_reports_bad_files_and_refuses_non_torch_models(
    cli_setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from spotfake.cli import main
    from spotfake.models.registry import create_detector

    model, data = cli_setup
    (data / "fake" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    assert main(["evaluate", str(model), str(data), "--json", "--indicators"]) == 1
    captured = capsys.readouterr()
    assert "broken.png" in captured.err
    found = json.loads(captured.out)["indicators"][0]
    assert found["n_fake"] == 3 and [Path(u["path"]).name for u in found["unreadable"]] == [
        "broken.png"
    ]
    spectral = create_detector("spectral-logreg")
    spectral.fit(np.random.default_rng(0).random((8, spectral.n_bins)), np.array([0, 1] * 4))
    saved = spectral.save(tmp_path / "spectral")
    assert main(["evaluate", str(saved), str(data), "--indicators"]) == 2
    assert "torch" in capsys.readouterr().err


def test_only_unreadable_files_give_an_empty_result(tmp_path: Path) -> None:
    from spotfake.models.registry import create_detector

    (tmp_path / "bad.jpg").write_bytes(b"")
    records = [ImageRecord(path=str(tmp_path / "bad.jpg"), label=0)]
    result = latent_indicators(create_detector("cnn-tiny", crop=32), records, "tiny", FAST)
    assert result.layers == [] and result.indicator is None and len(result.unreadable) == 1
    assert "n/a" in format_table(result)
