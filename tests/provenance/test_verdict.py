"""combine(): decisive provenance decides and says so; otherwise the pixel score decides."""

from __future__ import annotations

from spotfake.provenance import Finding, Strength, combine


def _finding(signal: str, strength: Strength, verdict: str | None) -> Finding:
    return Finding(signal, None, strength, "test", verdict)


def test_no_findings_leave_the_pixels_to_decide() -> None:
    assert combine([], 0.7, 0.5) == ("generated", "pixels")
    assert combine([], 0.3, 0.5) == ("real", "pixels")


def test_a_decisive_mark_overrides_the_score() -> None:
    found = [_finding("png-text", Strength.decisive, "generated")]
    assert combine(found, 0.01, 0.5) == ("generated", "provenance:png-text")


def test_supporting_and_none_findings_never_override() -> None:
    found = [
        _finding("exif", Strength.supporting, "real"),
        _finding("watermark", Strength.supporting, "generated"),
        _finding("exif", Strength.none, None),
    ]
    assert combine(found, 0.9, 0.5) == ("generated", "pixels")
    assert combine(found, 0.1, 0.5) == ("real", "pixels")


def test_generation_wins_over_a_capture_claim_and_the_first_mark_names_it() -> None:
    found = [
        _finding("c2pa", Strength.decisive, "real"),
        _finding("xmp", Strength.decisive, "generated"),
        _finding("watermark", Strength.decisive, "generated"),
    ]
    assert combine(found, 0.1, 0.5) == ("generated", "provenance:xmp")
    assert combine(found[:1], 0.9, 0.5) == ("real", "provenance:c2pa")
