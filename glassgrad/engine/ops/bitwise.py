"""Bitwise ops on integer and bool tensors: and, or, xor, not, and the shifts.

On bool tensors and/or/xor/not are the logical ones (the bits are the values);
shifts of bools count them as 0/1 in int64. Floating-point operands raise
NotImplementedError as in PyTorch. Shifts follow PyTorch past the width of the
dtype: a left shift by a count < 0 or ≥ the number of bits gives 0, a right
shift by such a count gives 0 or -1 (the sign bit repeated). None of these has
a gradient.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .checks import promote


class Bitwise(Function):
    """z = x & y, x | y, x ^ y or ~x bit by bit (``bitwise_and``... by name); no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, *arrays: Any, name: str) -> Any:
        return getattr(ctx.xp, name)(*arrays)


class Shift(Function):
    """z = x · 2ʸ (left) or ⌊x / 2ʸ⌋ (right) in x's dtype, with PyTorch's results for counts
    outside [0, bits); no gradient"""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any, left: bool) -> Any:
        xp = ctx.xp
        y = xp.asarray(y)
        bits = x.dtype.itemsize * 8
        outside = (y < 0) | (y >= bits)
        if left:
            z = xp.left_shift(x, xp.where(outside, 0, y).astype(x.dtype))
            return xp.where(outside, 0, z).astype(x.dtype, copy=False)
        if x.dtype.kind == "i":  # shifting by bits - 1 repeats the sign bit: 0 or -1
            return xp.right_shift(x, xp.where(outside, bits - 1, y).astype(x.dtype))
        z = xp.right_shift(x, xp.where(outside, 0, y).astype(x.dtype))
        return xp.where(outside, 0, z).astype(x.dtype, copy=False)


def _integers(op: str, *operands: Any) -> tuple[Any, ...]:
    """The operands promoted to their common integer or bool dtype, or the error PyTorch raises."""
    for o in operands:
        if isinstance(o, float | np.floating):
            raise NotImplementedError(f"{op}: not implemented for float operands, got {o!r}")
        if not isinstance(o, Tensor | int | np.ndarray):
            raise TypeError(f"{op}: expected tensors or integers, got {type(o).__name__}")
    if not any(isinstance(o, Tensor) for o in operands):
        raise TypeError(f"{op}: expected at least one tensor")
    dtype = dtypes.result_type(*operands)
    if dtypes.is_floating(dtype):
        raise NotImplementedError(f"{op}: not implemented for {dtype} tensors (needs integer or bool)")
    return promote(op, *operands)


def bitwise_and(input: Any, other: Any) -> Tensor:
    return Bitwise.apply(*_integers("bitwise_and", input, other), name="bitwise_and")


def bitwise_or(input: Any, other: Any) -> Tensor:
    return Bitwise.apply(*_integers("bitwise_or", input, other), name="bitwise_or")


def bitwise_xor(input: Any, other: Any) -> Tensor:
    return Bitwise.apply(*_integers("bitwise_xor", input, other), name="bitwise_xor")


def bitwise_not(input: Tensor) -> Tensor:
    """~x: every bit flipped (-x - 1 for signed integers), logical not on bool."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bitwise_not: argument 'input' must be a Tensor, not {type(input).__name__}")
    (x,) = _integers("bitwise_not", input)
    return Bitwise.apply(x, name="invert")


def _shift(op: str, input: Any, other: Any, left: bool) -> Tensor:
    x, y = _integers(op, input, other)
    dtype = dtypes.result_type(x, y)
    if dtype == dtypes.bool_:
        raise NotImplementedError(f"{op}: not implemented for bool tensors")
    if not isinstance(x, Tensor):  # a number shifted by a tensor takes the tensor's dtype
        x = Tensor(y.xp.asarray(x, dtype=dtype))
    return Shift.apply(x, y, left=left)


def bitwise_left_shift(input: Any, other: Any) -> Tensor:
    """input · 2^other in input's integer dtype (bits shifted out are lost)."""
    return _shift("bitwise_left_shift", input, other, left=True)


def bitwise_right_shift(input: Any, other: Any) -> Tensor:
    """⌊input / 2^other⌋ (an arithmetic shift: negative values stay negative)."""
    return _shift("bitwise_right_shift", input, other, left=False)
