"""Turning op arguments into operands: type promotion, scalars, dims.

Shared by every op family so that promotion and dim handling are written once.
"""

from __future__ import annotations

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
    tensors = [o for o in operands if isinstance(o, Tensor)]
    if len(tensors) == len(operands) and all(t.dtype == tensors[0].dtype for t in tensors):
        if not to_float or tensors[0].dtype.kind == "f":
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


def normalize_dim(op: str, dim: int, ndim: int) -> int:
    """A dim in [-ndim, ndim) as a non-negative int, or IndexError naming the op."""
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dims")
    return dim % size


def normalize_dims(op: str, dim: int | Sequence[int] | None, ndim: int) -> tuple[int, ...]:
    """``dim`` (int, tuple, or None for all) as a sorted tuple of non-negative dims."""
    if dim is None:
        return tuple(range(ndim))
    dims = (dim,) if isinstance(dim, int | np.integer) else tuple(dim)
    out = tuple(sorted(normalize_dim(op, int(d), ndim) for d in dims))
    if len(set(out)) != len(out):
        raise RuntimeError(f"{op}: dim {dim} names a dim more than once")
    return out


def shape_args(op: str, shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept ``f(2, 3)`` as well as ``f((2, 3))`` and ``f([2, 3])``."""
    if len(shape) == 1 and isinstance(shape[0], Sequence | np.ndarray):
        shape = tuple(shape[0])
    try:
        return tuple(int(s) for s in shape)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{op}: expected a shape of ints, got {shape!r}") from err
