"""What a run directory holds, and the last things written into it.

config.yaml, config.json     the resolved recipe (load_config reads config.yaml back)
metrics.jsonl                one line per evaluation: step, loss, lr, validation metrics
best.safetensors, best.json  the best weights by the monitored metric, with their spec
last.safetensors, last.json  the latest weights
checkpoint.pt                model, optimiser, schedule, scaler, RNG states (resume)
summary.json                 best validation metrics, held-out results, what was trained
calibration.json             with a calibration section: the threshold chosen on validation
                             reals (written into best.json) and each real source's flag rate
tensorboard/                 TensorBoard event files, when tensorboard is installed
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from spotfake.data.dataset import PixelStore, Sample
from spotfake.train.config import TrainConfig
from spotfake.train.data import TrainData
from spotfake.train.evaluation import evaluate_heldout, score_samples

CALIBRATION = "calibration.json"


def summarise(
    cfg: TrainConfig, best: dict[str, Any], progress: dict[str, Any], n: dict[str, int]
) -> dict[str, Any]:
    """The summary of a run: recipe, data, the best step's validation metrics and progress."""
    if cfg.data.sources:
        data: dict[str, Any] = {
            s.name: {"path": s.path, "label": s.label} for s in cfg.data.sources
        }
    else:
        data = {"train": cfg.data.train, "val": cfg.data.val}
    val = best.get("val") or {}
    return {
        "recipe": cfg.name,
        "model": cfg.model,
        "sources": data,
        "n_train": n["train"],
        "n_val": n["val"],
        "monitor": cfg.optim.monitor,
        "best_step": best.get("step"),
        "val": val,
        "metrics": val.get("overall"),
        **progress,
        "heldout": {},
    }


def finish(
    cfg: TrainConfig,
    out: Path,
    summary: dict[str, Any],
    val: tuple[list[Sample], PixelStore],
    log: TextIO,
    val_scores: np.ndarray | None = None,
) -> dict[str, Any]:
    """Reload the best weights, score held-out sources, calibrate the threshold (when the
    recipe asks), write summary.json and the spec's copy.

    val_scores: the best weights' validation scores when the run still has them, so that
    calibration need not score the validation images again.
    """
    from spotfake.models.base import load_detector_file

    if not (out / "best.safetensors").is_file():  # stopped before its first evaluation
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary
    best_model = load_detector_file(out / "best.safetensors")
    interrupted = str(summary.get("stopped", "")).startswith("stop_at")
    if cfg.data.heldout and not interrupted:  # held-out sets are scored once, at the end
        summary["heldout"] = evaluate_heldout(best_model, cfg.data, val[0], val[1], log)
    if cfg.calibration is not None and not interrupted:  # like held-out sets: once, at the end
        summary["calibration"] = calibrate_best(best_model, cfg, out, val, val_scores, log)
    best_model.spec.name = cfg.name
    best_model.spec.training = {**best_model.spec.training, **summary}
    best_model.save(out / "best")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({"val_overall": summary.get("metrics")}), file=log)
    return summary


def check_calibration(cfg: TrainConfig, data: TrainData) -> None:
    """Refuse, before training, a calibration the validation set cannot support (no reals)."""
    if cfg.calibration is not None and not any(s.label == 0 for s in data.val):
        raise ValueError("calibration: the validation set has no real images to calibrate on")


def calibrate_best(
    best_model: Any,
    cfg: TrainConfig,
    out: Path,
    val: tuple[list[Sample], PixelStore],
    scores: np.ndarray | None,
    log: TextIO,
) -> dict[str, Any]:
    """Set the best model's threshold from the validation reals of each source; write
    calibration.json and log the threshold and every source's flag rate."""
    from spotfake.evaluate.calibration import calibrate, describe

    assert cfg.calibration is not None
    samples, store = val
    if scores is None or len(scores) != len(samples):  # e.g. best found before a resume
        scores = score_samples(best_model, samples, store)
    calibration = calibrate(
        [s.label for s in samples],
        scores,
        [s.group for s in samples],
        cfg.calibration.max_real_flag,
    )
    best_model.spec.threshold = calibration.threshold
    result = calibration.to_dict()
    (out / CALIBRATION).write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(describe(calibration)), file=log, flush=True)
    return result
