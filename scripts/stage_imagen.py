"""Stage the text-to-image outputs of the public repository dcsan/imagen for training.

    .venv/bin/python scripts/stage_imagen.py SRC -o OUT [--val-fraction 0.15]

SRC is a local copy of that repository (commit c6f37eb), or any folder holding its
``output/renders/<prompt>/<prefix>-N.<ext>``. OUT gets the folder layout spotfake reads:
``OUT/<generator>/<split>/fake/<prompt>__<prefix>-N.<ext>``, one generator per file prefix (names
below), plus ``OUT/SOURCE.md``. The split is drawn from a hash of the prompt, so all nine
generators' images of one prompt land on the same side (a group split: no prompt is in training
and validation at once). Files are copied byte for byte, except DALL-E 2's: their coloured
signature bar (the bottom 16 rows, right-hand corner) is cropped away, keeping the top-left
1008x1008 (a multiple of the 8x8 JPEG grid, whose phase is kept), saved as PNG so no second
JPEG pass is added. Unknown prefixes (stray test renders) are skipped and counted. No licence is
stated for these images: train on them, never commit them.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from pathlib import Path

from PIL import Image

from spotfake.data.sources import split_of

GENERATORS = {
    "ldif": "latent-diffusion",  # CompVis LDM text-to-image
    "dmin": "dalle-mini",  # VQGAN decoder
    "glid3": "glid3-xl",  # latent diffusion, CLIP guided
    "midj": "midjourney-2022",
    "disco": "disco-diffusion",  # guided diffusion (ADM)
    "simu": "vqgan-clip",  # a VQGAN+CLIP art pipeline
    "stab": "stable-diffusion-2022",
    "dal2": "dalle-2",
    "mdif": "majesty-diffusion",
}
SIGNED = "dal2"
KEPT_SIDE = 1008  # DALL-E 2 is 1024 px with its signature bar in the bottom 16 rows
SOURCE = """# dcsan/imagen renders, staged by scripts/stage_imagen.py

Source: the public repository dcsan/imagen (commit c6f37eb), `output/renders/<prompt>/`.
No licence is stated: use for training only; never commit these images; name the source in any
model card trained on them. Mostly art and illustration, not photographs; no real twins; PNG,
one size per generator (DALL-E 2: JPEG, cropped here to 1008x1008 PNG without its signature bar).
Split: by a hash of the prompt (val fraction {val}); every generator's images of a prompt share it.
"""


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path, help="a local copy of dcsan/imagen")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--val-fraction", type=float, default=0.15)
    return parser.parse_args(argv)


def target(out: Path, image: Path, val_fraction: float) -> tuple[str, Path] | None:
    """(prefix, where the staged copy goes) of one render, or None for an unknown prefix."""
    prefix = image.stem.rsplit("-", 1)[0]
    if prefix not in GENERATORS:
        return None
    prompt = image.parent.name
    split = split_of(prompt, val_fraction)
    suffix = ".png" if prefix == SIGNED else image.suffix.lower()
    name = f"{prompt}__{image.stem}{suffix}"
    return prefix, out / GENERATORS[prefix] / split / "fake" / name


def stage(src: Path, out: Path, val_fraction: float) -> Counter[str]:
    """Copy (or crop) every render; counts per generator, and of skipped files."""
    renders = src / "output" / "renders"
    if not renders.is_dir():
        raise SystemExit(f"{renders} not found: give the root of a copy of dcsan/imagen")
    counts: Counter[str] = Counter()
    for image in sorted(renders.glob("*/*")):
        if image.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            continue
        placed = target(out, image, val_fraction)
        if placed is None:
            counts["skipped (unknown prefix)"] += 1
            continue
        prefix, path = placed
        path.parent.mkdir(parents=True, exist_ok=True)
        if prefix == SIGNED:
            with Image.open(image) as picture:
                picture.convert("RGB").crop((0, 0, KEPT_SIDE, KEPT_SIDE)).save(path, "PNG")
        else:
            shutil.copyfile(image, path)
        counts[GENERATORS[prefix]] += 1
    out.mkdir(parents=True, exist_ok=True)
    (out / "SOURCE.md").write_text(SOURCE.format(val=val_fraction), encoding="utf-8")
    return counts


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    counts = stage(args.src, args.output, args.val_fraction)
    for name, n in sorted(counts.items()):
        print(f"{name:<28} {n:>5}")
    print(
        f"staged {sum(n for k, n in counts.items() if not k.startswith('skipped'))} images in "
        f"{args.output}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
