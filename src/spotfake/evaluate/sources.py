"""Score a detector on labelled sources: per-source metrics, held-out groups."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

import numpy as np

from spotfake.data.sources import DataConfig, Example, list_items, load_examples
from spotfake.evaluate.metrics import group_metrics


def evaluate_examples(detector: Any, examples: list[Example], batch: int = 32) -> np.ndarray:
    """Scores of a detector on decoded examples with its own input policy."""
    scores = [
        detector.score([e.pixels for e in examples[i : i + batch]])
        for i in range(0, len(examples), batch)
    ]
    return np.concatenate(scores) if scores else np.empty(0)


def per_source_metrics(
    examples: list[Example], scores: np.ndarray, threshold: float = 0.5
) -> dict[str, Any]:
    """Metrics overall and per source (a source against every example of the other class);
    accuracies at threshold."""
    labels, sources = [e.label for e in examples], [e.source for e in examples]
    return group_metrics(labels, sources, scores, threshold)


def evaluate_heldout(
    detector: Any, data: DataConfig, log: TextIO, threshold: float = 0.5
) -> dict[str, Any]:
    """Metrics for each held-out group of sources, scored on its own (accuracies at threshold).

    A group with one class only is paired with the validation images of the other class, so
    unseen fakes are measured against reals the model did not train on.
    """
    root = Path(data.root)
    val_items = [
        i
        for s in data.sources
        for i in list_items(s, root, data.val_fraction, data.split_rule)
        if i.split == "val"
    ]
    groups: dict[str, list[Any]] = {}
    for source in data.heldout:
        groups.setdefault(source.group or source.name, []).append(source)
    results: dict[str, Any] = {}
    for group, sources in groups.items():
        items = [i for s in sources for i in list_items(s, root, 0.0)]
        labels = {i.label for i in items}
        if len(labels) == 1:
            items += [i for i in val_items if i.label not in labels]
        examples = load_examples(items)
        scores = evaluate_examples(detector, examples)
        results[group] = per_source_metrics(examples, scores, threshold)
        print(f"held-out {group}: {results[group]['overall']}", file=log, flush=True)
    return results
