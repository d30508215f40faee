"""Validation during training: score samples with the detector's own input policy, per group.

Every process scores its share of the images and the scores are gathered, so all ranks
compute the same metrics. Metrics come from ``spotfake.evaluate.metrics.detection_metrics``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from spotfake.data.dataset import ImageItems, PixelStore, Sample, collate_items
from spotfake.data.sources import DataConfig, list_items
from spotfake.evaluate import metrics
from spotfake.train.distributed import Dist, gather


def map_images(
    store: PixelStore,
    labels: Sequence[int],
    fn: Callable[[list[Any]], np.ndarray],
    transform: Callable[[np.ndarray], Any] | None = None,
    dist: Dist | None = None,
    batch_size: int = 32,
    workers: int = 0,
) -> np.ndarray:
    """fn over batches of (transformed) images, rows in store order, shared among ranks."""
    from torch.utils.data import DataLoader, Subset

    dist = dist or Dist()
    items = ImageItems(store, labels, transform)
    mine = list(range(dist.rank, len(items), dist.world))
    loader = DataLoader(
        Subset(items, mine), batch_size=batch_size, num_workers=workers, collate_fn=collate_items
    )
    outputs, order = [], []
    for batch, _, indices in loader:
        outputs.append(np.asarray(fn(batch)))
        order.append(indices)
    local = np.concatenate(outputs) if outputs else np.empty(0)
    positions = gather(np.concatenate(order) if order else np.empty(0, np.int64), dist)
    values = gather(local, dist)
    result = np.empty((len(items), *values.shape[1:]), dtype=values.dtype)
    result[positions.astype(np.int64)] = values
    return result


def score_samples(
    detector: Any, samples: list[Sample], store: PixelStore, dist: Dist | None = None, **kw: Any
) -> np.ndarray:
    """P(generated) of every sample (an empty array for none)."""
    if not samples:
        return np.empty(0)
    return map_images(store, [s.label for s in samples], detector.score, dist=dist, **kw)


def group_metrics(samples: list[Sample], scores: np.ndarray) -> dict[str, Any]:
    """Metrics overall and per sample group (``spotfake.evaluate.metrics.group_metrics``)."""
    return metrics.group_metrics([s.label for s in samples], [s.group for s in samples], scores)


def evaluate_heldout(
    detector: Any, data: DataConfig, val: list[Sample], val_store: PixelStore, log: TextIO
) -> dict[str, Any]:
    """Metrics of each held-out group of sources (data.heldout), scored on its own.

    A group with one class only is paired with the validation images of the other class, so
    unseen fakes are measured against reals the model did not train on.
    """
    groups: dict[str, list[Any]] = {}
    for source in data.heldout:
        groups.setdefault(source.group or source.name, []).append(source)
    results: dict[str, Any] = {}
    for name, sources in groups.items():
        items = [i for s in sources for i in list_items(s, Path(data.root), 0.0)]
        samples = [Sample(i.location, i.label, i.source) for i in items]
        scores = score_samples(detector, samples, PixelStore.load(samples, in_memory=False))
        labels = {s.label for s in samples}
        if len(labels) == 1:
            pair = [i for i, s in enumerate(val) if s.label not in labels]
            samples += [val[i] for i in pair]
            pair_scores = score_samples(detector, [val[i] for i in pair], val_store.subset(pair))
            scores = np.concatenate([scores, pair_scores])
        results[name] = group_metrics(samples, scores)
        print(f"held-out {name}: {results[name]['overall']}", file=log, flush=True)
    return results
