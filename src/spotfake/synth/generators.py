"""Every generator `synth make` can run, by name or folder: the pretrained zoo and the decoders
`synth train` makes, behind the one contract of ``spotfake.synth.zoo.base``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spotfake.errors import RegistryError
from spotfake.synth.spec import SPEC, GeneratorSpec
from spotfake.synth.zoo import load_pretrained, zoo_entries, zoo_entry
from spotfake.synth.zoo.base import AnyGenerator, GeneratorCard, PairedGenerator, RunOptions

# The decoder families `synth train` builds, with their upsampling (see archs and ldm).
TRAINED = {
    "transposed": "transposed conv x2 per level",
    "nearest": "nearest x2 + conv per level",
    "bilinear": "bilinear x2 + conv per level",
    "pixelshuffle": "conv + pixel shuffle x2 per level",
    "ldm-vae": "nearest x2 + conv (LDM KL autoencoder)",
}


def trained_card(spec: GeneratorSpec, folder: str | Path) -> GeneratorCard:
    """The card of a decoder trained here, from its spec."""
    return GeneratorCard(
        name=spec.display_name,
        family="trained decoder",
        upsampling=TRAINED.get(spec.architecture, spec.architecture),
        mode="reconstruct",
        source=f"trained here: {folder}",
        licence="yours (trained by spotfake synth train)",
        pretrained=False,
    )


class TrainedGenerator(PairedGenerator):
    """A decoder from `synth train` (GEN_DIR): full-resolution tiled reconstruction."""

    def __init__(self, folder: str | Path, options: RunOptions) -> None:
        from spotfake.synth.spec import load_generator
        from spotfake.synth.zoo.base import set_threads

        set_threads(options)
        self.model, self.spec = load_generator(folder)
        self.model.to(options.device)
        self.options = options
        path = Path(folder)
        self.folder = path.parent if path.suffix in (".safetensors", ".json") else path
        self.card = trained_card(self.spec, folder)

    def fake(self, pixels: np.ndarray) -> np.ndarray:
        from spotfake.synth.tiling import reconstruct_array

        o = self.options
        return reconstruct_array(self.model, pixels, o.tile, o.overlap, device=o.device)


def is_generator_dir(text: str | Path) -> bool:
    """True for a folder (or its .safetensors / .json) that `synth train` wrote."""
    path = Path(text)
    if path.suffix in (".safetensors", ".json"):
        path = path.parent
    return (path / SPEC).is_file()


def open_generator(name: str | Path, options: RunOptions | None = None) -> AnyGenerator:
    """A pretrained generator by name, or a trained one by its folder.

    Raises RegistryError for an unknown name (listing the known ones), GeneratorUnavailable
    when a pretrained generator's package or weights are missing, ModelLoadError for a broken
    GEN_DIR.
    """
    options = options or RunOptions()
    text = str(name)
    if zoo_entry(text) is not None:
        return load_pretrained(text, options)
    if is_generator_dir(text):
        return TrainedGenerator(text, options)
    if Path(text).exists():
        raise RegistryError(f"{text} is not a generator folder (no {SPEC}): train one first")
    known = ", ".join(entry.card.name for entry in zoo_entries())
    raise RegistryError(
        f"unknown generator {text!r}: give a pretrained name ({known}) "
        "or a folder written by `spotfake synth train`"
    )


@dataclass(frozen=True)
class Listed:
    """One line of `synth list`: a card and whether it can run on this machine."""

    card: GeneratorCard
    available: bool
    note: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.card.to_dict(), "available": self.available, "note": self.note}


def catalogue() -> list[Listed]:
    """The pretrained generators (with their availability here), then the trainable families."""
    rows = []
    for entry in zoo_entries():
        reason = entry.missing()
        rows.append(Listed(entry.card, reason is None, reason or "ready"))
    from spotfake.synth.base import list_generators  # torch: only when listing

    for arch in list_generators():
        upsampling, available, note = _trainable(arch)
        card = GeneratorCard(
            name=f"synth-{arch}",
            family="trained decoder",
            upsampling=upsampling,
            mode="reconstruct",
            source=f"spotfake synth train --arch {arch} -o GEN_DIR",
            licence="yours (trained by spotfake synth train)",
            pretrained=False,
        )
        rows.append(Listed(card, available, note))
    return rows


def _trainable(arch: str) -> tuple[str, bool, str]:
    """(upsampling, False, note) of a family `synth train` builds; a plugin's is the first line
    of its docstring, or why it does not load."""
    note = f"no shipped weights: train it, then --generator GEN_DIR (arch {arch})"
    if arch in TRAINED:
        return TRAINED[arch], False, note
    from spotfake.synth.base import GENERATORS

    try:
        doc = GENERATORS.factory(arch).__doc__ or ""
    except RegistryError as exc:
        return "plugin", False, str(exc)
    return f"plugin: {doc.strip().splitlines()[0] if doc.strip() else arch}", False, note
