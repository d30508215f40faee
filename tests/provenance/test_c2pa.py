"""C2PA: files signed here with c2pa-python's signing API and a certificate chain made in the
test (no network, no trust list), then read back through spotfake's reader."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
from marked_images import c2pa_signed, encode, make_signer, pixels

from spotfake.provenance import Strength, read_metadata
from spotfake.provenance.c2pa import judge
from spotfake.provenance.scan import scan

if importlib.util.find_spec("c2pa") is None or importlib.util.find_spec("cryptography") is None:
    pytest.skip(
        "C2PA tests skipped: c2pa-python or cryptography not installed (pip install -e '.[dev]')",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def signer() -> tuple[bytes, bytes]:
    return make_signer()


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_signed_generated_image_is_decisive(signer: Any, fmt: str, mime: str) -> None:
    data = c2pa_signed(encode(pixels(), fmt), mime, signer)
    assert scan(data).c2pa
    (finding,) = read_metadata(data)
    assert (finding.signal, finding.strength, finding.verdict) == (
        "c2pa",
        Strength.decisive,
        "generated",
    )
    value = finding.value
    assert value["validation_state"] == "Valid"  # intact; our test root is on no trust list
    assert "signingCredential.untrusted" in value["failures"]
    assert value["claim_generator"] == "spotfake-tests 1.0"
    assert "spotfake test signer" in value["signer"]
    assert value["actions"][0]["action"] == "c2pa.created"
    assert value["actions"][0]["software_agent"] == "TestGenerator"
    assert value["digital_source_types"][0].endswith("/trainedAlgorithmicMedia")
    assert "trainedAlgorithmicMedia" in finding.says


def test_untrusted_capture_claim_only_supports_real(signer: Any) -> None:
    data = c2pa_signed(encode(pixels(), "JPEG"), "image/jpeg", signer, "digitalCapture")
    (finding,) = read_metadata(data)
    assert finding.strength is Strength.supporting and finding.verdict == "real"


def test_tampered_pixels_make_the_manifest_invalid_and_not_decisive(signer: Any) -> None:
    data = bytearray(c2pa_signed(encode(pixels(), "PNG"), "image/png", signer))
    idat = data.index(b"IDAT")
    data[idat + 20] ^= 0xFF  # one byte of image data changed after signing
    (finding,) = read_metadata(bytes(data))
    assert finding.signal == "c2pa"
    assert finding.value["validation_state"] == "Invalid"
    assert finding.strength is Strength.supporting and finding.verdict == "generated"


def test_a_broken_manifest_is_an_error_finding_not_an_exception(signer: Any) -> None:
    data = c2pa_signed(encode(pixels(), "JPEG"), "image/jpeg", signer)
    start = data.index(b"jumb")
    broken = data[: start + 40] + b"\x00" * 200 + data[start + 240 :]
    for finding in read_metadata(broken):
        assert finding.strength in (Strength.none, Strength.supporting)


def _store(state: str, source: str, generator: str | None = None) -> dict[str, Any]:
    action = {"action": "c2pa.created", "digitalSourceType": source}
    manifest = {
        "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [action]}}],
        "claim_generator": generator,
    }
    return {"active_manifest": "m", "manifests": {"m": manifest}, "validation_state": state}


@pytest.mark.parametrize(
    ("state", "source", "strength", "verdict"),
    [
        ("Trusted", "digitalCapture", Strength.decisive, "real"),
        ("Valid", "digitalCapture", Strength.supporting, "real"),
        ("Invalid", "digitalCapture", Strength.none, None),
        ("Trusted", "compositeWithTrainedAlgorithmicMedia", Strength.decisive, "generated"),
        ("Invalid", "trainedAlgorithmicMedia", Strength.supporting, "generated"),
        ("Valid", "humanEdits", Strength.none, None),
    ],
)
def test_judgement_rules(state: str, source: str, strength: Strength, verdict: str | None) -> None:
    uri = f"http://cv.iptc.org/newscodes/digitalsourcetype/{source}"
    finding = judge(_store(state, uri))
    assert (finding.strength, finding.verdict) == (strength, verdict)


def test_a_generator_naming_itself_without_source_type_supports_generated() -> None:
    finding = judge(_store("Valid", "", generator="Adobe Firefly 2.0"))
    assert finding.strength is Strength.supporting and finding.verdict == "generated"
