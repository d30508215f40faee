"""The metadata readers on files the tests make: PNG text chunks, XMP, EXIF, and bad input."""

from __future__ import annotations

import json

import pytest
from marked_images import (
    A1111,
    COMFY_PROMPT,
    a1111_png,
    comfyui_png,
    encode,
    exif_bytes,
    exif_jpeg,
    jpeg_with_segment,
    novelai_png,
    pixels,
    png_with_text,
    xmp_jpeg,
    xmp_packet,
)

from spotfake.provenance import Finding, Strength, read_metadata
from spotfake.provenance.params import generator_in, parse_a1111
from spotfake.provenance.scan import scan


def _one(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


def test_a1111_parameters_chunk_is_decisive() -> None:
    finding = _one(read_metadata(a1111_png()))
    assert (finding.signal, finding.strength, finding.verdict) == (
        "png-text",
        Strength.decisive,
        "generated",
    )
    assert finding.value["tool"] == "AUTOMATIC1111"
    assert finding.value["model"] == "v1-5-pruned-emaonly"
    assert finding.value["seed"] == "1234" and finding.value["sampler"] == "Euler a"
    assert "v1-5-pruned-emaonly" in finding.says


@pytest.mark.parametrize("kind", ["tEXt", "zTXt", "iTXt"])
def test_every_png_text_chunk_kind_is_read(kind: str) -> None:
    assert scan(png_with_text({"parameters": A1111}, kind=kind)).texts == {"parameters": A1111}


def test_comfyui_graph_names_its_model() -> None:
    finding = _one(read_metadata(comfyui_png()))
    assert finding.strength is Strength.decisive and finding.value["tool"] == "ComfyUI"
    assert finding.value["models"] == ["sd_xl_base_1.0.safetensors"]
    assert finding.value["nodes"] == len(COMFY_PROMPT)


def test_comfyui_workflow_alone_is_enough() -> None:
    data = png_with_text({"workflow": json.dumps({"nodes": [{"id": 1}]})})
    assert _one(read_metadata(data)).strength is Strength.decisive


def test_novelai_chunks() -> None:
    finding = _one(read_metadata(novelai_png()))
    assert finding.strength is Strength.decisive and finding.value["tool"] == "NovelAI"
    assert finding.value["steps"] == 28 and "NovelAI Diffusion V3" in finding.value["source"]


def test_plain_png_text_is_not_evidence() -> None:
    data = png_with_text({"Comment": "File written by Adobe Photoshop 5.0", "Title": "cat"})
    assert read_metadata(data) == []


def test_a_parameters_chunk_that_is_not_settings_only_supports() -> None:
    finding = _one(read_metadata(png_with_text({"parameters": "hello"})))
    assert finding.strength is Strength.supporting and finding.verdict == "generated"


@pytest.mark.parametrize("attribute", [False, True])
def test_xmp_trained_algorithmic_media_is_decisive(attribute: bool) -> None:
    finding = _one(read_metadata(xmp_jpeg("trainedAlgorithmicMedia", attribute)))
    assert (finding.signal, finding.strength, finding.verdict) == (
        "xmp",
        Strength.decisive,
        "generated",
    )
    assert finding.value["digital_source_type"].endswith("/trainedAlgorithmicMedia")


def test_xmp_composite_is_decisive_and_capture_only_supports() -> None:
    composite = _one(read_metadata(xmp_jpeg("compositeWithTrainedAlgorithmicMedia")))
    capture = _one(read_metadata(xmp_jpeg("digitalCapture")))
    assert composite.strength is Strength.decisive and composite.verdict == "generated"
    assert capture.strength is Strength.supporting and capture.verdict == "real"


def test_xmp_in_a_png_itxt_chunk() -> None:
    data = png_with_text({"XML:com.adobe.xmp": xmp_packet("trainedAlgorithmicMedia")}, "iTXt")
    assert _one(read_metadata(data)).strength is Strength.decisive


def test_exif_camera_supports_real_and_editor_weighs_nothing() -> None:
    found = read_metadata(exif_jpeg(software="GIMP 2.10", make="Canon", model="Canon EOS R5"))
    by_strength = {f.strength: f for f in found}
    assert set(by_strength) == {Strength.none, Strength.supporting}
    camera = by_strength[Strength.supporting]
    assert camera.verdict == "real" and camera.value == {"make": "Canon", "model": "Canon EOS R5"}
    assert "(Canon EOS R5)" in camera.says
    assert by_strength[Strength.none].value == {"software": "GIMP 2.10"}


def test_exif_generator_software_and_a1111_comment_are_decisive() -> None:
    software = _one(read_metadata(exif_jpeg(software="Adobe Firefly")))
    comment = _one(read_metadata(exif_jpeg(comment=A1111)))
    assert software.strength is Strength.decisive and software.value["software"] == "Adobe Firefly"
    assert comment.strength is Strength.decisive and comment.value["tool"] == "AUTOMATIC1111"


def test_webp_exif_and_xmp_chunks() -> None:
    data = encode(pixels(), "WEBP", exif=exif_bytes(software="NovelAI"), xmp=xmp_packet("x"))
    meta = scan(data)
    assert meta.container == "webp" and meta.exif is not None and meta.xmp is not None
    signals = {(f.signal, f.strength) for f in read_metadata(data)}
    assert signals == {("exif", Strength.decisive), ("xmp", Strength.none)}


def test_jpeg_chroma_subsampling_is_read_from_the_frame_header() -> None:
    assert scan(encode(pixels(), "JPEG", subsampling="4:2:0")).chroma_subsampled
    assert scan(encode(pixels(), "JPEG", subsampling="4:2:2")).chroma_subsampled
    assert not scan(encode(pixels(), "JPEG", subsampling="4:4:4")).chroma_subsampled
    assert not scan(encode(pixels()[:, :, 0], "JPEG")).chroma_subsampled  # grayscale


def test_images_without_marks_cost_no_findings() -> None:
    for fmt in ("PNG", "JPEG", "WEBP", "TIFF", "GIF", "BMP"):
        assert read_metadata(encode(pixels(), fmt)) == [], fmt


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe1\x00",  # a segment cut after its marker
        b"\xff\xd8\xff\xe1\x00\x01",  # a segment length below 2
        jpeg_with_segment(0xE1, b"Exif\x00\x00II*\x00\xff\xff\xff\x7f garbage"),
        jpeg_with_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta \xff\xfe"),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x10zTXtkey\x00\x00not zlib at all",
        b"\x89PNG\r\n\x1a\n\xff\xff\xff\xfftEXt",
        b"RIFF\x10\x00\x00\x00WEBPEXIF\xff\xff\xff\x7f",
        b"not an image at all",
        b"",
    ],
)
def test_malformed_metadata_never_raises(data: bytes) -> None:
    findings = read_metadata(data)
    assert all(f.strength is Strength.none and f.verdict is None for f in findings)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_a_bad_exif_block_is_reported_not_raised() -> None:
    data = jpeg_with_segment(0xE1, b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01")
    for finding in read_metadata(data):
        assert finding.strength is Strength.none and finding.verdict is None


def test_generator_names_are_whole_words() -> None:
    assert generator_in("Made with Adobe Firefly 2") == "Adobe Firefly"
    assert generator_in("stable diffusion web ui") == "Stable Diffusion"
    assert generator_in("Imagenator 3") is None
    assert generator_in("Adobe Photoshop 25.0") is None


def test_a1111_parser_needs_steps_and_sampler_or_seed() -> None:
    assert parse_a1111("Steps: 20, Seed: 1") == {"steps": "20", "seed": "1"}
    assert parse_a1111("a cat\nSteps: 20") is None
    assert parse_a1111("") is None
