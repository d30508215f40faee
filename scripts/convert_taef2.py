"""Convert the TAEF2 state dicts (.pth) to the safetensors files spotfake ships.

Usage: python scripts/convert_taef2.py SOURCE_FOLDER [--out src/spotfake/synth/zoo/weights]

SOURCE_FOLDER holds taef2_encoder.pth, taef2_decoder.pth and LICENSE, as published in
madebyollin/taesd (commit 5cccb12). The tensors are copied unchanged (float16); each state dict
is loaded into our network definition with strict=True first, so a file that does not match it
is never shipped. Prints the sha256 of each written file, for the model card.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from spotfake.synth.zoo.taef2 import WEIGHTS, TinyAutoencoder

PARTS = ("encoder", "decoder")


def convert(source: Path, out: Path) -> dict[str, str]:
    """Write taef2_{encoder,decoder}.safetensors and TAEF2-LICENSE to out; their sha256s."""
    net = TinyAutoencoder()
    out.mkdir(parents=True, exist_ok=True)
    digests = {}
    for part in PARTS:
        state = torch.load(source / f"taef2_{part}.pth", map_location="cpu", weights_only=True)
        getattr(net, part).load_state_dict(state, strict=True)
        target = out / f"taef2_{part}.safetensors"
        save_file({k: v.contiguous() for k, v in state.items()}, target)
        target.chmod(0o644)  # safetensors writes owner-only files; the package must be readable
        digests[target.name] = hashlib.sha256(target.read_bytes()).hexdigest()
    shutil.copyfile(source / "LICENSE", out / "TAEF2-LICENSE")
    return digests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder with taef2_*.pth and LICENSE")
    parser.add_argument("--out", type=Path, default=WEIGHTS, help="where to write (the package)")
    args = parser.parse_args(argv)
    for name, digest in convert(args.source, args.out).items():
        print(f"{digest}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
