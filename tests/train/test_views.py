"""Training views: native-resolution crops, the model's integer upscale, the bias control."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spotfake.data.augment import AugmentConfig
from spotfake.models.base import load_detector_file
from spotfake.models.registry import create_detector
from spotfake.train.views import ViewMaker, quality_mix

NO_AUGMENT = AugmentConfig(blur_p=0.0, jpeg_p=0.0, flip_p=0.0)


def test_views_are_native_crops_and_reproducible() -> None:
    image = np.random.default_rng(0).integers(0, 256, (100, 90, 3), dtype=np.uint8)
    maker = ViewMaker(crop=32, augment=NO_AUGMENT)
    view = maker(image, 0, np.random.default_rng(5))
    windows = np.lib.stride_tricks.sliding_window_view(image, (32, 32, 3)).reshape(-1, 32, 32, 3)
    assert any(np.array_equal(view, w) for w in windows)
    np.testing.assert_array_equal(view, maker(image, 0, np.random.default_rng(5)))


def test_upscale_in_training_matches_the_detector(tmp_path: Path) -> None:
    small = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    maker = ViewMaker(crop=64, augment=NO_AUGMENT, upscale=4, upscale_method="nearest")
    view = maker(small, 1, np.random.default_rng(0))
    np.testing.assert_array_equal(view, np.repeat(np.repeat(small, 4, 0), 4, 1))
    detector = create_detector("cnn-tiny", crop=64, upscale=4, upscale_method="nearest")
    assert detector.preprocess(small).shape == (3, 64, 64)
    loaded = load_detector_file(detector.save(tmp_path / "m"))
    np.testing.assert_array_equal(loaded.preprocess(small), detector.preprocess(small))


def test_translate_shifts_a_view_of_a_crop_sized_image() -> None:
    image = np.random.default_rng(3).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    cfg = AugmentConfig(blur_p=0.0, jpeg_p=0.0, flip_p=0.0, translate=2)
    maker = ViewMaker(crop=32, augment=cfg)
    padded = np.pad(image, ((2, 2), (2, 2), (0, 0)), mode="reflect")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (32, 32, 3)).reshape(-1, 32, 32, 3)
    views = [maker(image, 0, np.random.default_rng(seed)) for seed in range(20)]
    assert all(v.shape == (32, 32, 3) for v in views)
    assert all(any(np.array_equal(v, w) for w in windows) for v in views)
    assert sum(not np.array_equal(v, image) for v in views) >= 10  # most views are shifted
    without = ViewMaker(crop=32, augment=NO_AUGMENT)
    assert all(np.array_equal(without(image, 0, np.random.default_rng(s)), image) for s in range(5))


def test_randaugment_is_seeded_by_the_view() -> None:
    image = np.random.default_rng(2).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    cfg = AugmentConfig(blur_p=0.0, jpeg_p=0.0, flip_p=0.0, randaugment_n=2, randaugment_m=9)
    maker = ViewMaker(crop=32, augment=cfg)
    first = maker(image, 0, np.random.default_rng(3))
    assert first.shape == (32, 32, 3) and first.dtype == np.uint8
    np.testing.assert_array_equal(first, maker(image, 0, np.random.default_rng(3)))


def test_quality_mix_is_the_other_class_with_lossless_files() -> None:
    mix = quality_mix([0, 0, 1, 1, 1, 1], [96, 96, 75, 75, 75, None])
    values, odds = mix[0]
    assert values.tolist() == [-1, 75] and odds.tolist() == [0.25, 0.75]
    assert mix[1][0].tolist() == [96]
    maker = ViewMaker(crop=8, augment=NO_AUGMENT, cross_quality_p=1.0, other_qualities=mix)
    rng = np.random.default_rng(0)
    assert {maker._other_quality(0, rng) for _ in range(200)} == {None, 75}


def test_swin_trims_inputs_to_its_patch_size() -> None:
    detector = create_detector("cnn-swin-tiny", crop=224)
    odd = np.zeros((30, 45, 3), np.uint8)  # smaller than the crop: kept whole, then trimmed
    assert detector.preprocess(odd).shape == (3, 28, 44)
