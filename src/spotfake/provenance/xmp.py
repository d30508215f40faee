"""XMP: the IPTC digital source type (``Iptc4xmpExt:DigitalSourceType``) and the creator tool.

Google, Adobe, Microsoft and others write ``trainedAlgorithmicMedia`` (or
``compositeWithTrainedAlgorithmicMedia``) there for generated images: decisive. A capture type
(``digitalCapture``) only supports "real": unsigned XMP is as easy to write as to strip.
The packet is searched with patterns rather than parsed as XML: it is faster, and the element,
attribute and ``rdf:resource`` spellings of the same property are all matched.
"""

from __future__ import annotations

import re

from spotfake.provenance.finding import GENERATED, REAL, Finding, Strength
from spotfake.provenance.params import generator_in
from spotfake.provenance.sourcetype import (
    GENERATIVE,
    source_type_name,
    source_type_verdict,
)

SIGNAL = "xmp"
_VALUE = r'(?:="([^"]*)"|=\'([^\']*)\'|>\s*([^<\s]+)\s*<|\s+rdf:resource="([^"]*)")'
_SOURCE_TYPE = re.compile(r"[\w.-]+:DigitalSourceType\s*" + _VALUE)
_CREATOR_TOOL = re.compile(r"xmp:CreatorTool\s*" + _VALUE)
_REMOTE_MANIFEST = re.compile(r"dcterms:provenance\s*" + _VALUE)


def _values(pattern: re.Pattern[str], packet: str) -> list[str]:
    """Every value of a property, whichever spelling (attribute, element, resource)."""
    return [next(g for g in groups if g) for groups in pattern.findall(packet) if any(groups)]


def read_xmp(packet: str) -> list[Finding]:
    """Findings from an XMP packet: digital source types, creator tool, remote manifests."""
    found = [_source_type(uri) for uri in dict.fromkeys(_values(_SOURCE_TYPE, packet))]
    found.extend(_creator_tool(tool) for tool in dict.fromkeys(_values(_CREATOR_TOOL, packet)))
    for url in dict.fromkeys(_values(_REMOTE_MANIFEST, packet)):
        says = "XMP points to a remote C2PA manifest (not fetched: spotfake works offline)"
        found.append(Finding(SIGNAL, {"remote_manifest": url[:300]}, Strength.none, says))
    return [finding for finding in found if finding is not None]


def _source_type(uri: str) -> Finding | None:
    name = source_type_name(uri)
    verdict = source_type_verdict(uri)
    value = {"digital_source_type": uri[:300]}
    if verdict == GENERATED and name in GENERATIVE:
        says = f"IPTC digital source type {name}: made by generative AI"
        return Finding(SIGNAL, value, Strength.decisive, says, GENERATED)
    if verdict == GENERATED:
        says = f"IPTC digital source type {name}: made by software, not captured"
        return Finding(SIGNAL, value, Strength.supporting, says, GENERATED)
    if verdict == REAL:
        says = f"IPTC digital source type {name}: a capture, as stated by unsigned metadata"
        return Finding(SIGNAL, value, Strength.supporting, says, REAL)
    return Finding(SIGNAL, value, Strength.none, f"IPTC digital source type {name[:80]}")


def _creator_tool(tool: str) -> Finding | None:
    name = generator_in(tool)
    if name is None:
        return None
    says = f"XMP CreatorTool names the generator {name}"
    return Finding(SIGNAL, {"creator_tool": tool[:200]}, Strength.decisive, says, GENERATED)
