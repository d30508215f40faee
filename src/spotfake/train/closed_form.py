"""Detectors that learn in closed form (the spectral ones), through the same command and files.

A ``FeatureDetector``'s features are computed batch by batch while images are decoded (in
DataLoader workers when ``data.workers`` > 0), so a large set is never held in memory whole; the
fit is then ``detector.fit(features, labels)``. Any other ``ClosedFormDetector`` gets the decoded
images at once (``fit_images``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from spotfake.models.base import ClosedFormDetector, FeatureDetector
from spotfake.train.config import TrainConfig
from spotfake.train.data import TrainData
from spotfake.train.distributed import Dist
from spotfake.train.evaluation import group_metrics, map_images, score_samples
from spotfake.train.rundir import finish, summarise
from spotfake.train.tracking import Tracker


def fit_closed_form(
    cfg: TrainConfig,
    detector: ClosedFormDetector,
    data: TrainData,
    out: Path,
    dist: Dist,
    log: TextIO,
) -> dict[str, Any]:
    """Fit on the training images, validate, write the run directory like a gradient run."""
    started = time.time()
    labels = [s.label for s in data.train]
    workers = cfg.data.workers or 0
    if isinstance(detector, FeatureDetector):
        features = map_images(data.train_store, labels, detector.features, workers=workers)
        detector.fit(features, np.asarray(labels))
    else:
        images = [data.train_store[i] for i in range(len(data.train))]
        detector.fit_images(images, np.asarray(labels))
    metrics: dict[str, Any] = {}
    scores: np.ndarray | None = None
    if data.val:
        scores = score_samples(detector, data.val, data.val_store, dist, workers=workers)
        metrics = group_metrics(data.val, scores)
    detector.save(out / "best")
    detector.save(out / "last")
    tracker = Tracker(out, log, total=1, tensorboard=cfg.runtime.tensorboard)
    tracker.record({"step": 1, "fit_seconds": round(time.time() - started, 3), "val": metrics})
    tracker.close()
    overall = metrics.get("overall") or {}
    print(f"fitted {cfg.model}: val auc {overall.get('auc')} accuracy {overall.get('accuracy')}",
          file=log)  # fmt: skip
    best = {"step": 1, "value": overall.get(cfg.optim.monitor), "val": metrics}
    progress = {"steps": 1, "total_steps": 1, "epochs": 1.0, "stopped": "completed"}
    n = {"train": len(data.train), "val": len(data.val)}
    summary = summarise(cfg, best, progress, n)
    return finish(cfg, out, summary, (data.val, data.val_store), log, val_scores=scores)
