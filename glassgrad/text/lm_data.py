"""Batches for language models: a stream of token ids → (input, target) pairs, target = input shifted by one.

Two layouts, both yielding int64 tensors of shape (B, T) with ``target[b, t] = ids[start_b + t + 1]``
where ``input[b, t] = ids[start_b + t]``:

- ``TokenBlocks`` for a stateless model (a transformer): windows of ``block_size`` tokens, either drawn at
  random positions (training; ``batches`` batches per epoch, from the engine's generator so ``--resume``
  replays them) or consecutive non-overlapping ones in order (validation: every token predicted once).
- ``BPTTBatches`` for a recurrent model trained by truncated backprop through time: the classic
  "batchify" — the stream cut into B equal streams, ``streams[b] = ids[b·L : (b+1)·L]`` (L = N // B),
  walked left to right in chunks of ``bptt`` steps, so chunk k+1 of row b continues chunk k of row b and
  the model's final state of one batch is the right initial state of the next.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from ..engine import creation
from ..engine import random as engine_random
from ..engine.tensor import Tensor
from .corpus import pydoc_text, read_text_corpus, split_text
from .tokenizers import Tokenizer, build_tokenizer


def tokenized_corpus(
    data_dir: str | Path | None, kind: str, val_fraction: float
) -> tuple[Tokenizer, np.ndarray, np.ndarray]:
    """(tokenizer, training ids, validation ids) of a language model's corpus: the pydoc text (``data_dir``
    None) or ``read_text_corpus(data_dir)``, cut by ``split_text(text, val_fraction)``. A "char" tokenizer
    takes the characters of the whole text (the validation part has no unknown one); "byte" and "bpe" ones
    are built on the training part only."""
    text = pydoc_text() if data_dir is None else read_text_corpus(data_dir)
    train_text, val_text = split_text(text, val_fraction)
    tokenizer = build_tokenizer(kind, text if kind == "char" else train_text)
    return tokenizer, np.asarray(tokenizer.encode(train_text)), np.asarray(tokenizer.encode(val_text))


def as_ids(ids: Sequence[int] | np.ndarray, api: str, minimum: int) -> np.ndarray:
    """``ids`` as a 1-D int64 array of at least ``minimum`` tokens."""
    array = np.asarray(ids)
    if array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"{api}: ids must be a 1-D sequence of integers, got shape {array.shape} {array.dtype}")
    if array.size < minimum:
        raise ValueError(f"{api}: needs at least {minimum} tokens, got {array.size}")
    return array.astype(np.int64, copy=False)


def _positive(value: object, name: str, api: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{api}: {name} must be a positive integer, got {value!r}")
    return value


def batchify(ids: Sequence[int] | np.ndarray, batch_size: int) -> np.ndarray:
    """(B, N // B): the stream cut into ``batch_size`` consecutive equal streams (the tail dropped)."""
    _positive(batch_size, "batch_size", "batchify")
    array = as_ids(ids, "batchify", batch_size)
    length = array.size // batch_size
    return array[: length * batch_size].reshape(batch_size, length)


class TokenBlocks:
    """(input, target) batches of ``batch_size`` windows of ``block_size`` tokens, each (B, T) int64.

    ``shuffle=True``: every batch holds windows starting at uniform random positions in
    [0, N − T − 1], ``batches`` batches per epoch (default: as many as cover the stream once, ⌈(N−1) / (B·T)⌉).
    ``shuffle=False``: the consecutive windows starting at 0, T, 2T, ... (the last batch may be smaller).
    """

    def __init__(
        self,
        ids: Sequence[int] | np.ndarray,
        block_size: int,
        batch_size: int,
        shuffle: bool = True,
        batches: int | None = None,
        device: str = "cpu",
    ) -> None:
        api = "TokenBlocks"
        self.block_size = _positive(block_size, "block_size", api)
        self.batch_size = _positive(batch_size, "batch_size", api)
        self.ids = as_ids(ids, api, block_size + 1)
        self.shuffle, self.device = shuffle, device
        windows = (self.ids.size - 1) // block_size
        self.starts = np.arange(windows) * block_size
        if batches is not None:
            _positive(batches, "batches", api)
            if not shuffle:
                raise ValueError("TokenBlocks: batches is for shuffle=True; the consecutive windows are a fixed set")
        self.batches = batches if batches is not None else -(-(self.ids.size - 1) // (batch_size * block_size))

    def __len__(self) -> int:
        return self.batches if self.shuffle else -(-len(self.starts) // self.batch_size)

    def _batch(self, starts: np.ndarray) -> tuple[Tensor, Tensor]:
        index = starts[:, None] + np.arange(self.block_size + 1)
        window = self.ids[index]
        x, y = creation.tensor(window[:, :-1]), creation.tensor(window[:, 1:])
        return (x, y) if self.device == "cpu" else (x.to(self.device), y.to(self.device))

    def target_segments(self) -> list[np.ndarray]:
        """The target ids of one pass as contiguous runs of the stream (consecutive windows only): what a
        validation loss is measured on, to count its characters."""
        if self.shuffle:
            raise ValueError("TokenBlocks.target_segments: random windows have no fixed targets; use shuffle=False")
        return [self.ids[1 : len(self.starts) * self.block_size + 1]]

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        if self.shuffle:
            high = self.ids.size - self.block_size  # a start s needs s + T < N
            for _ in range(self.batches):
                yield self._batch(engine_random.cpu_generator().integers(0, high, size=self.batch_size))
        else:
            for i in range(0, len(self.starts), self.batch_size):
                yield self._batch(self.starts[i : i + self.batch_size])


class BPTTBatches:
    """Consecutive (input, target) chunks of ``batchify(ids, batch_size)``, each (B, ≤ bptt) int64.

    Chunk k covers stream steps [k·bptt, (k+1)·bptt) as input and the steps one later as target; the
    last chunk is shorter when L − 1 is not a multiple of ``bptt``. Order is fixed (never shuffled):
    the recurrent state carries from one chunk to the next.
    """

    def __init__(self, ids: Sequence[int] | np.ndarray, batch_size: int, bptt: int, device: str = "cpu") -> None:
        api = "BPTTBatches"
        self.bptt = _positive(bptt, "bptt", api)
        _positive(batch_size, "batch_size", api)
        self.streams = batchify(as_ids(ids, api, 2 * batch_size), batch_size)
        self.device = device

    @property
    def tokens(self) -> int:
        """Target tokens per epoch: B · (L − 1)."""
        return self.streams.shape[0] * (self.streams.shape[1] - 1)

    def __len__(self) -> int:
        return -(-(self.streams.shape[1] - 1) // self.bptt)

    def target_segments(self) -> list[np.ndarray]:
        """The target ids of one pass as contiguous runs of the stream: each stream after its first token."""
        return list(self.streams[:, 1:])

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        length = self.streams.shape[1]
        for start in range(0, length - 1, self.bptt):
            stop = min(start + self.bptt, length - 1)
            x = creation.tensor(np.ascontiguousarray(self.streams[:, start:stop]))
            y = creation.tensor(np.ascontiguousarray(self.streams[:, start + 1 : stop + 1]))
            yield (x, y) if self.device == "cpu" else (x.to(self.device), y.to(self.device))
