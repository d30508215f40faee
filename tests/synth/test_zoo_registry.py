"""The generator registry and `synth list` / `synth make` for every kind of generator, with
small generators defined here (the real zoo's own tests are test_zoo_ncnn and test_zoo_torch)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from synth_images import photo

from spotfake.cli import main
from spotfake.data.layouts import discover
from spotfake.data.manifest import read_manifest
from spotfake.errors import RegistryError
from spotfake.synth import zoo
from spotfake.synth.counterparts import hf_energy
from spotfake.synth.generators import catalogue, open_generator
from spotfake.synth.zoo.base import (
    FAMILIES,
    MODES,
    GeneratorCard,
    GeneratorUnavailable,
    PairedGenerator,
    RunOptions,
    SamplingGenerator,
    ZooEntry,
)

Capture = pytest.CaptureFixture[str]


def _card(name: str, mode: str, family: str = "autoencoder", factor: int = 1) -> GeneratorCard:
    return GeneratorCard(name, family, "box filter", mode, "tests", "CC0", factor=factor)


class BoxBlur(PairedGenerator):
    """A stand-in autoencoder: a 3x3 box blur, so its fakes are smoother than their reals."""

    card = _card("test-box", "reconstruct")

    def fake(self, pixels: np.ndarray) -> np.ndarray:
        padded = np.pad(pixels.astype(np.float32), ((1, 1), (1, 1), (0, 0)), mode="edge")
        h, w = pixels.shape[:2]
        total = sum(padded[i : i + h, j : j + w] for i in range(3) for j in range(3))
        return np.rint(total / 9).astype(np.uint8)


class Doubler(PairedGenerator):
    """A stand-in super-resolver: reduce by 2, enlarge by pixel repetition."""

    card = _card("test-sr", "super-resolve", "super-resolution GAN", factor=2)

    def fake(self, pixels: np.ndarray) -> np.ndarray:
        from spotfake.synth.counterparts import reduce

        big = reduce(pixels, 2).repeat(2, axis=0).repeat(2, axis=1)
        return np.ascontiguousarray(big[: pixels.shape[0], : pixels.shape[1]])


class Noise(SamplingGenerator):
    """A stand-in GAN: uniform noise images of 16x16, from the seed."""

    card = _card("test-noise", "sample", "unconditional GAN")

    def sample(self, count: int, seed: int) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return list(rng.integers(0, 256, (count, 16, 16, 3), dtype=np.uint8))


def _missing() -> str:
    return "the package test-zoo-package is not installed: pip install test-zoo-package"


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The stand-ins registered beside the zoo, and one generator whose package is missing."""
    zoo.zoo_entries()  # the real modules first, so they do not register over the patch
    for generator in (BoxBlur(), Doubler(), Noise()):
        entry = ZooEntry(generator.card, lambda _, g=generator: g, lambda: None)
        monkeypatch.setitem(zoo._ENTRIES, generator.card.name, entry)
    absent = ZooEntry(_card("test-absent", "reconstruct"), lambda _: BoxBlur(), _missing)
    monkeypatch.setitem(zoo._ENTRIES, "test-absent", absent)
    yield


def test_every_registered_card_is_complete() -> None:
    entries = zoo.zoo_entries()
    assert entries, "no pretrained generator registered"
    for entry in entries:
        card = entry.card
        assert card.family in FAMILIES and card.mode in MODES
        assert card.pretrained and card.licence and card.source and card.upsampling
        assert (card.factor > 1) == (card.mode == "super-resolve"), card.name
        reason = entry.missing()
        assert reason is None or len(reason) > 10  # a missing generator says what is missing


def test_a_name_registers_once() -> None:
    name = zoo.zoo_entries()[0].card.name
    with pytest.raises(RegistryError, match="already registered"):
        zoo.register_pretrained(_card(name, "reconstruct"), lambda: None)(lambda _: BoxBlur())


def test_a_card_refuses_unknown_families_and_modes() -> None:
    with pytest.raises(ValueError, match="family"):
        GeneratorCard("x", "diffusion", "-", "reconstruct", "-", "-")
    with pytest.raises(ValueError, match="mode"):
        GeneratorCard("x", "autoencoder", "-", "inpaint", "-", "-")


@pytest.mark.usefixtures("stand_ins")
def test_open_generator_names_what_is_wrong(tmp_path: Path) -> None:
    assert isinstance(open_generator("test-box", RunOptions()), BoxBlur)
    with pytest.raises(GeneratorUnavailable, match="test-zoo-package is not installed"):
        open_generator("test-absent")
    with pytest.raises(RegistryError, match=r"unknown generator 'stylegan9'.*test-box"):
        open_generator("stylegan9")
    with pytest.raises(RegistryError, match="not a generator folder"):
        open_generator(tmp_path)


@pytest.mark.usefixtures("stand_ins")
def test_catalogue_lists_the_zoo_and_the_trainable_families() -> None:
    rows = {row.card.name: row for row in catalogue()}
    assert rows["test-box"].available and not rows["test-absent"].available
    assert "test-zoo-package" in rows["test-absent"].note
    trained = [row for row in rows.values() if not row.card.pretrained]
    assert {row.card.name for row in trained} == {
        "synth-transposed",
        "synth-nearest",
        "synth-bilinear",
        "synth-pixelshuffle",
        "synth-ldm-vae",
    }
    assert all(row.card.family == "trained decoder" for row in trained)


@pytest.mark.usefixtures("stand_ins")
def test_synth_list_prints_a_table_and_json(capsys: Capture) -> None:
    assert main(["synth", "list", "--json"]) == 0
    listed = {item["name"]: item for item in json.loads(capsys.readouterr().out)}
    for item in listed.values():
        assert {"name", "family", "pretrained", "licence", "available"} <= set(item)
    assert listed["test-sr"]["factor"] == 2 and listed["test-sr"]["available"] is True
    assert listed["test-absent"]["available"] is False
    assert listed["synth-nearest"]["pretrained"] is False
    assert main(["synth", "list"]) == 0
    table = capsys.readouterr().out
    assert "test-box" in table and "synth-ldm-vae" in table
    assert "pretrained generators available here" in table
    assert "test-absent: the package test-zoo-package is not installed" in table


@pytest.mark.usefixtures("stand_ins")
def test_make_with_an_unavailable_or_unknown_generator_exits_2(
    capsys: Capture, reals: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert main(["synth", "make", "-g", "test-absent", "--data", str(reals), "-o", str(out)]) == 2
    assert "test-zoo-package is not installed" in capsys.readouterr().err
    assert main(["synth", "make", "-g", "nope", "--data", str(reals), "-o", str(out)]) == 2
    assert not out.exists()


def _rows(out: Path) -> list[dict[str, str]]:
    with open(out / "pairs.csv", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.usefixtures("stand_ins")
@pytest.mark.parametrize("name", ["test-box", "test-sr"])
def test_make_writes_counterparts_stored_like_the_twins(
    name: str, capsys: Capture, reals: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    args = ["synth", "make", "-g", name, "--data", str(reals), "-o", str(out), "--counterparts"]
    assert main(args) == 0
    assert "wrote 8 fakes" in capsys.readouterr().err
    records = {Path(r.path).resolve(): r for r in read_manifest(out / "manifest.csv")}
    rows = _rows(out)
    assert len(rows) == 8 and all(row["counterpart"] for row in rows)
    for row in rows:
        real, fake = records[(out / row["real"]).resolve()], records[(out / row["fake"]).resolve()]
        twin = records[(out / row["counterpart"]).resolve()]
        assert (real.label, fake.label, twin.label) == (0, 1, 0)
        assert twin.generator == f"{name}-counterpart" and fake.generator == name
        for field in ("format", "mode", "width", "height", "jpeg_quality", "chroma_subsampling"):
            assert getattr(twin, field) == getattr(real, field) == getattr(fake, field), field
    layout = discover(out)  # the folders say the same as the manifest
    assert sorted(e.label or 0 for e in layout) == [0] * 16 + [1] * 8
    summary = json.loads((out / "synth.json").read_text())
    assert summary["counterparts"] == 8 and summary["card"]["name"] == name


@pytest.mark.usefixtures("stand_ins")
def test_make_without_counterparts_leaves_the_column_empty(reals: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert main(["synth", "make", "-g", "test-box", "--data", str(reals), "-o", str(out)]) == 0
    assert all(row["counterpart"] == "" for row in _rows(out))
    assert not any(p.name.endswith("-counterpart") for p in out.iterdir())


@pytest.mark.usefixtures("stand_ins")
def test_counterpart_of_an_autoencoder_matches_the_fake_high_frequencies(
    reals: Path, tmp_path: Path
) -> None:
    pixels = photo(96, 80, seed=3)
    generator = BoxBlur()
    fake = generator.fake(pixels)
    twin = generator.counterpart(pixels, fake)
    assert twin.shape == pixels.shape and not np.array_equal(twin, pixels)
    assert hf_energy(twin) == pytest.approx(hf_energy(fake), rel=0.05)
    assert hf_energy(fake) < 0.8 * hf_energy(pixels)


@pytest.mark.usefixtures("stand_ins")
def test_sampling_make_is_deterministic_and_takes_count_not_data(
    capsys: Capture, reals: Path, tmp_path: Path
) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["synth", "make", "-g", "test-noise", "--count", "5", "-o", str(first)]) == 0
    assert "wrote 5 samples" in capsys.readouterr().err
    assert main(["synth", "make", "-g", "test-noise", "--count", "5", "-o", str(second)]) == 0
    records = read_manifest(first / "manifest.csv")
    assert len(records) == 5 and all(r.label == 1 and r.generator == "test-noise" for r in records)
    assert all((r.width, r.height, r.format) == (16, 16, "PNG") for r in records)
    for record in records:
        twin = second / Path(record.path).relative_to(first.resolve())
        assert Path(record.path).read_bytes() == twin.read_bytes()
    assert not (first / "pairs.csv").exists()
    third = tmp_path / "c"
    args = ["synth", "make", "-g", "test-noise", "-o", str(third)]
    assert main([*args, "--data", str(reals)]) == 2
    assert "give --count N" in capsys.readouterr().err
    assert main(["synth", "make", "-g", "test-box", "--count", "3", "-o", str(third)]) == 2


@pytest.mark.usefixtures("stand_ins")
def test_report_measures_pretrained_generators_and_skips_samplers(
    capsys: Capture, reals: Path, tmp_path: Path
) -> None:
    figures = tmp_path / "figures.json"
    args = ["synth", "report", "test-box", "test-noise", "--data", str(reals), "--limit", "3"]
    assert main([*args, "--json", str(figures)]) == 0
    captured = capsys.readouterr()
    assert "test-noise: draws from noise" in captured.err
    assert "test-box" in captured.out and "img/s" in captured.out
    (figure,) = json.loads(figures.read_text())
    assert figure["generator"] == "test-box" and figure["images"] == 3
    assert figure["hf_energy_ratio"] < 1 and figure["psnr"] < 100  # a blur loses detail
    assert main(["synth", "report", "test-absent", "--data", str(reals)]) == 2


def _paired_zoo() -> list[str]:
    return sorted(e.card.name for e in zoo.zoo_entries() if e.available and e.card.mode != "sample")


@pytest.mark.parametrize("name", _paired_zoo())
def test_every_available_zoo_generator_makes_fakes_stored_like_their_reals(
    name: str, reals: Path, tmp_path: Path
) -> None:
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        args = ["synth", "make", "-g", name, "--data", str(reals), "-o", str(out)]
        assert main([*args, "--limit", "2", "--counterparts", "--threads", "1", "-q"]) == 0
    records = {Path(r.path).resolve(): r for r in read_manifest(outs[0] / "manifest.csv")}
    rows = _rows(outs[0])
    assert len(rows) == 2
    for row in rows:
        real, fake = (
            records[(outs[0] / row["real"]).resolve()],
            records[(outs[0] / row["fake"]).resolve()],
        )
        for field in ("format", "mode", "width", "height", "jpeg_quality", "chroma_subsampling"):
            assert getattr(real, field) == getattr(fake, field), field
        for column in ("fake", "counterpart"):  # deterministic: the same bytes twice
            assert (outs[0] / row[column]).read_bytes() == (outs[1] / row[column]).read_bytes()


class Picky(BoxBlur):
    """Fails on images wider than 50 px, as a network can on shapes it refuses."""

    card = _card("test-picky", "reconstruct")

    def fake(self, pixels: np.ndarray) -> np.ndarray:
        if pixels.shape[1] > 50:
            raise RuntimeError("input too wide for this network")
        return super().fake(pixels)


def test_a_generator_failing_on_one_real_fails_that_file_only(
    monkeypatch: pytest.MonkeyPatch, capsys: Capture, reals: Path, tmp_path: Path
) -> None:
    zoo.zoo_entries()
    entry = ZooEntry(Picky.card, lambda _: Picky(), lambda: None)
    monkeypatch.setitem(zoo._ENTRIES, "test-picky", entry)
    out = tmp_path / "out"
    assert main(["synth", "make", "-g", "test-picky", "--data", str(reals), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "the generator failed on this image: input too wide" in err
    failed = json.loads((out / "synth.json").read_text())["failed"]
    made = len(_rows(out))
    assert failed and made and len(failed) + made == 8
