"""Prediction: the one output record of spotfake, the same in the CLI, the Python API and HTTP."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

GENERATED_LABEL = "generated"
REAL_LABEL = "real"

# Columns of the flat formats (CSV, table), in order.
FIELDS = ("path", "score", "label", "decided_by", "threshold", "model", "model_hash", "error")


@dataclass
class Prediction:
    """The verdict on one image. score is P(generated) in [0, 1]; error is None when it was read.

    decided_by says what set the label: "pixels" (the score against the threshold) or
    "provenance:<signal>" (a decisive mark such as a C2PA manifest, listed in
    evidence["provenance"]); None for unreadable files.
    """

    path: str
    score: float | None
    label: str | None
    decided_by: str | None = field(default=None, kw_only=True)
    threshold: float
    model: str
    model_hash: str
    error: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def label_for(score: float, threshold: float) -> str:
    """The verdict for a score: generated at or above the threshold."""
    return GENERATED_LABEL if score >= threshold else REAL_LABEL
