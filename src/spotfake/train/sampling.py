"""Which images an epoch draws, in which order, for which process: reproducible and resumable.

An epoch is a fixed list of draws made from ``(seed, epoch)`` alone: an image index and a seed
for that view's augmentation. Process ``rank`` of ``world`` takes every world-th draw, and a
resumed run skips the draws its steps already consumed, so an interrupted run continues with
exactly the batches it would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

_SEED_MAX = 2**63 - 1


def steps_per_epoch(n_images: int, batch_size: int, world: int = 1) -> int:
    """Optimiser steps in one pass over n_images (at least one)."""
    return max(1, n_images // (batch_size * world))


def epoch_draws(
    labels: Sequence[int],
    groups: Sequence[str],
    weights: dict[str, float],
    mode: str,
    seed: int,
    epoch: int,
    n: int,
) -> tuple[np.ndarray, np.ndarray]:
    """n (image index, view seed) draws of one epoch; mode is 'balanced' or 'shuffle'.

    shuffle: a permutation of the images (each at most once per epoch). balanced: each draw
    picks a class with equal odds, then a group of that class by weight, then an image of it.
    """
    rng = np.random.default_rng([seed, epoch])
    if mode == "shuffle":
        order = rng.permutation(len(labels))
        indices = np.resize(order, n)  # n never exceeds an epoch unless the set is tiny
    else:
        indices = _balanced(np.asarray(labels), np.asarray(groups), weights, rng, n)
    return indices, rng.integers(0, _SEED_MAX, size=n)


def _balanced(
    labels: np.ndarray,
    groups: np.ndarray,
    weights: dict[str, float],
    rng: np.random.Generator,
    n: int,
) -> np.ndarray:
    """Class, then group by weight, then image: vectorised so a million draws take milliseconds."""
    classes = np.unique(labels)
    picked_class = classes[rng.integers(len(classes), size=n)]
    indices = np.empty(n, dtype=np.int64)
    for label in classes:
        slots = np.flatnonzero(picked_class == label)
        members = np.flatnonzero(labels == label)
        names = np.unique(groups[members])
        odds = np.array([weights.get(str(g), 1.0) for g in names], dtype=float)
        picked_group = rng.choice(len(names), size=slots.size, p=odds / odds.sum())
        for k, name in enumerate(names):
            pool = members[groups[members] == name]
            here = slots[picked_group == k]
            indices[here] = pool[rng.integers(len(pool), size=here.size)]
    return indices


def pair_draws(
    indices: np.ndarray, labels: Sequence[int], twins: dict[int, int], window: int
) -> np.ndarray:
    """Draws where each synthesised fake with a real twin has that twin in the same batch.

    Within each window of draws (one global batch), the twin replaces a draw of a real, so the
    batch keeps its share of each class; twins beyond the batch's real draws are left out.
    """
    if not twins:
        return indices
    out = indices.copy()
    is_real = np.asarray(labels)[out] == 0
    for start in range(0, len(out), window):
        stop = min(start + window, len(out))
        free = [k for k in range(start, stop) if is_real[k]]
        for k in range(start, stop):
            twin = twins.get(int(out[k]))
            if twin is None:
                continue
            present = [j for j in free if out[j] == twin]
            if present:  # the twin was drawn anyway: keep that draw for this pair
                free.remove(present[0])
            elif free:
                out[free.pop()] = twin
    return out


class DrawSampler:
    """The (index, seed) keys one process feeds its DataLoader in an epoch, from a start on."""

    def __init__(
        self, indices: np.ndarray, seeds: np.ndarray, rank: int, world: int, start: int
    ) -> None:
        self.indices = indices[rank::world][start:]
        self.seeds = seeds[rank::world][start:]

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        yield from zip(self.indices.tolist(), self.seeds.tolist(), strict=True)
