"""Pydantic models of the API's answers: they document the OpenAPI schema (answers are built
as plain dicts from spotfake.prediction records, so the CLI and the service share one record)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ImageEvidence(BaseModel):
    """What the file is, from its headers (as `spotfake detect` reports it)."""

    format: str | None = Field(None, examples=["JPEG"])
    mode: str | None = Field(None, examples=["RGB"])
    width: int | None = None
    height: int | None = None
    jpeg_quality: int | None = Field(None, description="estimated from the quantisation table")
    chroma_subsampling: str | None = Field(None, examples=["4:2:0"])


class FileEvidence(BaseModel):
    """More about the file (only with details=true)."""

    bytes: int | None = None
    frames: int = 1
    has_exif: bool = False
    png_text_keys: list[str] = Field(default_factory=list)


class ProvenanceFinding(BaseModel):
    """One mark read from the file: a C2PA manifest, XMP, a text chunk, EXIF, a watermark."""

    signal: str = Field(examples=["c2pa", "xmp", "png-text", "exif", "watermark"])
    value: Any = Field(None, description="what was found: generator, signer, bit agreement...")
    strength: str = Field(examples=["decisive", "supporting", "none"])
    verdict: str | None = Field(None, examples=["generated", "real"])
    says: str = Field(description="one line for people")


class Evidence(BaseModel):
    """image and provenance: as in the CLI; file and spectrum only with details=true."""

    image: ImageEvidence | None = None
    provenance: list[ProvenanceFinding] | None = Field(
        None, description="the marks read from the file (absent when the server skips them)"
    )
    file: FileEvidence | None = None
    spectrum: list[float] | None = Field(
        None, description="80-bin azimuthal spectrum of the centre square (Durall et al. 2019)"
    )


class Record(BaseModel):
    """One image's verdict: the record of `spotfake detect`, path being the upload's file name."""

    path: str
    score: float | None = Field(None, description="P(generated), 0..1; null when unreadable")
    label: str | None = Field(None, examples=["generated", "real"])
    decided_by: str | None = Field(
        None,
        description='"pixels" (the score), or "provenance:<signal>" when a decisive mark decided',
        examples=["pixels", "provenance:c2pa"],
    )
    threshold: float
    model: str
    model_hash: str
    error: str | None = Field(None, description="why the file could not be read, in words")
    evidence: Evidence
    status: int = Field(200, description="this file's HTTP status: 200, 413, 415 or 422")


class Summary(BaseModel):
    """Counts of verdicts in one answer."""

    images: int
    generated: int
    real: int
    failed: int


class DetectResponse(BaseModel):
    """Records in upload order, and their counts."""

    records: list[Record]
    summary: Summary


class ErrorResponse(BaseModel):
    """A request refused as a whole."""

    detail: str


class ModelsResponse(BaseModel):
    """The loaded model and the service's limits."""

    models: list[dict[str, Any]]
    limits: dict[str, Any]
    provenance: dict[str, Any] = Field(
        default_factory=dict, description="whether marks are read, and readers disabled and why"
    )


class HealthResponse(BaseModel):
    """Liveness, the model being served and the batcher's counters."""

    status: str
    model: str
    model_hash: str
    device: str
    backend: str = "torch"
    precision: str = "fp32"
    pending: int
    batches: int
    images: int
