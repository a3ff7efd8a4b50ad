"""DistributedSampler: each of N ranks visits its own 1/N of a dataset, a new shuffle every epoch.

PyTorch's algorithm, so the shares are the same: the indices 0..n-1 (with ``shuffle``, the
permutation drawn by a NumPy generator seeded with seed + epoch, the same on every rank) are padded
by repeating them from the start to a multiple of N (or, with ``drop_last``, cut down to one), and
rank r takes every N-th index from position r: ``indices[r:total:N]``. Each rank gets
⌈n/N⌉ indices (⌊n/N⌋ with drop_last), and together they cover the dataset.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np


class DistributedSampler:
    """``torch.utils.data.DistributedSampler``: this rank's share of ``dataset``'s indices.

    ``num_replicas`` and ``rank`` default to the process group's world size and rank. Call
    ``set_epoch(epoch)`` before each epoch so that the shuffle changes from epoch to epoch.
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        api = "DistributedSampler"
        if not hasattr(dataset, "__len__"):
            raise TypeError(f"{api}: the dataset needs __len__, got a {type(dataset).__name__}")
        if num_replicas is None or rank is None:
            from .. import distributed as dist

            if not dist.is_initialized():
                raise RuntimeError(
                    f"{api}: num_replicas and rank default to the process group's; call "
                    "glassgrad.distributed.init_process_group first or pass them"
                )
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
        for name, value in (("num_replicas", num_replicas), ("rank", rank), ("seed", seed)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(f"{api}: {name} must be an int, got {value!r}")
        if num_replicas <= 0:
            raise ValueError(f"{api}: num_replicas must be positive, got {num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"{api}: Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            indices = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            indices = np.arange(n)
        if self.drop_last:
            indices = indices[: self.total_size]
        elif self.total_size > n:
            indices = np.resize(indices, self.total_size)  # repeats from the start: PyTorch's padding
        return iter(indices[self.rank : self.total_size : self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose shuffle to draw (seeded with seed + epoch on every rank)."""
        if isinstance(epoch, bool) or not isinstance(epoch, int | np.integer):
            raise TypeError(f"DistributedSampler.set_epoch: epoch must be an int, got {epoch!r}")
        self.epoch = int(epoch)
