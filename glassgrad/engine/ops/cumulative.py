"""Cumulative ops along one dim: cumsum, cumprod, cummax, cummin, logcumsumexp.

``z_i`` depends on ``x_0 .. x_i`` (along ``dim``), so every backward runs the
other way: ``dL/dx_j`` collects ``g_i = dL/dz_i`` from every ``i ≥ j``, a
*reversed* cumulative sum (``reverse_cumsum`` below). cumprod and
logcumsumexp need more than a sum; their backwards are scans too, written
with recursive doubling (``log₂ n`` vectorised steps) so that the one body runs
on NumPy and CuPy and needs no division by ``x``.

A 0-d input is treated as a 1-element vector (dim 0 or -1), as in PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...amp.autocast_mode import autocast_args, autocast_state
from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .operands import dim_or_axis, normalize_dim
from .reductions import ValuesIndices

# ------------------------------------------------------------------ scan helpers (on arrays, dim moved last)


def _shift_right(xp: Any, a: Any, d: int, fill: Any) -> Any:
    """``a[..., k - d]`` at position k along the last dim (``fill`` where k < d)."""
    pad = xp.full(a.shape[:-1] + (min(d, a.shape[-1]),), fill, dtype=a.dtype)
    return xp.concatenate([pad, a[..., : a.shape[-1] - d]], axis=-1)


def _shift_left(xp: Any, a: Any, d: int, fill: Any) -> Any:
    """``a[..., k + d]`` at position k along the last dim (``fill`` where k + d ≥ n)."""
    pad = xp.full(a.shape[:-1] + (min(d, a.shape[-1]),), fill, dtype=a.dtype)
    return xp.concatenate([a[..., d:], pad], axis=-1)


def reverse_cumsum(xp: Any, g: Any, dim: int) -> Any:
    """``Σ_{i ≥ j} g_i`` at every j along ``dim``: the adjoint of cumsum."""
    return xp.flip(xp.cumsum(xp.flip(g, dim), axis=dim), dim)


def _logcumsumexp_last(xp: Any, x: Any) -> Any:
    """``log Σ_{j ≤ i} e^{x_j}`` along the last dim, by doubling: after the step of
    offset d, position i holds the log-sum-exp of ``x_{i-2d+1} .. x_i``.
    ``logaddexp`` is stable for large values and exact for -inf entries."""
    z, n, d = x, x.shape[-1], 1
    with np.errstate(invalid="ignore"):
        while d < n:
            z = xp.logaddexp(z, _shift_right(xp, z, d, -np.inf))
            d *= 2
    return z


def _reverse_linear_scan(xp: Any, a: Any, b: Any) -> Any:
    """Solve ``s_k = b_k + a_k · s_{k+1}`` (``s_n = 0``) along the last dim, by doubling.

    Invariant after the step of offset d: ``s_k = b_k + a_k · s_{k+d}``, with
    ``a_k`` the product of the d coefficients skipped; substituting
    ``s_{k+d} = b_{k+d} + a_{k+d} s_{k+2d}`` doubles d. Past the end both are 0.
    """
    n, d = a.shape[-1], 1
    while d < n:
        b = b + a * _shift_left(xp, b, d, 0)
        a = a * _shift_left(xp, a, d, 0)
        d *= 2
    return b


# ---------------------------------------------------------------------------------------------- ops


class CumSum(Function):
    """z_i = Σ_{j≤i} x_j along dim;  dL/dx_j = Σ_{i≥j} g_i  (g reversed, cumsummed, reversed back)"""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int) -> Any:
        ctx.dim = dim
        return dtypes.accumulated(x, "cumsum", axis=dim)  # in x's dtype: NumPy would widen int32

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return reverse_cumsum(ctx.xp, grad, ctx.dim)


class CumProd(Function):
    """z_i = Π_{j≤i} x_j along dim;  dL/dx_k = Σ_{i≥k} g_i Π_{j≤i, j≠k} x_j = P_k · S_k

    with P_k = Π_{j<k} x_j (exclusive cumprod) and S_k = Σ_{i≥k} g_i Π_{k<j≤i} x_j,
    which obeys S_k = g_k + x_{k+1} S_{k+1}: a reversed linear scan, solved by
    doubling. Nothing is divided by x, so one zero or several zeros in x are
    exact (PyTorch handles them with a special case per first zero).
    """

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int) -> Any:
        ctx.save_for_backward(x)
        ctx.dim = dim
        return dtypes.accumulated(x, "cumprod", axis=dim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        (x,) = ctx.saved_arrays
        x, g = xp.moveaxis(x, ctx.dim, -1), xp.moveaxis(grad, ctx.dim, -1)
        ones = xp.ones(x.shape[:-1] + (1,), dtype=x.dtype)
        before = xp.cumprod(xp.concatenate([ones, x[..., :-1]], axis=-1), axis=-1)  # P_k
        after = _reverse_linear_scan(xp, _shift_left(xp, x, 1, 0), g)  # S_k, a_k = x_{k+1}
        return xp.moveaxis(before * after, -1, ctx.dim)


class LogCumSumExp(Function):
    """z_i = log Σ_{j≤i} e^{x_j} along dim;  dL/dx_j = Σ_{i≥j} g_i e^{x_j - z_i}

    Computed stably as e^{x_j + R⁺_j} - e^{x_j + R⁻_j}, R±_j = log Σ_{i≥j} e^{log g±_i - z_i}
    (a reversed logcumsumexp of the positive and negative parts of g), PyTorch's formula:
    no e^{x} or e^{-z} alone, which would overflow.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int) -> Any:
        xp = ctx.xp
        z = xp.moveaxis(_logcumsumexp_last(xp, xp.moveaxis(x, dim, -1)), -1, dim)
        ctx.save_for_backward(x, z)
        ctx.dim = dim
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        x, z = (xp.moveaxis(a, ctx.dim, -1) for a in ctx.saved_arrays)
        g = xp.moveaxis(grad, ctx.dim, -1).astype(x.dtype, copy=False)
        lowest = xp.finfo(x.dtype).min  # log 0 as the lowest finite number, as PyTorch does
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_abs = xp.log(xp.abs(g))
            out = 0
            for sign, part in ((1, g > 0), (-1, g < 0)):
                log_part = xp.where(part, log_abs, lowest) - z
                rev = xp.flip(_logcumsumexp_last(xp, xp.flip(log_part, -1)), -1)
                out = out + sign * xp.exp(rev + x)
        return xp.moveaxis(out, -1, ctx.dim)


class CumExtremeIndices(Function):
    """Index of the running max (``sign=1``) or min (``sign=-1``) along the last dim.

    Not differentiable itself: cummax's values are x taken at these indices, so
    the gradient goes to the index. Ties pick the latest index; once a NaN is
    seen the value is NaN and the index the latest NaN's (PyTorch's rules).
    By doubling: position k combines the segment ending at k - d (left) with
    the one ending at k (right), preferring the right one on ties.
    """

    differentiable = False

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int, sign: int) -> Any:
        xp = ctx.xp
        v = xp.moveaxis(x, dim, -1)
        n = v.shape[-1]
        i = xp.broadcast_to(xp.arange(n, dtype=np.int64), v.shape)
        d = 1
        with np.errstate(invalid="ignore"):
            while d < n:
                left_v, left_i, right_v = v[..., :-d], i[..., :-d], v[..., d:]
                right = right_v >= left_v if sign > 0 else right_v <= left_v
                if dtypes.is_floating(v.dtype):
                    right = xp.isnan(right_v) | (~xp.isnan(left_v) & right)
                v = xp.concatenate([v[..., :d], xp.where(right, right_v, left_v)], axis=-1)
                i = xp.concatenate([i[..., :d], xp.where(right, i[..., d:], left_i)], axis=-1)
                d *= 2
        return xp.ascontiguousarray(xp.moveaxis(i, -1, dim))


# ---------------------------------------------------------------------------------------- wrappers


def dim_arg(op: str, dim: Any, ndim: int, axis: Any = None, default: Any = None) -> int:
    """``dim`` (or PyTorch's ``axis=`` alias) as a non-negative int: TypeError for None or a
    non-integer, IndexError out of range, as PyTorch."""
    return normalize_dim(op, dim_or_axis(op, dim, axis, default), ndim)


def along_vector(input: Tensor, fn: Callable[[Tensor], Any]) -> Any:
    """Run ``fn`` on a 0-d input as a 1-element vector and give 0-d results back."""
    if input.ndim > 0:
        return fn(input)
    out = fn(input.reshape(1))
    if isinstance(out, tuple):
        return type(out)(*(t.reshape(()) for t in out))
    return out.reshape(())


def _int64_unless(op: str, input: Tensor, dtype: Any) -> Tensor:
    """Cast to ``dtype`` if given, else bool/integer inputs to int64 (PyTorch's cumsum/cumprod)."""
    if dtype is not None:
        try:
            dtype = dtypes.to_dtype(dtype)
        except (TypeError, ValueError) as err:
            raise TypeError(f"{op}: argument 'dtype' must be a dtype, got {dtype!r} ({err})") from None
        return input.to(dtype)
    if not dtypes.is_floating(input.dtype) and input.dtype != dtypes.int64:
        return input.to(dtypes.int64)
    return input


def cumsum(input: Tensor, dim: int | None = None, *, dtype: Any = None, axis: int | None = None) -> Tensor:
    """Running sum along ``dim``: ``z_i = Σ_{j≤i} x_j``;  ``dL/dx_j = Σ_{i≥j} g_i``.

    Bool and integer inputs give int64 (``dtype=`` casts the input first), as in PyTorch."""
    if autocast_state.enabled:
        (input,) = autocast_args("cumsum", input)
    d = dim_arg("cumsum", dim, input.ndim, axis)
    x = _int64_unless("cumsum", input, dtype)
    return along_vector(x, lambda t: CumSum.apply(t, dim=d))


def cumprod(input: Tensor, dim: int | None = None, *, dtype: Any = None, axis: int | None = None) -> Tensor:
    """Running product along ``dim``: ``z_i = Π_{j≤i} x_j``;  ``dL/dx_k = Σ_{i≥k} g_i Π_{j≤i, j≠k} x_j``
    (exact with zeros in x; see CumProd). Bool and integer inputs give int64."""
    if autocast_state.enabled:
        (input,) = autocast_args("cumprod", input)
    d = dim_arg("cumprod", dim, input.ndim, axis)
    x = _int64_unless("cumprod", input, dtype)
    return along_vector(x, lambda t: CumProd.apply(t, dim=d))


def logcumsumexp(input: Tensor, dim: int | None = None, *, axis: int | None = None) -> Tensor:
    """``z_i = log Σ_{j≤i} e^{x_j}`` along ``dim``;  ``dL/dx_j = Σ_{i≥j} g_i e^{x_j - z_i}``.

    Floating inputs only (PyTorch raises NotImplementedError for integers too)."""
    d = dim_arg("logcumsumexp", dim, input.ndim, axis)
    if not dtypes.is_floating(input.dtype):
        raise NotImplementedError(f"logcumsumexp: not implemented for dtype {input.dtype}; use a floating dtype")
    return along_vector(input, lambda t: LogCumSumExp.apply(t, dim=d))


def _cum_extreme(op: str, input: Tensor, dim: Any, axis: Any, sign: int) -> ValuesIndices:
    from .indexing import take_along_dim

    d = dim_arg(op, dim, input.ndim, axis)

    def run(t: Tensor) -> ValuesIndices:
        index = CumExtremeIndices.apply(t, dim=d, sign=sign)
        return ValuesIndices(take_along_dim(t, index, d), index)

    return along_vector(input, run)


def cummax(input: Tensor, dim: int | None = None, *, axis: int | None = None) -> ValuesIndices:
    """(values, indices) of the running max along ``dim``: ``z_i = x_{m(i)}``, ``m(i) = argmax_{j≤i} x_j``;
    ``dL/dx_j = Σ_{i: m(i)=j} g_i`` (the gradient goes to the index). Ties take the latest
    index; a NaN stays the max from where it appears (its latest occurrence is the index)."""
    return _cum_extreme("cummax", input, dim, axis, 1)


def cummin(input: Tensor, dim: int | None = None, *, axis: int | None = None) -> ValuesIndices:
    """(values, indices) of the running min along ``dim``;  ``dL/dx_j = Σ_{i: m(i)=j} g_i``
    with ``m(i) = argmin_{j≤i} x_j`` (ties: the latest index; NaN propagates as in cummax)."""
    return _cum_extreme("cummin", input, dim, axis, -1)
