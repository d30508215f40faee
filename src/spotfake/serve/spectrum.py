"""The web page's spectral plot: an image's azimuthal spectrum beside that of typical real photos.

Both come from the same recipe (``spotfake.features.spectrum``, Durall et al. 2019) on a square
centre crop of at most SIDE pixels at native resolution, never resized, so they compare. The
reference ships as package data; it was computed from the 600 ImageNet photos of
``../shared/data/imagenet-real`` (JPEG, mostly quality 96) with

    .venv/bin/python -m spotfake.serve.spectrum ../shared/data/imagenet-real

Only per-bin statistics ship (mean and 10th/90th percentiles), no image.
"""

from __future__ import annotations

import argparse
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

SIDE = 512  # large enough for the highest frequencies, small enough to take ~10 ms
MIN_SIDE = 8  # fewer pixels give too few rings for a spectrum
REFERENCE_FILE = "reference_spectrum.json"


def centre_square(pixels: np.ndarray, side: int = SIDE) -> np.ndarray:
    """The centred square of side min(height, width, side): a crop, never a resize."""
    height, width = pixels.shape[:2]
    crop = min(height, width, side)
    top, left = (height - crop) // 2, (width - crop) // 2
    return pixels[top : top + crop, left : left + crop]


def image_spectrum(pixels: np.ndarray) -> list[float] | None:
    """The 80-bin azimuthal spectrum of an RGB image's centre square; None when it is too small."""
    from spotfake.features.spectrum import azimuthal_spectrum

    if min(pixels.shape[:2]) < MIN_SIDE:
        return None
    return [round(float(v), 5) for v in azimuthal_spectrum(centre_square(pixels))]


@cache
def reference_spectrum() -> dict[str, Any]:
    """The shipped reference: mean, p10 and p90 per bin, how many photos and where from."""
    text = (resources.files("spotfake.serve") / REFERENCE_FILE).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def build_reference(folder: Path) -> dict[str, Any]:
    """Per-bin statistics of the spectra of every readable image under a folder of real photos."""
    from spotfake.errors import ImageReadError
    from spotfake.io import iter_image_paths, read_image

    spectra = []
    for path in iter_image_paths([folder], recursive=True):
        try:
            spectrum = image_spectrum(read_image(path).pixels)
        except ImageReadError:
            continue
        if spectrum is not None:
            spectra.append(spectrum)
    if not spectra:
        raise SystemExit(f"no readable images under {folder}")
    stack = np.asarray(spectra)
    low, high = np.percentile(stack, [10, 90], axis=0)
    return {
        "source": f"{len(spectra)} real photos from {folder.name} (ImageNet, JPEG)",
        "crop": f"centre square of at most {SIDE} px, never resized",
        "count": len(spectra),
        "mean": [round(float(v), 5) for v in stack.mean(axis=0)],
        "p10": [round(float(v), 5) for v in low],
        "p90": [round(float(v), 5) for v in high],
    }


def main(argv: list[str] | None = None) -> None:
    """Rebuild the shipped reference spectrum from a folder of real photos."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("folder", type=Path, help="folder of real photos")
    default_out = Path(str(resources.files("spotfake.serve") / REFERENCE_FILE))
    parser.add_argument("-o", "--output", type=Path, default=default_out)
    args = parser.parse_args(argv)
    reference = build_reference(args.folder)
    args.output.write_text(json.dumps(reference, indent=1) + "\n", encoding="utf-8")
    print(f"{args.output}: {reference['source']}")


if __name__ == "__main__":
    main()
