"""Argument checks shared by many ops, raising PyTorch's exception type with a message that names the
op the user called and the offending shapes (instead of NumPy's "operands could not be broadcast")."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from .. import dtypes
from ..tensor import Tensor
from . import operands


def broadcast_shape(op: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """PyTorch's broadcast of ``shapes``, or RuntimeError naming ``op``, the two sizes and the dim
    (counted from the left of the broadcast shape) and all the shapes."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for i, shape in enumerate(shapes):
        for d, size in enumerate(shape, start=ndim - len(shape)):
            if size == out[d] or size == 1:
                continue
            if out[d] != 1:
                first = next(j for j, s in enumerate(shapes) if len(s) >= ndim - d and s[d - ndim] == out[d])
                names = "abcdefghijklmnopqrstuvwxyz"
                raise RuntimeError(
                    f"{op}: the size of tensor {names[first]} ({out[d]}) must match the size of tensor "
                    f"{names[i]} ({size}) at non-singleton dimension {d}; shapes "
                    + " and ".join(str(tuple(s)) for s in shapes)
                    + " don't broadcast"
                )
            out[d] = size
    return tuple(out)


def _shape(value: Any) -> tuple[int, ...]:
    shape = getattr(value, "shape", None)
    return tuple(shape) if shape is not None else ()


def refuse_text(op: str, *values: Any) -> None:
    """TypeError naming ``op`` for a str/bytes operand (PyTorch's type; NumPy would say "can't make a tensor from <U1")."""
    for i, value in enumerate(values):
        if isinstance(value, str | bytes):
            raise TypeError(f"{op}: argument {i} must be a Tensor or a number, not {type(value).__name__} ({value!r})")


def check_broadcast(op: str, *values: Any) -> tuple[int, ...]:
    """Broadcast shape of tensors/arrays/numbers ``values`` (numbers are 0-d), or RuntimeError naming ``op``
    (TypeError for a string operand)."""
    refuse_text(op, *values)
    return broadcast_shape(op, *(_shape(v) for v in values))


def plain_pair(x: Any, y: Any) -> bool:
    """Whether ``x ∘ y`` needs nothing of ``promote``: two tensors of one dtype and shape (their devices
    are checked by Function.apply). Asked first by the binary operators, whose common case it is."""
    if type(x) is Tensor and type(y) is Tensor:
        a, b = x.array, y.array
        return a.dtype is b.dtype and a.shape == b.shape
    return False


def promote(op: str, *values: Any, to_float: bool = False) -> tuple[Any, ...]:
    """``operands.promote`` after checking that the operands broadcast (RuntimeError naming ``op``)."""
    if len(values) == 2:
        first, second = values
        if type(first) is Tensor and type(second) is Tensor:  # the hot case: a ∘ b
            a, b = first.array, second.array
            if a.dtype == b.dtype and (not to_float or a.dtype in dtypes.FLOATING):
                if a.shape != b.shape:
                    broadcast_shape(op, a.shape, b.shape)
                return values  # nothing to promote (devices are checked by Function.apply)
        elif type(first) is Tensor and type(second) in (int, float) or type(first) in (int, float):
            # a floating tensor and a Python number: the number is "weak", the tensor's dtype is the result's
            tensor = first if type(first) is Tensor else second
            if type(tensor) is Tensor and tensor.array.dtype in dtypes.FLOATING:
                return values
    refuse_text(op, *values)
    first, differ = None, False
    for value in values:
        shape = getattr(value, "shape", None)  # numbers have none: they broadcast with anything
        if shape is not None:
            differ = differ or (first is not None and shape != first)
            first = shape if first is None else first
    if differ:  # equal shapes (the common case) need no check
        broadcast_shape(op, *(_shape(v) for v in values))
    return operands.promote(op, *values, to_float=to_float)


@contextlib.contextmanager
def named(op: str, *inner: str) -> Iterator[None]:
    """Inside, an error of a function the public ``op`` delegates to (its message starts "inner: ...")
    is raised again, same type, as "op: ..." so that it names the API the user called
    (``Linear`` rather than ``linear``, ``max_pool1d`` rather than ``max_pool2d``)."""
    try:
        yield
    except (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError) as err:
        text = str(err)
        if type(err) in (RuntimeError, ValueError, TypeError, IndexError, NotImplementedError):  # plain types only
            for name in inner:
                if text.startswith(name + ":") or text.startswith(name + "():"):
                    raise type(err)(op + ":" + text.split(":", 1)[1]) from None
        raise


def as_float(op: str, name: str, value: Any, kind: str = "float") -> float:
    """``value`` as a Python float (Python and NumPy numbers, bools, 1-element tensors), or TypeError naming
    ``op`` as PyTorch's "argument 'name' must be float, not str" (``kind``: "float" or "Number")."""
    if isinstance(value, str | bytes) or not hasattr(type(value), "__float__"):
        raise TypeError(f"{op}: argument '{name}' must be {kind}, not {type(value).__name__} ({value!r})")
    return float(value)
