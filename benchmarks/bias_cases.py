"""Audit the shared datasets for metadata shortcuts, de-bias the biased ones, audit again.

    .venv/bin/python benchmarks/bias_cases.py [--data ../shared/data] [--work DIR] [--json FILE]

Cases (built under --work, default a temporary folder; the shared files are never modified):
- imagenet-vs-sd: a CSV listing, ImageNet JPEG reals against the DrawBench Stable Diffusion
  1.4 / 1.5 / 2.1 fakes as they are (512x512 JPEG q75);
- genimage-like: GenImage's layout and storage, ``sd/train/nature`` the ImageNet JPEGs (links)
  and ``sd/train/ai`` the same SD images decoded and stored as PNG at 512x512;
- custom-tables: the same ImageNet reals re-encoded with an agency's own quantisation tables
  (IJG q85 nudged by one in a few entries, three variants: they all read as "q85") against the
  SD fakes, the case where a quality number hides the tables;
- faces-hard and CIFAKE (the 100,000-image zip, read in place).
The three biased cases are de-biased with the default recipe (each fake written with the exact
tables of a matched real), with ``--fake-quality mode`` (the paper's: the reals' most common
quality, IJG tables) and ``sample``, and audited again. Besides the audit's own figures, an
independent classifier (logistic regression on the table values read with Pillow) says whether
the tables still separate the classes, and the pixel-statistics baseline (a 2,000-image sample)
says how far cheap global statistics separate them. Prints one line per case.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from spotfake.bias.audit import audit
from spotfake.bias.debias import debias
from spotfake.bias.debias_plan import DebiasOptions
from spotfake.bias.pixels import pixel_baseline
from spotfake.data.manifest import open_dataset
from spotfake.io.jpeg import IJG_CHROMA_TABLE, encode_jpeg, ijg_table
from spotfake.records import GENERATED, ImageRecord

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


def agency_tables(variant: int) -> list[list[int]]:
    """An agency's tables: IJG q85 nudged by one in a few entries (still "q85" by estimate)."""
    luma, chroma = list(ijg_table(85)), list(ijg_table(85, IJG_CHROMA_TABLE))
    for i in (3 + variant, 20 + 2 * variant, 50 + variant):
        luma[i] += 1
    chroma[10 + variant] += 1
    return [luma, chroma]


def custom_tables(data: Path, work: Path) -> Path:
    """A listing: ImageNet reals re-encoded with agency tables (4:2:0) against the SD fakes."""
    folder = work / "custom-tables-reals"
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["path,label,generator"]
    for i, path in enumerate(sorted((data / "imagenet-real").iterdir())):
        target = folder / f"{path.stem}.jpg"
        if not target.exists():
            with Image.open(path) as image:
                picture = image.convert("RGB")
            target.write_bytes(encode_jpeg(picture, tables=agency_tables(i % 3),
                                           subsampling="4:2:0"))  # fmt: skip
        rows.append(f"{target},0,")
    for name in SD:
        rows += [f"{p},1,{name}" for p in sorted((data / "drawbench-sd" / name).glob("*.jpg"))]
    listing = work / "custom-tables.csv"
    listing.write_text("\n".join(rows) + "\n")
    return listing


def table_values_auc(records: list[ImageRecord]) -> float:
    """Cross-validated AUC of a logistic regression on the quantisation tables read with Pillow
    from the files (independent of the audit's records and classifier); 0.5 for non-JPEGs."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import cross_val_predict

    rows, labels = [], []
    for record in records:
        if record.error is not None or record.label is None:
            continue
        with Image.open(record.path) as image:
            tables = getattr(image, "quantization", None) or {}
            values = [v for k in sorted(tables)[:2] for v in tables[k]]
        rows.append((values + [-1] * 128)[:128])
        labels.append(record.label)
    x, y = np.asarray(rows, dtype=float), np.asarray(labels)
    if not np.ptp(x, axis=0).any():
        return 0.5
    model = LogisticRegression(max_iter=5000)
    scores = cross_val_predict(model, x, y, cv=5, method="predict_proba")[:, 1]
    return float(roc_auc_score(y, scores))


def audited(dataset: str | Path, tables_check: bool = False) -> dict[str, object]:
    """The audit's headline figures for one dataset."""
    start = time.perf_counter()
    records = open_dataset(dataset)
    result = audit(records)
    top = [c for c in result.confounds if c.verdict != "none"]
    figures: dict[str, object] = {
        "real": result.counts["real"],
        "generated": result.counts["generated"],
        "shortcut_auc": round(result.shortcut_auc, 3),
        "verdict": result.verdict,
        "confounds": {c.name: f"{c.verdict} {c.auc:.3f}" for c in top},
        "per_generator": {g.generator: round(g.shortcut_auc, 3) for g in result.per_generator},
    }
    if result.table_identity is not None:
        t = result.table_identity
        figures["tables_auc"] = round(t.values_auc, 3)
        figures["tables_distinct"] = {k: len(v) for k, v in t.tables.items()}
        figures["tables_shared"] = {k: round(v, 3) for k, v in t.shared.items()}
        figures["tables_ijg"] = {k: round(v, 3) for k, v in t.standard.items()}
    if result.file_metadata is not None:
        figures["file_metadata_auc"] = round(result.file_metadata.shortcut_auc, 3)
        figures["file_metadata"] = {
            p.name: f"{p.verdict} {p.auc:.3f}"
            for p in result.file_metadata.properties
            if p.verdict != "none"
        }
    figures["seconds"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    pixels = pixel_baseline(records)
    figures["pixel_auc"] = round(pixels.auc, 3)
    figures["pixel_verdict"] = pixels.verdict
    figures["pixel_features"] = {f.name: round(f.auc, 3) for f in pixels.carrying()}
    figures["pixel_seconds"] = round(time.perf_counter() - start, 1)
    if tables_check:
        figures["independent_tables_auc"] = round(table_values_auc(records), 3)
    return figures


def debiased(dataset: Path, out: Path, options: DebiasOptions) -> dict[str, object]:
    """De-bias, then audit the copy; the kept counts and the AUC after."""
    start = time.perf_counter()
    result = debias(dataset, out, options, overwrite=True)
    seconds = time.perf_counter() - start
    kept = result.records
    figures = audited(out / "manifest.csv", tables_check=True)
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
            "custom-tables": custom_tables(data, work),
        }
        figures: dict[str, dict[str, object]] = {}
        for name, dataset in biased.items():
            figures[name] = audited(dataset, tables_check=True)
        figures["faces-hard"] = audited(data / "faces-hard")
        figures["cifake"] = audited(data / "cifake-train.zip")
        variants = {
            "tables": DebiasOptions(),
            "mode": DebiasOptions(fake_quality="mode"),
            "sample": DebiasOptions(fake_quality="sample"),
        }
        for name, dataset in biased.items():
            for variant, options in variants.items():
                out = work / f"{name}-debiased-{variant}"
                figures[f"{name} debiased ({variant})"] = debiased(dataset, out, options)
    for name, values in figures.items():
        print(f"{name}: " + json.dumps(values))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
