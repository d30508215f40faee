"""What a run directory holds, and the last things written into it.

config.yaml, config.json     the resolved recipe (load_config reads config.yaml back)
metrics.jsonl                one line per evaluation: step, loss, lr, validation metrics
best.safetensors, best.json  the best weights by the monitored metric, with their spec
last.safetensors, last.json  the latest weights
checkpoint.pt                model, optimiser, schedule, scaler, RNG states (resume)
summary.json                 best validation metrics, held-out results, what was trained
tensorboard/                 TensorBoard event files, when tensorboard is installed
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TextIO

from spotfake.data.dataset import PixelStore, Sample
from spotfake.train.config import TrainConfig
from spotfake.train.evaluation import evaluate_heldout


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
) -> dict[str, Any]:
    """Reload the best weights, score held-out sources, write summary.json and the spec's copy."""
    from spotfake.models.base import load_detector_file

    if not (out / "best.safetensors").is_file():  # stopped before its first evaluation
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        return summary
    best_model = load_detector_file(out / "best.safetensors")
    interrupted = str(summary.get("stopped", "")).startswith("stop_at")
    if cfg.data.heldout and not interrupted:  # held-out sets are scored once, at the end
        summary["heldout"] = evaluate_heldout(best_model, cfg.data, val[0], val[1], log)
    best_model.spec.name = cfg.name
    best_model.spec.training = {**best_model.spec.training, **summary}
    best_model.save(out / "best")
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps({"val_overall": summary.get("metrics")}), file=log)
    return summary
