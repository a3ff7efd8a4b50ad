"""Ops that pick values elementwise: where, maximum, minimum, clamp, masked_fill, nan_to_num."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .checks import check_broadcast, promote
from .operands import as_tensor_like


class Where(Function):
    """z = x where c else y;  dL/dx = g where c (else 0),  dL/dy = g where not c"""

    @staticmethod
    def forward(ctx: Context, c: Any, x: Any, y: Any) -> Any:
        ctx.save_for_backward(c)
        return ctx.xp.where(c, x, y)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[None, Any, Any]:
        (c,) = ctx.saved_arrays
        xp = ctx.xp
        gx = xp.where(c, grad, 0) if ctx.needs_input_grad[1] else None
        gy = xp.where(c, 0, grad) if ctx.needs_input_grad[2] else None
        return None, gx, gy


class Maximum(Function):
    """z = max(x, y);  dL/dx = g where x > y, g/2 where x = y, else 0 (and mirrored for y)"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return ctx.xp.maximum(x, y)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_arrays
        return _split_ties(ctx.xp, grad, x > y, x == y)


class Minimum(Function):
    """z = min(x, y);  dL/dx = g where x < y, g/2 where x = y, else 0 (and mirrored for y)"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        ctx.save_for_backward(x, y)
        return ctx.xp.minimum(x, y)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_arrays
        return _split_ties(ctx.xp, grad, x < y, x == y)


def _split_ties(xp: Any, grad: Any, x_wins: Any, tie: Any) -> tuple[Any, Any]:
    """Gradient of a two-way pick: all to the winner, half each on a tie."""
    share_x = xp.where(tie, 0.5, x_wins.astype(grad.dtype))
    return grad * share_x, grad * (1 - share_x)


class Clamp(Function):
    """z = min(max(x, lo), hi), with lo and hi numbers, tensors or None;
    dL/dx = g where lo ≤ x ≤ hi, else 0;
    dL/dlo = g where x < lo ≤ hi;  dL/dhi = g where max(x, lo) > hi (PyTorch's choice at ties: x wins)"""

    @staticmethod
    def forward(ctx: Context, x: Any, low: Any, high: Any) -> Any:
        xp = ctx.xp
        ctx.save_for_backward(x, low, high)
        z = x if low is None else xp.maximum(x, low)
        return z if high is None else xp.minimum(z, high)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, low, high = ctx.saved_arrays
        xp = ctx.xp
        keep = xp.ones(x.shape, dtype=bool)
        if low is not None:
            keep = keep & (x >= low)
        if high is not None:
            keep = keep & (x <= high)
        grad_low = grad_high = None
        if ctx.needs_input_grad[1]:
            below = x < low if high is None else (x < low) & (low <= high)
            grad_low = xp.where(below, grad, 0)
        if ctx.needs_input_grad[2]:
            grad_high = xp.where((x if low is None else xp.maximum(x, low)) > high, grad, 0)
        return xp.where(keep, grad, 0), grad_low, grad_high


class NanToNum(Function):
    """z = x with nan, +inf, -inf replaced by given numbers;  dL/dx = g where x is finite, else 0"""

    @staticmethod
    def forward(ctx: Context, x: Any, nan: float, posinf: float | None, neginf: float | None) -> Any:
        xp = ctx.xp
        if not dtypes.is_floating(x.dtype):
            return x.copy()  # integers and bools have nothing to replace
        big = np.finfo(x.dtype)
        posinf = big.max if posinf is None else posinf
        neginf = big.min if neginf is None else neginf
        ctx.save_for_backward(x)
        z = xp.where(xp.isnan(x), nan, x)
        z = xp.where(x == xp.inf, posinf, z)
        with np.errstate(over="ignore"):  # a replacement beyond the dtype's range becomes inf, as in PyTorch
            return xp.where(x == -xp.inf, neginf, z).astype(x.dtype, copy=False)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return grad * ctx.xp.isfinite(x)


def where(condition: Any, input: Any = None, other: Any = None, *, _op: str = "where") -> Any:
    """``input`` where ``condition`` holds, else ``other`` (either may be a number).
    With only a condition, the indices where it holds (like ``nonzero(as_tuple=True)``)."""
    if input is None and other is None:
        return tuple(Tensor(i) for i in condition.xp.nonzero(condition.array))
    device = condition.device if isinstance(condition, Tensor) else "cpu"
    condition = as_tensor_like(condition, device)
    if condition.dtype != bool:
        raise RuntimeError(f"{_op}: condition must be a bool tensor, got {condition.dtype}")
    check_broadcast(_op, condition, input, other)
    if not isinstance(input, Tensor) and not isinstance(other, Tensor) and not hasattr(input, "shape"):
        # two numbers: PyTorch's scalar dtype (float32 for a float, int64 for an int)
        input = Tensor(condition.xp.asarray(input, dtype=dtypes.result_type(input, other)))
    x, y = promote(_op, input, other)
    return Where.apply(condition, x, y)


def maximum(input: Any, other: Any) -> Tensor:
    return Maximum.apply(*promote("maximum", input, other))


def minimum(input: Any, other: Any) -> Tensor:
    return Minimum.apply(*promote("minimum", input, other))


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:
    """Limit values to [min, max]; numbers or tensors, either may be None."""
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        check_broadcast("clamp", input, min, max)
    bounds = [b for b in (min, max) if b is not None]
    dtype = dtypes.result_type(input, *bounds)
    if dtype != input.dtype:  # an integer tensor with float bounds is clamped in float32, as in PyTorch
        input = input.to(dtype)
    min, max = (b.to(dtype) if isinstance(b, Tensor) and b.dtype != dtype else b for b in (min, max))
    return Clamp.apply(input, min, max)


clip = clamp


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` holds, else ``input`` (gradient flows where mask is False); the
    result keeps input's dtype, as in PyTorch (2.5 fills an integer tensor with 2)."""
    if not isinstance(mask, Tensor) or mask.dtype != bool:
        got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
        raise RuntimeError(f"masked_fill: expected a bool mask, got {got}")
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(
            f"masked_fill: only supports a 0-dimensional value tensor, but got a tensor with {value.ndim} dimension(s)"
        )
    check_broadcast("masked_fill", input, mask)
    out = where(mask, value, input, _op="masked_fill")
    return out if out.dtype == input.dtype else out.to(input.dtype)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
    """nan → ``nan``, +inf → ``posinf``, -inf → ``neginf`` (by default the largest and the
    lowest finite value of the dtype); integer and bool tensors come back unchanged."""
    if not isinstance(input, Tensor):
        raise TypeError(f"nan_to_num: argument 'input' must be a Tensor, not {type(input).__name__}")
    for name, value in (("nan", nan), ("posinf", posinf), ("neginf", neginf)):
        if value is not None and not isinstance(value, int | float):
            raise TypeError(f"nan_to_num: {name} must be a number, got {type(value).__name__}")
    return NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)
