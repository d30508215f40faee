"""EXIF: the Software tag (a generator's name, or an editor's), camera Make and Model, and the
generation parameters AUTOMATIC1111 writes into the UserComment of its JPEG and WebP files.

A camera make and model is weak evidence of a real photo and nothing more: EXIF is copied
between files and written by any tool, so it supports the pixels' verdict but never overrides
it. A generator's name or its parameters are decisive: no camera writes them.
"""

from __future__ import annotations

from PIL import Image

from spotfake.provenance.finding import GENERATED, REAL, Finding, Strength, unreadable
from spotfake.provenance.params import generator_in, parse_a1111
from spotfake.provenance.scan import EXIF_HEADER

SIGNAL = "exif"
_SOFTWARE, _MAKE, _MODEL, _EXIF_IFD, _USER_COMMENT = 0x0131, 0x010F, 0x0110, 0x8769, 0x9286


def read_exif(block: bytes) -> list[Finding]:
    """Findings from a TIFF-structured EXIF block ("Exif\\0\\0" prefix optional)."""
    if block.startswith(EXIF_HEADER):
        block = block[len(EXIF_HEADER) :]
    try:
        exif = Image.Exif()
        exif.load(block)
        software = _text(exif.get(_SOFTWARE))
        make, model = _text(exif.get(_MAKE)), _text(exif.get(_MODEL))
        comment = _user_comment(exif.get_ifd(_EXIF_IFD).get(_USER_COMMENT))
    except Exception as exc:  # Pillow raises many types on malformed TIFF structures
        return [unreadable(SIGNAL, "EXIF", exc)]
    found = [_parameters(comment), _software(software), _camera(make, model)]
    return [finding for finding in found if finding is not None]


def _text(value: object) -> str:
    """A tag's value as clean text ('' when absent)."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).replace("\x00", "").strip() if value is not None else ""


def _user_comment(value: object) -> str:
    """A UserComment's text: 8 bytes naming the character code, then the text."""
    if not isinstance(value, bytes):
        return _text(value)
    code, text = value[:8], value[8:]
    if code.startswith(b"UNICODE"):
        # piexif (used by AUTOMATIC1111) writes UTF-16 big-endian; some tools little-endian.
        candidates = [text.decode(enc, "replace") for enc in ("utf-16-be", "utf-16-le")]
        return max(candidates, key=lambda t: sum(c.isascii() and c.isprintable() for c in t))
    return text.decode("utf-8", "replace").replace("\x00", "").strip()


def _parameters(comment: str) -> Finding | None:
    settings = parse_a1111(comment) if comment else None
    if settings is None:
        return None
    value = {"tool": "AUTOMATIC1111", "key": "UserComment", **settings}
    says = "AUTOMATIC1111-style generation parameters in the EXIF UserComment"
    return Finding(SIGNAL, value, Strength.decisive, says, GENERATED)


def _software(software: str) -> Finding | None:
    if not software:
        return None
    name = generator_in(software)
    if name is not None:
        says = f"EXIF Software names the generator {name} ({software[:80]})"
        return Finding(SIGNAL, {"software": software[:200]}, Strength.decisive, says, GENERATED)
    says = f"EXIF Software: {software[:80]} (an editor or firmware; says nothing of the origin)"
    return Finding(SIGNAL, {"software": software[:200]}, Strength.none, says)


def _camera(make: str, model: str) -> Finding | None:
    if not make and not model:
        return None
    shown = model if make and model.lower().startswith(make.lower()) else f"{make} {model}"
    camera = shown.strip()[:120]
    says = f"camera make and model in EXIF ({camera}): weak evidence of a photo, easily copied"
    return Finding(SIGNAL, {"make": make, "model": model}, Strength.supporting, says, REAL)
