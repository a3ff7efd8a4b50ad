"""Reductions over ``dim`` (int, tuple, negative, or None for all) with ``keepdim``.

The backward of every reduction first puts the reduced dims back as size 1
(``keepdims``), then lets broadcasting spread the gradient over them.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numpy import ndarray  # a global, not np.ndarray: numpy's module __getattr__ keeps Python 3.11 from caching np.X

from ...amp.autocast_mode import autocast_args, autocast_state
from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .checks import as_float
from .operands import dim_or_axis, normalize_dim, normalize_dims, promote
from .select import where

Dim = int | Sequence[int] | None


def kept(grad: Any, shape: tuple[int, ...], dims: tuple[int, ...], keepdim: bool) -> Any:
    """``grad`` of a reduction reshaped so it broadcasts against the input."""
    if keepdim:
        return grad
    return grad.reshape([1 if i in dims else n for i, n in enumerate(shape)])


def spread(xp: Any, grad: Any, shape: tuple[int, ...]) -> Any:
    """``grad`` (with the reduced dims kept as size 1) broadcast to the input's ``shape``: a read-only
    view for a large input; a small one is filled by one C-level copy, which costs less than NumPy's
    broadcast_to (a Python function) there. A Recorded gradient (``create_graph``) records broadcast_to."""
    if type(grad) is ndarray and math.prod(shape) <= _SMALL:
        out = np.empty(shape, grad.dtype)
        out[...] = grad
        return out
    return xp.broadcast_to(grad, shape)


_SMALL = 1 << 14  # elements


class Sum(Function):
    """z = Σ x over dims;  dL/dx = g spread back over the summed dims"""

    @staticmethod
    def forward(ctx: Context, x: Any, dims: tuple[int, ...], keepdim: bool) -> Any:
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return dtypes.summed(x, dims, keepdim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return spread(ctx.xp, kept(grad, ctx.shape, ctx.dims, ctx.keepdim), ctx.shape)


class Mean(Function):
    """z = (1/n) Σ x over dims;  dL/dx = g / n spread back over the reduced dims"""

    @staticmethod
    def forward(ctx: Context, x: Any, dims: tuple[int, ...], keepdim: bool) -> Any:
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.count = int(np.prod([x.shape[d] for d in dims]))
        with np.errstate(invalid="ignore", divide="ignore"):
            return dtypes.accumulated(x, "mean", axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        g = kept(grad, ctx.shape, ctx.dims, ctx.keepdim) / builtins.max(ctx.count, 1)
        return spread(ctx.xp, g, ctx.shape)


class Var(Function):
    """v = Σ (x - x̄)² / max(n - correction, 0);  dL/dx = g · 2(x - x̄)/(n - correction)
    and with ``root=True`` the standard deviation s = √v;  dL/dx = g/(2s) · 2(x - x̄)/(n - correction),
    taken as 0 where s = 0 (a constant row), as PyTorch.

    When n - correction ≤ 0 the forward divides by 0 (inf, or nan for a constant row) and, as in
    PyTorch, the backward divides by the signed n - correction itself."""

    @staticmethod
    def forward(ctx: Context, x: Any, dims: tuple[int, ...], correction: float, keepdim: bool, root: bool) -> Any:
        xp = ctx.xp
        n = int(np.prod([x.shape[d] for d in dims]))
        with np.errstate(invalid="ignore", divide="ignore"):
            centered = x - dtypes.accumulated(x, "mean", axis=dims, keepdims=True)
            squares = dtypes.summed(centered * centered, dims, True)
            z = squares / x.dtype.type(builtins.max(n - correction, 0))
            if root:
                z = xp.sqrt(z)
        ctx.save_for_backward(centered, z if root else None)
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        ctx.denominator = x.dtype.type(n - correction)
        return z if keepdim else z.reshape([m for i, m in enumerate(x.shape) if i not in dims])

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        centered, root = ctx.saved_arrays
        g = kept(grad, ctx.shape, ctx.dims, ctx.keepdim)
        with np.errstate(invalid="ignore", divide="ignore"):
            if root is not None:
                g = xp.where(root == 0, 0, g / (2 * root))
            return g * centered * (2 / ctx.denominator)

    @staticmethod
    def decomposition(x: Tensor, dims: tuple[int, ...], correction: float, keepdim: bool, root: bool) -> Tensor:
        """The same v (and s) in engine ops, for a derivative of the derivative: the backward above
        uses x - x̄, which the forward computed. s = √v is taken as 0, with derivative 0, where v = 0,
        as the backward's 0 there."""
        n = int(np.prod([x.shape[d] for d in dims]))
        centered = x - x.mean(dim=dims, keepdim=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = (centered * centered).sum(dim=dims, keepdim=True) / builtins.max(n - correction, 0)
        if root:
            flat = v == 0
            v = where(flat, 0.0, where(flat, 1.0, v).sqrt())
        return v if keepdim else v.reshape([m for i, m in enumerate(x.shape) if i not in dims])


class Prod(Function):
    """z = Π x over dims;  dL/dxᵢ = g · Π_{j≠i} xⱼ

    Computed as (product of everything before i) × (product of everything after i),
    so zeros in x need no special case.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, dims: tuple[int, ...], keepdim: bool) -> Any:
        ctx.save_for_backward(x)
        ctx.dims, ctx.keepdim = dims, keepdim
        return dtypes.accumulated(x, "prod", axis=dims, keepdims=keepdim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        (x,) = ctx.saved_arrays
        rest = [d for d in range(x.ndim) if d not in ctx.dims]
        order = rest + list(ctx.dims)
        moved = x.transpose(order)
        flat = moved.reshape(moved.shape[: len(rest)] + (-1,))
        ones = xp.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
        before = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = xp.flip(xp.cumprod(xp.flip(xp.concatenate([flat[..., 1:], ones], axis=-1), -1), axis=-1), -1)
        others = (before * after).reshape(moved.shape).transpose(tuple(int(i) for i in np.argsort(order)))
        return kept(grad, x.shape, ctx.dims, ctx.keepdim) * others


class AMax(Function):
    """z = max x over dims;  dL/dx = g / k at the k positions equal to the max, else 0

    (ties share the gradient evenly, as PyTorch's amax does). ``sign=-1`` gives amin.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, dims: tuple[int, ...], keepdim: bool, sign: int) -> Any:
        z = x.max(axis=dims, keepdims=True) if sign > 0 else x.min(axis=dims, keepdims=True)
        hit = x == z
        ctx.save_for_backward(hit)
        ctx.dims, ctx.keepdim = dims, keepdim
        return z if keepdim else z.reshape([n for i, n in enumerate(x.shape) if i not in dims])

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (hit,) = ctx.saved_arrays
        share = hit / hit.sum(axis=ctx.dims, keepdims=True)
        return kept(grad, hit.shape, ctx.dims, ctx.keepdim) * share


class LogSumExp(Function):
    """z = log Σ eˣ = m + log Σ e^(x - m), m = max x;  dL/dx = g · e^(x - z) = g · softmax(x)"""

    @staticmethod
    def forward(ctx: Context, x: Any, dims: tuple[int, ...], keepdim: bool) -> Any:
        xp = ctx.xp
        m = x.max(axis=dims, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)
        z = m + xp.log(dtypes.summed(xp.exp(x - m), dims, True))
        out = xp.asarray(z if keepdim else z.reshape([n for i, n in enumerate(x.shape) if i not in dims]))
        ctx.save_for_backward(x, out)  # the output itself, so that a recorded backward differentiates through z
        ctx.dims, ctx.keepdim = dims, keepdim
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        x, out = ctx.saved_arrays
        z = kept(out, x.shape, ctx.dims, ctx.keepdim)
        return kept(grad, x.shape, ctx.dims, ctx.keepdim) * ctx.xp.exp(x - z)


class Norm(Function):
    """z = (Σ |x|^p)^(1/p);  dL/dx = g · sign(x)·|x|^(p-1) / z^(p-1)  (0 where z = 0 or x = 0)

    p = inf is max |x| and p = -inf min |x| (ties share g evenly); p = 0 counts the
    non-zero entries (dL/dx = 0); p = 1 gives g · sign(x); a negative p is the same
    formula, with z = 0 when some |x| is 0, as in PyTorch.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, p: float, dims: tuple[int, ...], keepdim: bool) -> Any:
        xp = ctx.xp
        a = xp.abs(x)
        if p == float("inf"):
            z = a.max(axis=dims, keepdims=True)
        elif p == -float("inf"):
            z = a.min(axis=dims, keepdims=True)
        elif p == 0:
            z = (a != 0).sum(axis=dims, keepdims=True).astype(x.dtype)
        elif p == 2:
            z = xp.sqrt(dtypes.summed(x * x, dims, True))
        else:
            with np.errstate(divide="ignore"):
                z = dtypes.summed(a**p, dims, True) ** (1 / p)
        out = xp.asarray(z if keepdim else z.reshape([n for i, n in enumerate(x.shape) if i not in dims]))
        ctx.save_for_backward(x, out)  # the output itself, so that a recorded backward differentiates through z
        ctx.p, ctx.dims, ctx.keepdim = p, dims, keepdim
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        x, out = ctx.saved_arrays
        g, z = (kept(a, x.shape, ctx.dims, ctx.keepdim) for a in (grad, out))
        p = ctx.p
        if p in (float("inf"), -float("inf")):
            hit = xp.abs(x) == z
            return g * xp.sign(x) * hit / hit.sum(axis=ctx.dims, keepdims=True)
        if p == 0:
            return xp.zeros_like(x)
        if p == 1:
            return g * xp.sign(x)
        with np.errstate(invalid="ignore", divide="ignore"):
            d = xp.sign(x) * xp.abs(x) ** (p - 1) / z ** (p - 1)
        return g * xp.where((z == 0) | (x == 0), 0, d)


class ArgExtreme(Function):
    """Index of the max (``fn="argmax"``) or min along a dim; not differentiable."""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, x: Any, fn: str, dim: int | None, keepdim: bool) -> Any:
        xp = ctx.xp
        if dim is None:
            out = getattr(xp, fn)(x.reshape(-1))
            return out.reshape((1,) * x.ndim) if keepdim else out
        return getattr(xp, fn)(x, axis=dim, keepdims=keepdim)


class Reduce(Function):
    """``all`` / ``any`` over dims; not differentiable."""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, x: Any, fn: str, dims: tuple[int, ...], keepdim: bool) -> Any:
        return getattr(x.astype(bool), fn)(axis=dims, keepdims=keepdim)


class ValuesIndices(NamedTuple):
    """What ``max(dim)`` / ``min(dim)`` return, as PyTorch's ``torch.return_types``."""

    values: Tensor
    indices: Tensor


def check_nonempty(op: str, shape: tuple[int, ...], dims: tuple[int, ...] | None, whole: type = RuntimeError) -> None:
    """PyTorch's refusal to take a max/min/argmax over nothing: with ``dims=None`` (every dim, no dim given)
    an empty tensor raises ``whole`` (RuntimeError for max/amax, IndexError for argmax); a reduced dim of
    size 0 raises IndexError. Reducing other dims of an empty tensor is fine (an empty result)."""
    if dims is None:
        if 0 in shape:
            raise whole(
                f"{op}: expected reduction dim to be specified for an empty tensor of shape {tuple(shape)} "
                "(input.numel() == 0); pass the reduction dim with the 'dim' argument"
            )
        return
    for d in dims:
        if shape[d] == 0:
            raise IndexError(f"{op}: expected reduction dim {d} to have non-zero size, got a tensor of shape {shape}")


def _all_if_empty(dim: Dim) -> Dim:
    """PyTorch's sum, mean, var and std read dim=() or dim=[] as "every dim"."""
    return None if type(dim) is not int and isinstance(dim, tuple | list) and len(dim) == 0 else dim


def _integer_to_int64(input: Tensor, dtype: Any) -> Tensor:
    """The input of sum or prod: cast to ``dtype`` if given; bool and integers accumulate in int64."""
    if dtype is not None:
        return input.to(dtype)
    if input.array.dtype in dtypes.FLOATING:  # the common case, answered first
        return input
    if not dtypes.is_floating(input.dtype) and input.dtype != dtypes.int64:
        return input.to(dtypes.int64)
    return input


def sum(
    input: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    dtype: Any = None,
    *,
    axis: Dim = None,
) -> Tensor:
    """Σ over ``dim``; bool and integer inputs sum to int64, as in PyTorch."""
    if autocast_state.enabled:
        (input,) = autocast_args("sum", input)
    dim = _all_if_empty(dim_or_axis("sum", dim, axis))
    input = _integer_to_int64(input, dtype)
    return Sum.apply(input, dims=normalize_dims("sum", dim, input.ndim), keepdim=keepdim)


def mean(
    input: Tensor,
    dim: Dim = None,
    keepdim: bool = False,
    dtype: Any = None,
    *,
    axis: Dim = None,
) -> Tensor:
    dim = _all_if_empty(dim_or_axis("mean", dim, axis))
    if dtype is not None:
        input = input.to(dtype)
    if not dtypes.is_floating(input.dtype):
        raise RuntimeError(f"mean: input dtype should be floating point, got {input.dtype}")
    return Mean.apply(input, dims=normalize_dims("mean", dim, input.ndim), keepdim=keepdim)


def _correction(op: str, unbiased: bool | None, correction: float | None) -> float:
    """The divisor's offset from ``correction`` (a number) or ``unbiased`` (a bool), else 1; TypeError
    naming ``op`` for anything else (as PyTorch's argument parser)."""
    if correction is not None:
        as_float(op, "correction", correction, "Number")
        return correction
    if unbiased is not None and not isinstance(unbiased, bool | np.bool_):
        raise TypeError(f"{op}: argument 'unbiased' must be bool, not {type(unbiased).__name__} ({unbiased!r})")
    return 1 if unbiased is None or unbiased else 0


def _spread(op: str, input: Tensor, dim: Any, unbiased: Any, keepdim: bool, correction: Any, root: bool) -> Tensor:
    if isinstance(dim, bool):  # var(x, True): PyTorch's older (input, unbiased) form
        dim, unbiased = None, dim
    if not dtypes.is_floating(input.dtype):
        raise RuntimeError(f"{op}: std and var only support floating point dtypes, got {input.dtype}")
    dims = normalize_dims(op, _all_if_empty(dim), input.ndim)
    return Var.apply(input, dims=dims, correction=_correction(op, unbiased, correction), keepdim=keepdim, root=root)


def var(
    input: Tensor,
    dim: Dim = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
    axis: Dim = None,
) -> Tensor:
    """Variance with Bessel's correction by default (``correction=1``)."""
    return _spread("var", input, dim_or_axis("var", dim, axis), unbiased, keepdim, correction, root=False)


def std(
    input: Tensor,
    dim: Dim = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
    axis: Dim = None,
) -> Tensor:
    """√var, with its own backward (0 where the deviation is 0, as PyTorch; see Var)."""
    return _spread("std", input, dim_or_axis("std", dim, axis), unbiased, keepdim, correction, root=True)


def _spread_and_mean(
    op: str,
    input: Tensor,
    dim: Dim,
    unbiased: bool | None,
    keepdim: bool,
    correction: float | None,
    axis: Dim,
    root: bool,
) -> tuple[Tensor, Tensor]:
    dim = dim_or_axis(op, dim, axis)
    if isinstance(dim, bool):  # torch.var_mean(x, True) means unbiased=True
        dim, unbiased = None, dim
    return _spread(op, input, dim, unbiased, keepdim, correction, root=root), mean(input, dim, keepdim)


def var_mean(
    input: Tensor,
    dim: Dim = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
    axis: Dim = None,
) -> tuple[Tensor, Tensor]:
    """(var, mean) over ``dim``, as ``torch.var_mean``; each has its own gradient (see Var, Mean)."""
    return _spread_and_mean("var_mean", input, dim, unbiased, keepdim, correction, axis, root=False)


def std_mean(
    input: Tensor,
    dim: Dim = None,
    unbiased: bool | None = None,
    keepdim: bool = False,
    *,
    correction: float | None = None,
    axis: Dim = None,
) -> tuple[Tensor, Tensor]:
    """(std, mean) over ``dim``, as ``torch.std_mean``; each has its own gradient (see Var, Mean)."""
    return _spread_and_mean("std_mean", input, dim, unbiased, keepdim, correction, axis, root=True)


def prod(
    input: Tensor,
    dim: int | None = None,
    keepdim: bool = False,
    *,
    dtype: Any = None,
    axis: int | None = None,
) -> Tensor:
    """Π over one dim (or all); bool and integer inputs multiply in int64, as in PyTorch."""
    if autocast_state.enabled:
        (input,) = autocast_args("prod", input)
    dim = dim_or_axis("prod", dim, axis)
    input = _integer_to_int64(input, dtype)
    return Prod.apply(input, dims=normalize_dims("prod", dim, input.ndim), keepdim=keepdim)


def _extreme(op: str, input: Tensor, dim: Dim, keepdim: bool, sign: int) -> Tensor:
    """amax (sign 1) / amin (sign -1) over ``dim`` (() or None: every dim), named ``op`` in errors."""
    whole = dim is None or dim == ()
    dims = normalize_dims(op, None if whole else dim, input.ndim)
    check_nonempty(op, input.shape, None if whole else (dims if input.ndim else ()))
    return AMax.apply(input, dims=dims, keepdim=keepdim, sign=sign)


def amax(input: Tensor, dim: Dim = (), keepdim: bool = False, *, axis: Dim = None) -> Tensor:
    return _extreme("amax", input, dim_or_axis("amax", dim, axis, ()), keepdim, 1)


def amin(input: Tensor, dim: Dim = (), keepdim: bool = False, *, axis: Dim = None) -> Tensor:
    return _extreme("amin", input, dim_or_axis("amin", dim, axis, ()), keepdim, -1)


def _values_indices(fn: str, input: Tensor, dim: int, keepdim: bool) -> ValuesIndices:
    from .indexing import take_along_dim

    dim = normalize_dim(fn, dim, input.ndim)
    check_nonempty(fn, input.shape, (dim,) if input.ndim else ())
    if input.ndim == 0:  # dim 0 or -1 of a 0-d tensor: the value itself, at index 0
        values, index = _values_indices(fn, input.reshape(1), 0, False)
        return ValuesIndices(values.reshape(()), index.reshape(()))
    index = ArgExtreme.apply(input, fn="arg" + fn, dim=dim, keepdim=True)
    values = take_along_dim(input, index, dim)
    if not keepdim and input.ndim > 0:
        values, index = values.squeeze(dim), index.squeeze(dim)
    return ValuesIndices(values, index)


def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Any:
    """``max()``: the largest value (ties share the gradient);
    ``max(dim)``: (values, indices), the gradient going to the returned index;
    ``max(other_tensor)``: elementwise maximum."""
    dim = dim_or_axis("max", dim, axis)
    if isinstance(dim, Tensor):
        from .select import maximum

        return maximum(input, dim)
    if dim is None:
        return _extreme("max", input, None, False, 1)
    return _values_indices("max", input, dim, keepdim)


def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, axis: Any = None) -> Any:
    """Like ``max``, for the smallest value."""
    dim = dim_or_axis("min", dim, axis)
    if isinstance(dim, Tensor):
        from .select import minimum

        return minimum(input, dim)
    if dim is None:
        return _extreme("min", input, None, False, -1)
    return _values_indices("min", input, dim, keepdim)


def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> Tensor:
    dim = dim_or_axis("argmax", dim, axis)
    if dim is not None:
        dim = normalize_dim("argmax", dim, input.ndim)
        dim = None if input.ndim == 0 else dim
    check_nonempty("argmax", input.shape, None if dim is None else (dim,), IndexError)
    return ArgExtreme.apply(input, fn="argmax", dim=dim, keepdim=keepdim)


def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False, *, axis: int | None = None) -> Tensor:
    dim = dim_or_axis("argmin", dim, axis)
    if dim is not None:
        dim = normalize_dim("argmin", dim, input.ndim)
        dim = None if input.ndim == 0 else dim
    check_nonempty("argmin", input.shape, None if dim is None else (dim,), IndexError)
    return ArgExtreme.apply(input, fn="argmin", dim=dim, keepdim=keepdim)


def logsumexp(input: Tensor, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None) -> Tensor:
    if autocast_state.enabled:
        (input,) = autocast_args("logsumexp", input)
    dim = dim_or_axis("logsumexp", dim, axis)
    if dim is None:
        raise TypeError("logsumexp: missing required argument 'dim'")
    (x,) = promote("logsumexp", input, to_float=True)
    return LogSumExp.apply(x, dims=normalize_dims("logsumexp", dim, x.ndim), keepdim=keepdim)


def norm(input: Tensor, p: Any = "fro", dim: Dim = None, keepdim: bool = False) -> Tensor:
    """Vector p-norm over ``dim`` (all elements by default); "fro" is p = 2."""
    if autocast_state.enabled:
        (input,) = autocast_args("norm", input)
    p = 2 if p in ("fro", None) else p
    if isinstance(p, str):
        raise RuntimeError(f"norm: order {p!r} is not supported (a number, inf, -inf or 'fro')")
    if not isinstance(p, int | float) or isinstance(p, bool):
        raise TypeError(f"norm: p must be a number or 'fro', got {type(p).__name__}")
    if not dtypes.is_floating(input.dtype):
        raise RuntimeError(f"norm: expected a floating point tensor as input, got {input.dtype}")
    (x,) = promote("norm", input, to_float=True)
    return Norm.apply(x, p=float(p), dims=normalize_dims("norm", dim, x.ndim), keepdim=keepdim)


def all(input: Tensor, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None) -> Tensor:
    dim = dim_or_axis("all", dim, axis)
    return Reduce.apply(input, fn="all", dims=normalize_dims("all", dim, input.ndim), keepdim=keepdim)


def any(input: Tensor, dim: Dim = None, keepdim: bool = False, *, axis: Dim = None) -> Tensor:
    dim = dim_or_axis("any", dim, axis)
    return Reduce.apply(input, fn="any", dims=normalize_dims("any", dim, input.ndim), keepdim=keepdim)
