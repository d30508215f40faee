"""What `spotfake spectrum` writes: the JSON summary, the arrays, and the two figures.

Figures are drawn with matplotlib's Agg canvas on a private Figure (no pyplot, no global state),
imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spotfake.bias.spectra import CLASS_NAMES, GroupSpectra, SpectraResult
from spotfake.data.sampling import group_order
from spotfake.records import GENERATED, REAL

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

OUTPUT_NAMES = {
    "azimuthal": "azimuthal.png",
    "spectrum2d": "spectrum2d.png",
    "arrays": "spectra.npz",
    "summary": "spectra.json",
}
HIGH_FREQUENCY_DEFINITION = (
    "mean over the top third of the 1-D bins of (mean spectrum of the generated group - mean "
    "spectrum of its real reference); spectra are 20*ln|F| divided by their first bin, so > 0 "
    "means the generated images keep relatively more high-frequency energy than the reals"
)
_COLOURS = {REAL: "tab:blue", GENERATED: "tab:red"}
_DPI = 110


def high_frequency_level(mean1d: np.ndarray) -> float:
    """Mean of the top third of a 1-D spectrum's bins."""
    return float(np.mean(mean1d[len(mean1d) - len(mean1d) // 3 :]))


def high_frequency_ratio(fake: np.ndarray, real: np.ndarray) -> float:
    """Generated minus real high-frequency level of two mean 1-D spectra (see the definition)."""
    return high_frequency_level(fake) - high_frequency_level(real)


def reference(result: SpectraResult, group: GroupSpectra) -> GroupSpectra | None:
    """The reals a generated group is compared with: same generator if any, else all reals."""
    if group.label != GENERATED:
        return None
    same = result.generators.get((REAL, group.generator))
    if group.generator is not None and same is not None and same.count:
        return same
    real = result.classes.get(REAL)
    return real if real is not None and real.count else None


def generator_groups(result: SpectraResult) -> list[GroupSpectra]:
    """Generator groups worth listing: named ones, and unnamed ones beside named ones."""
    named = {label for label, generator in result.generators if generator is not None}
    return [
        result.generators[key]
        for key in sorted(result.generators, key=group_order)
        if result.generators[key].count and (key[1] is not None or key[0] in named)
    ]


def groups(result: SpectraResult) -> list[GroupSpectra]:
    """The groups reported, in order: classes, then generators (see generator_groups)."""
    classes = [group for group in result.classes.values() if group.count]
    return classes + generator_groups(result)


def overall_ratio(result: SpectraResult) -> float | None:
    """High-frequency ratio of all generated images against all reals (None without both)."""
    fake = result.classes.get(GENERATED)
    real = reference(result, fake) if fake is not None and fake.count else None
    if fake is None or real is None:
        return None
    return high_frequency_ratio(fake.mean1d, real.mean1d)


def summary(result: SpectraResult, outputs: dict[str, str] | None = None) -> dict[str, Any]:
    """The machine-readable summary: settings, counts, skipped files, per-group spectra."""
    used = sum(group.count for group in result.classes.values())
    return {
        "bins": result.bins,
        "crop": result.crop,
        "crop_2d": result.crop_2d,
        "limit": result.limit,
        "seed": result.seed,
        "files": result.files,
        "unlabelled": result.unlabelled,
        "used": used,
        "skipped": len(result.skipped),
        "high_frequency_ratio": _rounded(overall_ratio(result)),
        "high_frequency_definition": HIGH_FREQUENCY_DEFINITION,
        "groups": [_group_summary(result, group) for group in groups(result)],
        "skipped_files": [{"path": path, "reason": reason} for path, reason in result.skipped],
        "outputs": outputs or {},
    }


def _group_summary(result: SpectraResult, group: GroupSpectra) -> dict[str, Any]:
    """One group's entry: names, counts, crop, high-frequency level and ratio, mean spectrum."""
    real = reference(result, group)
    ratio = None if real is None else high_frequency_ratio(group.mean1d, real.mean1d)
    return {
        "name": group.name,
        "class": CLASS_NAMES[group.label],
        "generator": group.generator,
        "available": group.available,
        "count": group.count,
        "crop": group.crop,
        "high_frequency": _rounded(high_frequency_level(group.mean1d)),
        "high_frequency_ratio": _rounded(ratio),
        "reference": None if real is None else real.name,
        "mean": [round(float(v), 6) for v in group.mean1d],
        "std": [round(float(v), 6) for v in group.std1d],
    }


def _rounded(value: float | None) -> float | None:
    """A float kept to 6 decimals for the JSON (None stays None)."""
    return None if value is None else round(float(value), 6)


def write_outputs(result: SpectraResult, folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Write the figures, the arrays and the summary into folder (created); return the summary."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    outputs = {key: str(target / name) for key, name in OUTPUT_NAMES.items()}
    plot_azimuthal(result, outputs["azimuthal"])
    plot_spectrum2d(result, outputs["spectrum2d"])
    save_arrays(result, outputs["arrays"])
    report = summary(result, outputs)
    with open(outputs["summary"], "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2)
        handle.write("\n")
    return report


def save_arrays(result: SpectraResult, path: str | os.PathLike[str]) -> None:
    """spectra.npz: per-group 1-D means and spreads, class 2-D means and their difference.

    ``mean2d_<i>`` is the 2-D mean of ``group_names[i]`` at its own crop (``group_crops[i]``).
    """
    shown = groups(result)
    arrays: dict[str, np.ndarray] = {
        "group_names": np.array([g.name for g in shown]),
        "group_labels": np.array([g.label for g in shown]),
        "group_counts": np.array([g.count for g in shown]),
        "group_crops": np.array([g.crop for g in shown]),
        "mean1d": np.array([g.mean1d for g in shown]),
        "std1d": np.array([g.std1d for g in shown]),
    }
    for i, group in enumerate(shown):
        arrays[f"mean2d_{i}"] = group.mean2d
    difference = _difference(result)
    if difference is not None:
        arrays["difference2d"] = difference
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


def _difference(result: SpectraResult) -> np.ndarray | None:
    """Mean 2-D log spectrum of generated minus that of real images (None without both)."""
    fake, real = result.classes.get(GENERATED), result.classes.get(REAL)
    if fake is None or real is None or not fake.count or not real.count:
        return None
    return fake.mean2d - real.mean2d


def _figure(width: float, height: float) -> Figure:
    """A Figure on the Agg canvas, independent of pyplot's global state."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def plot_azimuthal(result: SpectraResult, path: str | os.PathLike[str]) -> None:
    """Mean 1-D spectrum with a +-1 std band per class; a second panel with one line per group."""
    generators = generator_groups(result)
    figure = _figure(12.0 if generators else 6.5, 4.5)
    axes = figure.subplots(1, 2 if generators else 1, squeeze=False)[0]
    bins = np.arange(result.bins)
    for group in (g for g in result.classes.values() if g.count):
        mean, std = group.mean1d, group.std1d
        colour = _COLOURS[group.label]
        axes[0].plot(bins, mean, color=colour, label=f"{group.name} (n={group.count})")
        axes[0].fill_between(bins, mean - std, mean + std, color=colour, alpha=0.2, linewidth=0)
    axes[0].set_title("per class: mean +- 1 std")
    if all(g.crop == result.crop_2d for g in result.generators.values()):
        for ax in axes:  # beyond it only the spectrum's corners are left: a kink, not a trace
            ax.axvline(nyquist_bin(result.crop_2d, result.bins), color="grey", linestyle=":")
    if generators:
        for group in generators:
            style = "--" if group.label == REAL else "-"
            axes[1].plot(bins, group.mean1d, style, label=f"{group.name} (n={group.count})")
        axes[1].set_title("per class and generator: mean")
    for ax in axes:
        _label_azimuthal(ax)
    figure.suptitle(f"1-D azimuthal spectrum (centre crops, {result.bins} bins)")
    figure.savefig(path, dpi=_DPI)


def nyquist_bin(crop: int, bins: int) -> float:
    """Where the Nyquist frequency along the axes (radius crop / 2) falls on the 1-D bins.

    The feature resamples rings 1 .. R - 2 (R rings in all, up to the corners) onto the bins.
    """
    rings = int(np.hypot((crop - 1) / 2, (crop - 1) / 2)) + 1
    return (crop / 2 - 1) / max(rings - 3, 1) * (bins - 1)


def _label_azimuthal(ax: Axes) -> None:
    """Axis labels, grid and legend of a 1-D spectrum panel."""
    ax.set_xlabel("spatial frequency (bin; low to high; dotted: Nyquist along the axes)")
    ax.set_ylabel("20 ln|F|, relative to bin 0")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")


def plot_spectrum2d(result: SpectraResult, path: str | os.PathLike[str]) -> None:
    """Mean 2-D log spectrum of reals and of fakes on one colour scale, and fake minus real."""
    classes = [g for g in result.classes.values() if g.count]
    difference = _difference(result)
    panels = len(classes) + (difference is not None)
    figure = _figure(4.6 * panels, 4.4)
    axes = figure.subplots(1, panels, squeeze=False)[0]
    means = [group.mean2d for group in classes]
    # Percentiles, not min/max: the DC term is far above everything else and would flatten it.
    vmin, vmax = np.percentile(np.concatenate([m.ravel() for m in means]), [1.0, 99.9])
    size = result.crop_2d  # pixel k holds frequency (k - size // 2) / size cycles per pixel
    low, high = (-(size // 2) - 0.5) / size, (size - size // 2 - 0.5) / size
    extent = (low, high, high, low)
    for ax, group, mean in zip(axes, classes, means, strict=False):
        shown = ax.imshow(mean, cmap="viridis", vmin=vmin, vmax=vmax, extent=extent)
        ax.set_title(f"{group.name} (n={group.count})")
        figure.colorbar(shown, ax=ax, shrink=0.8, label="20 ln|F|")
    if difference is not None:
        limit = float(np.percentile(np.abs(difference), 99.5)) or 1.0
        shown = axes[-1].imshow(difference, cmap="RdBu_r", vmin=-limit, vmax=limit, extent=extent)
        axes[-1].set_title("generated - real")
        figure.colorbar(shown, ax=axes[-1], shrink=0.8, label="difference of 20 ln|F|")
    for ax in axes:
        ax.set_xlabel("horizontal frequency (cycles/pixel)")
        ax.set_ylabel("vertical frequency (cycles/pixel)")
    figure.suptitle(
        f"mean 2-D log-magnitude spectrum, centre crop {result.crop_2d}x{result.crop_2d}"
    )
    figure.savefig(path, dpi=_DPI)
