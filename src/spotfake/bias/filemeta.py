"""File metadata as a shortcut: EXIF, a named camera, XMP, the ICC profile, PNG text chunks and
progressive JPEG, per class and as a cross-validated classifier.

None of these reaches a pixel detector (spotfake decodes to RGB without colour management), so
they are kept apart from the storage shortcut. But metadata-aware tools read them, and they tell
a dataset builder how each class was made ("every real names a camera, no fake has EXIF").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from spotfake.bias.shortcut import FeatureMatrix
from spotfake.records import ImageRecord

GROUPS: tuple[str, ...] = ("exif", "camera", "xmp", "icc_profile", "png_text", "progressive")
_TOP_LEVELS = 8  # ICC profile names and PNG text keys beyond the most common become "other"


def metadata_matrix(records: Sequence[ImageRecord]) -> FeatureMatrix:
    """File-metadata features of labelled, readable records (column groups: GROUPS)."""
    columns: list[tuple[str, str, list[float]]] = [
        ("has_exif", "exif", [float(r.has_exif) for r in records]),
        ("camera_named", "camera", [float(r.camera is not None) for r in records]),
        ("has_xmp", "xmp", [float(r.has_xmp) for r in records]),
        ("png_text_count", "png_text", [float(len(r.png_text_keys)) for r in records]),
        ("progressive", "progressive", [_progressive(r) for r in records]),
    ]
    profiles = [r.icc_profile or "none" for r in records]
    for level in _levels(profiles):
        columns.append((f"icc={level}", "icc_profile", [float(p == level) for p in profiles]))
    keys = [set(r.png_text_keys) for r in records]
    for level in _levels([k for ks in keys for k in ks]):
        columns.append((f"png_text:{level}", "png_text", [float(level in ks) for ks in keys]))
    values = np.asarray([c[2] for c in columns], dtype=np.float64).T.reshape(len(records), -1)
    labels = np.asarray([r.label for r in records], dtype=np.int64)
    return FeatureMatrix(values, [c[0] for c in columns], [c[1] for c in columns], labels)


def _progressive(record: ImageRecord) -> float:
    """1 for a progressive JPEG, else 0 (not -1 for other formats: that would be the format)."""
    return float(bool(record.progressive))


def _levels(values: list[str]) -> list[str]:
    """The most common values, in a stable order."""
    return sorted(value for value, _ in Counter(values).most_common(_TOP_LEVELS))
