"""DetectorSpec: everything needed to rebuild a detector and feed it, saved beside its weights."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass
class InputPolicy:
    """How pixels reach the model. Resizing destroys generator traces, so it is off by default.

    crop: side of the square centre crop taken at native resolution (None: the whole image).
    Images smaller than the crop are used whole, never upscaled.
    resize: side to resize the shorter edge to before cropping (None: never resize).
    """

    crop: int | None = 224
    resize: int | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD


@dataclass
class DetectorSpec:
    """Architecture, constructor arguments, input policy, threshold and provenance of a detector."""

    architecture: str
    config: dict[str, Any] = field(default_factory=dict)
    input: InputPolicy = field(default_factory=InputPolicy)
    threshold: float = 0.5
    name: str | None = None
    version: str = "0"
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        return self.name or self.architecture

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorSpec:
        data = dict(data)
        policy = data.pop("input", {}) or {}
        for key in ("mean", "std"):
            if key in policy:
                policy[key] = tuple(policy[key])
        return cls(input=InputPolicy(**policy), **data)

    @classmethod
    def read(cls, path: str | Path) -> DetectorSpec:
        return cls.from_dict(json.loads(Path(path).read_text()))
