"""DetectorSpec: everything needed to rebuild a detector and feed it, saved beside its weights."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
AGGREGATES = ("mean-logit", "max-logit")
# Written to the spec JSON only when they differ from these defaults, so the spec of a model
# without multi-crop stays as it was before the fields existed (and older readers still load it).
_QUIET_DEFAULTS = {"crops": 1, "aggregate": "mean-logit", "crops_min_side": 0}


@dataclass
class InputPolicy:
    """How pixels reach the model. Resizing destroys generator traces, so it is off by default.

    crop: side of the square centre crop taken at native resolution (None: the whole image).
    Images smaller than the crop are used whole, never upscaled.
    resize: side to resize the shorter edge to before cropping (None: never resize).
    crops: how many crop windows to score per image (1: the centre crop alone). With N > 1 the
    windows lie on an even grid over the image at native resolution, so large images are seen
    beyond their centre; see spotfake.models.windows for the rule. Needs a crop size.
    aggregate: how the windows' logits become one ("mean-logit" or "max-logit"); the score is
    the sigmoid of that logit.
    crops_min_side: the windows are used only on images whose shorter side is at least this
    many pixels (after any upscale or resize); smaller images get the centre crop alone. 0: on
    every image. Large images gain most from more windows, and small ones keep their speed.
    """

    crop: int | None = 224
    resize: int | None = None
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    crops: int = 1
    aggregate: str = "mean-logit"
    crops_min_side: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.crops, bool) or not isinstance(self.crops, int) or self.crops < 1:
            raise ValueError(f"crops must be an integer >= 1, not {self.crops!r}")
        if self.crops > 1 and self.crop is None:
            raise ValueError("crops > 1 needs a crop size: without one the whole image is one view")
        side = self.crops_min_side
        if isinstance(side, bool) or not isinstance(side, int) or side < 0:
            raise ValueError(f"crops_min_side must be an integer >= 0, not {side!r}")
        if self.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {list(AGGREGATES)}, not {self.aggregate!r}")


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
        data = asdict(self)
        for key, default in _QUIET_DEFAULTS.items():
            if data["input"][key] == default:
                del data["input"][key]
        return json.dumps(data, indent=2, sort_keys=True)

    def with_crops(self, crops: int, min_side: int = 0) -> DetectorSpec:
        """A copy that scores `crops` windows per image whose shorter side is at least
        `min_side` (0: every image); ValueError where that cannot apply."""
        return replace(self, input=replace(self.input, crops=crops, crops_min_side=min_side))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorSpec:
        data = dict(data)
        policy = dict(data.pop("input", {}) or {})  # a copy: the caller's dict stays as it was
        for key in ("mean", "std"):
            if key in policy:
                policy[key] = tuple(policy[key])
        return cls(input=InputPolicy(**policy), **data)

    @classmethod
    def read(cls, path: str | Path) -> DetectorSpec:
        return cls.from_dict(json.loads(Path(path).read_text()))
