"""The "Fake or JPEG?" effect in small: a detector trained on a GenImage-like biased set learns
JPEG instead of generation; the same recipe trained on the `spotfake debias` output does not.

    .venv/bin/python benchmarks/fake_or_jpeg.py [--pair faces|imagenet-sd] [--data ../shared/data]
                                                [--work runs/fake-or-jpeg] [--steps N] [--limit N]

Steps (each is a spotfake command, printed as it runs; finished steps are skipped on a re-run):
1. Build the biased set in GenImage's layout and storage: reals JPEG-compressed, fakes PNG
   (never compressed), 80% of each class for training (``GEN/train/{nature,ai}``) and 20% (by a
   hash of the file name) for testing (``test/GEN/{0_real,1_fake}``). Two pairs of sources:
   - ``faces`` (default): real face photos against StyleGAN2 faces (``faces-hard``). Both are
     resized to 224x224 with Lanczos, which erases the q75 traces both sources carry, then the
     reals are stored as JPEG q75 4:2:0 (their source's quality) and the fakes as PNG. Content,
     size and scale match, as GenImage's ImageNet-class prompts match ImageNet, so storage is the
     easiest cue left besides the generator's own traces.
   - ``imagenet-sd``: ImageNet JPEG reals (many sizes, mostly q96) against the Stable Diffusion
     DrawBench images downscaled to 224x224 PNG (SD 1.4/1.5 to train, SD 2.1 to test). Content
     differs so much (DrawBench prompts: text, counting, cartoons) that a model separates the
     classes by content and learns no format cue: kept as the counter-example.
2. ``spotfake debias`` the biased set: fakes JPEG'd at the reals' most common quality and
   subsampling, sizes windowed and centre-cropped alike, bytes per pixel matched, classes balanced.
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SPOTFAKE = [sys.executable, "-m", "spotfake"]
TEST_SHARE = 0.2
SIDE = 224


@dataclass(frozen=True)
class Pair:
    """Where a pair's reals and fakes come from, and how each is stored in the biased set."""

    generator: str  # the generator the test rows are named after
    write: Callable[[Path, Path], None]  # (shared data, WORK) -> biased set and test set
    debias: tuple[str, ...]  # extra `spotfake debias` options


def held_out(name: str) -> bool:
    """A fixed 20% of each class, by an md5 of the file name (sha1 is skewed on imagenet-real)."""
    digest = int(hashlib.md5(name.encode()).hexdigest()[:8], 16)
    return digest / 0xFFFFFFFF < TEST_SHARE


def resized(path: Path, side: int = SIDE) -> Image.Image:
    """The image at side x side (Lanczos): one size, and the source's JPEG traces erased."""
    with Image.open(path) as image:
        return image.convert("RGB").resize((side, side), Image.Resampling.LANCZOS)


def folders(work: Path, generator: str) -> tuple[Path, Path, Path, Path]:
    """Train reals, train fakes, test reals, test fakes (created)."""
    train, test = work / "biased" / generator / "train", work / "test" / generator
    out = (train / "nature", train / "ai", test / "0_real", test / "1_fake")
    for folder in out:
        folder.mkdir(parents=True, exist_ok=True)
    return out


def write_faces(data: Path, work: Path) -> None:
    """faces-hard: both classes at 224x224, reals JPEG q75 4:2:0, fakes PNG."""
    nature, ai, test_real, test_fake = folders(work, "stylegan2")
    for path in sorted((data / "faces-hard" / "real").glob("*.jpg")):
        target = (test_real if held_out(path.name) else nature) / path.name
        if not target.exists():
            resized(path).save(target, quality=75, subsampling=2)
    for path in sorted((data / "faces-hard" / "fake").glob("*.jpg")):
        target = (test_fake if held_out(path.name) else ai) / f"{path.stem}.png"
        if not target.exists():
            resized(path).save(target)


def write_imagenet_sd(data: Path, work: Path) -> None:
    """ImageNet reals linked as they are; SD 1.4/1.5 (train) and 2.1 (test) at 224x224 PNG.

    The shared SD images are JPEG q75: stored as PNG at 512 they keep q75 traces stronger than
    the q96 reals' own, and a model learns "more JPEG means fake", the reverse of GenImage.
    Downscaling by 0.4375 (Lanczos) removes the quantisation noise and the 8x8 grid.
    """
    nature, ai, test_real, test_fake = folders(work, "sd")
    for path in sorted((data / "imagenet-real").iterdir()):
        link = (test_real if held_out(path.name) else nature) / path.name
        if not link.exists():
            link.symlink_to(path.resolve())
    for generator in ("sd14", "sd15", "sd21"):
        target_dir = test_fake if generator == "sd21" else ai
        for path in sorted((data / "drawbench-sd" / generator).glob("*.jpg")):
            target = target_dir / f"{generator}-{path.stem}.png"
            if not target.exists():
                resized(path).save(target)


PAIRS = {
    "faces": Pair("stylegan2", write_faces, ()),
    # 224 px fakes against ~500x375 reals: a window of 0.7 keeps reals with a side up to 381,
    # and --crop 224 stops it from admitting tiny reals that would shrink the common crop.
    "imagenet-sd": Pair("sd", write_imagenet_sd, ("--size-window", "0.7", "--crop", str(SIDE))),
}


def spotfake(*args: str) -> None:
    """Run one spotfake command, echoing it; a failure stops the benchmark."""
    print("$ spotfake " + " ".join(args), flush=True)
    start = time.perf_counter()
    subprocess.run([*SPOTFAKE, *args], check=True)
    print(f"  ({time.perf_counter() - start:.0f} s)", flush=True)


def train_all(sets: dict[str, Path], work: Path, steps: int | None, parallel: bool) -> list[Path]:
    """Train the recipe on each set (at once, one thread each, with --parallel); the best
    weights of each are copied to WORK/models/NAME.safetensors."""
    pending = []
    for name, dataset in sets.items():
        run_dir = work / "runs" / name
        if (run_dir / "summary.json").is_file():
            continue
        shutil.rmtree(run_dir, ignore_errors=True)
        extra = ["--set", f"optim.steps={steps}"] if steps else []
        extra += ["--set", "optim.threads=1"] if parallel else []
        args = ["train", str(ROOT / "configs/fake-or-jpeg-small.yaml"),
                "--set", f"data.train={dataset}", "--set", f"name={name}", *extra,
                "-o", str(run_dir)]  # fmt: skip
        if not parallel:
            spotfake(*args)
            continue
        print("$ spotfake " + " ".join(args), flush=True)
        log = (work / f"train-{name}.log").open("w")
        pending.append(subprocess.Popen([*SPOTFAKE, *args], stdout=log, stderr=subprocess.STDOUT))
    if any(process.wait() != 0 for process in pending):
        raise SystemExit(f"training failed: see {work}/train-*.log")
    models = []
    for name in sets:
        run_dir, model = work / "runs" / name, work / "models" / f"{name}.safetensors"
        model.parent.mkdir(exist_ok=True)
        shutil.copyfile(run_dir / "best.safetensors", model)
        shutil.copyfile(run_dir / "best.json", model.with_suffix(".json"))
        models.append(model)
    return models


def table(metrics: dict, names: list[str]) -> list[dict]:
    """Per condition and model: real / fake accuracy at the threshold and AUC on the test set."""
    # One test generator folder with nothing beside it reads as a single group named "all".
    rows = [r for r in metrics["rows"] if r["generator"] == "all"] or metrics["rows"]
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


def plot(lines: list[dict], names: list[str], path: Path, generator: str) -> None:
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
    ax.set_title(f"Held-out reals and {generator} fakes, re-encoded as JPEG")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pair", choices=sorted(PAIRS), default="faces")
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--work", type=Path, default=None, help="default: runs/fake-or-jpeg-PAIR")
    parser.add_argument("--steps", type=int, default=None, help="override the recipe's steps")
    parser.add_argument("--limit", type=int, default=None, help="test images per class")
    parser.add_argument("--parallel", action="store_true", help="train both models at once")
    args = parser.parse_args(argv)
    if not (args.data / "faces-hard").is_dir():
        print(f"no shared data at {args.data}", file=sys.stderr)
        return 2
    pair = PAIRS[args.pair]
    work = (args.work or ROOT / "runs" / f"fake-or-jpeg-{args.pair}").resolve()
    pair.write(args.data, work)
    biased, test = work / "biased", work / "test"
    debiased = work / "debiased"
    if not (debiased / "manifest.csv").is_file():
        spotfake("debias", str(biased), *pair.debias, "-o", str(debiased))
    names = ["biased", "debiased"]
    sets = {"biased": biased, "debiased": debiased / "manifest.csv"}
    models = train_all(sets, work, args.steps, args.parallel)
    report = work / "report"
    limit = ["--limit", str(args.limit)] if args.limit else []
    if not (report / "metrics.json").is_file():
        spotfake("evaluate", "--matrix", *map(str, models), "--data", str(test),
                 "--robustness", "jpeg", "--quiet", *limit, "-o", str(report))  # fmt: skip
    metrics = json.loads((report / "metrics.json").read_text())
    lines = table(metrics, names)
    write_table(lines, names, work / "fake_or_jpeg.md", header(work, pair.generator))
    (work / "fake_or_jpeg.json").write_text(json.dumps(lines, indent=2) + "\n")
    plot(lines, names, work / "fake_or_jpeg.png", pair.generator)
    print(f"table: {work / 'fake_or_jpeg.md'}; plot: {work / 'fake_or_jpeg.png'}; "
          f"full report: {report / 'report.html'}")  # fmt: skip
    return 0


def header(work: Path, generator: str) -> str:
    """One line saying what was trained and tested on."""
    train = work / "biased" / generator / "train"
    test = work / "test" / generator
    counts = json.loads((work / "debiased" / "debias.json").read_text())["totals"]["written"]
    return (
        f"Trained on {len(list((train / 'nature').iterdir()))} reals + "
        f"{len(list((train / 'ai').iterdir()))} fakes (biased) and "
        f"{counts['real']} + {counts['fake']} (debiased); tested on "
        f"{len(list((test / '0_real').iterdir()))} held-out reals and "
        f"{len(list((test / '1_fake').iterdir()))} held-out {generator} fakes (PNG)."
    )


if __name__ == "__main__":
    raise SystemExit(main())
