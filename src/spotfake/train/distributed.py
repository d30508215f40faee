"""Several processes, one recipe: torchrun's environment, DistributedDataParallel, rank-0 writes.

    torchrun --nproc-per-node 4 -m spotfake train CONFIG -o RUN_DIR

Each process trains on its share of every epoch's draws (``batch_size`` is per process),
gradients are averaged by DDP, validation scores are gathered so every rank sees the same
metrics (and takes the same schedule decisions), and only rank 0 writes the run directory.
Without torchrun's variables (WORLD_SIZE) everything here is a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Dist:
    """This process's place in the run (rank 0 of 1 when not distributed)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Whether this process writes files and logs."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world > 1


def pick_device(requested: str, local_rank: int = 0) -> str:
    """'auto' is this process's GPU when torch sees one, else the CPU."""
    import torch

    if requested == "auto":
        requested = "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda":
        return f"cuda:{local_rank}"
    return requested


def init_distributed(requested_device: str) -> tuple[Dist, str]:
    """Join the process group torchrun describes (gloo on CPU, nccl on GPUs); pick the device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(requested_device, local_rank)
    if world <= 1:
        return Dist(), device
    import torch
    import torch.distributed as dist

    if device.startswith("cuda"):
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), local_rank), device


def wrap(model: Any, info: Dist, device: str) -> Any:
    """The model as DistributedDataParallel when several processes train it."""
    if not info.active:
        return model
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [int(device.split(":")[1])] if device.startswith("cuda:") else None
    return DistributedDataParallel(model, device_ids=device_ids)


def gather(array: np.ndarray, info: Dist) -> np.ndarray:
    """Concatenate every rank's array in rank order (all ranks receive the result)."""
    if not info.active:
        return array
    import torch.distributed as dist

    parts: list[Any] = [None] * info.world
    dist.all_gather_object(parts, array)
    return np.concatenate(parts)


def barrier(info: Dist) -> None:
    """Wait for every rank (for example until rank 0 has written a checkpoint)."""
    if info.active:
        import torch.distributed as dist

        dist.barrier()


def shutdown(info: Dist) -> None:
    """Leave the process group."""
    if info.active:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
