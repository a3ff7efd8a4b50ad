"""Parallel wrappers: DistributedDataParallel (one model replica per rank, gradients averaged)."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
