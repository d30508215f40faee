"""ImageRecord: what spotfake knows about one image file without looking at its pixels."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

REAL = 0
GENERATED = 1


@dataclass
class ImageRecord:
    """One image file: where it is, what it is labelled, and how it is stored.

    The storage fields (format, JPEG quality and tables, size, bytes) are kept on purpose: they
    are the shortcuts a detector can learn instead of generation traces. The file metadata
    (EXIF, camera, XMP, ICC, PNG text) never reaches a pixel detector, but it fools
    metadata-aware tools and tells a dataset builder how each class was made.
    """

    path: str
    label: int | None = None  # 1 generated, 0 real, None unknown
    generator: str | None = None
    split: str | None = None
    category: str | None = None  # a dataset's content class (CNNDetection's "airplane", ...)
    format: str | None = None  # Pillow format name: JPEG, PNG, WEBP, ...
    mode: str | None = None  # Pillow mode of the file: RGB, L, CMYK, I;16, P, ...
    width: int | None = None
    height: int | None = None
    file_bytes: int | None = None
    jpeg_quality: int | None = None  # estimated from the luminance quantisation table
    jpeg_quality_exact: bool | None = None  # True when the table equals an IJG table exactly
    chroma_subsampling: str | None = None  # "4:4:4", "4:2:2", "4:2:0", ... (JPEG only)
    jpeg_tables_id: str | None = None  # fingerprint of the exact quantisation tables
    jpeg_tables_standard: bool | None = None  # IJG tables of one quality (= jpeg_quality)
    jpeg_tables: str | None = None  # the tables' values (io.jpeg.format_tables)
    progressive: bool | None = None  # a progressive JPEG (JPEG only)
    n_frames: int = 1
    has_exif: bool = False
    png_text_keys: list[str] = field(default_factory=list)
    has_xmp: bool = False
    camera: str | None = None  # EXIF make and model, when the file names a camera
    icc_profile: str | None = None  # the embedded ICC profile's description ("unnamed" if none)
    modified: float | None = None  # file modification time, so re-indexing skips unchanged files
    error: str | None = None  # why the file could not be read, for records kept in a manifest

    @property
    def bytes_per_pixel(self) -> float | None:
        """File size over pixel count: how hard the encoder compressed the image."""
        if not self.file_bytes or not self.width or not self.height:
            return None
        return self.file_bytes / (self.width * self.height)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageRecord:
        return cls(**{k: v for k, v in data.items() if k in _RECORD_FIELDS})


_RECORD_FIELDS = frozenset(f.name for f in fields(ImageRecord))
