"""C2PA manifests (Content Credentials), read and validated with the ``c2pa-python`` library.

Called only for files whose bytes hold a JUMBF / C2PA box (see ``scan``): asking the library
about every file would cost milliseconds each for nothing. Nothing is fetched from the network
(no remote manifests, no OCSP), and spotfake ships no trust list, so a valid signature is
reported as "Valid" (intact, signer not on a trust list) unless the library says "Trusted".

How the manifest weighs (``docs``: README, Provenance):

- a generative digital source type (``trainedAlgorithmicMedia``, ``compositeWith...``) in any
  manifest of the store, with an intact signature: decisive "generated" (a maker saying its
  own image is generated); with a broken one ("Invalid"): supporting only;
- a capture (``digitalCapture``...) in the active manifest: decisive "real" only when the
  signer is trusted; intact but untrusted: supporting (anyone can sign "captured" with a
  self-made certificate); broken: nothing;
- anything else: reported, weighing nothing.
"""

from __future__ import annotations

import io
import json
import threading
from functools import cache
from types import ModuleType
from typing import Any

from spotfake.provenance.finding import GENERATED, REAL, Finding, Strength, unreadable
from spotfake.provenance.params import generator_in
from spotfake.provenance.sourcetype import is_generative, source_type_name, source_type_verdict

SIGNAL = "c2pa"
_MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
_MAGIC = (
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"GIF8", "image/gif"),
    (4, b"ftypavif", "image/avif"),
    (4, b"ftypheic", "image/heic"),
    (4, b"ftypmif1", "image/heif"),
)
_OFFLINE = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
_TRUST = {
    "Trusted": "trusted signer",
    "Valid": "intact signature, signer on no trust list",
    "Invalid": "the manifest does not validate",
}
_LOCK = threading.Lock()  # one native reader at a time: files with manifests are rare


@cache
def _library() -> ModuleType | None:
    try:
        import c2pa
    except (ImportError, OSError):  # OSError: the native library failed to load
        return None
    return c2pa


def unavailable_reason() -> str | None:
    """Why the C2PA reader is disabled (c2pa-python missing), or None when it works."""
    if _library() is None:
        return "needs c2pa-python (pip install 'spotfake[provenance]')"
    return None


@cache
def _context() -> Any:
    lib = _library()
    assert lib is not None
    return lib.Context(lib.Settings.from_dict(_OFFLINE))


def read_c2pa(data: bytes, container: str) -> list[Finding]:
    """The finding of a file holding a JUMBF box: the manifest store's judgement, or an error."""
    lib = _library()
    if lib is None:
        says = "a C2PA manifest is present but c2pa-python is not installed to read it"
        return [Finding(SIGNAL, {"present": True}, Strength.none, says)]
    try:
        with _LOCK:
            stream = io.BytesIO(data)
            reader = lib.Reader.try_create(_mime(data, container), stream, context=_context())
            if reader is None:
                return []
            with reader:
                store = json.loads(reader.json())
    except Exception as exc:  # C2paError and whatever a malformed manifest provokes
        return [unreadable(SIGNAL, "C2PA manifest", exc)]
    return [judge(store)]


def _mime(data: bytes, container: str) -> str | None:
    if container in _MIME:
        return _MIME[container]
    for offset, magic, mime in _MAGIC:
        if data[offset : offset + len(magic)] == magic:
            return mime
    return None


def judge(store: dict[str, Any]) -> Finding:
    """One finding for a manifest store (the JSON of ``c2pa.Reader.json()``)."""
    manifests = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest"), {})
    state = str(store.get("validation_state") or "Unknown")
    actions = [a for m in manifests.values() for a in _actions(m)]
    sources = list(
        dict.fromkeys(a["digital_source_type"] for a in actions if a["digital_source_type"])
    )
    value = {
        "validation_state": state,
        "signer": _signer(active),
        "claim_generator": _claim_generator(active),
        "actions": actions[:20],
        "digital_source_types": sources,
        "failures": _failures(store),
        "manifests": len(manifests),
    }
    return _weigh(value, [a for a in _actions(active) if a.get("digital_source_type")])


def _weigh(value: dict[str, Any], active_sourced: list[dict[str, Any]]) -> Finding:
    """Strength and verdict from the source types and the validation state (module rules)."""
    state, who = value["validation_state"], _who(value)
    generative = [s for s in value["digital_source_types"] if is_generative(s)]
    if generative:
        name = source_type_name(generative[0])
        if state == "Invalid":
            says = f"C2PA manifest says {name}{who}, but it does not validate"
            return Finding(SIGNAL, value, Strength.supporting, says, GENERATED)
        says = f"C2PA manifest says {name}{who}; {_TRUST.get(state, state)}"
        return Finding(SIGNAL, value, Strength.decisive, says, GENERATED)
    captured = [a for a in active_sourced if source_type_verdict(a["digital_source_type"]) == REAL]
    if captured and state != "Invalid":
        name = source_type_name(captured[0]["digital_source_type"])
        strength = Strength.decisive if state == "Trusted" else Strength.supporting
        says = f"C2PA manifest says {name}{who}; {_TRUST.get(state, state)}"
        return Finding(SIGNAL, value, strength, says, REAL)
    tool = generator_in(value["claim_generator"] or "")
    if tool is not None and state != "Invalid":
        says = f"C2PA manifest written by {tool}{who}, without a digital source type"
        return Finding(SIGNAL, value, Strength.supporting, says, GENERATED)
    says = f"C2PA manifest{who} without a digital source type; {_TRUST.get(state, state)}"
    return Finding(SIGNAL, value, Strength.none, says)


def _who(value: dict[str, Any]) -> str:
    parts = []
    if value["claim_generator"]:
        parts.append(f"by {value['claim_generator']}")
    if value["signer"]:
        parts.append(f"signed by {value['signer']}")
    return f" ({', '.join(parts)})" if parts else ""


def _actions(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The actions of a manifest's c2pa.actions assertions (v1 and v2), in a short form."""
    found = []
    for assertion in manifest.get("assertions") or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            agent = action.get("softwareAgent")
            if isinstance(agent, dict):
                agent = agent.get("name")
            found.append(
                {
                    "action": action.get("action"),
                    "digital_source_type": action.get("digitalSourceType"),
                    "software_agent": agent,
                }
            )
    return found


def _signer(manifest: dict[str, Any]) -> str | None:
    info = manifest.get("signature_info") or {}
    names = [info.get("issuer"), info.get("common_name")]
    return " / ".join(dict.fromkeys(str(n) for n in names if n)) or None


def _claim_generator(manifest: dict[str, Any]) -> str | None:
    infos = manifest.get("claim_generator_info") or []
    if infos and isinstance(infos[0], dict) and infos[0].get("name"):
        version = infos[0].get("version")
        return f"{infos[0]['name']} {version}" if version else str(infos[0]["name"])
    generator = manifest.get("claim_generator")
    return str(generator) if generator else None


def _failures(store: dict[str, Any]) -> list[str]:
    return [str(s.get("code")) for s in store.get("validation_status") or [] if s.get("code")]
