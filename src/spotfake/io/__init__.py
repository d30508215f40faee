"""Read image files safely: headers without decoding (probe), pixels as RGB uint8 (read_image)."""

from spotfake.io.convert import as_rgb_array
from spotfake.io.jpeg import chroma_subsampling, estimate_jpeg_quality, ijg_table
from spotfake.io.paths import IMAGE_EXTENSIONS, iter_image_paths
from spotfake.io.probe import SUPPORTED_FORMATS, probe
from spotfake.io.read import DEFAULT_MAX_PIXELS, LoadedImage, read_image

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "IMAGE_EXTENSIONS",
    "SUPPORTED_FORMATS",
    "LoadedImage",
    "as_rgb_array",
    "chroma_subsampling",
    "estimate_jpeg_quality",
    "ijg_table",
    "iter_image_paths",
    "probe",
    "read_image",
]
