"""The IPTC digital source type vocabulary, shared by C2PA actions and XMP metadata.

Values are URIs such as ``http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia``
(C2PA also uses ``http://c2pa.org/digitalsourcetype/...``); only the last path segment matters.
"""

from __future__ import annotations

from spotfake.provenance.finding import GENERATED, REAL

# Made by a generative model (wholly, or a composite with generated parts).
GENERATIVE = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "trainedAlgorithmicData"}
)
# Made by software without a trained model (procedural images, charts): not a photo either.
SYNTHETIC = frozenset({"algorithmicMedia", "compositeSynthetic"})
# Captured from the world: a camera, a scan of film or print, a phone's computational capture.
CAPTURED = frozenset(
    {
        "digitalCapture",
        "computationalCapture",
        "negativeFilm",
        "positiveFilm",
        "print",
        "compositeCapture",
    }
)


def source_type_name(uri: str) -> str:
    """The vocabulary term of a digital source type URI (its last path segment)."""
    return uri.strip().rstrip("/").rsplit("/", 1)[-1]


def source_type_verdict(uri: str) -> str | None:
    """'generated' for generative and synthetic source types, 'real' for captures, else None."""
    name = source_type_name(uri)
    if name in GENERATIVE or name in SYNTHETIC:
        return GENERATED
    if name in CAPTURED:
        return REAL
    return None


def is_generative(uri: str) -> bool:
    """True for the source types of generative AI (trainedAlgorithmicMedia and composites)."""
    return source_type_name(uri) in GENERATIVE
