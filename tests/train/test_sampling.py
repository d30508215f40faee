"""Epoch draws: balanced or shuffled, reproducible, split among ranks, resumable."""

from __future__ import annotations

import numpy as np

from spotfake.train.sampling import DrawSampler, epoch_draws, steps_per_epoch


def test_balanced_draws_classes_equally_and_groups_by_weight() -> None:
    labels = [0] * 90 + [1] * 10
    groups = ["real"] * 90 + ["gan"] * 5 + ["diffusion"] * 5
    indices, seeds = epoch_draws(labels, groups, {"gan": 3.0}, "balanced", 0, 0, 20000)
    drawn = np.asarray(labels)[indices]
    assert abs(drawn.mean() - 0.5) < 0.02
    fake_groups = np.asarray(groups)[indices[drawn == 1]]
    assert abs((fake_groups == "gan").mean() - 0.75) < 0.02
    again = epoch_draws(labels, groups, {"gan": 3.0}, "balanced", 0, 0, 20000)
    assert np.array_equal(indices, again[0]) and np.array_equal(seeds, again[1])
    other_epoch = epoch_draws(labels, groups, {"gan": 3.0}, "balanced", 0, 1, 20000)
    assert not np.array_equal(indices, other_epoch[0])


def test_shuffle_is_a_permutation() -> None:
    indices, _ = epoch_draws([0, 1] * 10, ["a"] * 20, {}, "shuffle", 3, 0, 20)
    assert sorted(indices.tolist()) == list(range(20))
    assert indices.tolist() != list(range(20)), "the identity order is no shuffle"
    again, _ = epoch_draws([0, 1] * 10, ["a"] * 20, {}, "shuffle", 3, 0, 20)
    other_seed, _ = epoch_draws([0, 1] * 10, ["a"] * 20, {}, "shuffle", 4, 0, 20)
    next_epoch, _ = epoch_draws([0, 1] * 10, ["a"] * 20, {}, "shuffle", 3, 1, 20)
    assert np.array_equal(indices, again)
    assert not np.array_equal(indices, other_seed) and not np.array_equal(indices, next_epoch)


def test_ranks_share_an_epoch_and_a_resume_skips_what_was_done() -> None:
    indices, seeds = epoch_draws([0, 1] * 50, ["a"] * 100, {}, "shuffle", 0, 0, 96)
    ranks = [list(DrawSampler(indices, seeds, r, 2, 0)) for r in range(2)]
    assert sorted(i for rank in ranks for i, _ in rank) == sorted(indices.tolist())
    resumed = list(DrawSampler(indices, seeds, 1, 2, 8))
    assert resumed == ranks[1][8:]
    assert steps_per_epoch(100, 8, 2) == 6 and steps_per_epoch(3, 8) == 1
