"""GeneratorSpec and the generator folder: weights, spec and fidelity, saved like detectors.

GEN_DIR holds ``generator.safetensors`` (the weights), ``generator.json`` (the spec: architecture,
its options, how it was trained and on what) and ``fidelity.json`` (see ``fidelity``). As with a
DetectorSpec, the spec travels with the weights, so `synth make` rebuilds exactly the model that
was trained.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spotfake.errors import ModelLoadError

if TYPE_CHECKING:
    from spotfake.synth.base import Generator

WEIGHTS = "generator.safetensors"
SPEC = "generator.json"
FIDELITY = "fidelity.json"


@dataclass
class GeneratorSpec:
    """Architecture, constructor options, stride and training provenance of a generator."""

    architecture: str
    config: dict[str, Any] = field(default_factory=dict)
    stride: int = 1
    name: str | None = None
    version: str = "0"
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        """The generator name fakes are labelled with (synth-<architecture> by default)."""
        return self.name or f"synth-{self.architecture}"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GeneratorSpec:
        return cls(**data)

    @classmethod
    def read(cls, path: str | Path) -> GeneratorSpec:
        return cls.from_dict(json.loads(Path(path).read_text()))


def save_generator(model: Generator, spec: GeneratorSpec, folder: str | Path) -> Path:
    """Write folder/generator.safetensors and folder/generator.json; returns the weights path."""
    from safetensors.torch import save_file

    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(root / WEIGHTS), metadata={"architecture": spec.architecture})
    (root / SPEC).write_text(spec.to_json() + "\n")
    return root / WEIGHTS


def load_generator(folder: str | Path) -> tuple[Generator, GeneratorSpec]:
    """The generator saved in a folder (or named by its .safetensors), in eval mode on the CPU."""
    from safetensors.torch import load_file

    from spotfake.synth.base import create_generator

    root = Path(folder)
    if root.suffix in (".safetensors", ".json"):
        root = root.parent
    weights, spec_path = root / WEIGHTS, root / SPEC
    if not weights.is_file() or not spec_path.is_file():
        raise ModelLoadError(f"no generator in {root}: need {WEIGHTS} and {SPEC}")
    try:
        spec = GeneratorSpec.read(spec_path)
        model = create_generator(spec.architecture, **spec.config)
    except (OSError, ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        raise ModelLoadError(f"bad generator spec {spec_path}: {exc}") from exc
    try:
        model.load_state_dict(load_file(str(weights)))
    except Exception as exc:  # safetensors and torch raise their own types for bad files
        raise ModelLoadError(f"weights {weights} do not fit {spec.architecture}: {exc}") from exc
    return model.eval(), spec


def weights_hash(folder: str | Path) -> str:
    """A short hash of the weights file, so a manifest names the exact generator of its fakes."""
    root = Path(folder)
    if root.suffix == ".safetensors":
        root = root.parent
    return hashlib.sha256((root / WEIGHTS).read_bytes()).hexdigest()[:12]
