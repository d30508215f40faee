"""Galleries: each generator's most confident mistakes and most confident correct calls.

Numbers say how often a detector fails; thumbnails say how (a whole family of reals called
generated, fakes that look re-encoded...). Confidence is the distance of the score from the
threshold. Each side shows both classes when it can (half real, half generated), so false
positives and false negatives both appear. Only the shown images are read again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from spotfake.evaluate.perturb import CLEAN, Condition
from spotfake.evaluate.scoring import Scored, member_reader, prepare_image
from spotfake.records import GENERATED, REAL

THUMB_SIDE = 160


@dataclass
class Tile:
    """One image of a gallery: what it is, what the model said, where its thumbnail is."""

    path: str
    label: int
    score: float
    thumb: str | None = None  # relative to the report folder; None when it could not be read


@dataclass
class Gallery:
    """The shown images of one generator (or the whole dataset) under the clean condition."""

    dataset: str
    group: str
    mistakes: list[Tile]
    correct: list[Tile]


def pick_galleries(
    scored: Scored, dataset: str, threshold: float, model: int = 0, per_side: int = 8
) -> list[Gallery]:
    """A gallery per generator of the dataset (by the records' generator, reals included).

    Uses the clean condition (the first) of one model.
    """
    names = [r.generator for r in scored.records]
    groups = sorted({n or "" for n in names})
    galleries = []
    for group in groups:
        index = np.array([i for i, n in enumerate(names) if (n or "") == group], dtype=int)
        scores = scored.scores[model, index, 0]
        labels = scored.labels[index]
        wrong = (scores >= threshold) != (labels == GENERATED)
        confidence = np.abs(scores - threshold)
        tiles = [
            _pick(index, labels, scores, confidence, mask, per_side, scored)
            for mask in (wrong, ~wrong)
        ]
        name = group or ("all" if len(groups) == 1 else "generator not named")
        galleries.append(Gallery(dataset, name, tiles[0], tiles[1]))
    return galleries


def _pick(
    index: np.ndarray,
    labels: np.ndarray,
    scores: np.ndarray,
    confidence: np.ndarray,
    mask: np.ndarray,
    count: int,
    scored: Scored,
) -> list[Tile]:
    """The count most confident images under mask, half from each class when both have enough."""
    by_class = {}
    for label in (REAL, GENERATED):
        chosen = np.flatnonzero(mask & (labels == label))
        by_class[label] = list(chosen[np.argsort(-confidence[chosen], kind="stable")])
    half = count // 2
    take = {REAL: min(half, len(by_class[REAL])), GENERATED: min(half, len(by_class[GENERATED]))}
    spare = count - take[REAL] - take[GENERATED]
    for label in (REAL, GENERATED):
        extra = min(spare, len(by_class[label]) - take[label])
        take[label] += extra
        spare -= extra
    picked = by_class[REAL][: take[REAL]] + by_class[GENERATED][: take[GENERATED]]
    picked.sort(key=lambda i: -confidence[i])
    return [Tile(scored.records[index[i]].path, int(labels[i]), float(scores[i])) for i in picked]


def write_thumbnails(galleries: list[Gallery], folder: Path, side: int = THUMB_SIDE) -> None:
    """Write each tile's thumbnail (JPEG, longest side ``side``) into folder/gallery/."""
    from PIL import Image

    target = folder / "gallery"
    target.mkdir(parents=True, exist_ok=True)
    with member_reader() as read:
        for gallery in galleries:
            stem = safe_name(f"{gallery.dataset}-{gallery.group}")
            for kind, tiles in (("mistake", gallery.mistakes), ("correct", gallery.correct)):
                for i, tile in enumerate(tiles):
                    prepared = prepare_image(tile.path, read, [Condition(CLEAN)])
                    if isinstance(prepared, str):
                        continue  # changed or removed since it was scored: no thumbnail
                    image = Image.fromarray(prepared[0])
                    image.thumbnail((side, side), Image.Resampling.LANCZOS)
                    name = f"{stem}-{kind}-{i}.jpg"
                    image.save(target / name, quality=90)
                    tile.thumb = f"gallery/{name}"


def safe_name(text: str) -> str:
    """A file-name-safe version of a label."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "x"
