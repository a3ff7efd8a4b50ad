"""Variable-length batches for recurrent layers: packing, padding and their inverses (PyTorch's
``torch.nn.utils.rnn``).

A packed batch stores, step after step, the elements of the sequences still running at that step,
longest sequence first: for sequences ``abc`` and ``x``, ``data = a x b c`` and ``batch_sizes = [2, 1, 1]``.
Every conversion here is ONE gather (``getitem`` with integer index arrays) from the source rows, plus
one row of ``padding_value`` where padding is produced, so dL/d(source) = the gradient of each picked
element added back at its place (GetItem's backward) and zero for the padding.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import numpy as np

from ...engine import creation, ops
from ...engine.tensor import Tensor

__all__ = [
    "PackedSequence",
    "invert_permutation",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pad_sequence",
    "unpad_sequence",
    "pack_sequence",
    "unpack_sequence",
]


class _PackedFields(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None
    unsorted_indices: Tensor | None


class PackedSequence(_PackedFields):
    """A packed batch: ``data`` (N, *) holds the sequences' steps interleaved, ``batch_sizes`` (T,) (int64,
    on the cpu) how many sequences run at each step, ``sorted_indices`` the batch's order by decreasing
    length (None when the input was already sorted) and ``unsorted_indices`` its inverse. Built by
    ``pack_padded_sequence`` / ``pack_sequence``; given only ``sorted_indices``, the inverse is computed."""

    def __new__(
        cls,
        data: Tensor,
        batch_sizes: Tensor | None = None,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> PackedSequence:
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is None:  # PackedSequence((data, batch_sizes)), as PyTorch accepts
            if not (isinstance(data, list | tuple) and len(data) == 2):
                raise ValueError("PackedSequence: without batch_sizes, data must be a (data, batch_sizes) pair")
            data, batch_sizes = data
        if batch_sizes.device != "cpu":
            raise ValueError(
                "PackedSequence: batch_sizes should always be on the cpu; build packed sequences with "
                "nn.utils.rnn.pack_padded_sequence or pack_sequence"
            )
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args: Any, **kwargs: Any) -> PackedSequence:
        """``data.to(...)``; the indices follow data's device, batch_sizes stays on the cpu. Returns self
        when data is unchanged."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        sorted_indices, unsorted_indices = (
            None if t is None else t.to(data.device) for t in (self.sorted_indices, self.unsorted_indices)
        )
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cpu(self) -> PackedSequence:
        return self.to("cpu")

    def cuda(self) -> PackedSequence:
        return self.to("cuda")

    def double(self) -> PackedSequence:
        return self.to(np.float64)

    def float(self) -> PackedSequence:
        return self.to(np.float32)

    def half(self) -> PackedSequence:
        return self.to(np.float16)

    def long(self) -> PackedSequence:
        return self.to(np.int64)

    def int(self) -> PackedSequence:
        return self.to(np.int32)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda


def invert_permutation(permutation: Tensor | None) -> Tensor | None:
    """The inverse permutation: out[permutation[i]] = i (None for None)."""
    if permutation is None:
        return None
    order = np.asarray(permutation.tolist(), dtype=np.int64)
    inverse = np.empty_like(order)
    inverse[order] = np.arange(order.size, dtype=np.int64)
    return creation.tensor(inverse, device=permutation.device)


def _gather(source: Tensor, rows: np.ndarray) -> Tensor:
    """source[rows] along dim 0 for an integer array ``rows`` of any shape (one differentiable gather)."""
    return source[creation.tensor(rows, dtype=np.int64, device=source.device)]


def _with_padding_row(source: Tensor, padding_value: float) -> Tensor:
    """``source`` (N, *) with one more row of ``padding_value`` at index N."""
    return ops.cat([source, source.new_full((1, *source.shape[1:]), padding_value)], 0)


def _lengths_array(op: str, lengths: Any) -> np.ndarray:
    """Sequence lengths as a 1-D int64 NumPy array (a list, an array or a 1-D cpu tensor, as PyTorch)."""
    if isinstance(lengths, Tensor):
        if lengths.ndim != 1 or lengths.device != "cpu":
            raise RuntimeError(
                f"{op}: 'lengths' argument should be a 1D CPU int64 tensor, but got a {lengths.ndim}D "
                f"{lengths.device} tensor"
            )
        lengths = lengths.tolist()
    array = np.asarray(lengths)
    if array.ndim != 1:
        raise RuntimeError(f"{op}: 'lengths' should be 1-D (one length per sequence), got shape {array.shape}")
    return array.astype(np.int64)


def _batch_sizes(sorted_lengths: np.ndarray) -> np.ndarray:
    """batch_sizes[t] = how many of the (decreasing) lengths exceed t, for t < the longest."""
    steps = np.arange(int(sorted_lengths[0]) if sorted_lengths.size else 0)
    return (sorted_lengths[None, :] > steps[:, None]).sum(axis=1).astype(np.int64)


def _step_offsets(batch_sizes: np.ndarray) -> np.ndarray:
    """Where step t starts in the packed data: the sum of batch_sizes before t."""
    return np.concatenate([[0], np.cumsum(batch_sizes)[:-1]]).astype(np.int64)


def pack_padded_sequence(
    input: Tensor, lengths: Tensor | Sequence[int], batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch ``input`` (T, B, *) (or (B, T, *) with ``batch_first``) whose sequence b has
    ``lengths[b]`` steps. With ``enforce_sorted`` the lengths must be decreasing; otherwise the batch is
    sorted by decreasing length (stable) and ``sorted_indices`` records the order."""
    op = "pack_padded_sequence"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise IndexError(f"{op}: input must have at least 2 dims (time and batch), got shape {input.shape}")
    lengths = _lengths_array(op, lengths)
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    if lengths.size != batch:
        raise RuntimeError(
            f"{op}: Expected `len(lengths)` to be equal to batch_size, but got {lengths.size} (batch_size={batch})"
        )
    if (lengths <= 0).any():
        raise RuntimeError(
            f"{op}: Length of all samples has to be greater than 0, but found an element in 'lengths' that is "
            f"<= 0 (lengths {lengths.tolist()})"
        )
    if (lengths > steps).any():
        raise RuntimeError(f"{op}: lengths {lengths.tolist()} exceed the input's {steps} time steps")
    if enforce_sorted:
        if (np.diff(lengths) > 0).any():
            raise RuntimeError(
                f"{op}: `lengths` array must be sorted in decreasing order when `enforce_sorted` is True "
                f"(got {lengths.tolist()}). You can pass `enforce_sorted=False` to pack_padded_sequence and/or "
                "pack_sequence to sidestep this requirement if you do not need ONNX exportability."
            )
        order = np.arange(batch, dtype=np.int64)
        sorted_indices = None
    else:
        order = np.argsort(-lengths, kind="stable").astype(np.int64)
        sorted_indices = creation.tensor(order, device=input.device)
    batch_sizes = _batch_sizes(lengths[order])
    time, column = _packed_picks(batch_sizes, order)
    data = _pick(input, column, time) if batch_first else _pick(input, time, column)
    return PackedSequence(data, creation.tensor(batch_sizes), sorted_indices, None)


def _packed_picks(batch_sizes: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The (step, batch column) of each packed element: step t holds columns order[:batch_sizes[t]]."""
    time = np.repeat(np.arange(batch_sizes.size), batch_sizes)
    column = order[np.concatenate([np.arange(n) for n in batch_sizes])]
    return time, column


def _pick(input: Tensor, first: np.ndarray, second: np.ndarray) -> Tensor:
    """input[first, second] for integer arrays (one differentiable gather)."""
    return input[tuple(creation.tensor(p, dtype=np.int64, device=input.device) for p in (first, second))]


def _sorted_lengths(batch_sizes: np.ndarray) -> np.ndarray:
    """The packed sequences' lengths, longest first: how many steps have batch_sizes[t] > b."""
    batch = int(batch_sizes[0]) if batch_sizes.size else 0
    return (batch_sizes[None, :] > np.arange(batch)[:, None]).sum(axis=1).astype(np.int64)


def packed_to_time_major(sequence: PackedSequence) -> tuple[Tensor, np.ndarray]:
    """A packed batch as (T, B, *) zero-padded, in its sorted order (longest first), and those lengths:
    the form the recurrent layers run on."""
    batch_sizes = np.asarray(sequence.batch_sizes.tolist(), dtype=np.int64)
    lengths = _sorted_lengths(batch_sizes)
    index = packed_positions(batch_sizes, batch_sizes.size, np.arange(lengths.size, dtype=np.int64))
    return _gather(_with_padding_row(sequence.data, 0.0), index), lengths


def time_major_to_packed_data(padded: Tensor, batch_sizes: Tensor) -> Tensor:
    """The packed ``data`` of a (T, B, *) batch in sorted order: the inverse of ``packed_to_time_major``."""
    sizes = np.asarray(batch_sizes.tolist(), dtype=np.int64)
    return _pick(padded, *_packed_picks(sizes, np.arange(int(sizes[0]), dtype=np.int64)))


def packed_positions(batch_sizes: np.ndarray, total_length: int, columns: np.ndarray) -> np.ndarray:
    """(total_length, len(columns)) indices into a packed ``data`` extended by a padding row at N:
    step t of the sequence at sorted position columns[b] is data[offset[t] + columns[b]] while it runs,
    the padding row N otherwise."""
    n = int(batch_sizes.sum())
    index = np.full((total_length, columns.size), n, dtype=np.int64)
    steps = batch_sizes.size
    running = columns[None, :] < batch_sizes[:, None]
    index[:steps] = np.where(running, _step_offsets(batch_sizes)[:, None] + columns[None, :], n)
    return index


def pad_packed_sequence(
    sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0, total_length: int | None = None
) -> tuple[Tensor, Tensor]:
    """Undo ``pack_padded_sequence``: (padded (T, B, *) or (B, T, *), lengths (B,) int64 on the cpu), in
    the batch's original order, padded with ``padding_value`` up to ``total_length`` (default: the
    longest sequence)."""
    op = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{op}: sequence must be a PackedSequence, got {type(sequence).__name__}")
    batch_sizes = np.asarray(sequence.batch_sizes.tolist(), dtype=np.int64)
    steps = batch_sizes.size
    if total_length is not None:
        if total_length < steps:
            raise ValueError(
                f"{op}: Expected total_length to be at least the length of the longest sequence in input, but "
                f"got total_length={total_length} and max sequence length being {steps}"
            )
        steps = total_length
    batch = int(batch_sizes[0]) if batch_sizes.size else 0
    if sequence.unsorted_indices is None:
        columns = np.arange(batch, dtype=np.int64)
    else:
        columns = np.asarray(sequence.unsorted_indices.tolist(), dtype=np.int64)
    index = packed_positions(batch_sizes, steps, columns)
    padded = _gather(_with_padding_row(sequence.data, padding_value), index.T if batch_first else index)
    return padded, creation.tensor(_sorted_lengths(batch_sizes)[columns])


def pad_sequence(
    sequences: Tensor | Iterable[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """Stack sequences of shapes (L_b, *) into (T, B, *) (or (B, T, *)), T = max L_b, filling the missing
    steps with ``padding_value`` after each sequence (``padding_side="right"``) or before it ("left")."""
    op = "pad_sequence"
    if not isinstance(sequences, Iterable):
        raise RuntimeError(f"{op}: Expected iterable for input sequences, but got arg of type: {type(sequences)}")
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError(f"{op}: received an empty list of sequences")
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"{op}: Expected padding_side to be one of left or right, but got {padding_side}.")
    for i, s in enumerate(sequences):
        if not isinstance(s, Tensor):
            raise TypeError(f"{op}: sequences[{i}] must be a Tensor, got {type(s).__name__}")
        if s.ndim == 0 or s.shape[1:] != sequences[0].shape[1:]:
            raise RuntimeError(
                f"{op}: every sequence must have shape (L, *) with the same trailing dims; got shapes "
                f"{[tuple(t.shape) for t in sequences]}"
            )
    lengths = np.asarray([s.shape[0] for s in sequences], dtype=np.int64)
    starts = _step_offsets(lengths)
    steps, n = int(lengths.max()), int(lengths.sum())
    t = np.arange(steps)[:, None]
    shift = (steps - lengths)[None, :] if padding_side == "left" else np.zeros((1, lengths.size), dtype=np.int64)
    inside = (t >= shift) & (t < shift + lengths[None, :])
    index = np.where(inside, starts[None, :] + t - shift, n)
    rows = _with_padding_row(ops.cat(sequences, 0), padding_value)
    return _gather(rows, index.T if batch_first else index)


def unpad_sequence(
    padded_sequences: Tensor, lengths: Tensor | Sequence[int], batch_first: bool = False
) -> list[Tensor]:
    """Undo ``pad_sequence`` (right padding): the list of padded[:lengths[b], b] (views; the input is not
    changed)."""
    lengths = _lengths_array("unpad_sequence", lengths)
    batch = padded_sequences.shape[0 if batch_first else 1]
    if lengths.size != batch:
        raise ValueError(f"unpad_sequence: got {lengths.size} lengths for a batch of {batch} sequences")
    if batch_first:
        return [padded_sequences[b, : int(n)] for b, n in enumerate(lengths)]
    return [padded_sequences[: int(n), b] for b, n in enumerate(lengths)]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_b, *): ``pack_padded_sequence(pad_sequence(sequences), lengths)``."""
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """Undo ``pack_sequence``: the list of sequences, in their original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
