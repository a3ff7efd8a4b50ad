"""Sorting and selection along a dim: sort, argsort, topk, kthvalue, median.

Each op first finds *indices* with a stable sort (``SortIndices``, not
differentiable), then takes the values at those indices with
``take_along_dim``, whose backward scatters ``g`` back to the chosen
positions: for ``z_i = x_{p(i)}``, ``dL/dx_j = Σ_{i: p(i)=j} g_i`` (for sort,
p is a permutation, so each x_j gets exactly one g_i). The exception is
``median()`` over all elements, whose gradient PyTorch spreads evenly over
the tied elements (``Median``).

Order: NaN sorts as the largest value (after +inf), as in PyTorch. The sort is
always stable, so ties keep their original order; PyTorch guarantees that only
for ``stable=True`` (its unstable CPU sort, topk and kthvalue may pick another
of the tied indices; the values agree).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .cumulative import along_vector, dim_arg
from .operands import as_int
from .reductions import ValuesIndices


def _reversed_order(xp: Any, x: Any) -> Any:
    """A key whose ascending order is x's descending order (ties stay ties, nothing overflows)."""
    if dtypes.is_floating(x.dtype):
        return -x  # NaN stays NaN (moved to the front afterwards)
    return ~x  # integers: ~x = -x - 1 reverses the order without overflow; bool: not


class SortIndices(Function):
    """The permutation p that sorts x along ``dim``: x[p] is ascending (or descending).

    Not differentiable itself (the values are x taken at p). Stable; NaN is the largest
    value, so it comes last ascending and first descending, NaNs in their original order.
    """

    differentiable = False

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int, descending: bool) -> Any:
        xp = ctx.xp
        if not descending:
            return xp.argsort(x, axis=dim, kind="stable")  # NumPy's order already puts NaN last
        index = xp.argsort(_reversed_order(xp, x), axis=dim, kind="stable")
        if dtypes.is_floating(x.dtype):  # a second stable pass moves the NaNs (last after negation) to the front
            not_nan = (~xp.isnan(xp.take_along_axis(x, index, axis=dim))).astype(np.int8)
            index = xp.take_along_axis(index, xp.argsort(not_nan, axis=dim, kind="stable"), axis=dim)
        return index


class MedianIndex(Function):
    """Index (along ``dim``, kept as size 1) of the lower median: the element at sorted
    position (n - 1) // 2, or the first NaN when the slice has one (the median is then NaN,
    as in PyTorch). Not differentiable: the values are x taken there."""

    differentiable = False

    @staticmethod
    def forward(ctx: Context, x: Any, dim: int) -> Any:
        xp = ctx.xp
        n = x.shape[dim]
        order = SortIndices.forward(ctx, x, dim, False)
        position = xp.full(x.shape[:dim] + (1,) + x.shape[dim + 1 :], (n - 1) // 2, dtype=np.int64)
        if dtypes.is_floating(x.dtype):  # NaNs sort last: the first of them sits at n - (number of NaNs)
            nans = xp.isnan(x).sum(axis=dim, keepdims=True)
            position = xp.where(nans > 0, n - nans, position)
        return xp.take_along_axis(order, position, axis=dim)


class Median(Function):
    """z = the lower median of all elements (sorted position (n - 1) // 2; NaN if any is NaN);
    dL/dx = g / k at the k elements equal to z (the NaNs when z is NaN), 0 elsewhere:
    ties share the gradient evenly, as in PyTorch's median()."""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        xp = ctx.xp
        flat = x.reshape(-1)
        if flat.size == 0:
            z = xp.asarray(np.nan, dtype=x.dtype)
        elif dtypes.is_floating(x.dtype) and bool(xp.isnan(flat).any()):
            z = xp.asarray(np.nan, dtype=x.dtype)
        else:
            z = xp.sort(flat)[(flat.size - 1) // 2]
        if dtypes.is_floating(x.dtype):
            ctx.save_for_backward(xp.isnan(x) if bool(xp.isnan(z)) else x == z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (hit,) = ctx.saved_arrays
        return grad * hit / max(int(hit.sum()), 1)


# ---------------------------------------------------------------------------------------- wrappers


def _take(input: Tensor, index: Tensor, dim: int) -> Tensor:
    from .indexing import take_along_dim

    return take_along_dim(input, index, dim)


def _check_bools(op: str, **flags: Any) -> None:
    """PyTorch's TypeError for a flag that is not a bool (None allowed: sort's stable=None)."""
    for name, value in flags.items():
        if value is not None and not isinstance(value, bool | np.bool_):
            raise TypeError(f"{op}: argument '{name}' must be bool, not {type(value).__name__} ({value!r})")


def sort(
    input: Tensor,
    dim: int = -1,
    descending: bool = False,
    *,
    stable: bool | None = False,
    axis: int | None = None,
) -> ValuesIndices:
    """(values, indices) with values = x sorted along ``dim``: z_i = x_{p(i)};
    dL/dx_{p(i)} = g_i (the gradient scattered back through the permutation).

    Always stable (``stable`` is accepted for PyTorch's signature); NaN sorts as the largest."""
    d = dim_arg("sort", dim, input.ndim, axis, default=-1)
    _check_bools("sort", descending=descending, stable=stable)

    def run(x: Tensor) -> ValuesIndices:
        index = SortIndices.apply(x, dim=d, descending=bool(descending))
        return ValuesIndices(_take(x, index, d), index)

    return along_vector(input, run)


def argsort(
    input: Tensor,
    dim: int = -1,
    descending: bool = False,
    *,
    stable: bool = False,
    axis: int | None = None,
) -> Tensor:
    """The indices ``sort`` returns (int64, no gradient); stable, NaN as the largest."""
    d = dim_arg("argsort", dim, input.ndim, axis, default=-1)
    _check_bools("argsort", descending=descending, stable=stable)
    return along_vector(input, lambda x: SortIndices.apply(x, dim=d, descending=bool(descending)))


def topk(
    input: Tensor,
    k: int,
    dim: int = -1,
    largest: bool = True,
    sorted: bool = True,
    *,
    axis: int | None = None,
) -> ValuesIndices:
    """(values, indices) of the k largest (``largest=False``: smallest) along ``dim``,
    in sorted order: z_i = x_{p(i)} for the first k of the sort;  dL/dx_{p(i)} = g_i,
    0 at the elements not chosen. NaN counts as the largest; ties: the earliest index first.
    ``sorted=False`` (order unspecified in PyTorch) gives the sorted order too."""
    k = as_int("topk", "k", k)
    if input.dtype == np.bool_:
        raise RuntimeError("topk: bool tensors are not supported (as in PyTorch on the cpu); cast to an integer dtype")
    d = dim_arg("topk", dim, input.ndim, axis, default=-1)
    n = input.shape[d] if input.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: selected index k={k} out of range for dim {dim} of size {n} (shape {input.shape})")
    if input.ndim == 0:  # PyTorch gives the 0-d value back for k = 0 and k = 1
        return along_vector(input, lambda x: topk(x, 1, 0, largest, sorted))

    index = SortIndices.apply(input, dim=d, descending=bool(largest))
    index = index[(slice(None),) * d + (slice(0, k),)]
    return ValuesIndices(_take(input, index, d), index)


def _reduced(input: Tensor, d: int, keepdim: bool, index: Tensor) -> ValuesIndices:
    """Values at ``index`` (size 1 along d) with d kept or dropped."""
    values = _take(input, index, d)
    if not keepdim:
        values, index = values.squeeze(d), index.squeeze(d)
    return ValuesIndices(values, index)


def _nonempty(op: str, input: Tensor, d: int) -> None:
    if input.ndim and input.shape[d] == 0:
        raise IndexError(f"{op}(): expected reduction dim {d} to have non-zero size, got shape {input.shape}")


def kthvalue(
    input: Tensor,
    k: int,
    dim: int = -1,
    keepdim: bool = False,
    *,
    axis: int | None = None,
) -> ValuesIndices:
    """(values, indices) of the k-th smallest element (k from 1) along ``dim``:
    z = x_{p(k-1)} of the ascending sort;  dL/dx_{p(k-1)} = g, 0 elsewhere.
    NaN counts as the largest; ties: the k-th in the stable order."""
    k = as_int("kthvalue", "k", k)
    if input.dtype == np.bool_:
        raise NotImplementedError(
            "kthvalue: not implemented for bool tensors (as in PyTorch); cast to an integer dtype"
        )
    d = dim_arg("kthvalue", dim, input.ndim, axis, default=-1)
    _nonempty("kthvalue", input, d)
    n = input.shape[d] if input.ndim else 1
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k={k} out of range for dim {d} of size {n}")

    def run(x: Tensor) -> ValuesIndices:
        index = SortIndices.apply(x, dim=d, descending=False)
        return _reduced(x, d, keepdim, index[(slice(None),) * d + (slice(k - 1, k),)])

    return along_vector(input, run)


class _AllElements:
    """``median()``'s default dim: all elements (PyTorch has two overloads; None is a TypeError there)."""

    def __repr__(self) -> str:
        return "<all elements>"


ALL_ELEMENTS = _AllElements()


def median(
    input: Tensor,
    dim: Any = ALL_ELEMENTS,
    keepdim: bool = False,
    *,
    axis: int | None = None,
) -> Any:
    """``median()``: the lower median of all elements as a 0-d tensor (NaN if any element
    is NaN or the input is empty); dL/dx = g / k at the k elements equal to it.
    ``median(dim, keepdim=False)``: (values, indices) of the lower median along ``dim``
    (NaN and the first NaN's index where the slice has a NaN); dL/dx = g at the index.
    ``dim=None`` is a TypeError, as in PyTorch; bool inputs raise NotImplementedError."""
    if input.dtype == np.bool_:
        raise NotImplementedError("median: not implemented for bool tensors (as in PyTorch); cast to an integer dtype")
    if dim is ALL_ELEMENTS and axis is None:
        if keepdim:
            raise TypeError("median(): keepdim=True needs a dim")
        if input.numel() == 0 and not dtypes.is_floating(input.dtype):
            raise RuntimeError(f"median: an empty {input.dtype} tensor has no median (and no NaN to give)")
        return Median.apply(input)
    d = dim_arg("median", dim, input.ndim, axis, default=ALL_ELEMENTS)
    _nonempty("median", input, d)
    return along_vector(input, lambda x: _reduced(x, d, keepdim, MedianIndex.apply(x, dim=d)))
