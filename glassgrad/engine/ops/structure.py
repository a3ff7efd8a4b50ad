"""Matrix structure and rearrangement: triangles, diagonals, trace, roll, repeat_interleave,
meshgrid, lerp, sliding windows (``Tensor.unfold``) and rot90.

Most of these move values without changing them, so each backward moves the gradient back
the same way: a triangle's gradient is the same triangle of g, a diagonal's gradient is g
written back onto that diagonal, a roll's is g rolled back, and where one value went to
several places (repeat_interleave, overlapping windows) its gradient is the sum over them.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...amp.autocast_mode import autocast_args, autocast_state
from .. import backend, dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .arithmetic import clone
from .operands import as_int, dim_or_axis, normalize_dim
from .shape import expand, flip, reshape, transpose


# ------------------------------------------------------------------------------ triangles
class Triangle(Function):
    """z = x on and below (tril) or on and above (triu) the k-th diagonal of the last two dims, 0 elsewhere;
    dL/dx = g on the same triangle, 0 elsewhere"""

    @staticmethod
    def forward(ctx: Context, x: Any, diagonal: int, upper: bool) -> Any:
        xp = ctx.xp
        n, m = x.shape[-2:]
        keep = ~xp.tri(n, m, diagonal - 1, dtype=bool) if upper else xp.tri(n, m, diagonal, dtype=bool)
        ctx.keep = keep
        return xp.where(keep, x, xp.zeros((), dtype=x.dtype))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return ctx.xp.where(ctx.keep, grad, 0)


def _triangle(op: str, input: Tensor, diagonal: Any, upper: bool) -> Tensor:
    k = as_int(op, "diagonal", diagonal)
    if input.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got shape {input.shape}")
    return Triangle.apply(input, diagonal=k, upper=upper)


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    """The lower triangle (on and below diagonal ``diagonal``) of the last two dims, zeros above."""
    return _triangle("tril", input, diagonal, upper=False)


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    """The upper triangle (on and above diagonal ``diagonal``) of the last two dims, zeros below."""
    return _triangle("triu", input, diagonal, upper=True)


# ------------------------------------------------------------------------------ diagonals
def _positions(xp: Any, rows: int, cols: int, offset: int) -> tuple[Any, Any]:
    """Row and column numbers of diagonal ``offset`` of a rows × cols matrix (offset > 0: above)."""
    r0, c0 = max(-offset, 0), max(offset, 0)
    length = max(0, min(rows - r0, cols - c0))
    i = xp.arange(length)
    return i + r0, i + c0


class Diagonal(Function):
    """z[..., i] = x[..., i + r0, i + c0] over dims (dim1, dim2), diagonal dim last
    (r0, c0 = max(-offset, 0), max(offset, 0));  dL/dx = zeros with g written back on that diagonal"""

    @staticmethod
    def forward(ctx: Context, x: Any, offset: int, dim1: int, dim2: int) -> Any:
        ctx.shape, ctx.offset, ctx.dims = x.shape, offset, (dim1, dim2)
        return ctx.xp.diagonal(x, offset, dim1, dim2).copy()

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        d1, d2 = ctx.dims
        rest = [n for i, n in enumerate(ctx.shape) if i not in ctx.dims]
        g = xp.zeros(rest + [ctx.shape[d1], ctx.shape[d2]], dtype=grad.dtype)
        rows, cols = _positions(xp, ctx.shape[d1], ctx.shape[d2], ctx.offset)
        g[..., rows, cols] = grad
        return xp.moveaxis(g, (-2, -1), (d1, d2))


class DiagEmbed(Function):
    """z = zeros with x's last dim written on diagonal ``offset`` of the new dims (dim1, dim2),
    each of size n + |offset|;  dL/dx = that diagonal of g"""

    @staticmethod
    def forward(ctx: Context, x: Any, offset: int, dim1: int, dim2: int) -> Any:
        xp = ctx.xp
        n = x.shape[-1] + abs(offset)
        out = xp.zeros(x.shape[:-1] + (n, n), dtype=x.dtype)
        rows, cols = _positions(xp, n, n, offset)
        out[..., rows, cols] = x
        ctx.offset, ctx.dims = offset, (dim1, dim2)
        return xp.moveaxis(out, (-2, -1), (dim1, dim2))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return ctx.xp.diagonal(grad, ctx.offset, *ctx.dims)


class Trace(Function):
    """z = Σᵢ x[i, i];  dL/dx = g · I (ones on the main diagonal, 0 elsewhere)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.shape = x.shape
        return ctx.xp.trace(x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return grad * ctx.xp.eye(*ctx.shape, dtype=grad.dtype)


def _two_dims(op: str, dim1: Any, dim2: Any, ndim: int) -> tuple[int, int]:
    d1, d2 = normalize_dim(op, dim1, ndim), normalize_dim(op, dim2, ndim)
    if d1 == d2:
        raise RuntimeError(f"{op}: diagonal dimensions cannot be identical, got dim1={dim1} and dim2={dim2}")
    return d1, d2


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """Diagonal ``offset`` of the matrices over dims (dim1, dim2), as a new last dim (a copy;
    PyTorch returns a view)."""
    offset = as_int("diagonal", "offset", offset)
    if input.ndim < 2:
        raise IndexError(f"diagonal: dim2 {dim2} is out of range for a tensor with {input.ndim} dims")
    d1, d2 = _two_dims("diagonal", dim1, dim2, input.ndim)
    return Diagonal.apply(input, offset=offset, dim1=d1, dim2=d2)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices (over the new dims dim1, dim2) with ``input``'s last dim on diagonal ``offset``."""
    offset = as_int("diag_embed", "offset", offset)
    d1, d2 = _two_dims("diag_embed", dim1, dim2, input.ndim + 1)
    if input.ndim == 0:
        raise IndexError(f"diag_embed: dim1 {dim1} is out of range for a 0-d input")
    return DiagEmbed.apply(input, offset=offset, dim1=d1, dim2=d2)


def diag(input: Tensor, diagonal: int = 0) -> Tensor:
    """A vector becomes a square matrix with it on diagonal ``diagonal``; a matrix gives that diagonal."""
    k = as_int("diag", "diagonal", diagonal)
    if input.ndim == 1:
        return DiagEmbed.apply(input, offset=k, dim1=0, dim2=1)
    if input.ndim == 2:
        return Diagonal.apply(input, offset=k, dim1=0, dim2=1)
    raise RuntimeError(f"diag: supports 1-d or 2-d tensors, got {input.ndim}-d (shape {input.shape})")


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix; integer inputs give int64, as in PyTorch."""
    if autocast_state.enabled:
        (input,) = autocast_args("trace", input)
    if input.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got a tensor with {input.ndim} dims (shape {input.shape})")
    if input.dtype == dtypes.bool_:
        raise NotImplementedError("trace: not implemented for bool tensors")
    if not dtypes.is_floating(input.dtype):
        input = input.to(dtypes.int64)
    return Trace.apply(input)


# ---------------------------------------------------------------------------- rearranging
class Roll(Function):
    """z = x shifted cyclically by shifts[i] along dims[i] (the flattened x when dims is None);
    dL/dx = g shifted back by -shifts"""

    @staticmethod
    def forward(ctx: Context, x: Any, shifts: Any, dims: Any) -> Any:
        ctx.shifts, ctx.dims = shifts, dims
        return ctx.xp.roll(x, shifts, axis=dims)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        back = -ctx.shifts if isinstance(ctx.shifts, int) else tuple(-s for s in ctx.shifts)
        return ctx.xp.roll(grad, back, axis=ctx.dims)


def _ints(op: str, name: str, value: Any) -> tuple[int, ...]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return tuple(as_int(op, name, v) for v in value)
    return (as_int(op, name, value),)


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    """Shift entries cyclically along ``dims`` (int or tuple, one shift each); without dims the
    flattened tensor is shifted and the shape restored."""
    shift = _ints("roll", "shifts", shifts)
    if not shift:
        raise RuntimeError("roll: `shifts` required")
    if dims is None:
        if len(shift) != 1:
            raise RuntimeError(f"roll: shifts and dimensions must align, got shifts {shifts} and no dims")
        return Roll.apply(input, shifts=shift[0], dims=None)
    dim = _ints("roll", "dims", dims)
    if len(dim) != len(shift):
        raise RuntimeError(f"roll: shifts and dimensions must align, got shifts {shifts} and dims {dims}")
    if input.ndim == 0:
        raise IndexError(f"roll: dims {dims} given but the tensor has no dimensions")
    dim = tuple(normalize_dim("roll", d, input.ndim) for d in dim)
    return Roll.apply(input, shifts=shift, dims=dim)


class RepeatInterleave(Function):
    """z = each slice x[..., i, ...] along dim repeated rᵢ times in place (x x y y y ...);
    dL/dx[..., i, ...] = Σ of g over the rᵢ copies of slice i"""

    @staticmethod
    def forward(ctx: Context, x: Any, repeats: Any, dim: int) -> Any:
        ctx.shape, ctx.dim, ctx.repeats = x.shape, dim, repeats
        return ctx.xp.repeat(x, repeats, axis=dim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        source = xp.repeat(xp.arange(ctx.shape[ctx.dim]), ctx.repeats)  # which slice each copy came from
        g = xp.zeros(ctx.shape, dtype=grad.dtype)
        backend.scatter_add(g, (slice(None),) * ctx.dim + (source,), grad)
        return g


def repeat_interleave(
    input: Tensor,
    repeats: Any = None,
    dim: int | None = None,
    *,
    output_size: int | None = None,
    axis: int | None = None,
) -> Tensor:
    """Repeat each slice along ``dim`` (each entry of the flattened tensor when dim is None)
    ``repeats`` times: an int, or a tensor with one count per slice. With ``repeats`` omitted,
    ``input`` holds the counts and the result is ``arange(len(input))`` repeated by them."""
    dim = dim_or_axis("repeat_interleave", dim, axis)
    if repeats is None:
        if input.ndim != 1:
            raise RuntimeError(f"repeat_interleave: repeats must be a 1-d vector, got shape {input.shape}")
        counts = _counts(input, input.shape[0])
        return Tensor(input.xp.repeat(input.xp.arange(input.shape[0], dtype=input.dtype), counts))
    if input.ndim == 0 and dim is not None:
        raise IndexError(f"repeat_interleave: dim {dim} is out of range for a 0-d tensor")
    if dim is None:
        x, d = reshape(input, -1), 0
    else:
        x, d = input, normalize_dim("repeat_interleave", dim, input.ndim)
    n = x.shape[d]
    if isinstance(repeats, Tensor):
        if repeats.ndim > 1:
            raise RuntimeError(f"repeat_interleave: repeats must be 0-dim or 1-dim, got shape {repeats.shape}")
        counts = _counts(repeats, n)
    else:
        if isinstance(repeats, bool) or not isinstance(repeats, numbers.Integral):
            raise TypeError(f"repeat_interleave: repeats must be an int or a Tensor, got {type(repeats).__name__}")
        if repeats < 0:
            raise RuntimeError(f"repeat_interleave: repeats must be non-negative, got {repeats}")
        counts = int(repeats)
    total = counts * n if isinstance(counts, int) else sum(counts)
    if output_size is not None and output_size != total:
        raise RuntimeError(f"repeat_interleave: invalid output_size, expected {total} but got {output_size}")
    return RepeatInterleave.apply(x, repeats=counts, dim=d)


def _counts(repeats: Tensor, n: int) -> int | list[int]:
    """The counts of a repeats tensor: one int (0-d or 1 entry) or a list of n non-negative ints."""
    if repeats.dtype.kind not in "iu":
        raise NotImplementedError(f"repeat_interleave: repeats must be an integer tensor, got {repeats.dtype}")
    values = [int(v) for v in backend.to_device(repeats.array, "cpu").reshape(-1)]
    if any(v < 0 for v in values):
        raise RuntimeError(f"repeat_interleave: repeats can not be negative, got {min(values)}")
    if len(values) == 1:  # one count for every slice
        return values[0]
    if len(values) != n:
        raise RuntimeError(
            f"repeat_interleave: repeats must have the same size as input along dim, got {len(values)} and {n}"
        )
    return values


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids: output i holds tensors[i] along dim i, broadcast over the others
    ("ij"); "xy" swaps the first two dims (Cartesian, as NumPy's default). Each output is an
    expanded view, so its gradient sums over the broadcast dims (Expand's backward)."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    if not tensors:
        raise RuntimeError("meshgrid: expects a non-empty list of tensors")
    if indexing is None:
        warnings.warn(
            "meshgrid: in an upcoming release, it will be required to pass the indexing argument "
            "(as torch.meshgrid); using indexing='ij'",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"meshgrid: expected Tensors, got {type(t).__name__} (argument {i})")
        if t.dtype != tensors[0].dtype:
            raise RuntimeError(
                f"meshgrid: expects all tensors to have the same dtype, got {tensors[0].dtype} and {t.dtype}"
            )
        if t.ndim > 1:
            raise RuntimeError(f"meshgrid: expected 0-d or 1-d tensors, got shape {t.shape} (argument {i})")
    order = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        order[0], order[1] = 1, 0
    shape = [0] * len(tensors)
    for i, t in enumerate(tensors):
        shape[order[i]] = t.numel()
    grids = []
    for i, t in enumerate(tensors):
        along = [1] * len(tensors)
        along[order[i]] = t.numel()
        grids.append(expand(reshape(t, along), shape))
    return tuple(grids)


class Lerp(Function):
    """z = a + w · (b - a)  (computed as b - (b - a)(1 - w) when |w| ≥ 0.5, as PyTorch);
    dL/da = g · (1 - w),  dL/db = g · w,  dL/dw = g · (b - a)"""

    @staticmethod
    def forward(ctx: Context, a: Any, b: Any, w: Any) -> Any:
        xp = ctx.xp
        ctx.save_for_backward(a, b, w)  # w too (a number or an input), so that a recorded backward knows it
        d = b - a
        if isinstance(w, numbers.Number):
            return a + w * d if abs(w) < 0.5 else b - d * (1 - w)
        return xp.where(xp.abs(w) < 0.5, a + w * d, b - d * (1 - w))

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        a, b, w = ctx.saved_arrays
        gw = grad * (b - a) if ctx.needs_input_grad[2] else None
        return grad * (1 - w), grad * w, gw


def lerp(input: Tensor, end: Tensor, weight: Any) -> Tensor:
    """``input + weight * (end - input)``: weight a number or a tensor; all three broadcast."""
    if not isinstance(end, Tensor):
        raise TypeError(f"lerp: argument 'end' must be a Tensor, not {type(end).__name__}")
    if end.dtype != input.dtype:
        raise RuntimeError(f"lerp: expected dtype {input.dtype} for end but got dtype {end.dtype}")
    if not dtypes.is_floating(input.dtype):
        raise NotImplementedError(f"lerp: not implemented for {input.dtype} tensors")
    shapes = [input.shape, end.shape]
    if isinstance(weight, Tensor):
        if weight.dtype != input.dtype:
            if weight.ndim:
                raise RuntimeError(f"lerp: expected dtype {input.dtype} for weight but got dtype {weight.dtype}")
            weight = weight.to(input.dtype)  # a 0-d weight acts as a number
        shapes.append(weight.shape)
    elif not isinstance(weight, numbers.Real) or isinstance(weight, bool):
        raise TypeError(f"lerp: weight must be a number or a Tensor, got {type(weight).__name__}")
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise RuntimeError(f"lerp: shapes {', '.join(str(s) for s in shapes)} are not broadcastable") from None
    return Lerp.apply(input, end, weight)


class Unfold(Function):
    """z[..., w, ..., j] = x[..., w·step + j, ...]: windows of ``size`` along dim every ``step``,
    window index in dim's place and the position in the window as a new last dim;
    dL/dx[..., i, ...] = Σ of g over every (w, j) with w·step + j = i (overlapping windows add)"""

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int, size: int, step: int) -> Any:
        windows = (x.shape[dim] - size) // step + 1
        shape = x.shape[:dim] + (windows,) + x.shape[dim + 1 :] + (size,)
        strides = x.strides[:dim] + (x.strides[dim] * step,) + x.strides[dim + 1 :] + (x.strides[dim],)
        ctx.shape, ctx.dim, ctx.size, ctx.step, ctx.windows = x.shape, dim, size, step, windows
        return backend.strided_view(x, shape, strides).copy()

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        g = ctx.xp.zeros(ctx.shape, dtype=grad.dtype)
        lead = (slice(None),) * ctx.dim
        for j in range(ctx.size):  # position j of every window: a strided slice, each entry once
            g[lead + (slice(j, j + ctx.step * (ctx.windows - 1) + 1, ctx.step),)] += grad[..., j]
        return g


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    """``Tensor.unfold``: every window of ``size`` entries along ``dimension``, ``step`` apart, as a new
    last dim (PyTorch's is a view; this is a copy). Not ``nn.functional.unfold`` (im2col)."""
    size, step = as_int("unfold", "size", size), as_int("unfold", "step", step)
    d = normalize_dim("unfold", dimension, input.ndim)
    n = input.shape[d] if input.ndim else 1
    if size < 0:
        raise RuntimeError(f"unfold: size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"unfold: step is {step} but must be > 0")
    if size > n:
        raise RuntimeError(f"unfold: maximum size for tensor at dimension {d} is {n} but size is {size}")
    if input.ndim == 0:
        return reshape(input, 1)[:size]
    return Unfold.apply(input, dim=d, size=size, step=step)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotate by 90° k times in the plane of ``dims``, from the first dim towards the second
    (a flip and a transpose, as PyTorch composes it; their backwards give the gradient)."""
    k = as_int("rot90", "k", k)
    dims = _ints("rot90", "dims", dims)
    if len(dims) != 2:
        raise RuntimeError(f"rot90: expected total rotation dims == 2, but got dims = {len(dims)}")
    if input.ndim < 2:
        raise RuntimeError(f"rot90: expected total dims >= 2, but got total dims = {input.ndim}")
    d0, d1 = (normalize_dim("rot90", d, input.ndim) for d in dims)
    if d0 == d1:
        raise RuntimeError(
            f"rot90: expected rotation dims to be different, but got dim0 = {dims[0]} and dim1 = {dims[1]}"
        )
    k %= 4
    if k == 1:
        return transpose(flip(input, d1), d0, d1)
    if k == 2:
        return flip(input, d0, d1)
    if k == 3:
        return transpose(flip(input, d0), d0, d1)
    return clone(input)
