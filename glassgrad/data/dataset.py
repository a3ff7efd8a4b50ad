"""Datasets: anything with ``__len__`` and ``__getitem__``; tensors; subsets; random splits."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..engine.random import cpu_generator
from ..engine.tensor import Tensor


class Dataset:
    """Base class: subclasses define ``__len__`` and ``__getitem__(index) -> sample``."""

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")


class TensorDataset(Dataset):
    """Samples are the i-th rows of equally long tensors: ``(x[i], y[i])``."""

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) != 1:
            # AssertionError is PyTorch's type ("Size mismatch between tensors")
            raise AssertionError(f"TensorDataset: size mismatch between tensors: first dims {sizes}")
        self.tensors = tensors

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = [int(i) for i in indices]
        n = len(dataset)
        if self.indices and not (-n <= min(self.indices) and max(self.indices) < n):
            raise IndexError(f"Subset: indices run from {min(self.indices)} to {max(self.indices)}, dataset has {n}")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list | np.ndarray):
            return self.dataset[np.asarray(self.indices)[np.asarray(index)]]
        return self.dataset[self.indices[index]]


def random_split(dataset: Any, lengths: Sequence[float], generator: np.random.Generator | None = None) -> list[Subset]:
    """Split into non-overlapping random subsets of the given lengths (or fractions summing to 1).

    Fractions become ⌊n·f⌋ samples each, the remainder handed out one by one
    from the first subset on, as PyTorch does. The order is a permutation drawn
    from ``generator`` (default: the global one seeded by ``glassgrad.manual_seed``).
    """
    n = len(dataset)
    if isinstance(lengths, int | float) or not all(
        isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool) and x >= 0 for x in lengths
    ):
        raise ValueError(f"random_split: lengths must be a list of counts or fractions >= 0, got {lengths!r}")
    if generator is not None and not isinstance(generator, np.random.Generator):
        raise TypeError(f"random_split: generator must be a numpy.random.Generator, got {type(generator).__name__}")
    if all(x <= 1 for x in lengths) and math.isclose(sum(lengths), 1.0) and sum(lengths) != n:
        counts = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(counts)):  # hand out the remainder round-robin, as PyTorch does
            counts[i % len(counts)] += 1
    else:
        if any(x != int(x) for x in lengths):
            raise ValueError(
                f"random_split: lengths {list(lengths)} are neither whole counts nor fractions summing to 1"
            )
        counts = [int(x) for x in lengths]
    if sum(counts) != n:
        raise ValueError(f"random_split: lengths {list(lengths)} don't add up to the dataset's {n} samples")
    order = (generator or cpu_generator()).permutation(n)
    bounds = np.cumsum([0, *counts])
    return [Subset(dataset, order[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
