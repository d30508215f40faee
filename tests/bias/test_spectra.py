"""Spectra of a dataset: an upsampling peak is found, groups and counts are right, files skipped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import gaussian_filter

from spotfake.bias.spectra import (
    GroupSpectra,
    batch_spectra,
    compute_spectra,
    group_crop,
)
from spotfake.bias.spectra_report import (
    high_frequency_ratio,
    reference,
    summary,
    write_outputs,
)
from spotfake.data.layouts import Entry
from spotfake.data.sampling import sample_groups, select
from spotfake.errors import SpotfakeError
from spotfake.features.spectrum import azimuthal_spectrum
from spotfake.records import GENERATED, REAL, ImageRecord

SIZE = 64


def smooth_image(seed: int, size: int = SIZE) -> np.ndarray:
    """A 'real' image: Gaussian-filtered noise, little energy at high frequencies."""
    field = gaussian_filter(np.random.default_rng(seed).normal(size=(size, size)), 2.0)
    return np.clip(128 + field / field.std() * 40, 0, 255).astype(np.uint8)


def upsampled_image(seed: int) -> np.ndarray:
    """A 'fake': smooth 32x32 noise through a 2x transposed convolution (stride 2, 2x2 kernel).

    Each output 2x2 block is a low-resolution pixel times the kernel, so the low-frequency
    content is replicated around the Nyquist frequency: a peak at the corners of the spectrum.
    """
    low = gaussian_filter(np.random.default_rng(seed).normal(size=(SIZE // 2, SIZE // 2)), 1.5)
    up = np.kron(low / low.std(), np.array([[1.0, 0.5], [0.5, 0.25]]))
    return np.clip(128 + up / up.std() * 40, 0, 255).astype(np.uint8)


def make_dataset(root: Path, n_real: int = 8, n_fake: int = 8) -> Path:
    """root/real/*.png (smooth) and root/fake/*.png (upsampled), 64x64 gray PNGs."""
    for name, make, count, offset in (
        ("real", smooth_image, n_real, 0),
        ("fake", upsampled_image, n_fake, 1000),
    ):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.fromarray(make(offset + i)).save(root / name / f"{i:03d}.png")
    return root


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return make_dataset(tmp_path / "data")


def test_upsampling_peak_and_high_frequency_ratio(dataset: Path) -> None:
    result = compute_spectra(select(dataset), crop=256, bins=40)
    real, fake = result.classes[REAL], result.classes[GENERATED]
    assert (real.count, fake.count) == (8, 8)
    assert result.crop_2d == SIZE and real.mean2d.shape == (SIZE, SIZE)
    # Nyquist in both axes is the corner [0, 0] of the shifted spectrum; [10, 10] is partway in.
    fake_peak = fake.mean2d[0, 0] - fake.mean2d[10, 10]
    real_peak = real.mean2d[0, 0] - real.mean2d[10, 10]
    assert fake_peak > 25.0 and real_peak < 5.0
    assert fake.mean2d[0, 0] - real.mean2d[0, 0] > 50.0
    assert high_frequency_ratio(fake.mean1d, real.mean1d) > 0.1
    assert high_frequency_ratio(real.mean1d, fake.mean1d) < -0.1
    assert np.allclose(fake.mean1d[0], 1.0) and np.all(fake.std1d >= 0)


def test_summary_and_files(dataset: Path, tmp_path: Path) -> None:
    result = compute_spectra(select(dataset), crop=32, bins=20)
    report = write_outputs(result, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["azimuthal.png", "spectra.json", "spectra.npz", "spectrum2d.png"]
    assert json.loads((tmp_path / "out" / "spectra.json").read_text()) == report
    assert [g["name"] for g in report["groups"]] == ["real", "generated"]
    assert [g["count"] for g in report["groups"]] == [8, 8]
    assert report["crop_2d"] == 32 and report["used"] == 16 and report["skipped"] == 0
    generated = report["groups"][1]
    assert generated["reference"] == "real" and len(generated["mean"]) == 20
    assert generated["high_frequency_ratio"] == report["high_frequency_ratio"] > 0
    with np.load(tmp_path / "out" / "spectra.npz") as arrays:
        assert list(arrays["group_names"]) == ["real", "generated"]
        assert arrays["mean1d"].shape == (2, 20) and arrays["difference2d"].shape == (32, 32)
    for name in ("azimuthal.png", "spectrum2d.png"):
        with Image.open(tmp_path / "out" / name) as image:
            assert image.format == "PNG" and image.width > 300


def test_unreadable_files_are_counted_and_skipped(dataset: Path) -> None:
    (dataset / "fake" / "text.png").write_text("not an image")
    data = (dataset / "fake" / "000.png").read_bytes()
    (dataset / "fake" / "trunc.png").write_bytes(data[: len(data) // 2])
    result = compute_spectra(select(dataset), crop=64)
    assert result.classes[GENERATED].count == 8
    skipped = sorted(Path(path).name for path, _ in result.skipped)
    assert skipped == ["text.png", "trunc.png"]
    assert all(reason for _, reason in result.skipped)
    assert summary(result)["skipped"] == 2


def test_limit_caps_groups_deterministically() -> None:
    entries = [Entry(f"/d/real/{i:02d}.png", REAL) for i in range(12)]
    entries += [Entry(f"/d/fake/{i:02d}.png", GENERATED, "gan") for i in range(3)]
    entries += [Entry("/d/other/x.png", None)]
    first = sample_groups(entries, limit=5, seed=0)
    assert list(first) == [(REAL, None), (GENERATED, "gan")]
    assert len(first[(REAL, None)]) == 5 and len(first[(GENERATED, "gan")]) == 3
    assert first == sample_groups(list(reversed(entries)), limit=5, seed=0)
    assert first != sample_groups(entries, limit=5, seed=1)
    locations = [e.location for e in first[(REAL, None)]]
    assert locations == sorted(locations)


def test_limit_through_select(dataset: Path) -> None:
    selection = select(dataset, limit=3, seed=7)
    assert [len(records) for records in selection.groups.values()] == [3, 3]
    assert selection.available == {(REAL, None): 8, (GENERATED, None): 8}
    again = select(dataset, limit=3, seed=7)
    assert [r.path for g in again.groups.values() for r in g] == [
        r.path for g in selection.groups.values() for r in g
    ]


def test_manifest_is_read_as_it_is(dataset: Path, tmp_path: Path) -> None:
    from spotfake.data.manifest import index, write_manifest

    write_manifest(index(dataset), tmp_path / "set.csv")
    (dataset / "real" / "000.png").unlink()  # a manifest is trusted: this one is now unreadable
    selection = select(tmp_path / "set.csv", generator="toy")
    assert list(selection.groups) == [(REAL, "toy"), (GENERATED, "toy")]
    result = compute_spectra(selection, crop=32)
    assert result.classes[REAL].count == 7 and [Path(p).name for p, _ in result.skipped] == [
        "000.png"
    ]


def test_generators_and_per_group_crops(tmp_path: Path) -> None:
    """GenImage layout: reals per generator; one generator's fakes are smaller (48x48)."""
    for generator, size in (("ganA", SIZE), ("ganB", 48)):
        for folder, make in (("nature", smooth_image), ("ai", upsampled_image)):
            target = tmp_path / generator / "train" / folder
            target.mkdir(parents=True)
            for i in range(3):
                pixels = make(i + (10 if folder == "ai" else 0))[:size, :size]
                Image.fromarray(pixels).save(target / f"{i}.png")
    result = compute_spectra(select(tmp_path), crop=256, bins=16)
    report = summary(result)
    names = [g["name"] for g in report["groups"]]
    assert names == ["real", "generated", "real/ganA", "real/ganB", "generated/ganA",
                     "generated/ganB"]  # fmt: skip
    crops = {g["name"]: g["crop"] for g in report["groups"]}
    assert crops["generated/ganA"] == SIZE and crops["generated/ganB"] == 48
    assert result.crop_2d == 48 and result.classes[GENERATED].count == 6
    ref = reference(result, result.generators[(GENERATED, "ganB")])
    assert ref is not None and ref.name == "real/ganB"


def test_no_labelled_images_is_an_error(tmp_path: Path) -> None:
    Image.fromarray(smooth_image(0)).save(tmp_path / "a.png")
    with pytest.raises(SpotfakeError, match="no labelled readable images"):
        compute_spectra(select(tmp_path))


def test_batch_spectra_match_the_feature_module() -> None:
    images = np.stack([smooth_image(i, 40) for i in range(3)]).astype(np.float64)
    features, spectra, inner = batch_spectra(images, bins=30, crop_2d=32)
    expected = np.stack([azimuthal_spectrum(image, 30) for image in images])
    assert np.allclose(features, expected)
    assert spectra.shape == (3, 40, 40) and inner.shape == (3, 32, 32)


def test_group_statistics() -> None:
    group = GroupSpectra("real", REAL, None, crop=4, bins=3)
    rows = np.array([[1.0, 0.5, 0.2], [1.0, 0.7, 0.4], [1.0, 0.6, 0.9]])
    group.add(rows[:2], np.ones((2, 4, 4)))
    group.add(rows[2:], np.zeros((1, 4, 4)))
    assert group.count == 3
    assert np.allclose(group.mean1d, rows.mean(axis=0))
    assert np.allclose(group.std1d, rows.std(axis=0))
    assert np.allclose(group.mean2d, 2 / 3)


def test_group_crop_uses_the_smallest_readable_side() -> None:
    records = [
        ImageRecord("a", REAL, width=300, height=120),
        ImageRecord("b", REAL, width=90, height=400),
        ImageRecord("c", REAL, error="broken"),
        ImageRecord("d", REAL, width=4, height=4),  # too small: skipped, not a crop size
    ]
    assert group_crop(records, 256) == 90
    assert group_crop(records, 64) == 64
