"""Image files carrying each kind of provenance mark, built in memory by the tests.

PNGs with AUTOMATIC1111, ComfyUI and NovelAI chunks, JPEGs with XMP and EXIF, watermarked
images (invisible-watermark's own encoder) and C2PA-signed files (c2pa-python's signing API
with a certificate chain made here with ``cryptography``).
"""

from __future__ import annotations

import datetime
import importlib.util
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from spotfake.provenance import disabled_readers

# Whether files with these marks can be made and read here (optional libraries).
HAS_C2PA = "c2pa" not in disabled_readers() and importlib.util.find_spec("cryptography") is not None
HAS_WATERMARK = (
    "watermark" not in disabled_readers() and importlib.util.find_spec("imwatermark") is not None
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
A1111 = (
    "a photo of an astronaut riding a horse\n"
    "Negative prompt: blurry\n"
    "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 64x64, Model hash: 6ce0161689, "
    'Model: v1-5-pruned-emaonly, Lora hashes: "a: 1, b: 2", Version: v1.6.0'
)
COMFY_PROMPT = {
    "3": {"class_type": "KSampler", "inputs": {"seed": 5, "steps": 20, "model": ["4", 0]}},
    "4": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"},
    },
}
COMFY_WORKFLOW = {"last_node_id": 4, "nodes": [{"id": 3, "type": "KSampler"}, {"id": 4}]}
NOVELAI_COMMENT = {"prompt": "a cat", "steps": 28, "sampler": "k_euler", "seed": 7, "uc": "lowres"}


def pixels(seed: int = 0, size: int = 64) -> np.ndarray:
    """Noise over a gradient: a small image that is not trivially compressible."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 200, size)[None, :, None] + np.linspace(0, 40, size)[:, None, None]
    return np.clip(ramp + rng.normal(0, 20, (size, size, 3)), 0, 255).astype(np.uint8)


def encode(rgb: np.ndarray, fmt: str, **options: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_with_text(texts: dict[str, str], kind: str = "tEXt", seed: int = 0) -> bytes:
    """A PNG whose text chunks are tEXt, zTXt (compressed) or iTXt."""
    info = PngInfo()
    for key, value in texts.items():
        if kind == "iTXt":
            info.add_itxt(key, value, zip=True)
        else:
            info.add_text(key, value, zip=kind == "zTXt")
    return encode(pixels(seed), "PNG", pnginfo=info)


def a1111_png() -> bytes:
    return png_with_text({"parameters": A1111})


def comfyui_png() -> bytes:
    texts = {"prompt": json.dumps(COMFY_PROMPT), "workflow": json.dumps(COMFY_WORKFLOW)}
    return png_with_text(texts, kind="zTXt")


def novelai_png() -> bytes:
    texts = {
        "Title": "AI generated image",
        "Description": "a cat",
        "Software": "NovelAI",
        "Source": "NovelAI Diffusion V3 7BCCAA2C",
        "Comment": json.dumps(NOVELAI_COMMENT),
    }
    return png_with_text(texts, kind="iTXt")


def xmp_packet(source_type: str, attribute: bool = False) -> str:
    """An XMP packet stating an IPTC digital source type (element or attribute spelling)."""
    uri = IPTC + source_type
    ns = 'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
    if attribute:
        body = f'<rdf:Description rdf:about="" {ns} Iptc4xmpExt:DigitalSourceType="{uri}"/>'
    else:
        body = (
            f'<rdf:Description rdf:about="" {ns}>'
            f"<Iptc4xmpExt:DigitalSourceType>{uri}</Iptc4xmpExt:DigitalSourceType>"
            "</rdf:Description>"
        )
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'{body}</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )


def jpeg_with_segment(marker: int, payload: bytes, seed: int = 0) -> bytes:
    """A JPEG with one more APPn segment right after SOI."""
    data = encode(pixels(seed), "JPEG", quality=90)
    segment = bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload
    return data[:2] + segment + data[2:]


def xmp_jpeg(source_type: str = "trainedAlgorithmicMedia", attribute: bool = False) -> bytes:
    packet = xmp_packet(source_type, attribute).encode()
    return jpeg_with_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + packet)


def exif_bytes(
    software: str | None = None,
    make: str | None = None,
    model: str | None = None,
    comment: str | None = None,
) -> bytes:
    """An EXIF block (Pillow's writer) with Software, Make, Model and a UNICODE UserComment."""
    exif = Image.Exif()
    for tag, value in ((0x0131, software), (0x010F, make), (0x0110, model)):
        if value is not None:
            exif[tag] = value
    if comment is not None:
        exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + comment.encode("utf-16-be")
    return exif.tobytes()


def exif_jpeg(**tags: str) -> bytes:
    return encode(pixels(1), "JPEG", quality=90, exif=exif_bytes(**tags))


def example_rgb(name: str = "astronaut.png", size: int | None = None) -> np.ndarray:
    """An example photo as RGB, centre-cropped to size x size when given."""
    rgb = np.asarray(Image.open(EXAMPLES / name).convert("RGB"))
    if size is not None:
        top, left = (rgb.shape[0] - size) // 2, (rgb.shape[1] - size) // 2
        rgb = rgb[top : top + size, left : left + size]
    return np.ascontiguousarray(rgb)


def watermark(rgb: np.ndarray, key: str) -> np.ndarray:
    """rgb marked as the reference code does: invisible-watermark's dwtDct on BGR."""
    from imwatermark import WatermarkEncoder

    from spotfake.provenance.watermark import MESSAGES

    message = next(m for m in MESSAGES if m.key == key)
    encoder = WatermarkEncoder()
    if key == "sdxl":
        encoder.set_watermark("bits", [int(bit) for bit in message.bits])
    else:
        encoder.set_watermark("bytes", np.packbits(np.array(message.bits, np.uint8)).tobytes())
    bgr = encoder.encode(np.ascontiguousarray(rgb[:, :, ::-1]), "dwtDct")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def reencode(rgb: np.ndarray, quality: int | None, subsampling: str = "4:2:0") -> np.ndarray:
    """rgb after a round trip through PNG (quality None) or JPEG."""
    if quality is None:
        data = encode(rgb, "PNG")
    else:
        data = encode(rgb, "JPEG", quality=quality, subsampling=subsampling)
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


# --- C2PA -------------------------------------------------------------------------------------
def make_signer() -> tuple[bytes, bytes]:
    """(PEM chain: end-entity + root, PEM key) of a throwaway ES256 signer made here."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common: str) -> x509.Name:
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common)]
        return x509.Name([*attributes, x509.NameAttribute(NameOID.ORGANIZATION_NAME, "spotfake")])

    now = datetime.datetime.now(datetime.UTC)
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())

    def cert(subject: str, issuer: x509.Name, public: Any, ca: bool) -> x509.CertificateBuilder:
        usage = dict.fromkeys(
            ("content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
             "encipher_only", "decipher_only"), False)  # fmt: skip
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(issuer)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=0 if ca else None), True)
            .add_extension(
                x509.KeyUsage(digital_signature=not ca, key_cert_sign=ca, crl_sign=ca, **usage),
                True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), False)
        )
        return builder

    root = cert("spotfake test root", name("spotfake test root"), root_key.public_key(), True)
    root_cert = root.sign(root_key, hashes.SHA256())
    leaf = (
        cert("spotfake test signer", root_cert.subject, key.public_key(), False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
        )
        .sign(root_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + root_cert.public_bytes(pem)
    private = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return chain, private


def c2pa_signed(
    data: bytes,
    mime: str,
    signer: tuple[bytes, bytes],
    source_type: str = "trainedAlgorithmicMedia",
) -> bytes:
    """data with a C2PA manifest: a c2pa.created action of that digital source type."""
    import c2pa

    manifest = {
        "claim_generator_info": [{"name": "spotfake-tests", "version": "1.0"}],
        "title": "test image",
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [
                        {
                            "action": "c2pa.created",
                            "digitalSourceType": IPTC + source_type,
                            "softwareAgent": {"name": "TestGenerator"},
                        }
                    ]
                },
            }
        ],
    }
    chain, key = signer
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None)
    out = io.BytesIO()
    with c2pa.Signer.from_info(info) as sign, c2pa.Builder(manifest) as builder:
        builder.sign(sign, mime, io.BytesIO(data), out)
    return out.getvalue()
