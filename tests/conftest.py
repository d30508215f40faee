"""Fixtures shared across the test folders."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from spotfake.data.sources import SourceConfig
from spotfake.train.config import TrainConfig, load_config

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Exported ONNX graphs go to a folder of this test session, never the user's cache."""
    folder = tmp_path_factory.mktemp("onnx-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SPOTFAKE_ONNX_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="session")
def default_recipe() -> TrainConfig:
    """configs/default.yaml, the shipped model's recipe."""
    return load_config(REPO / "configs" / "default.yaml")


@pytest.fixture(scope="session")
def default_shared_sources(default_recipe: TrainConfig) -> list[SourceConfig]:
    """The default recipe's sources that ../shared/data holds, with paths relative to it.

    The recipe reads data/ (scripts/prepare_data.sh), where data/shared links ../shared/data;
    its other folders (the dcsan/imagen renders, zoo fakes, hard reals) are made by that script
    and are absent on a fresh clone. Splits follow file names, not folders, so the validation
    images found here are the ones the model was validated on."""
    return [
        dataclasses.replace(s, path=s.path.removeprefix("shared/"))
        for s in default_recipe.data.sources
        if s.path.startswith("shared/")
    ]
