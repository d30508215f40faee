"""The audit as files: audit.json, report.md and report.html with PNG plots beside them."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spotfake.bias.audit import STRONG_AUC, WEAK_AUC, Audit, GeneratorAudit, verdict_text
from spotfake.bias.stats import top_shares
from spotfake.records import GENERATED, REAL, ImageRecord
from spotfake.reporting import Section, to_html, to_markdown

if TYPE_CHECKING:
    from spotfake.bias.pixels import PixelBaseline

_COLOURS = {"real": "#1f77b4", "generated": "#d62728"}
PLOTS = {
    "shortcut.png": "What metadata alone tells apart (cross-validated AUC per property)",
    "jpeg_quality.png": "JPEG quality per class, as Fake or JPEG? shows it",
    "size.png": "Image sizes per class",
    "bytes_per_pixel.png": "Compressed bytes per pixel per class",
}


def write_report(result: Audit, records: Sequence[ImageRecord], folder: Path, title: str) -> None:
    """Write audit.json, the PNG plots, report.md and report.html into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "audit.json").write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    usable = [r for r in records if r.error is None and r.label in (REAL, GENERATED)]
    _plot_all(result, usable, folder)
    heading, intro, sections = f"Bias audit: {title}", _intro(result), _sections(result)
    (folder / "report.md").write_text(to_markdown(heading, intro, sections))
    (folder / "report.html").write_text(to_html(heading, intro, sections))


def _tables(result: Audit) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report's tables: (heading, header, rows)."""
    confounds = [
        [c.name, _cell(c.verdict, c.confident), _auc(c.auc), _ci(c.ci_low, c.ci_high),
         f"{c.drop:+.3f}", c.detail]
        for c in result.confounds
    ]  # fmt: skip
    generators = _generator_rows(result.per_generator)
    tables = [
        (
            "Confounds",
            ["property", "verdict", "AUC alone", "95% CI", "drop without it", "numbers"],
            confounds,
        )
    ]
    if generators:
        header = ["generator", "reals", "fakes", "reals are", "shortcut AUC", "95% CI", "verdict"]
        tables.append(("Per generator", header, generators))
    tables.append(("Storage per class and generator", _STORAGE_HEADER, _storage_rows(result)))
    if result.table_identity is not None:
        tables.append(("JPEG tables per class", _TABLES_HEADER, _table_rows(result)))
    if result.file_metadata is not None:
        header = ["property", "verdict", "AUC alone", "95% CI", "drop without it", "numbers"]
        rows = [
            [c.name, _cell(c.verdict, c.confident), _auc(c.auc), _ci(c.ci_low, c.ci_high),
             f"{c.drop:+.3f}", c.detail]
            for c in result.file_metadata.properties
        ]  # fmt: skip
        tables.append(("File metadata (never seen by a pixel detector)", header, rows))
    return tables


_TABLES_HEADER = [
    "class", "JPEGs", "distinct tables", "IJG tables", "tables the other class also has",
    "most common tables",
]  # fmt: skip


def _table_rows(result: Audit) -> list[list[str]]:
    """One row per class: which exact quantisation tables its JPEGs carry."""
    identity = result.table_identity
    assert identity is not None
    return [
        [
            name,
            str(identity.jpegs[name]),
            str(len(identity.tables[name])),
            _share(identity.standard[name]),
            _share(identity.shared[name]),
            top_shares(identity.tables[name]) or "-",
        ]
        for name in ("real", "generated")
    ]


def _share(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0%}"


_STORAGE_HEADER = [
    "group", "class", "images", "formats", "JPEG qualities", "subsampling", "sizes",
    "aspect (median)", "bytes/pixel (p5 / median / p95)", "modes",
]  # fmt: skip


def _storage_rows(result: Audit) -> list[list[str]]:
    """One row per class, overall and within each generator: how its files are stored."""
    groups = [("all", result.stats), *result.generator_stats.items()]
    return [
        _storage_row(group, name, stats[name])
        for group, stats in groups
        for name in ("real", "generated")
    ]


def _storage_row(group: str, name: str, stats: dict[str, Any]) -> list[str]:
    """A group's storage figures as table cells."""
    qualities = stats["jpeg_quality"]
    total = sum(qualities.values())
    top = sorted(qualities.items(), key=lambda kv: -kv[1])[:3]
    bpp = stats["bytes_per_pixel"]
    return [
        group,
        name,
        str(stats["count"]),
        top_shares(stats["format"]),
        ", ".join(f"q{q} {n / total:.0%}" for q, n in top) if total else "-",
        top_shares(stats["chroma_subsampling"]) or "-",
        f"{stats['distinct_sizes']} distinct; {stats['top_size']} {stats['top_size_share']:.0%}",
        f"{stats['aspect']['median']:.2f}",
        f"{bpp['p5']:.3f} / {bpp['median']:.3f} / {bpp['p95']:.3f}",
        top_shares(stats["mode"]),
    ]


def _intro(result: Audit) -> list[str]:
    """The opening sentences: counts, the overall verdict and how to read it."""
    c = result.counts
    overall = verdict_text(
        result.verdict, result.shortcut_auc_ci_low, result.shortcut_auc_ci_high,
        result.confident, result.rows_used,
    )  # fmt: skip
    return [
        f"{c['real']} real and {c['generated']} generated images "
        f"({c['unlabelled']} unlabelled and {c['unreadable']} unreadable left out; "
        f"{result.rows_used} used by the classifiers).",
        f"Metadata-only shortcut: AUC {_auc(result.shortcut_auc)} "
        f"(± {result.shortcut_auc_fold_std:.3f} over folds, "
        f"95% CI {_ci(result.shortcut_auc_ci_low, result.shortcut_auc_ci_high)}), "
        f"verdict **{overall}**.",
        "A boosted-tree classifier that sees only format, JPEG quality, the JPEG quantisation "
        "tables' values, chroma subsampling, width, height, aspect, bytes per pixel and colour "
        "mode is cross-validated; its AUC is what a detector could reach without looking at a "
        f"single pixel. Verdicts: none below {WEAK_AUC}, weak below {STRONG_AUC}, strong above. "
        "Each 95% CI bootstraps the out-of-fold scores (the evaluation's sampling uncertainty); "
        "a verdict whose interval leaves its band is marked uncertain.",
        *_extra_intro(result),
    ]


def _extra_intro(result: Audit) -> list[str]:
    """Sentences on table identity and file metadata, when the audit has them."""
    lines = []
    if result.table_identity is not None:
        t = result.table_identity
        lines.append(
            f"JPEG tables alone (table identity): AUC {_auc(t.values_auc)} "
            f"(95% CI {_ci(t.ci_low, t.ci_high)}), verdict **{_cell(t.verdict, t.confident)}**. "
            "Two encoders at the same estimated quality can write different "
            "tables; a CNN sees the difference in the quantisation grid."
        )
    if result.file_metadata is not None:
        m = result.file_metadata
        lines.append(
            f"File metadata (EXIF, camera, XMP, ICC, PNG text, progressive): AUC "
            f"{_auc(m.shortcut_auc)} (95% CI {_ci(m.ci_low, m.ci_high)}), verdict "
            f"**{_cell(m.verdict, m.confident)}**. A pixel detector never sees it; "
            "metadata-aware tools do, and it tells how each class was made."
        )
    return lines


def _sections(result: Audit) -> list[Section]:
    """The tables, one section each, then the plots."""
    sections = [
        Section(heading, tables=[("", header, rows)]) for heading, header, rows in _tables(result)
    ]
    if result.pixel_baseline is not None:
        sections.append(_pixel_section(result.pixel_baseline))
    sections.append(Section("Plots", images=[(name, caption) for name, caption in PLOTS.items()]))
    return sections


def _pixel_section(baseline: PixelBaseline) -> Section:
    """The pixel-statistics baseline: its verdict, each statistic, each generator, what failed."""
    n = baseline.rows_used
    overall = verdict_text(
        baseline.verdict, baseline.ci_low, baseline.ci_high, baseline.confident, n
    )
    text = [
        f"Pixel statistics: AUC {_auc(baseline.auc)} (± {baseline.fold_std:.3f} over folds, "
        f"95% CI {_ci(baseline.ci_low, baseline.ci_high)}), verdict **{overall}**, "
        f"on {n} of {baseline.sampled} sampled images ({len(baseline.unreadable)} unreadable).",
        "The same boosted trees see only global statistics of each image's central "
        f"{baseline.crop}x{baseline.crop} pixels at most (native resolution, never resized): "
        "luminance and saturation mean and spread, colourfulness, Laplacian variance "
        "(sharpness), noise level, JPEG blockiness, fine-detail share. A high AUC means the "
        "classes can be told apart without looking for generation traces.",
    ]
    features = [
        [f.name, _cell(f.verdict, f.confident), _auc(f.auc),
         _ci(f.ci_low, f.ci_high), f"{f.drop:+.3f}", _number(f.real_median),
         _number(f.generated_median)]
        for f in baseline.features
    ]  # fmt: skip
    header = ["statistic", "verdict", "AUC alone", "95% CI", "drop without it",
              "real median", "generated median"]  # fmt: skip
    tables = [("Statistics", header, features)]
    if baseline.per_generator:
        header = ["generator", "reals", "fakes", "reals are", "pixel AUC", "95% CI", "verdict"]
        tables.append(("Per generator", header, _generator_rows(baseline.per_generator)))
    if baseline.unreadable:
        rows = [[path, reason] for path, reason in list(baseline.unreadable.items())[:20]]
        tables.append((f"Unreadable ({len(baseline.unreadable)}, first 20)", ["file", "why"], rows))
    return Section("Pixel-statistics baseline", text=text, tables=tables)


def _generator_rows(generators: list[GeneratorAudit]) -> list[list[str]]:
    """Per-generator table rows: counts, where the reals come from, AUC, interval, verdict."""
    return [
        [g.generator, str(g.n_real), str(g.n_fake), g.reals, _auc(g.shortcut_auc),
         _ci(g.ci_low, g.ci_high), _cell(g.verdict, g.confident)]
        for g in generators
    ]  # fmt: skip


def _cell(verdict: str, confident: bool) -> str:
    """A verdict in a table beside its interval: "strong", or "strong (uncertain)"."""
    return verdict if confident or verdict == "n/a" else f"{verdict} (uncertain)"


def _number(value: float) -> str:
    """A statistic's value with four significant digits ("n/a" when undefined)."""
    return "n/a" if math.isnan(value) else f"{value:.4g}"


def _auc(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def _ci(low: float, high: float) -> str:
    """An interval as "0.62-1.00" ("n/a" when undefined)."""
    return "n/a" if math.isnan(low) or math.isnan(high) else f"{low:.2f}-{high:.2f}"


# -- plots ------------------------------------------------------------------------------------


def _plot_all(result: Audit, records: list[ImageRecord], folder: Path) -> None:
    """Draw every plot of PLOTS into folder (matplotlib without a display)."""
    import matplotlib

    matplotlib.use("Agg")
    classes = {name: [r for r in records if r.label == label] for label, name in
               ((REAL, "real"), (GENERATED, "generated"))}  # fmt: skip
    _plot_shortcut(result, folder / "shortcut.png")
    _plot_quality(classes, folder / "jpeg_quality.png")
    _plot_sizes(classes, folder / "size.png")
    _plot_bpp(classes, folder / "bytes_per_pixel.png")


def _plot_shortcut(result: Audit, path: Path) -> None:
    """Bars of each property's own AUC, the overall and per-generator AUCs, verdict lines."""
    import matplotlib.pyplot as plt

    names = ["all metadata"] + [c.name for c in result.confounds]
    values = [result.shortcut_auc] + [c.auc for c in result.confounds]
    names += [f"gen: {g.generator}" for g in result.per_generator]
    values += [g.shortcut_auc for g in result.per_generator]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(names) + 1.2))
    y = np.arange(len(names))[::-1]
    ax.barh(y, [0.0 if math.isnan(v) else v for v in values], color="#777")
    ax.set_yticks(y, names)
    for x, style in ((0.5, ":"), (WEAK_AUC, "--"), (STRONG_AUC, "-")):
        ax.axvline(x, color="k", linestyle=style, linewidth=0.8)
    ax.set_xlim(0.4, 1.0)
    ax.set_xlabel("cross-validated AUC of a metadata-only classifier (0.5 = no shortcut)")
    _save(fig, path)


def _plot_quality(classes: dict[str, list[ImageRecord]], path: Path) -> None:
    """Share of images at each JPEG quality per class; a bar at -5 for files that are not JPEG."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(classes), 1, figsize=(8, 2.2 * len(classes)), sharex=True)
    for ax, (name, group) in zip(np.atleast_1d(axes), classes.items(), strict=True):
        qualities = [r.jpeg_quality if r.jpeg_quality is not None else -5 for r in group]
        counts = np.bincount(np.asarray(qualities) + 5, minlength=106) / max(len(group), 1)
        ax.bar(np.arange(-5, 101), counts, width=1.0, color=_COLOURS[name])
        ax.set_ylabel(f"{name}\nshare")
        ax.annotate("not JPEG", (-5, counts[0]), ha="center", va="bottom", fontsize=7)
    np.atleast_1d(axes)[-1].set_xlabel("estimated JPEG quality")
    _save(fig, path)


def _plot_sizes(classes: dict[str, list[ImageRecord]], path: Path) -> None:
    """Width against height, one colour per class."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 5))
    for name, group in classes.items():
        points = np.asarray([(r.width or 0, r.height or 0) for r in group], dtype=float)
        if len(points):
            marker, size = ("o", 6) if name == "real" else ("x", 30)  # one size must stay visible
            ax.scatter(
                points[:, 0], points[:, 1], s=size, marker=marker, alpha=0.4, label=name,
                c=_COLOURS[name],
            )  # fmt: skip
    ax.set_xlabel("width (px)")
    ax.set_ylabel("height (px)")
    ax.legend()
    _save(fig, path)


def _plot_bpp(classes: dict[str, list[ImageRecord]], path: Path) -> None:
    """Histograms of log10 bytes per pixel per class (how hard the encoder compressed)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    values = {n: np.log10([r.bytes_per_pixel for r in g if r.bytes_per_pixel]) for n, g in
              classes.items()}  # fmt: skip
    joined = np.concatenate([v for v in values.values() if len(v)] or [np.zeros(1)])
    bins = np.linspace(joined.min(), joined.max() + 1e-9, 50).tolist()
    for name, data in values.items():
        ax.hist(data, bins=bins, alpha=0.5, density=True, label=name, color=_COLOURS[name])
    ax.set_xlabel("log10 bytes per pixel")
    ax.set_ylabel("density")
    ax.legend()
    _save(fig, path)


def _save(fig: Any, path: Path) -> None:
    """Save a figure as PNG and free it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
