"""nn.utils.rnn (packing and padding variable-length batches) against torch.nn.utils.rnn: values,
batch_sizes, sorted/unsorted indices, lengths, gradients through every conversion, and errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.utils.rnn as trnn

import glassgrad as gg
from glassgrad.nn.utils import rnn

from oracle import to_numpy


def _ints(t: Any) -> list[int] | None:
    return None if t is None else [int(v) for v in t.tolist()]


def _backward_both(ours: gg.Tensor, theirs: torch.Tensor, seed: int = 0) -> None:
    """Backpropagate the same random weighting of both outputs (so every element's gradient differs)."""
    w = np.random.default_rng(seed).standard_normal(tuple(theirs.shape))
    (ours * gg.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()


@pytest.mark.parametrize(
    ("batch_first", "lengths", "enforce_sorted"),
    [(False, [4, 3, 3, 1], True), (True, [2, 4, 1, 4, 2], False)],  # ties: torch's sort is stable here too
)
def test_pack_then_pad_matches_torch(batch_first: bool, lengths: list[int], enforce_sorted: bool) -> None:
    shape = (len(lengths), 4, 2, 3) if batch_first else (4, len(lengths), 2, 3)
    x = np.random.default_rng(0).standard_normal(shape)
    ours_x, theirs_x = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours = rnn.pack_padded_sequence(ours_x, gg.tensor(lengths), batch_first, enforce_sorted)
    theirs = trnn.pack_padded_sequence(theirs_x, torch.tensor(lengths), batch_first, enforce_sorted)
    np.testing.assert_array_equal(to_numpy(ours.data), to_numpy(theirs.data))
    assert ours.batch_sizes.device == "cpu" and ours.batch_sizes.dtype == np.int64
    for field in ("batch_sizes", "sorted_indices", "unsorted_indices"):
        assert _ints(getattr(ours, field)) == _ints(getattr(theirs, field)), field
    padded, out_lengths = rnn.pad_packed_sequence(ours, batch_first, padding_value=-2.5, total_length=6)
    want, want_lengths = trnn.pad_packed_sequence(theirs, batch_first, padding_value=-2.5, total_length=6)
    np.testing.assert_array_equal(to_numpy(padded), to_numpy(want))
    assert out_lengths.dtype == np.int64 and out_lengths.tolist() == want_lengths.tolist() == lengths
    _backward_both(padded, want)
    np.testing.assert_array_equal(to_numpy(ours_x.grad), to_numpy(theirs_x.grad))  # zero where padded


def test_pad_sequence_both_sides_and_unpad_match_torch() -> None:
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((n, 2)) for n in (2, 5, 3)]
    for batch_first, side in [(False, "right"), (True, "left")]:
        ours = [gg.tensor(a, requires_grad=True) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        padded = rnn.pad_sequence(ours, batch_first, padding_value=7.0, padding_side=side)
        want = trnn.pad_sequence(theirs, batch_first, padding_value=7.0, padding_side=side)
        np.testing.assert_array_equal(to_numpy(padded), to_numpy(want))
        _backward_both(padded, want)
        for o, t in zip(ours, theirs, strict=True):
            np.testing.assert_array_equal(to_numpy(o.grad), to_numpy(t.grad))
    padded = rnn.pad_sequence([gg.tensor(a) for a in arrays])
    pieces = rnn.unpad_sequence(padded, gg.tensor([2, 5, 3]))
    for piece, a in zip(pieces, arrays, strict=True):
        np.testing.assert_array_equal(to_numpy(piece), a)
    assert padded.shape == (5, 3, 2)  # unpad_sequence leaves its input as it was (torch transposes it in place)


def test_pack_sequence_unpack_sequence_round_trip_with_gradients() -> None:
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal((n, 3)) for n in (2, 4, 1)]
    ours = [gg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    packed = rnn.pack_sequence(ours, enforce_sorted=False)
    want = trnn.pack_sequence(theirs, enforce_sorted=False)
    np.testing.assert_array_equal(to_numpy(packed.data), to_numpy(want.data))
    assert _ints(packed.sorted_indices) == _ints(want.sorted_indices) == [1, 0, 2]
    pieces, want_pieces = rnn.unpack_sequence(packed), trnn.unpack_sequence(want)
    for piece, want_piece, a in zip(pieces, want_pieces, arrays, strict=True):
        np.testing.assert_array_equal(to_numpy(piece), a)
        np.testing.assert_array_equal(to_numpy(piece), to_numpy(want_piece))
    _backward_both(gg.cat(pieces, 0), torch.cat(want_pieces, 0))
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(to_numpy(o.grad), to_numpy(t.grad))


def test_packed_sequence_fields_and_to() -> None:
    data = gg.arange(12, dtype=gg.float64).reshape(6, 2)
    packed = rnn.PackedSequence(data, gg.tensor([3, 2, 1]), gg.tensor([2, 0, 1]))
    want = trnn.PackedSequence(torch.arange(12.0).reshape(6, 2), torch.tensor([3, 2, 1]), torch.tensor([2, 0, 1]))
    assert _ints(packed.unsorted_indices) == _ints(want.unsorted_indices) == [1, 2, 0]
    assert _ints(rnn.invert_permutation(gg.tensor([3, 0, 2, 1]))) == [1, 3, 2, 0]
    data_, batch_sizes, sorted_indices, unsorted_indices = packed  # a named tuple, as in PyTorch
    assert data_ is data and packed.to(gg.float64) is packed and not packed.is_cuda
    as_float = packed.float()
    assert isinstance(as_float, rnn.PackedSequence) and as_float.data.dtype == np.float32
    assert as_float.batch_sizes is batch_sizes and _ints(as_float.sorted_indices) == _ints(sorted_indices)
    with pytest.raises(ValueError, match="batch_sizes"):
        rnn.PackedSequence(data)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m, x: m.pack_padded_sequence(x, [1, 3, 2]), "sorted in decreasing order"),
        (lambda m, x: m.pack_padded_sequence(x, [3, 0, 2], enforce_sorted=False), "greater than 0"),
        (lambda m, x: m.pack_padded_sequence(x, [3, 2]), "batch_size"),
        (lambda m, x: m.pad_packed_sequence(m.pack_padded_sequence(x, [4, 3, 1]), total_length=3), "total_length"),
        (lambda m, x: m.pad_sequence([]), "empty list"),
        (lambda m, x: m.pad_sequence([x[0], x[0].T]), "pad_sequence"),
        (lambda m, x: m.pad_sequence([x[0]], padding_side="middle"), "padding_side"),
        (lambda m, x: m.pack_sequence([x[:2, 0], x[:, 0]]), "sorted in decreasing order"),
    ],
)
def test_errors_like_torch(call: Any, match: str) -> None:
    x = np.random.default_rng(3).standard_normal((4, 3, 2))
    with pytest.raises(Exception) as want:
        call(trnn, torch.tensor(x))
    with pytest.raises(want.type, match=match):
        call(rnn, gg.tensor(x))
