"""Provenance evidence: C2PA manifests, IPTC digital source types, generator text chunks, EXIF
and Stable Diffusion's invisible watermarks, each read into a typed Finding.

``read_provenance(path_or_bytes, pixels)`` reads them all; ``combine(findings, score,
threshold)`` gives the one verdict (decisive provenance first, else the pixel score). The C2PA
and watermark readers need optional libraries (``pip install 'spotfake[provenance]'``);
without them they are disabled (``disabled_readers()`` says why), never a crash. A file
without marks proves nothing: most sites strip metadata on upload.
"""

from spotfake.provenance.finding import GENERATED, REAL, Finding, Strength
from spotfake.provenance.read import READERS, disabled_readers, read_metadata, read_provenance
from spotfake.provenance.verdict import PIXELS, PROVENANCE, combine

__all__ = [
    "GENERATED",
    "PIXELS",
    "PROVENANCE",
    "READERS",
    "REAL",
    "Finding",
    "Strength",
    "combine",
    "disabled_readers",
    "read_metadata",
    "read_provenance",
]
