"""`synth make` for generators that draw from noise: fakes with no real twin.

OUT is laid out like a paired make (``OUT/<generator>/[<split>/]fake/<generator>-000000.png``,
``manifest.csv``, ``synth.json``) without pairs.csv: there are no twins. Images are drawn in
chunks, each from a seed derived from (seed, chunk index), so the same count and seed give the
same bytes on every machine, and progress can be shown between chunks. PNG is lossless: these
fakes carry no storage cue of their own, but neither do they match any real's storage; balance
them with reals stored alike (``spotfake debias``) before training on them.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PIL import Image

from spotfake.data.layouts import output_folders
from spotfake.data.sources import split_of
from spotfake.io.outdir import fresh_output_folder
from spotfake.io.probe import probe
from spotfake.records import GENERATED, ImageRecord
from spotfake.synth.make import MARKER
from spotfake.synth.zoo.base import SamplingGenerator

CHUNK = 256


@dataclass
class SampleResult:
    """What was written: one record per fake."""

    out: Path
    fakes: list[ImageRecord] = field(default_factory=list)
    manifest: Path | None = None


def chunk_seed(seed: int, index: int) -> int:
    """The seed of one chunk of samples, independent of the chunk size's neighbours."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def make_samples(
    generator: SamplingGenerator,
    count: int,
    out: str | os.PathLike[str],
    seed: int = 0,
    val_fraction: float = 0.15,
    about: dict[str, object] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SampleResult:
    """Draw `count` fakes and write them as PNG with a manifest (out is cleared first)."""
    from spotfake.data.manifest import write_manifest

    name = generator.card.name
    root = fresh_output_folder(Path(out), MARKER)
    result = SampleResult(root)
    for index, start in enumerate(range(0, count, CHUNK)):
        n = min(CHUNK, count - start)
        for offset, pixels in enumerate(generator.sample(n, chunk_seed(seed, index))):
            result.fakes.append(_write_one(root, name, start + offset, pixels, val_fraction))
        if progress:
            progress(n)
    result.manifest = root / "manifest.csv"
    write_manifest(result.fakes, result.manifest)
    summary = {
        "status": "complete",
        "generator": name,
        **(about or {}),
        "options": {"count": count, "seed": seed, "val_fraction": val_fraction},
        "samples": len(result.fakes),
        "pairs": 0,
        "failed": [],
    }
    (root / MARKER).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return result


def _write_one(
    root: Path, name: str, index: int, pixels: np.ndarray, val_fraction: float
) -> ImageRecord:
    """One sample as PNG in its split's fake folder; its record."""
    leaf = f"{name}-{index:06d}.png"
    split = split_of(leaf, val_fraction) if val_fraction > 0 else None
    target = root.joinpath(*output_folders(name, None, split, fake=True), leaf)
    target.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG")
    target.write_bytes(buffer.getvalue())
    os.utime(target, ns=(0, 0))
    record = probe(target)
    record.modified = 0.0
    return replace(record, label=GENERATED, generator=name, split=split)
