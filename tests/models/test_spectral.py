"""Spectral detectors: the paper's CelebA table, few-shot learning, contract and save/load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import spotfake
from spotfake.errors import SpotfakeError
from spotfake.models.base import load_detector_file
from spotfake.models.registry import create_detector, list_detectors
from spotfake.models.spectral import NotFittedError, SpectralDetector, fit_platt

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
CELEBA = DATA / "durall" / "celeba-spectra-80.npz"
VARIANTS = ["spectral-logreg", "spectral-svm", "spectral-kmeans"]


def cluster_accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Clustering accuracy as the paper scores it: the better of the two cluster namings."""
    accuracy = float(np.mean(predicted == labels))
    return max(accuracy, 1.0 - accuracy)


def pink_noise(size: int, rng: np.random.Generator) -> np.ndarray:
    """A gray image with a 1/f amplitude spectrum, like natural photos."""
    freq = np.hypot(np.fft.fftfreq(size)[:, None], np.fft.fftfreq(size)[None, :])
    freq[0, 0] = 1.0
    image = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal((size, size))) / freq))
    return (image - image.mean()) / image.std()


def synthetic_images(n_per_class: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """'Real' 1/f noise vs 'generated' 2x zero-insertion upsampled 1/f noise, as RGB uint8."""
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label in (0, 1):
        for _ in range(n_per_class):
            if label:
                gray = np.zeros((48, 48))
                gray[::2, ::2] = 2.0 * pink_noise(24, rng)
            else:
                gray = pink_noise(48, rng)
            pixels = np.clip(np.round(gray * 40 + 128), 0, 255).astype(np.uint8)
            images.append(np.repeat(pixels[..., None], 3, axis=2))
            labels.append(label)
    return images, np.asarray(labels)


@pytest.fixture(scope="module")
def celeba() -> tuple[np.ndarray, np.ndarray]:
    if not CELEBA.is_file():
        pytest.skip(f"Durall et al. CelebA spectra not found at {CELEBA}")
    with np.load(CELEBA) as data:
        return data["features"], data["label"].astype(int)


@pytest.fixture(scope="module")
def toy() -> tuple[list[np.ndarray], np.ndarray]:
    return synthetic_images(12, seed=0)


def make(name: str, **config: Any) -> SpectralDetector:
    """A fresh detector from the registry, typed as the spectral class."""
    detector = create_detector(name, **config)
    assert isinstance(detector, SpectralDetector)
    return detector


def fitted(name: str, toy: tuple[list[np.ndarray], np.ndarray]) -> SpectralDetector:
    images, labels = toy
    return make(name).fit_images(images, None if name == "spectral-kmeans" else labels)


def test_all_variants_are_registered() -> None:
    assert set(VARIANTS) <= set(list_detectors())


@pytest.mark.parametrize("name", VARIANTS)
def test_spec_uses_the_whole_image(name: str) -> None:
    detector = create_detector(name, n_bins=40)
    assert detector.spec.architecture == name
    assert detector.spec.config["n_bins"] == 40
    assert detector.spec.input.crop is None
    assert detector.spec.input.resize is None


def split_80_20(labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified random 80/20 split, as in the paper's protocol."""
    from sklearn.model_selection import train_test_split

    index = np.arange(labels.size)
    train, test = train_test_split(index, test_size=0.2, random_state=seed, stratify=labels)
    return train, test


@pytest.mark.parametrize(("name", "minimum"), [("spectral-logreg", 0.99), ("spectral-svm", 0.99)])
def test_reproduces_celeba_table_supervised(
    celeba: tuple[np.ndarray, np.ndarray], name: str, minimum: float
) -> None:
    features, labels = celeba
    accuracies = []
    for seed in range(10):
        train, test = split_80_20(labels, seed)
        detector = make(name).fit(features[train], labels[train])
        predicted = detector.score_features(features[test]) > 0.5
        accuracies.append(np.mean(predicted == labels[test]))
    assert np.mean(accuracies) >= minimum  # paper: 100%; measured here: 100%


def test_reproduces_celeba_table_kmeans(celeba: tuple[np.ndarray, np.ndarray]) -> None:
    features, labels = celeba
    best, named = [], []
    for seed in range(10):
        train, test = split_80_20(labels, seed)
        detector = make("spectral-kmeans").fit(features[train])  # no labels
        predicted = (detector.score_features(features[test]) > 0.5).astype(int)
        best.append(cluster_accuracy(labels[test], predicted))
        named.append(np.mean(predicted == labels[test]))
    assert np.mean(best) >= 0.95  # paper: 96%; measured here: 97.05%
    # The unlabelled naming rule (tighter cluster = generated) also gets the direction right.
    assert np.mean(named) >= 0.95


@pytest.mark.parametrize("name", ["spectral-logreg", "spectral-svm"])
def test_few_shot_from_20_labelled_spectra(
    celeba: tuple[np.ndarray, np.ndarray], name: str
) -> None:
    features, labels = celeba
    accuracies = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        chosen = np.concatenate(
            [rng.choice(np.flatnonzero(labels == c), 10, replace=False) for c in (0, 1)]
        )
        rest = np.setdiff1d(np.arange(labels.size), chosen)
        detector = make(name).fit(features[chosen], labels[chosen])
        predicted = detector.score_features(features[rest]) > 0.5
        accuracies.append(np.mean(predicted == labels[rest]))
    assert np.mean(accuracies) >= 0.90  # measured: logreg 99.0%, svm 99.1%


@pytest.mark.parametrize("name", VARIANTS)
def test_scores_are_probabilities_and_batch_invariant(
    name: str, toy: tuple[list[np.ndarray], np.ndarray]
) -> None:
    detector = fitted(name, toy)
    test_images, test_labels = synthetic_images(5, seed=1)
    scores = detector.score(test_images)
    assert scores.shape == (10,)
    assert scores.dtype == np.float64
    assert np.all((scores >= 0) & (scores <= 1))
    assert np.mean((scores > 0.5) == test_labels) >= 0.9
    one_by_one = np.concatenate([detector.score([image]) for image in test_images])
    np.testing.assert_allclose(scores, one_by_one, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(detector.score(test_images), scores)  # deterministic
    assert detector.score([]).shape == (0,)


@pytest.mark.parametrize("name", VARIANTS)
def test_save_load_round_trip(
    name: str, toy: tuple[list[np.ndarray], np.ndarray], tmp_path: Path
) -> None:
    detector = fitted(name, toy)
    weights = detector.save(tmp_path / "m")
    loaded = load_detector_file(weights)
    assert isinstance(loaded, SpectralDetector)
    assert loaded.spec == detector.spec
    assert loaded.model_hash == detector.model_hash
    images, _ = synthetic_images(4, seed=2)
    np.testing.assert_array_equal(loaded.score(images), detector.score(images))


def test_predict_returns_records_for_arrays(toy: tuple[list[np.ndarray], np.ndarray]) -> None:
    from spotfake.prediction import GENERATED_LABEL, REAL_LABEL

    detector = fitted("spectral-logreg", toy)
    images, labels = synthetic_images(2, seed=3)
    predictions = spotfake.predict(detector, images)
    expected = [GENERATED_LABEL if y else REAL_LABEL for y in labels]
    assert [p.label for p in predictions] == expected
    assert all(p.model == "spectral-logreg" and p.error is None for p in predictions)
    scores = np.array([p.score for p in predictions], dtype=np.float64)
    np.testing.assert_allclose(scores, detector.score(images), atol=1e-6)


@pytest.mark.parametrize("name", VARIANTS)
def test_unfitted_detector_raises_a_clear_error(name: str) -> None:
    detector = create_detector(name)
    image = np.zeros((16, 16, 3), dtype=np.uint8)
    with pytest.raises(NotFittedError, match="not fitted"):
        detector.score([image])
    with pytest.raises(SpotfakeError):
        detector.state_dict()


def test_supervised_variants_check_their_labels() -> None:
    features = np.random.default_rng(0).random((6, 80))
    detector = make("spectral-logreg")
    with pytest.raises(ValueError, match="needs labels"):
        detector.fit(features)
    with pytest.raises(ValueError, match="both"):
        detector.fit(features, np.ones(6, dtype=int))
    with pytest.raises(ValueError, match="0 \\(real\\) or 1"):
        detector.fit(features, np.array([0, 1, 2, 0, 1, 0]))
    with pytest.raises(ValueError, match="shape"):
        detector.fit(features[:, :40], np.array([0, 1] * 3))


def test_kmeans_labels_name_the_clusters(toy: tuple[list[np.ndarray], np.ndarray]) -> None:
    images, labels = toy
    as_labelled = make("spectral-kmeans").fit_images(images, labels)
    flipped = make("spectral-kmeans").fit_images(images, 1 - labels)
    scores = as_labelled.score(images)
    np.testing.assert_allclose(flipped.score(images), 1.0 - scores, atol=1e-12)
    assert as_labelled.spec.training["fit"]["cluster_naming"] == "majority vote"
    assert np.mean((scores > 0.5) == labels) >= 0.9


def test_load_refuses_a_state_of_another_variant(
    toy: tuple[list[np.ndarray], np.ndarray],
) -> None:
    state = fitted("spectral-svm", toy).state_dict()
    with pytest.raises(KeyError, match="platt"):
        make("spectral-logreg").load_state_dict(state)
    with pytest.raises(ValueError, match="shape"):
        make("spectral-svm", n_bins=40).load_state_dict(state)


def test_platt_recovers_a_known_sigmoid() -> None:
    rng = np.random.default_rng(0)
    decisions = rng.normal(0.0, 2.0, 20000)
    labels = (rng.random(decisions.size) < 1 / (1 + np.exp(-(1.5 * decisions - 0.5)))).astype(int)
    slope, offset = fit_platt(decisions, labels)
    assert slope == pytest.approx(1.5, abs=0.1)
    assert offset == pytest.approx(-0.5, abs=0.1)
