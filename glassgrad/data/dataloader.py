"""DataLoader: batches of samples, optionally shuffled by a seeded generator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..engine.creation import tensor
from ..engine.ops.shape import stack
from ..engine.random import cpu_generator
from ..engine.tensor import Tensor
from .dataset import Subset, TensorDataset


def default_collate(samples: list[Any]) -> Any:
    """Stack a list of samples: tensors → one tensor, numbers/arrays → a tensor, tuples elementwise."""
    first = samples[0]
    if isinstance(first, Tensor):
        return stack(samples)
    if isinstance(first, tuple | list):
        return type(first)(default_collate(list(column)) for column in zip(*samples, strict=True))
    if isinstance(first, dict):
        return {key: default_collate([s[key] for s in samples]) for key in first}
    return tensor(np.stack([np.asarray(s) for s in samples]))


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    ``shuffle`` draws a new order each epoch from ``generator`` (a
    ``numpy.random.Generator``; default: the global one seeded by
    ``glassgrad.manual_seed``). ``sampler`` gives the dataset indices to visit instead, in
    its order (e.g. a DistributedSampler: this rank's share); it excludes ``shuffle``, as in
    PyTorch. A TensorDataset (or a Subset of one) is indexed a whole batch at a time, with no
    per-sample work.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        sampler: Any = None,
        drop_last: bool = False,
        generator: np.random.Generator | None = None,
        collate_fn: Callable[[list[Any]], Any] | None = None,
    ) -> None:
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: the dataset needs __len__ and __getitem__, got a {type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last)):
            if not isinstance(flag, bool | np.bool_):  # PyTorch takes any truthy value: shuffle="no" would shuffle
                raise TypeError(f"DataLoader: {name} must be a bool, got {flag!r}")
        if sampler is not None and not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
            raise TypeError(f"DataLoader: the sampler needs __iter__ and __len__, got a {type(sampler).__name__}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"DataLoader: generator must be a numpy.random.Generator, got {type(generator).__name__}")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.generator, self.sampler = generator, sampler
        self.collate_fn = collate_fn or default_collate

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _batched_source(self) -> tuple[tuple[Tensor, ...], np.ndarray] | None:
        """The tensors and index map when whole batches can be sliced at once."""
        data, index = self.dataset, None
        if isinstance(data, Subset) and isinstance(data.dataset, TensorDataset):
            data, index = data.dataset, np.asarray(data.indices)
        if isinstance(data, TensorDataset) and self.collate_fn is default_collate:
            return data.tensors, index if index is not None else np.arange(len(data))
        return None

    def __iter__(self) -> Iterator[Any]:
        if self.sampler is not None:
            order = np.fromiter(iter(self.sampler), dtype=np.int64)
        else:
            n = len(self.dataset)
            order = (self.generator or cpu_generator()).permutation(n) if self.shuffle else np.arange(n)
        n = len(order)
        stop = n - n % self.batch_size if self.drop_last else n
        fast = self._batched_source()
        for start in range(0, stop, self.batch_size):
            picks = order[start : start + self.batch_size]
            if fast is not None:
                tensors, index = fast
                rows = index[picks]
                if not self.shuffle and index is not None and np.all(np.diff(rows) == 1):
                    rows = slice(int(rows[0]), int(rows[-1]) + 1)  # in-order: a view, no gather
                yield tuple(t[rows if isinstance(rows, slice) else Tensor(_to(rows, t))] for t in tensors)
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in picks])


def _to(rows: np.ndarray, like: Tensor) -> Any:
    from ..engine.backend import to_device

    return to_device(rows, like.device)
