"""CNNDetector multi-crop inference: windows, aggregation by hand, batching, one crop as before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spotfake.models.base import load_detector_file
from spotfake.models.cnn import CNNDetector
from spotfake.models.registry import create_detector
from spotfake.models.scoring import aggregate_logits, normalise, sigmoid
from spotfake.models.spec import DetectorSpec, InputPolicy
from spotfake.models.windows import crop_windows

CROP = 64  # cnn-tiny's crop


def _images(seed: int = 0) -> list[np.ndarray]:
    """Larger than the crop both ways, a wide strip, crop-sized, smaller than the crop."""
    rng = np.random.default_rng(seed)
    shapes = [(150, 200), (64, 300), (190, 130), (64, 64), (40, 50), (150, 200)]
    return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in shapes]


def _tiny(crops: int = 1, aggregate: str = "mean-logit", **config: Any) -> CNNDetector:
    detector = create_detector("cnn-tiny", **config)
    assert isinstance(detector, CNNDetector)
    detector.spec.input = InputPolicy(
        crop=detector.spec.input.crop, crops=crops, aggregate=aggregate
    )
    return detector


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    return np.log(p / (1.0 - p))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def _single_crop_scores(detector: CNNDetector, images: list[np.ndarray]) -> np.ndarray:
    """score() as it was before multi-crop: centre views grouped by shape, sigmoid per group."""
    import torch

    tensors = [detector.preprocess(image) for image in images]
    out = np.empty(len(images))
    groups: dict[tuple[int, ...], list[int]] = {}
    for index, tensor in enumerate(tensors):
        groups.setdefault(tensor.shape, []).append(index)
    with torch.inference_mode():
        for indices in groups.values():
            batch = torch.from_numpy(np.stack([tensors[i] for i in indices]))
            batch = batch.contiguous(memory_format=torch.channels_last)
            out[indices] = sigmoid(detector.logits(batch).float().numpy())
    return out


def test_one_crop_scores_exactly_as_before() -> None:
    detector = _tiny()
    images = _images()
    np.testing.assert_array_equal(detector.score(images), _single_crop_scores(detector, images))
    assert [len(detector.views(image)) for image in images] == [1] * len(images)


def test_min_side_gates_the_windows_by_the_shorter_side() -> None:
    detector = _tiny(crops=4)
    detector.spec = detector.spec.with_crops(4, min_side=150)
    images = _images()  # shorter sides 150, 64, 130, 64, 40, 150
    assert [len(detector.views(image)) for image in images] == [4, 1, 1, 1, 1, 4]
    small = [images[1], images[2]]
    np.testing.assert_array_equal(detector.score(small), _single_crop_scores(detector, small))
    large = [images[0]]
    gated = detector.score(large)
    detector.spec = detector.spec.with_crops(4)  # the same weights, windows on every image
    np.testing.assert_array_equal(gated, detector.score(large))


@pytest.mark.parametrize("crops", [4, 5, 9])
def test_mean_logit_is_the_mean_of_each_window_scored_alone(crops: int) -> None:
    detector = _tiny()
    images = _images(1)
    expected = []
    for image in images:
        corners = crop_windows(image.shape[0], image.shape[1], CROP, crops)
        cutouts = [image[t : t + CROP, left : left + CROP] for t, left in corners]
        alone = np.concatenate([detector.score([cutout]) for cutout in cutouts])  # crops=1
        expected.append(_sigmoid(_logit(alone).mean()))
    detector.spec = detector.spec.with_crops(crops)
    np.testing.assert_allclose(detector.score(images), expected, rtol=1e-5, atol=1e-6)


def test_max_logit_takes_the_most_generated_window() -> None:
    images = _images(2)
    mean = _tiny(crops=4)
    worst = _tiny(crops=4, aggregate="max-logit")
    worst.load_state_dict(mean.state_dict())
    single = _tiny()
    single.load_state_dict(mean.state_dict())
    for image, got in zip(images, worst.score(images), strict=True):
        corners = crop_windows(image.shape[0], image.shape[1], CROP, 4)
        alone = single.score([image[t : t + CROP, c : c + CROP] for t, c in corners])
        assert got == pytest.approx(alone.max(), rel=1e-5, abs=1e-6)
    assert np.all(worst.score(images) >= mean.score(images) - 1e-6)


def test_window_counts_and_shapes() -> None:
    detector = _tiny(crops=4)
    counts = [len(detector.views(image)) for image in _images()]
    # 2x2; a 64-high strip: 1x4 along its width; 2x2; crop-sized; smaller than the crop
    assert counts == [4, 4, 4, 1, 1, 4]
    assert all(v.shape == (3, CROP, CROP) for v in detector.views(_images()[0]))
    (small,) = detector.views(_images()[4])
    assert small.shape == (3, 40, 50)


def test_all_windows_of_a_batch_share_one_forward_pass() -> None:
    detector = _tiny(crops=4)
    sizes: list[int] = []
    detector.model.register_forward_hook(lambda m, args, out: sizes.append(args[0].shape[0]))
    images = _images()
    detector.score(images)
    # every window of the four larger images, then the crop-sized one and the small one apart
    assert sorted(sizes) == [1, 1 + 4 * 4]


def test_scores_do_not_depend_on_batching() -> None:
    detector = _tiny(crops=9)
    images = _images(3)
    together = detector.score(images)
    alone = np.concatenate([detector.score([image]) for image in images])
    np.testing.assert_allclose(together, alone, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(detector.score(images), together)


def test_windows_get_the_same_per_view_preprocessing() -> None:
    """Upscale first, then each window is normalised and trimmed like the single crop."""
    image = np.random.default_rng(4).integers(0, 256, (50, 60, 3), dtype=np.uint8)
    detector = _tiny(crops=4, upscale=2, upscale_method="nearest")
    big = np.repeat(np.repeat(image, 2, 0), 2, 1)  # 100x120
    corners = crop_windows(100, 120, CROP, 4)
    expected = [normalise(big[t : t + CROP, c : c + CROP], detector.spec.input) for t, c in corners]
    views = detector.views(image)
    assert len(views) == 4
    for view, want in zip(views, expected, strict=True):
        np.testing.assert_array_equal(view, want)

    policy = InputPolicy(crop=30, crops=4)
    trimmed = CNNDetector(DetectorSpec("cnn-tiny", input=policy), "test_efficientnet", multiple=4)
    assert [v.shape for v in trimmed.views(image)] == [(3, 28, 28)] * 4


def test_resize_comes_before_the_windows() -> None:
    image = np.random.default_rng(5).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    detector = _tiny(crops=4)
    detector.spec.input = InputPolicy(crop=CROP, resize=100, crops=4)
    views = detector.views(image)  # resized to 100x150, then a 2x2 grid of 64 px windows
    assert len(views) == 4 and views[0].shape == (3, CROP, CROP)


def test_aggregate_logits_by_hand() -> None:
    logits = np.array([1.0, 3.0, -2.0, 0.5, 0.5, 2.0], dtype=np.float32)
    mean = aggregate_logits(logits, [2, 1, 3], "mean-logit")
    top = aggregate_logits(logits, [2, 1, 3], "max-logit")
    np.testing.assert_allclose(mean, [2.0, -2.0, 1.0])
    np.testing.assert_allclose(top, [3.0, -2.0, 2.0])
    assert aggregate_logits(logits, [1] * 6) is logits


def test_sigmoid_is_exact_and_never_overflows() -> None:
    logits = np.array([-1e30, -800.0, -2.0, 0.0, 2.0, 800.0], dtype=np.float64)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = sigmoid(logits)
    np.testing.assert_allclose(got[2:5], 1.0 / (1.0 + np.exp(-logits[2:5])), rtol=1e-15)
    assert got[0] == 0.0 and got[1] == 0.0 and got[-1] == 1.0


def test_crops_travel_with_the_saved_spec(tmp_path: Path) -> None:
    detector = _tiny(crops=4, aggregate="max-logit")
    loaded = load_detector_file(detector.save(tmp_path / "m"))
    assert loaded.spec.input.crops == 4 and loaded.spec.input.aggregate == "max-logit"
    images = _images(6)
    np.testing.assert_allclose(loaded.score(images), detector.score(images), rtol=1e-6)


def test_many_images_are_scored_in_bounded_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    """score() splits images and views into passes of at most MAX_VIEWS_PER_PASS, with the same
    scores as one pass (a caller may hand over thousands of images at once)."""
    from spotfake.models import scoring

    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (80, 96, 3), dtype=np.uint8) for _ in range(11)]
    detector = _tiny(crops=4)
    whole = detector.score(images)
    sizes: list[int] = []
    original = detector.logits

    def counting(batch: Any) -> Any:
        sizes.append(int(batch.shape[0]))
        return original(batch)

    monkeypatch.setattr(scoring, "MAX_VIEWS_PER_PASS", 5)
    monkeypatch.setattr(detector, "logits", counting)
    chunked = detector.score(images)
    assert max(sizes) <= 5 and sum(sizes) == 11 * 4
    np.testing.assert_allclose(chunked, whole, rtol=1e-5, atol=1e-6)
