"""combine(): one verdict from the provenance findings and the pixel score.

Decisive provenance decides and says so (``decided_by`` "provenance:<signal>"); otherwise the
pixel score decides ("pixels"). A decisive mark of generation wins over a decisive capture
claim: a file that carries both was at least partly generated. Supporting findings (a camera
make in EXIF, an untrusted C2PA capture claim, a partial watermark) are listed but never
override the pixels.
"""

from __future__ import annotations

from collections.abc import Iterable

from spotfake.prediction import label_for
from spotfake.provenance.finding import GENERATED, REAL, Finding, Strength

PIXELS = "pixels"
PROVENANCE = "provenance"


def combine(findings: Iterable[Finding], score: float, threshold: float) -> tuple[str, str]:
    """(label, decided_by): the first decisive finding's verdict, else the score's."""
    decisive = [f for f in findings if f.strength is Strength.decisive]
    for verdict in (GENERATED, REAL):
        for finding in decisive:
            if finding.verdict == verdict:
                return verdict, f"{PROVENANCE}:{finding.signal}"
    return label_for(score, threshold), PIXELS
