"""POST /v1/detect through FastAPI's TestClient: records, per-file errors, request limits."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from serve_images import EXAMPLES, jpeg, png, png_header_only, tricky_files

import spotfake
from spotfake.cli import main
from spotfake.prediction import FIELDS

Files = list[tuple[str, tuple[str, bytes, str]]]


def multipart(named: dict[str, bytes]) -> Files:
    """httpx's files= argument: one 'files' part per (name, bytes)."""
    return [("files", (name, data, "application/octet-stream")) for name, data in named.items()]


def detect(client: TestClient, named: dict[str, bytes], **params: Any) -> tuple[int, Any]:
    response = client.post("/v1/detect", files=multipart(named), params=params)
    return response.status_code, response.json()


def test_one_image_gives_the_cli_record_plus_its_status(client: TestClient) -> None:
    status, body = detect(client, {"photo.jpg": jpeg(1)})
    (record,) = body["records"]
    assert status == 200
    assert list(record) == [*FIELDS, "evidence", "status"]
    assert record["path"] == "photo.jpg" and record["status"] == 200 and record["error"] is None
    assert 0.0 <= record["score"] <= 1.0
    assert record["label"] == ("generated" if record["score"] >= 0.5 else "real")
    assert record["evidence"]["image"]["format"] == "JPEG"
    assert record["evidence"]["image"]["jpeg_quality"] == 90
    assert body["summary"]["images"] == 1 and body["summary"]["failed"] == 0


def test_records_equal_spotfake_detect_for_the_same_files(
    client: TestClient, tiny_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = tricky_files()
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    paths = [str(tmp_path / name) for name in files]
    code = main(["detect", "--model", str(tiny_model), "-q", "--format", "jsonl", *paths])
    cli = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    status, body = detect(client, files)
    assert code == 1 and status == 200  # some files fail in both; the others are scored
    assert [r["path"] for r in body["records"]] == list(files)
    for mine, theirs in zip(body["records"], cli, strict=True):
        mine.pop("status")
        theirs["path"] = Path(theirs["path"]).name
        # Batches differ (the CLI scores all files together): scores agree to float rounding.
        assert mine.pop("score") == pytest.approx(theirs.pop("score"), abs=2e-6)
        assert mine == theirs


def test_default_model_scores_the_examples_as_the_python_api(
    make_client: Callable[..., TestClient], default_detector: Any
) -> None:
    names = ["sd15-sample.png", "rocket.jpg", "Ansel-Adams.webp"]
    expected = spotfake.predict(default_detector, [str(EXAMPLES / name) for name in names])
    client = make_client(default_detector)
    _, body = detect(client, {name: (EXAMPLES / name).read_bytes() for name in names})
    for record, prediction in zip(body["records"], expected, strict=True):
        assert record["score"] == pytest.approx(prediction.score, abs=2e-6)
        assert record["label"] == prediction.label
        assert record["evidence"] == prediction.evidence
    threshold = default_detector.spec.threshold
    for record in body["records"]:  # no provenance mark in these files: the score decides
        assert record["label"] == ("generated" if record["score"] >= threshold else "real")


def test_a_bad_file_among_good_ones_gets_its_own_error(client: TestClient) -> None:
    good = jpeg(2)
    files = {"one.jpg": good, "broken.jpg": good[:300], "notes.png": b"hello", "two.png": png(3)}
    status, body = detect(client, files)
    records = body["records"]
    assert status == 200
    assert [r["status"] for r in records] == [200, 422, 415, 200]
    assert records[1]["error"].startswith("truncated or corrupt image")
    assert records[2]["error"] == "not an image (the file holds text)"
    assert records[0]["score"] is not None and records[3]["score"] is not None
    assert records[1]["score"] is None and records[1]["label"] is None
    assert body["summary"] == {"images": 4, "generated": body["summary"]["generated"],
                               "real": 2 - body["summary"]["generated"], "failed": 2}  # fmt: skip


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"plain text, not an image\n", 415, "not an image (the file holds text)"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", 415, "unsupported image format PDF"),
        (b"\x00\x01\x02\x03" * 16, 415, "not an image (cannot identify the file type)"),
        (b"", 422, "empty file (0 bytes)"),
        (jpeg(4)[:200], 422, "truncated or corrupt image"),
        (png_header_only(8000, 8000), 413, "too many pixels (8000 x 8000 = 64,000,000 > 50,0"),
        (png_header_only(30_000, 30_000), 413, "too many pixels: Image size (900000000 pixels)"),
    ],
    ids=["text", "pdf", "garbage", "empty", "truncated", "bomb", "pillow-bomb"],
)
def test_one_unreadable_file_answers_its_status(
    client: TestClient, data: bytes, status: int, message: str
) -> None:
    code, body = detect(client, {"upload.png": data})
    (record,) = body["records"]
    assert code == status and record["status"] == status
    assert record["error"].startswith(message)


def test_pixel_limit_is_the_servers(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_pixels=32 * 32)
    code, body = detect(client, {"big.png": png(1, size=64), "small.png": png(2, size=32)})
    assert code == 200
    assert [r["status"] for r in body["records"]] == [413, 200]
    assert "too many pixels (64 x 64 = 4,096 > 1,024)" in body["records"][0]["error"]


def test_file_over_the_size_limit_is_a_413_record(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_file_bytes=2000)
    big, small = jpeg(1, size=128), jpeg(2, size=16)
    assert len(big) > 2000 > len(small)
    code, body = detect(client, {"big.jpg": big, "small.jpg": small})
    assert code == 200
    assert body["records"][0]["status"] == 413
    assert body["records"][0]["error"].startswith("file too large (")
    assert "the limit is 2 KB per file" in body["records"][0]["error"]
    assert body["records"][1]["status"] == 200
    code, body = detect(client, {"big.jpg": big})
    assert code == 413


def test_too_many_files(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_files=2)
    code, body = detect(client, {f"{i}.png": png(i, size=16) for i in range(3)})
    assert code == 413 and body == {"detail": "too many files: at most 2 per request"}


def test_request_over_the_body_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_request_bytes=4000)
    code, body = detect(client, {"a.jpg": jpeg(1, size=128)})
    assert code == 413 and body["detail"].startswith("request too large (")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while streaming
        yield jpeg(1, size=128)
        yield jpeg(2, size=128)

    response = client.post("/v1/detect", content=chunks(), headers={"content-type": "image/jpeg"})
    assert response.status_code == 413


def test_raw_image_body(client: TestClient) -> None:
    response = client.post(
        "/v1/detect",
        content=png(5),
        headers={"content-type": "image/png"},
        params={"filename": "dir/shot.png"},
    )
    (record,) = response.json()["records"]
    assert response.status_code == 200 and record["path"] == "shot.png"
    unnamed = client.post("/v1/detect", content=png(5), headers={"content-type": "image/png"})
    assert unnamed.json()["records"][0]["path"] == "upload-1"
    assert unnamed.json()["records"][0]["score"] == record["score"]


@pytest.mark.parametrize(
    ("kwargs", "status", "detail"),
    [
        ({"json": {"image": "x"}}, 415, "send images as multipart/form-data"),
        ({"data": {"note": "no file"}, "files": {}}, 415, "send images as multipart"),
        (
            {"content": b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nhi\r\n--x--\r\n",
             "headers": {"content-type": "multipart/form-data; boundary=x"}},
            422, "no image in the request",
        ),
        (
            {"content": b"--x\r\nContent-Disposition: form-data; name=\"files\"; filename=\"a\"",
             "headers": {"content-type": "multipart/form-data; boundary=x"}},
            400, "malformed multipart body",
        ),
        (
            {"content": b"x", "headers": {"content-type": "multipart/form-data"}},
            400, "malformed multipart body: the Content-Type has no boundary",
        ),
    ],
    ids=["json", "form-urlencoded", "no-file", "cut-multipart", "no-boundary"],
)  # fmt: skip
def test_requests_that_fail_as_a_whole(
    client: TestClient, kwargs: dict[str, Any], status: int, detail: str
) -> None:
    response = client.post("/v1/detect", **kwargs)
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)


def test_threshold_parameter(client: TestClient) -> None:
    _, low = detect(client, {"a.png": png(1)}, threshold=0.0)
    _, high = detect(client, {"a.png": png(1)}, threshold=1.0)
    assert low["records"][0]["label"] == "generated" and low["records"][0]["threshold"] == 0.0
    assert high["records"][0]["score"] == low["records"][0]["score"]
    bad = client.post("/v1/detect", files=multipart({"a.png": png(1)}), params={"threshold": 2})
    assert bad.status_code == 422
    assert bad.json() == {"detail": "threshold: Input should be less than or equal to 1"}


def test_details_add_file_facts_and_spectrum(client: TestClient) -> None:
    _, plain = detect(client, {"a.png": png(1)})
    _, rich = detect(client, {"a.png": png(1)}, details="true")
    assert list(plain["records"][0]["evidence"]) == ["image", "provenance"]
    evidence = rich["records"][0]["evidence"]
    assert evidence["file"] == {"bytes": len(png(1)), "frames": 1, "has_exif": False,
                                "png_text_keys": []}  # fmt: skip
    assert len(evidence["spectrum"]) == 80 and evidence["spectrum"][0] == 1.0


def test_nothing_is_written_to_disk(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import tempfile

    import starlette.formparsers

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("an upload went to a temporary file")

    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    monkeypatch.setattr(starlette.formparsers, "SpooledTemporaryFile", refuse)
    big = png(1, size=900)  # over Starlette's 1 MB spooling threshold
    assert len(big) > 1024 * 1024
    code, body = detect(client, {"big.png": big})
    assert code == 200 and body["records"][0]["error"] is None


def test_keep_uploads_saves_the_bytes(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(keep_uploads=tmp_path / "kept")
    data = jpeg(3)
    detect(client, {"../../evil name.jpg": data, "text.txt": b"hello"})
    kept = sorted((tmp_path / "kept").iterdir())
    assert len(kept) == 2
    assert {path.read_bytes() for path in kept} == {data, b"hello"}
    assert any(path.name.endswith("-evil_name.jpg") for path in kept)
