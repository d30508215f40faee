"""The "Fake or JPEG?" effect in small: a detector trained on a GenImage-like biased set learns
JPEG instead of generation; the same recipe trained on the `spotfake debias` output does not.

    .venv/bin/python benchmarks/fake_or_jpeg.py [--data ../shared/data] [--work runs/fake-or-jpeg]
                                                [--steps N] [--limit N]

Steps (each is a spotfake command, printed as it runs; finished steps are skipped on a re-run):
1. Build the biased set in GenImage's layout and storage: ``sd/train/nature`` = 80% of the
   ImageNet JPEG reals (links, many sizes, mostly q96), ``sd/train/ai`` = the Stable Diffusion
   1.4 and 1.5 DrawBench images downscaled to 224x224 (which removes their JPEG q75 traces)
   and stored as PNG: one size, never JPEG-compressed, as GenImage's fakes. The test set,
   ``test/sd21/{0_real,1_fake}``, holds the other 20% of the reals (by a hash of the name) and
   the SD 2.1 images made the same way: a generator and reals the models never see.
2. ``spotfake debias --size-window 0.7 --crop 224`` the biased set (else the default recipe:
   fakes JPEG'd at the reals' most common quality and subsampling, aligned crops,
   bytes-per-pixel matching, balance).
3. ``spotfake train configs/fake-or-jpeg-small.yaml`` on each: same recipe, same steps.
4. ``spotfake evaluate --matrix BIASED DEBIASED --data test --robustness jpeg``: every test
   image (reals and fakes alike) re-encoded at JPEG quality 100, 95, 90, 80, 70, 60, 50, 30.
5. One table (``WORK/fake_or_jpeg.md``, ``.json``) and one plot (``WORK/fake_or_jpeg.png``):
   real and fake accuracy at the model's threshold, and AUC, per JPEG quality.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SPOTFAKE = [sys.executable, "-m", "spotfake"]
TRAIN_GENERATORS = ("sd14", "sd15")
TEST_GENERATOR = "sd21"
TEST_SHARE = 0.2
# The shared Stable Diffusion images are JPEG q75. Stored as PNG at 512 they keep q75 traces
# stronger than the q96 reals' own, and a model learns "more JPEG means fake": the reverse of
# GenImage, whose fakes were never compressed. Downscaling by a non-integer factor (Lanczos)
# removes the quantisation noise and the 8x8 grid, so the PNGs are fakes without JPEG traces.
FAKE_SIDE = 224
SIZE_WINDOW = "0.7"  # 224 px fakes against ~500x375 reals: keep reals with a side up to 381


def held_out(name: str) -> bool:
    """A fixed 20% of the reals, by a hash of the file name."""
    digest = int(hashlib.sha1(name.encode()).hexdigest()[:8], 16)
    return digest / 0xFFFFFFFF < TEST_SHARE


def build(data: Path, work: Path) -> tuple[Path, Path]:
    """The biased training set (GenImage layout) and the test set; reuses existing files."""
    biased, test = work / "biased", work / "test" / TEST_GENERATOR
    folders = [biased / "sd/train/nature", biased / "sd/train/ai", test / "0_real", test / "1_fake"]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    nature, ai, test_real, test_fake = folders
    for path in sorted((data / "imagenet-real").iterdir()):
        link = (test_real if held_out(path.name) else nature) / path.name
        if not link.exists():
            link.symlink_to(path.resolve())
    for generator in (*TRAIN_GENERATORS, TEST_GENERATOR):
        target_dir = test_fake if generator == TEST_GENERATOR else ai
        for path in sorted((data / "drawbench-sd" / generator).glob("*.jpg")):
            target = target_dir / f"{generator}-{path.stem}.png"
            if not target.exists():
                with Image.open(path) as image:
                    small = image.convert("RGB").resize(
                        (FAKE_SIDE, FAKE_SIDE), Image.Resampling.LANCZOS
                    )
                    small.save(target)
    return biased, work / "test"


def spotfake(*args: str) -> None:
    """Run one spotfake command, echoing it; a failure stops the benchmark."""
    print("$ spotfake " + " ".join(args), flush=True)
    start = time.perf_counter()
    subprocess.run([*SPOTFAKE, *args], check=True)
    print(f"  ({time.perf_counter() - start:.0f} s)", flush=True)


def train(name: str, dataset: Path, work: Path, steps: int | None) -> Path:
    """Train the recipe on one set; the best weights copied to WORK/models/NAME.safetensors."""
    run_dir, model = work / "runs" / name, work / "models" / f"{name}.safetensors"
    if not (run_dir / "summary.json").is_file():
        shutil.rmtree(run_dir, ignore_errors=True)
        extra = ["--set", f"optim.steps={steps}"] if steps else []
        spotfake("train", str(ROOT / "configs/fake-or-jpeg-small.yaml"),
                 "--set", f"data.train={dataset}", "--set", f"name={name}", *extra,
                 "-o", str(run_dir))  # fmt: skip
    model.parent.mkdir(exist_ok=True)
    shutil.copyfile(run_dir / "best.safetensors", model)
    shutil.copyfile(run_dir / "best.json", model.with_suffix(".json"))
    return model


def table(metrics: dict, names: list[str]) -> list[dict]:
    """Per condition and model: real / fake accuracy at the threshold and AUC on the test set."""
    # One test generator: its rows are named after it, or "all" where the layout (one
    # generator folder, nothing beside it) reads as a single group.
    rows = [r for r in metrics["rows"] if r["generator"] == TEST_GENERATOR] or metrics["rows"]
    out = []
    for condition in metrics["conditions"]:
        line: dict = {"condition": condition}
        for name in names:
            (row,) = [r for r in rows if r["model"] == name and r["condition"] == condition]
            for key in ("real_accuracy", "fake_accuracy", "accuracy", "auc"):
                line[f"{name} {key}"] = row[key]
        out.append(line)
    return out


def write_table(lines: list[dict], names: list[str], path: Path, header: str) -> None:
    head = ["test images"] + [f"{n} {k}" for n in names for k in ("real acc", "fake acc", "AUC")]
    text = [header, "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for line in lines:
        cells = [line["condition"]]
        for name in names:
            for key in ("real_accuracy", "fake_accuracy", "auc"):
                value = line[f"{name} {key}"]
                cells.append("n/a" if value is None else f"{value:.3f}")
        text.append("| " + " | ".join(cells) + " |")
    path.write_text("\n".join(text) + "\n")
    print("\n".join(text))


def plot(lines: list[dict], names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [line["condition"] for line in lines]
    x = range(len(labels))
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for name, colour in zip(names, ("tab:red", "tab:blue"), strict=False):
        ax.plot(x, [line[f"{name} fake_accuracy"] for line in lines], "-o", color=colour,
                label=f"{name}: fakes called fake")  # fmt: skip
        ax.plot(x, [line[f"{name} real_accuracy"] for line in lines], "--s", color=colour,
                alpha=0.6, label=f"{name}: reals called real")  # fmt: skip
    ax.set_xticks(list(x), labels, rotation=30)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("accuracy at the model's threshold")
    ax.set_title(f"Held-out reals and {TEST_GENERATOR} fakes, re-encoded as JPEG")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "fake-or-jpeg")
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's steps")
    parser.add_argument("--limit", type=int, default=None, help="test images per class")
    args = parser.parse_args(argv)
    if not (args.data / "imagenet-real").is_dir():
        print(f"no shared data at {args.data}", file=sys.stderr)
        return 2
    work = args.work.resolve()
    biased, test = build(args.data, work)
    debiased = work / "debiased"
    if not (debiased / "manifest.csv").is_file():
        spotfake("debias", str(biased), "--size-window", SIZE_WINDOW, "--crop", str(FAKE_SIDE),
                 "-o", str(debiased))  # fmt: skip
    names = ["biased", "debiased"]
    models = [train("biased", biased, work, args.steps),
              train("debiased", debiased / "manifest.csv", work, args.steps)]  # fmt: skip
    report = work / "report"
    limit = ["--limit", str(args.limit)] if args.limit else []
    spotfake("evaluate", "--matrix", *map(str, models), "--data", str(test),
             "--robustness", "jpeg", "--quiet", *limit, "-o", str(report))  # fmt: skip
    metrics = json.loads((report / "metrics.json").read_text())
    lines = table(metrics, names)
    counts = json.loads((debiased / "debias.json").read_text())["totals"]["written"]
    header = (
        f"Trained on {len(list((biased / 'sd/train/nature').iterdir()))} reals + "
        f"{len(list((biased / 'sd/train/ai').iterdir()))} fakes (biased) and "
        f"{counts['real']} + {counts['fake']} (debiased); tested on "
        f"{len(list((test / TEST_GENERATOR / '0_real').iterdir()))} held-out reals and "
        f"{len(list((test / TEST_GENERATOR / '1_fake').iterdir()))} {TEST_GENERATOR} fakes (PNG)."
    )
    write_table(lines, names, work / "fake_or_jpeg.md", header)
    (work / "fake_or_jpeg.json").write_text(json.dumps(lines, indent=2) + "\n")
    plot(lines, names, work / "fake_or_jpeg.png")
    print(f"table: {work / 'fake_or_jpeg.md'}; plot: {work / 'fake_or_jpeg.png'}; "
          f"full report: {report / 'report.html'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
