"""Learning-rate schedules: warm-up, cosine, and CNNDetection's step-down on plateau."""

from __future__ import annotations

import pytest
import torch

from spotfake.train.config import OptimConfig
from spotfake.train.schedule import PlateauSchedule, build_optimizer, build_schedule


def test_warmup_then_cosine_to_the_floor() -> None:
    o = OptimConfig(lr=1.0, warmup_steps=4, min_lr=0.1, schedule="cosine")
    schedule = build_schedule(o, total_steps=14)
    assert [schedule.lr(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert schedule.lr(9) == pytest.approx(0.55)  # half way through the decay
    assert schedule.lr(14) == pytest.approx(0.1)
    assert schedule.observe(0.5) is True  # cosine ignores metrics


def test_plateau_drops_the_lr_when_the_metric_stalls_and_stops_at_the_floor() -> None:
    o = OptimConfig(lr=1e-4, warmup_steps=0, schedule="plateau", patience=2, min_delta=0.001)
    schedule = build_schedule(o, total_steps=10**6)
    assert isinstance(schedule, PlateauSchedule)
    assert schedule.observe(0.80) and schedule.observe(0.85)  # improving
    assert schedule.observe(0.8505)  # below min_delta: one stale evaluation
    assert schedule.lr(100) == pytest.approx(1e-4)
    assert schedule.observe(0.84)  # patience reached: lr / 10, counting starts afresh
    assert schedule.lr(100) == pytest.approx(1e-5)
    assert schedule.observe(0.5) and schedule.observe(0.5) and schedule.observe(0.5)
    assert schedule.lr(100) == pytest.approx(1e-6)  # at the floor, not below it: go on
    assert schedule.observe(0.5) and schedule.observe(0.5)
    assert schedule.observe(0.5) is False  # 1e-7 < stop_lr 1e-6: stop, as CNNDetection
    assert schedule.observe(None) is True  # no metric (one class only): no decision


def test_plateau_state_round_trips() -> None:
    o = OptimConfig(lr=1.0, warmup_steps=0, schedule="plateau", patience=1)
    first = build_schedule(o, 100)
    first.observe(0.9)
    first.observe(0.1)
    second = build_schedule(o, 100)
    second.load_state_dict(first.state_dict())
    assert second.lr(50) == first.lr(50) == pytest.approx(0.1)
    assert second.state_dict() == first.state_dict()


@pytest.mark.parametrize(
    ("name", "kind"),
    [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD)],
)
def test_optimisers_of_both_papers(name: str, kind: type) -> None:
    params = [torch.nn.Parameter(torch.zeros(2))]
    optimizer = build_optimizer(params, OptimConfig(optimizer=name, lr=0.5))
    assert type(optimizer) is kind and optimizer.param_groups[0]["lr"] == 0.5
