"""Turning op arguments into operands: type promotion, scalars, dims.

Shared by every op family so that promotion and dim handling are written once.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..function import common_device
from ..tensor import Tensor


def as_tensor_like(value: Any, device: str) -> Tensor:
    """A NumPy/CuPy array or nested list as a (constant) Tensor on ``device``."""
    from ..creation import tensor

    return value if isinstance(value, Tensor) else tensor(value, device=device)


def promote(op: str, *operands: Any, to_float: bool = False) -> tuple[Any, ...]:
    """Bring tensors (and arrays) to one device and PyTorch's common dtype.

    Tensors of another dtype are cast with a differentiable ``cast``; Python
    numbers stay Python numbers (NumPy and CuPy treat them as "weak", which is
    PyTorch's rule too). ``to_float`` makes integer results float32 (true
    division, exp, mean...).
    """
    if len(operands) == 1 and isinstance(operands[0], Tensor):  # the hot case of unary math: nothing to unify
        if not to_float or operands[0].array.dtype in dtypes.FLOATING:
            return operands
    tensors = [o for o in operands if isinstance(o, Tensor)]
    if len(tensors) == len(operands) and all(t.dtype == tensors[0].dtype for t in tensors):
        if not to_float or tensors[0].dtype in dtypes.FLOATING:
            return operands  # the common case: tensors of one dtype (devices are checked by Function.apply)
    device = common_device(op, tensors)
    operands = tuple(o if isinstance(o, Tensor | int | float | bool) else as_tensor_like(o, device) for o in operands)
    dtype = dtypes.result_type(*operands)
    if to_float:
        dtype = dtypes.float_result(dtype)
    if all(not isinstance(o, Tensor) or o.dtype == dtype for o in operands):
        return operands
    from .arithmetic import cast

    return tuple(o if not isinstance(o, Tensor) or o.dtype == dtype else cast(o, dtype) for o in operands)


def float_operands(op: str, *tensors: Tensor | None) -> tuple[Tensor | None, ...]:
    """``promote`` the given tensors to one floating dtype and device, passing None through
    (optional weights and biases)."""
    promoted = iter(promote(op, *[t for t in tensors if t is not None], to_float=True))
    return tuple(None if t is None else next(promoted) for t in tensors)


def as_int(op: str, name: str, value: Any) -> int:
    """``value`` as a Python int (ints, NumPy ints, 1-element integer tensors), or TypeError naming
    the op: PyTorch refuses floats, strings and bools where it wants an int (a dim, a size, chunks)."""
    if isinstance(value, bool | np.bool_):
        raise TypeError(f"{op}: argument '{name}' must be int, not bool ({value!r})")
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{op}: argument '{name}' must be int, not {type(value).__name__} ({value!r})") from None


def normalize_dim(op: str, dim: Any, ndim: int) -> int:
    """A dim in [-ndim, ndim) as a non-negative int (a 0-d tensor takes 0 and -1), or IndexError
    naming the op; TypeError when ``dim`` is not an int."""
    dim = as_int(op, "dim", dim)
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(
            f"{op}: dim {dim} is out of range for a tensor with {ndim} dims (expected to be in range of "
            f"[{-size}, {size - 1}])"
        )
    return dim % size


def normalize_dims(op: str, dim: Any, ndim: int) -> tuple[int, ...]:
    """``dim`` (int, tuple, or None for all) as a sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    if type(dim) is int and -ndim <= dim < ndim:  # the common case: one dim, in range
        return (dim % ndim,)
    if isinstance(dim, str | bytes | float) or not isinstance(dim, Sequence | np.ndarray):
        dims: tuple[Any, ...] = (dim,)
    else:
        dims = tuple(dim)
    out = tuple(sorted(normalize_dim(op, d, ndim) for d in dims))
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {dim} names a dim more than once")
    return out if ndim else ()  # dim 0 or -1 of a 0-d tensor: nothing to reduce over


def dim_or_axis(op: str, dim: Any, axis: Any, default: Any = None) -> Any:
    """``dim``, or PyTorch's NumPy-style alias ``axis`` (not both)."""
    if axis is None:
        return dim
    if dim is not default:
        raise TypeError(f"{op}: got both dim={dim!r} and its alias axis={axis!r}")
    return axis


def tensor_sequence(op: str, tensors: Any, name: str = "tensors") -> list[Tensor]:
    """The tensors of a sequence argument (``cat``, ``stack``...), or TypeError naming ``op`` (as PyTorch): a
    single Tensor or a non-sequence given for the sequence, or an element that is not a Tensor."""
    if isinstance(tensors, Tensor) or isinstance(tensors, str | bytes) or not isinstance(tensors, Sequence):
        raise TypeError(f"{op}: argument '{name}' must be a tuple or list of Tensors, not {type(tensors).__name__}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensor as element {i} in argument '{name}', but got {type(t).__name__}")
    return list(tensors)


def shape_args(op: str, shape: tuple[Any, ...], sizes: bool = False) -> tuple[int, ...]:
    """Accept ``f(2, 3)`` as well as ``f((2, 3))`` and ``f([2, 3])``; every entry must be an int
    (TypeError otherwise, as PyTorch). ``sizes=True`` (a new tensor's size) refuses negative
    entries with RuntimeError."""
    if len(shape) == 1 and isinstance(shape[0], Sequence | np.ndarray) and not isinstance(shape[0], str):
        shape = tuple(shape[0])
    if any(isinstance(s, bool | np.bool_) or not hasattr(s, "__index__") for s in shape):
        bad = next(s for s in shape if isinstance(s, bool | np.bool_) or not hasattr(s, "__index__"))
        raise TypeError(f"{op}: size must be a tuple of ints, got {shape!r} (an entry is {type(bad).__name__})")
    out = tuple(operator.index(s) for s in shape)
    if sizes and any(n < 0 for n in out):
        raise RuntimeError(f"{op}: dimension sizes must be non-negative, got {min(out)} in size {out}")
    return out


def int_tuple(
    op: str,
    name: str,
    value: Any,
    n: int = 2,
    minimum: int | None = None,
    *,
    one_for_all: bool = True,
    error: type[Exception] = RuntimeError,
) -> tuple[int, ...]:
    """An "int or tuple of ints" argument (kernel_size, stride, padding, dilation, output_padding...)
    as an ``n``-tuple: an int stands for all ``n`` dims, and so does a 1-element sequence when
    ``one_for_all`` (as PyTorch's convolutions and pools take it).

    TypeError naming ``op`` for anything but ints (floats, bools, strings), as PyTorch; ``error``
    (RuntimeError, PyTorch's type for F.*; layers that check at construction pass ValueError) for
    a wrong length or an entry below ``minimum``."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        items: tuple[Any, ...] = (value,)
    else:
        items = tuple(value)
    ints_of = "a 1-tuple" if n == 1 else "a pair of ints" if n == 2 else f"a tuple of {n} ints"
    if any(isinstance(v, bool | np.bool_) or not hasattr(v, "__index__") for v in items):
        raise TypeError(f"{op}: {name} must be an int or {ints_of}, got {value!r}")
    ints = tuple(operator.index(v) for v in items)
    if len(ints) == 1 and (one_for_all or not isinstance(value, Sequence)):
        ints = ints * n
    wrong_length = len(ints) != n
    if wrong_length or (minimum is not None and min(ints) < minimum):
        at_least = "" if minimum is None else f" ≥ {minimum}"
        if n == 1:
            raise error(f"{op}: {name} must be an int{at_least} or a 1-tuple, got {value!r}")
        if wrong_length:
            raise error(
                f"{op}: expected {name} to have {n} elements ({name} must be an int or a tuple of {n} ints"
                f"{at_least.replace('≥', '>=')}), got {value!r}"
            )
        raise error(f"{op}: {name} must be an int or {ints_of}{at_least}, got {value!r}")
    return ints


def conv_padding(
    op: str,
    padding: Any,
    kernel_size: Sequence[int],
    dilation: Sequence[int],
    stride: Sequence[int],
    *,
    error: type[Exception] = RuntimeError,
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """A convolution's ``padding`` (ints, "valid" or "same") as zeros (before, after) per spatial dim.

    "same" keeps the size at stride 1: d·(k − 1) zeros per dim, half before and the rest after (one
    more after when the total is odd, as PyTorch). ``error`` (RuntimeError for F.*, ValueError for
    a layer's constructor, as PyTorch) for an unknown string or "same" with a stride."""
    n = len(kernel_size)
    if not isinstance(padding, str):
        pads = int_tuple(op, "padding", padding, n, 0, error=error)
        return pads, pads
    if padding == "valid":
        return (0,) * n, (0,) * n
    if padding != "same":
        raise error(f"{op}: padding must be 'same', 'valid' or ints, got {padding!r}")
    if any(s != 1 for s in stride):
        raise error(f"{op}: padding='same' is not supported for strided convolutions (stride={tuple(stride)})")
    totals = [d * (k - 1) for d, k in zip(dilation, kernel_size, strict=True)]
    return tuple(t // 2 for t in totals), tuple(t - t // 2 for t in totals)
