"""Scatter and index ops: write values into a copy of a tensor at given indices, or pick them out.

Two index layouts, as in PyTorch:

* scatter-style (``scatter``, ``scatter_add``, ``scatter_reduce``): ``index`` has the input's
  number of dims, and entry ``index[i][j]`` (dim 0) names the row that ``src[i][j]`` goes to,
  ``z[index[i][j]][j] = src[i][j]``. Each entry has one target position in z; we turn them into
  flat (row-major) positions once (``_targets``), and every forward and backward works on those.
* index-style (``index_select``, ``index_add``, ``index_copy``, ``index_fill``): ``index`` is a
  vector of positions along ``dim`` and whole slices move, ``z[:, index[k]] = source[:, k]``.

Repeated indices add up wherever values are summed (``scatter_add``, ``index_add``, every
gradient that gathers back: ``backend.scatter_add`` is ``np.add.at`` / ``cupyx.scatter_add``).
Where values overwrite (``scatter``, ``index_copy``) PyTorch leaves the winner among repeated
indices unspecified; here the last one wins.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ...amp.autocast_mode import autocast_args, autocast_state
from .. import backend, dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .indexing import _along_dim_index, add_at, index_put
from .operands import dim_or_axis, normalize_dim

_REDUCE_UFUNC = {"prod": "multiply", "amax": "maximum", "amin": "minimum"}


# ----------------------------------------------------------------------------- shared helpers
def _targets(xp: Any, index: Any, dim: int, shape: tuple[int, ...]) -> Any:
    """Flat row-major position in an array of ``shape`` that each entry of ``index`` writes to
    along ``dim`` (its other coordinates are the entry's own), as a 1-D int64 array."""
    grids = _along_dim_index(xp, index.astype(np.int64), dim)
    flat = xp.zeros(index.shape, dtype=np.int64)
    stride = 1
    for d in reversed(range(len(shape))):
        flat = flat + grids[d] * stride
        stride *= shape[d]
    return flat.reshape(-1)


def _combine_into(xp: Any, out: Any, flat: Any, values: Any, ufunc: str, assign_first: bool = False) -> None:
    """``out[flat[k]] = ufunc(out[flat[k]], values[k])`` for every k, repeated targets taken in turn.

    Entries are sorted by target and ranked within their target; each round combines the
    entries of one rank, whose targets are distinct, so plain fancy indexing is safe and the
    same code runs on NumPy and CuPy. ``assign_first``: the first value at a target replaces it.
    """
    if flat.size == 0:
        return
    order, flat, rank = _ranked(xp, flat)
    values = values[order]
    for r in range(int(rank.max()) + 1):
        pick = rank == r
        where, v = flat[pick], values[pick]
        out[where] = v if r == 0 and assign_first else getattr(xp, ufunc)(out[where], v)


def _ranked(xp: Any, flat: Any) -> tuple[Any, Any, Any]:
    """``order`` sorting ``flat``, the sorted targets ``flat[order]``, and each sorted entry's rank among
    the entries with its target (0, 1, ...): the entries of one rank have distinct targets."""
    order = xp.argsort(flat)
    flat = flat[order]
    new = xp.ones(flat.size, dtype=bool)
    new[1:] = flat[1:] != flat[:-1]
    starts = xp.nonzero(new)[0]
    return order, flat, xp.arange(flat.size) - starts[xp.cumsum(new) - 1]


def _counts(xp: Any, flat: Any, size: int, weights: Any = None) -> Any:
    """How many entries (or how much weight) land on each of ``size`` flat positions."""
    if weights is not None:
        weights = weights.astype(np.float64)
    return xp.bincount(flat, weights=weights, minlength=size)


def _dim(op: str, dim: Any, axis: Any) -> Any:
    dim = dim_or_axis(op, dim, axis)
    if dim is None:
        raise TypeError(f"{op}: missing required argument 'dim'")
    return dim


def _int_index(op: str, index: Any, allowed: tuple[np.dtype, ...], error: type[Exception]) -> None:
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}: argument 'index' must be a Tensor, not {type(index).__name__}")
    if index.dtype not in allowed:
        names = "/".join(str(d) for d in allowed)
        raise error(f"{op}: expected dtype {names} for index, got {index.dtype}")


def _bounds(op: str, index: Tensor, size: int, dim: int, error: type[Exception], negative: Any = None) -> None:
    """IndexError/RuntimeError (as PyTorch) when an index value falls outside [0, size)."""
    if index.numel() == 0:
        return
    lo, hi = int(index.array.min()), int(index.array.max())
    if lo < 0:
        kind = negative or error
        raise kind(f"{op}: index {lo} is out of bounds for dimension {dim} with size {size}")
    if hi >= size:
        raise error(f"{op}: index {hi} is out of bounds for dimension {dim} with size {size}")


def _same_dtype(op: str, input: Tensor, other: Tensor, name: str) -> None:
    if input.dtype != other.dtype:
        raise RuntimeError(
            f"{op}: expected self and {name} to have the same dtype, got {input.dtype} and {other.dtype}"
        )


# ------------------------------------------------------------------------- scatter family
class Scatter(Function):
    """z = x, then z[..., index[i], ...] = src[i] along dim (or a number ``src``);
    dL/dx = g with 0 where z was overwritten;  dL/dsrc = g gathered at index (0 beyond index's shape)

    With repeated indices every src entry still gets its gathered g, as in PyTorch."""

    @staticmethod
    def forward(ctx: Context, x: Any, index: Any, src: Any, dim: int) -> Any:
        flat = _targets(ctx.xp, index, dim, x.shape)
        out = x.copy()
        crop = tuple(slice(0, n) for n in index.shape)
        out.reshape(-1)[flat] = src if isinstance(src, numbers.Number) else src[crop].reshape(-1)
        ctx.flat, ctx.crop = flat, crop
        ctx.src_shape = getattr(src, "shape", None)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None, Any]:
        xp = ctx.xp
        gx = grad.flatten()  # a flat copy, written into by name (a Recorded's reshape is not a view)
        gx[ctx.flat] = 0
        gx = gx.reshape(grad.shape)
        gsrc = None
        if ctx.needs_input_grad[2]:
            gsrc = xp.zeros(ctx.src_shape, dtype=grad.dtype)
            gsrc[ctx.crop] = grad.reshape(-1)[ctx.flat].reshape(gsrc[ctx.crop].shape)
        return gx, None, gsrc


class ScatterAdd(Function):
    """z = x, then z[..., index[i], ...] += src[i] along dim (repeats add up);
    dL/dx = g;  dL/dsrc = g gathered at index (0 beyond index's shape)"""

    @staticmethod
    def forward(ctx: Context, x: Any, index: Any, src: Any, dim: int) -> Any:
        flat = _targets(ctx.xp, index, dim, x.shape)
        crop = tuple(slice(0, n) for n in index.shape)
        out = x.copy()
        backend.scatter_add(out.reshape(-1), flat, src[crop].reshape(-1))
        ctx.flat, ctx.crop, ctx.src_shape = flat, crop, src.shape
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None, Any]:
        gsrc = ctx.xp.zeros(ctx.src_shape, dtype=grad.dtype)
        gsrc[ctx.crop] = grad.reshape(-1)[ctx.flat].reshape(gsrc[ctx.crop].shape)
        return grad, None, gsrc


class ScatterReduce(Function):
    """z = x, then z[t] = reduce(x[t] (if include_self), every src[i] with target t) along dim,
    for reduce = sum, prod, mean, amax, amin. Let S(t) be the entries that take part at t
    (x[t] when include_self or when nothing lands on t, plus the src entries), n(t) their count:

    * sum:  dL/dx[t] = g[t] if x[t] takes part else 0;  dL/dsrc[i] = g[t(i)]
    * mean: z = Σ S(t) / n(t);  dL/de = g[t] / n(t) for each e in S(t)
    * prod: z = Π S(t);  dL/de = g[t] · Π (S(t) without e)  (exact with zeros: 0 if another
      member is 0; the product of the others if e is the only 0)
    * amax, amin: dL/de = g[t] / k(t) for the k(t) members of S(t) equal to z[t], else 0
      (ties share evenly, as PyTorch)

    Integer mean rounds down, as PyTorch.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, index: Any, src: Any, dim: int, reduce: str, include_self: bool) -> Any:
        xp = ctx.xp
        flat = _targets(xp, index, dim, x.shape)
        crop = tuple(slice(0, n) for n in index.shape)
        values = src[crop].reshape(-1)
        out = x.copy()
        o = out.reshape(-1)
        landed = xp.zeros(x.size, dtype=bool)
        landed[flat] = True
        takes_part = xp.ones(x.size, dtype=bool) if include_self else ~landed
        counts = None
        if reduce in ("sum", "mean"):
            if not include_self:
                o[flat] = 0
            backend.scatter_add(o, flat, values)
            if reduce == "mean":
                counts = _counts(xp, flat, x.size) + takes_part
                if dtypes.is_floating(x.dtype):
                    o /= counts.astype(x.dtype)
                else:
                    o //= counts.astype(x.dtype)
        elif reduce == "prod":
            if not include_self:
                o[flat] = 1
            _combine_into(xp, o, flat, values, "multiply")
        else:
            _combine_into(xp, o, flat, values, _REDUCE_UFUNC[reduce], assign_first=not include_self)
        ctx.flat, ctx.crop, ctx.src_shape, ctx.reduce = flat, crop, src.shape, reduce
        ctx.takes_part, ctx.counts = takes_part, counts
        if reduce in ("prod", "amax", "amin"):
            ctx.save_for_backward(x.reshape(-1), values, o)
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None, Any]:
        xp = ctx.xp
        flat, part = ctx.flat, ctx.takes_part
        g = grad.reshape(-1)
        if ctx.reduce == "sum":
            gx, gv = g * part, g[flat]
        elif ctx.reduce == "mean":
            gm = g / ctx.counts.astype(g.dtype)
            gx, gv = gm * part, gm[flat]
        elif ctx.reduce == "prod":
            x, values, _ = ctx.saved_arrays
            size = x.size
            zeros = _counts(xp, flat, size, values == 0) + (part & (x == 0))  # zeros among S(t)
            nonzero_prod = xp.where(part & (x != 0), x, 1).astype(grad.dtype)
            _combine_into(xp, nonzero_prod, flat, xp.where(values == 0, 1, values).astype(grad.dtype), "multiply")

            def others(e: Any, p: Any, z: Any) -> Any:  # Π of the other members of S(t)
                return xp.where(e == 0, xp.where(z == 1, p, 0), xp.where(z == 0, p / xp.where(e == 0, 1, e), 0))

            gx = g * part * others(x, nonzero_prod, zeros)
            gv = g[flat] * others(values, nonzero_prod[flat], zeros[flat])
        else:  # amax / amin
            x, values, z = ctx.saved_arrays
            hit_x = part & (x == z)
            hit_v = values == z[flat]
            k = _counts(xp, flat, x.size, hit_v) + hit_x
            k = xp.where(k == 0, 1, k).astype(g.dtype)
            gx = g * hit_x / k
            gv = g[flat] * hit_v / k[flat]
        gsrc = xp.zeros(ctx.src_shape, dtype=grad.dtype)
        gsrc[ctx.crop] = gv.reshape(gsrc[ctx.crop].shape)
        return gx.reshape(grad.shape), None, gsrc

    @staticmethod
    def decomposition(x: Tensor, index: Tensor, src: Tensor, dim: int, reduce: str, include_self: bool) -> Tensor:
        """The same z in differentiable ops, S(t) and the targets t(i) held as constants:
        sum, mean: the members of S(t) added up (÷ n(t));  prod: one product per round of distinct
        targets, so each member's derivative is the product of the others, zeros included;
        amax, amin: z[t] = Σ over the members e of S(t) equal to z[t] of e / k(t), of derivative 1/k(t)."""
        xp = x.xp
        flat = _targets(xp, index.array, dim, x.shape)
        xf, values = x.reshape(-1), src[tuple(slice(0, n) for n in index.shape)].reshape(-1)
        part = xp.ones(x.numel(), dtype=bool)
        if not include_self:
            part[flat] = False
        if reduce in ("sum", "mean"):
            out = add_at(xf * Tensor(part), flat, values)
            if reduce == "mean":
                out = out / Tensor((_counts(xp, flat, x.numel()) + part).astype(x.dtype))
        elif reduce == "prod":
            out = xf * Tensor(part) + Tensor(~part).to(x.dtype)  # 1 where x does not take part
            order, targets, rank = _ranked(xp, flat)
            for r in range(int(rank.max()) + 1 if flat.size else 0):
                pick = rank == r
                at = targets[pick]
                out = index_put(out, at, out[at] * values[order[pick]])
        else:
            z = ScatterReduce.apply(x.detach(), index, src.detach(), dim=dim, reduce=reduce, include_self=include_self)
            z = z.array.reshape(-1)
            hit_x, hit_v = part & (xf.array == z), values.array == z[flat]
            k = xp.maximum(_counts(xp, flat, x.numel(), hit_v) + hit_x, 1).astype(x.dtype)  # 0 only beside a NaN
            out = add_at(xf * Tensor(hit_x), flat, values * Tensor(hit_v)) / Tensor(k)
        return out.reshape(x.shape)


def _check_scatter(op: str, input: Tensor, dim: Any, index: Any, src: Any) -> int:
    """PyTorch's checks for the scatter family, in its order; returns the normalized dim."""
    d = normalize_dim(op, dim, input.ndim)
    _int_index(op, index, (dtypes.int32, dtypes.int64), RuntimeError)
    if max(index.ndim, 1) != max(input.ndim, 1):
        raise RuntimeError(
            f"{op}: index tensor must have the same number of dimensions as self tensor, got index shape "
            f"{index.shape} and self shape {input.shape}"
        )
    if isinstance(src, Tensor):
        if max(src.ndim, 1) != max(index.ndim, 1):
            raise RuntimeError(
                f"{op}: index tensor must have the same number of dimensions as src tensor, got index shape "
                f"{index.shape} and src shape {src.shape}"
            )
        _same_dtype(op, input, src, "src")
    i_shape, x_shape = index.shape or (1,), input.shape or (1,)
    s_shape = (src.shape or (1,)) if isinstance(src, Tensor) else i_shape
    if any(n > s or (k != d and n > m) for k, (n, m, s) in enumerate(zip(i_shape, x_shape, s_shape, strict=True))):
        raise RuntimeError(
            f"{op}: expected index {index.shape} to be no larger than self {input.shape} apart from dimension {d} "
            f"and to be no larger than src {getattr(src, 'shape', index.shape)}"
        )
    _bounds(op, index, x_shape[d], d, RuntimeError)
    return d


def _as_1d(*tensors: Any) -> tuple[Any, ...]:
    """0-d tensors as 1-element vectors (scatter ops of 0-d tensors act on one element)."""
    return tuple(t.reshape(1) if isinstance(t, Tensor) and t.ndim == 0 else t for t in tensors)


def scatter(
    input: Tensor,
    dim: int | None = None,
    index: Tensor | None = None,
    src: Any = None,
    value: Any = None,
    *,
    reduce: str | None = None,
    axis: int | None = None,
) -> Tensor:
    """A copy of ``input`` with ``src[i][j]`` (or the number ``value``) written at
    ``[index[i][j]][j]`` (dim 0; likewise for other dims). ``reduce="add"`` / ``"multiply"``
    (PyTorch's older API) combines instead of overwriting: that is ``scatter_reduce`` with
    ``"sum"`` / ``"prod"`` and include_self=True, and has its gradient (PyTorch has none)."""
    dim = _dim("scatter", dim, axis)
    if src is not None and value is not None:
        raise TypeError("scatter: give either src or value, not both")
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: missing required argument 'src' or 'value'")
    if not isinstance(src, Tensor | numbers.Number):
        raise TypeError(f"scatter: src must be a Tensor or a number, got {type(src).__name__}")
    if reduce is not None and reduce not in ("add", "multiply"):
        raise RuntimeError(f"scatter: reduce argument must be either 'add' or 'multiply', got {reduce!r}")
    d = _check_scatter("scatter", input, dim, index, src)
    x, idx, s = _as_1d(input, index, src)
    if reduce is not None:
        if not isinstance(s, Tensor):
            s = Tensor(x.xp.full(idx.shape, s, dtype=x.dtype))
        out = ScatterReduce.apply(x, idx, s, dim=d, reduce="sum" if reduce == "add" else "prod", include_self=True)
    else:
        out = Scatter.apply(x, idx, s, dim=d)
    return out.reshape(()) if input.ndim == 0 else out


def scatter_add(
    input: Tensor,
    dim: int | None = None,
    index: Tensor | None = None,
    src: Tensor | None = None,
    *,
    axis: int | None = None,
) -> Tensor:
    """A copy of ``input`` with ``src[i][j]`` added at ``[index[i][j]][j]`` (dim 0); repeated indices add up."""
    if autocast_state.enabled:
        input, src = autocast_args("scatter_add", input, src)
    dim = _dim("scatter_add", dim, axis)
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: argument 'src' must be a Tensor, not {type(src).__name__}")
    d = _check_scatter("scatter_add", input, dim, index, src)
    out = ScatterAdd.apply(*_as_1d(input, index, src), dim=d)
    return out.reshape(()) if input.ndim == 0 else out


def scatter_reduce(
    input: Tensor,
    dim: int | None = None,
    index: Tensor | None = None,
    src: Tensor | None = None,
    reduce: str | None = None,
    *,
    include_self: bool = True,
    axis: int | None = None,
) -> Tensor:
    """A copy of ``input`` where each position that ``index`` names along ``dim`` becomes the
    reduction (``"sum" "prod" "mean" "amax" "amin"``) of the src values sent there, and of its own
    value when ``include_self``. Positions no index names keep their value."""
    dim = _dim("scatter_reduce", dim, axis)
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce: argument 'src' must be a Tensor, not {type(src).__name__}")
    reduce = {"max": "amax", "min": "amin"}.get(reduce, reduce)  # PyTorch takes these too
    if reduce not in ("sum", "prod", "mean", "amax", "amin"):
        raise RuntimeError(
            f"scatter_reduce: reduce argument must be one of 'sum', 'prod', 'mean', 'amax', 'amin', got {reduce!r}"
        )
    d = _check_scatter("scatter_reduce", input, dim, index, src)
    x, idx, s = _as_1d(input, index, src)
    out = ScatterReduce.apply(x, idx, s, dim=d, reduce=reduce, include_self=bool(include_self))
    return out.reshape(()) if input.ndim == 0 else out


# --------------------------------------------------------------------------- index family
def _along(dim: int, index: Any) -> tuple[Any, ...]:
    """The index tuple that picks ``index`` along ``dim`` and all of every dim before it."""
    return (slice(None),) * dim + (index,)


class IndexSelect(Function):
    """z = x[..., index, ...] (whole slices along dim, repeats allowed);
    dL/dx = zeros with g added back at the picked slices (repeats add up)"""

    @staticmethod
    def forward(ctx: Context, x: Any, index: Any, dim: int) -> Any:
        ctx.shape, ctx.dim, ctx.index = x.shape, dim, index
        return ctx.xp.take(x, index, axis=dim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None]:
        g = ctx.xp.zeros(ctx.shape, dtype=grad.dtype)
        backend.scatter_add(g, _along(ctx.dim, ctx.index), grad)
        return g, None


class IndexAdd(Function):
    """z = x, then z[..., index[k], ...] += alpha · source[..., k, ...] along dim (repeats add up);
    dL/dx = g;  dL/dsource = alpha · g[..., index, ...]"""

    @staticmethod
    def forward(ctx: Context, x: Any, index: Any, source: Any, dim: int, alpha: Any) -> Any:
        out = x.copy()
        backend.scatter_add(out, _along(dim, index), source if alpha == 1 else source * alpha)
        ctx.dim, ctx.index, ctx.alpha = dim, index, alpha
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None, Any]:
        gs = ctx.xp.take(grad, ctx.index, axis=ctx.dim) if ctx.needs_input_grad[2] else None
        return grad, None, None if gs is None else (gs if ctx.alpha == 1 else gs * ctx.alpha)


class IndexCopy(Function):
    """z = x, then z[..., index[k], ...] = source[..., k, ...] along dim;
    dL/dx = g with 0 at the overwritten slices;  dL/dsource = g[..., index, ...]"""

    @staticmethod
    def forward(ctx: Context, x: Any, index: Any, source: Any, dim: int) -> Any:
        out = x.copy()
        out[_along(dim, index)] = source
        ctx.dim, ctx.index = dim, index
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None, Any]:
        gx = grad.copy()
        gx[_along(ctx.dim, ctx.index)] = 0
        return gx, None, ctx.xp.take(grad, ctx.index, axis=ctx.dim)


class IndexFill(Function):
    """z = x, then z[..., index, ...] = v along dim (v a number or a 0-d tensor);
    dL/dx = g with 0 at the filled slices;  dL/dv = Σ g over the filled positions (each once)"""

    @staticmethod
    def forward(ctx: Context, x: Any, index: Any, value: Any, dim: int) -> Any:
        out = x.copy()
        filled = ctx.xp.zeros(x.shape, dtype=bool)
        filled[_along(dim, index)] = True
        out[filled] = value
        ctx.filled = filled
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None, Any]:
        gv = (grad * ctx.filled).sum() if ctx.needs_input_grad[2] else None
        return grad * ~ctx.filled, None, gv


def _check_vector_index(
    op: str, index: Any, allowed: tuple[np.dtype, ...], dtype_error: type, ndim_error: type
) -> None:
    _int_index(op, index, allowed, dtype_error)
    if index.ndim > 1:
        raise ndim_error(f"{op}: index is supposed to be a vector (0-d or 1-d), got shape {index.shape}")


def _check_source(op: str, input: Tensor, d: int, index: Tensor, source: Any, count_error: type) -> None:
    if not isinstance(source, Tensor):
        raise TypeError(f"{op}: argument 'source' must be a Tensor, not {type(source).__name__}")
    x_shape, s_shape = input.shape or (1,), source.shape or (1,)
    if input.ndim != source.ndim or any(
        a != b for k, (a, b) in enumerate(zip(x_shape, s_shape, strict=True)) if k != d
    ):
        raise RuntimeError(f"{op}: source shape {source.shape} must match self shape {input.shape} except in dim {d}")
    if s_shape[d] != index.numel():
        raise count_error(
            f"{op}: number of indices ({index.numel()}) should be equal to source.size(dim) ({s_shape[d]}), for dim {d}"
        )


def index_select(
    input: Tensor,
    dim: int | None = None,
    index: Tensor | None = None,
    *,
    axis: int | None = None,
) -> Tensor:
    """The slices of ``input`` along ``dim`` at the positions in the vector ``index`` (repeats allowed)."""
    d = normalize_dim("index_select", _dim("index_select", dim, axis), input.ndim)
    _check_vector_index("index_select", index, (dtypes.int32, dtypes.int64), RuntimeError, IndexError)
    if input.ndim == 0:
        if index.numel() != 1:
            raise RuntimeError(f"index_select: index to a 0-d tensor can have only 1 value, got {index.numel()}")
        _bounds("index_select", index, 1, d, IndexError)
        return IndexSelect.apply(input.reshape(1), index.reshape(1), dim=0).reshape(())
    # PyTorch's CPU kernel for dim 1 raises RuntimeError ("INDICES element is out of DATA bounds"), the others
    # IndexError ("index out of range in self")
    _bounds("index_select", index, input.shape[d], d, RuntimeError if d == 1 else IndexError)
    return IndexSelect.apply(input, index.reshape(-1), dim=d)


def index_add(
    input: Tensor,
    dim: int | None = None,
    index: Tensor | None = None,
    source: Tensor | None = None,
    *,
    alpha: Any = 1,
    axis: int | None = None,
) -> Tensor:
    """A copy of ``input`` with ``alpha * source[..., k, ...]`` added to the slice ``index[k]`` along
    ``dim``; repeated indices add up."""
    d = normalize_dim("index_add", _dim("index_add", dim, axis), input.ndim)
    if not isinstance(alpha, int | float | np.number):
        raise TypeError(f"index_add: argument 'alpha' must be a Number, not {type(alpha).__name__} ({alpha!r})")
    _check_vector_index("index_add", index, (dtypes.int32, dtypes.int64), RuntimeError, IndexError)
    _check_source("index_add", input, d, index, source, RuntimeError)
    _same_dtype("index_add", input, source, "source")
    _bounds("index_add", index, (input.shape or (1,))[d], d, RuntimeError, negative=IndexError)
    if not dtypes.is_floating(input.dtype) and isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
        alpha = int(alpha)  # PyTorch truncates alpha for integer tensors
    x, s = _as_1d(input, source)
    out = IndexAdd.apply(x, index.reshape(-1), s, dim=d, alpha=alpha)
    return out.reshape(()) if input.ndim == 0 else out


def index_copy(
    input: Tensor,
    dim: int | None = None,
    index: Tensor | None = None,
    source: Tensor | None = None,
    *,
    axis: int | None = None,
) -> Tensor:
    """A copy of ``input`` whose slice ``index[k]`` along ``dim`` is ``source[..., k, ...]``."""
    if autocast_state.enabled:
        input, source = autocast_args("index_copy", input, source)
    d = normalize_dim("index_copy", _dim("index_copy", dim, axis), input.ndim)
    _check_vector_index("index_copy", index, (dtypes.int64,), RuntimeError, IndexError)
    _check_source("index_copy", input, d, index, source, IndexError)
    _same_dtype("index_copy", input, source, "source")
    _bounds("index_copy", index, (input.shape or (1,))[d], d, IndexError)
    x, s = _as_1d(input, source)
    out = IndexCopy.apply(x, index.reshape(-1), s, dim=d)
    return out.reshape(()) if input.ndim == 0 else out


def index_fill(
    input: Tensor,
    dim: int | None = None,
    index: Tensor | None = None,
    value: Any = None,
    *,
    axis: int | None = None,
) -> Tensor:
    """A copy of ``input`` whose slices at ``index`` along ``dim`` hold ``value`` (a number or a 0-d
    tensor); negative indices count from the end, as in PyTorch."""
    d = normalize_dim("index_fill", _dim("index_fill", dim, axis), input.ndim)
    _check_vector_index("index_fill", index, (dtypes.int64,), IndexError, RuntimeError)
    if isinstance(value, Tensor) and value.ndim != 0:
        raise RuntimeError(f"index_fill: only supports a 0-dimensional value tensor, got shape {value.shape}")
    if not isinstance(value, Tensor | numbers.Number):
        raise TypeError(f"index_fill: value must be a number or a 0-d Tensor, got {type(value).__name__}")
    n = (input.shape or (1,))[d]
    if index.numel():
        lo, hi = int(index.array.min()), int(index.array.max())
        if lo < -n or hi >= n:
            bad = lo if lo < -n else hi
            raise IndexError(f"index_fill: index {bad} is out of bounds for dimension {d} with size {n}")
    if isinstance(value, Tensor) and value.dtype != input.dtype:
        value = value.to(input.dtype)
    (x,) = _as_1d(input)
    out = IndexFill.apply(x, Tensor(index.array.reshape(-1) % max(n, 1)), value, dim=d)
    return out.reshape(()) if input.ndim == 0 else out


# ---------------------------------------------------------------------------- mask family
class MaskedSelect(Function):
    """z = the entries of x (broadcast with mask) where mask holds, as a vector in row-major order;
    dL/dx = zeros with g put back at those entries (then summed back over broadcast dims)"""

    @staticmethod
    def forward(ctx: Context, x: Any, mask: Any) -> Any:
        shape = np.broadcast_shapes(x.shape, mask.shape)
        ctx.mask = ctx.xp.broadcast_to(mask, shape)
        return ctx.xp.broadcast_to(x, shape)[ctx.mask]

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None]:
        g = ctx.xp.zeros(ctx.mask.shape, dtype=grad.dtype)
        g[ctx.mask] = grad
        return g, None


class MaskedScatter(Function):
    """z = x (broadcast with mask), then the k positions where mask holds take source's first k
    entries in row-major order;  dL/dx = g where mask is False, else 0;
    dL/dsource = g at the mask's positions for the first k entries of source, 0 for the rest"""

    @staticmethod
    def forward(ctx: Context, x: Any, mask: Any, source: Any) -> Any:
        xp = ctx.xp
        shape = np.broadcast_shapes(x.shape, mask.shape)
        m = xp.broadcast_to(mask, shape)
        out = xp.broadcast_to(x, shape).copy()
        k = int(m.sum())
        out[m] = source.reshape(-1)[:k]
        ctx.mask, ctx.k, ctx.source_shape = m, k, source.shape
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None, Any]:
        xp = ctx.xp
        gs = None
        if ctx.needs_input_grad[2]:
            gs = xp.zeros(int(np.prod(ctx.source_shape)), dtype=grad.dtype)
            gs[: ctx.k] = grad[ctx.mask]
            gs = gs.reshape(ctx.source_shape)
        return xp.where(ctx.mask, 0, grad), None, gs


class Nonzero(Function):
    """The (n, ndim) int64 coordinates of the n nonzero entries, in row-major order; not differentiable."""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = ctx.xp
        if x.ndim == 0:
            return xp.zeros((1 if bool(x) else 0, 0), dtype=np.int64)
        return xp.argwhere(x).astype(np.int64, copy=False)


def _check_mask(op: str, mask: Any, what: str) -> None:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: argument 'mask' must be a Tensor, not {type(mask).__name__}")
    if mask.dtype != dtypes.bool_:
        raise RuntimeError(f"{op}: {what}, got mask with dtype {mask.dtype}")


def _broadcast_shape(op: str, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        raise RuntimeError(f"{op}: shapes {a} and {b} are not broadcastable") from None


def masked_select(input: Tensor, mask: Tensor) -> Tensor:
    """The entries of ``input`` where the bool ``mask`` holds (the two broadcast), as a 1-D tensor."""
    _check_mask("masked_select", mask, "expected a bool tensor for mask")
    _broadcast_shape("masked_select", input.shape, mask.shape)
    return MaskedSelect.apply(input, mask)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """A copy of ``input`` (broadcast with ``mask``) whose entries where ``mask`` holds are taken, in
    row-major order, from the start of ``source`` (which needs at least that many entries)."""
    _check_mask("masked_scatter", mask, "only supports boolean masks")
    if not isinstance(source, Tensor):
        raise TypeError(f"masked_scatter: argument 'source' must be a Tensor, not {type(source).__name__}")
    _same_dtype("masked_scatter", input, source, "source")
    shape = _broadcast_shape("masked_scatter", input.shape, mask.shape)
    k = int(mask.xp.broadcast_to(mask.array, shape).sum())
    if source.numel() < k:
        raise RuntimeError(
            f"masked_scatter: number of elements of source ({source.numel()}) < number of ones in mask ({k})"
        )
    return MaskedScatter.apply(input, mask, source)


def nonzero(input: Tensor, *, as_tuple: bool = False) -> Any:
    """Coordinates of the nonzero entries: an int64 tensor of shape (n, ndim), or with
    ``as_tuple=True`` one 1-D int64 tensor per dim (one of length n for a 0-d input)."""
    if not isinstance(as_tuple, bool | np.bool_):
        raise TypeError(f"nonzero: argument 'as_tuple' must be bool, not {type(as_tuple).__name__} ({as_tuple!r})")
    coords = Nonzero.apply(input)
    if not as_tuple:
        return coords
    if input.ndim == 0:
        return (Tensor(coords.xp.zeros(coords.shape[0], dtype=np.int64)),)
    return tuple(Tensor(coords.array[:, i].copy()) for i in range(input.ndim))
