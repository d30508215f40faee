"""Finding: one piece of provenance evidence (a C2PA manifest, a text chunk, a watermark...).

Every reader returns Findings, so the CLI, the API and the service list them the same way and
one rule (``spotfake.provenance.verdict.combine``) turns them into a verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

GENERATED = "generated"
REAL = "real"


class Strength(StrEnum):
    """How much a finding weighs: decisive ones decide, supporting and none ones only inform."""

    decisive = "decisive"
    supporting = "supporting"
    none = "none"


@dataclass(frozen=True)
class Finding:
    """What one reader found: the signal, its value, how much it weighs and what it says.

    ``verdict`` is the side the finding points to ("generated", "real") or None when it points
    nowhere (an editor's name in EXIF, a watermark that does not match, a read error).
    """

    signal: str  # c2pa, xmp, png-text, exif, watermark
    value: Any  # JSON-able detail: the generator, the bit agreement, the manifest's signer...
    strength: Strength
    says: str  # one line for people
    verdict: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form carried under ``evidence["provenance"]`` of a record."""
        return {
            "signal": self.signal,
            "value": self.value,
            "strength": self.strength.value,
            "verdict": self.verdict,
            "says": self.says,
        }


def unreadable(signal: str, what: str, error: object) -> Finding:
    """The finding of a reader that met a malformed mark: none strength, the error in words."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    says = f"{what} could not be read: {text[:200]}"
    return Finding(signal, {"error": text[:300]}, Strength.none, says)
