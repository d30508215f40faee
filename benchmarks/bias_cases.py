"""Audit the shared datasets for metadata shortcuts, de-bias the biased ones, audit again.

    .venv/bin/python benchmarks/bias_cases.py [--data ../shared/data] [--work DIR] [--json FILE]

Cases (built under --work, default a temporary folder; the shared files are never modified):
- imagenet-vs-sd: a CSV listing, ImageNet JPEG reals against the DrawBench Stable Diffusion
  1.4 / 1.5 / 2.1 fakes as they are (512x512 JPEG q75);
- genimage-like: GenImage's layout and storage, ``sd/train/nature`` the ImageNet JPEGs (links)
  and ``sd/train/ai`` the same SD images decoded and stored as PNG at 512x512;
- faces-hard and CIFAKE (the 100,000-image zip, read in place).
The two biased cases are de-biased with the default recipe (fakes at the reals' most common
quality) and with ``--fake-quality sample``, and audited again. Prints one table.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from PIL import Image

from spotfake.bias.audit import audit
from spotfake.bias.debias import debias
from spotfake.bias.debias_plan import DebiasOptions
from spotfake.data.manifest import open_dataset
from spotfake.records import GENERATED

SD = ("sd14", "sd15", "sd21")


def imagenet_vs_sd(data: Path, work: Path) -> Path:
    """A CSV listing: the ImageNet reals (no generator) and the SD fakes by generator."""
    rows = ["path,label,generator"]
    rows += [f"{p},0," for p in sorted((data / "imagenet-real").iterdir())]
    for name in SD:
        rows += [f"{p},1,{name}" for p in sorted((data / "drawbench-sd" / name).glob("*.jpg"))]
    listing = work / "imagenet-vs-sd.csv"
    listing.write_text("\n".join(rows) + "\n")
    return listing


def genimage_like(data: Path, work: Path) -> Path:
    """GenImage's layout: JPEG reals of many sizes, fakes as PNG of one size."""
    root = work / "genimage-like"
    nature, ai = root / "sd/train/nature", root / "sd/train/ai"
    nature.mkdir(parents=True, exist_ok=True)
    ai.mkdir(parents=True, exist_ok=True)
    for path in sorted((data / "imagenet-real").iterdir()):
        if not (nature / path.name).exists():
            (nature / path.name).symlink_to(path.resolve())
    for name in SD:
        for path in sorted((data / "drawbench-sd" / name).glob("*.jpg")):
            target = ai / f"{name}-{path.stem}.png"
            if not target.exists():
                with Image.open(path) as image:
                    image.convert("RGB").save(target)
    return root


def audited(dataset: str | Path) -> dict[str, object]:
    """The audit's headline figures for one dataset."""
    start = time.perf_counter()
    records = open_dataset(dataset)
    result = audit(records)
    top = [c for c in result.confounds if c.verdict != "none"]
    return {
        "real": result.counts["real"],
        "generated": result.counts["generated"],
        "shortcut_auc": round(result.shortcut_auc, 3),
        "verdict": result.verdict,
        "confounds": {c.name: f"{c.verdict} {c.auc:.3f}" for c in top},
        "per_generator": {g.generator: round(g.shortcut_auc, 3) for g in result.per_generator},
        "seconds": round(time.perf_counter() - start, 1),
    }


def debiased(dataset: Path, out: Path, options: DebiasOptions) -> dict[str, object]:
    """De-bias, then audit the copy; the kept counts and the AUC after."""
    start = time.perf_counter()
    result = debias(dataset, out, options, overwrite=True)
    seconds = time.perf_counter() - start
    kept = result.records
    figures = audited(out / "manifest.csv")
    figures["kept_fake"] = sum(r.label == GENERATED for r in kept)
    figures["debias_seconds"] = round(seconds, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        work = args.work or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        data = args.data.resolve()
        biased = {
            "imagenet-vs-sd": imagenet_vs_sd(data, work),
            "genimage-like": genimage_like(data, work),
        }
        figures: dict[str, dict[str, object]] = {}
        for name, dataset in biased.items():
            figures[name] = audited(dataset)
        figures["faces-hard"] = audited(data / "faces-hard")
        figures["cifake"] = audited(data / "cifake-train.zip")
        for name, dataset in biased.items():
            for variant, options in (("mode", DebiasOptions()),
                                     ("sample", DebiasOptions(fake_quality="sample"))):  # fmt: skip
                out = work / f"{name}-debiased-{variant}"
                figures[f"{name} debiased ({variant})"] = debiased(dataset, out, options)
    for name, values in figures.items():
        print(f"{name}: " + json.dumps(values))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
