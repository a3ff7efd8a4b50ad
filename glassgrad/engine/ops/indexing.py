"""Indexing: ``x[index]`` and gather, whose backward scatters the gradient back.

Repeated integer indices pick the same element several times, so the gradient
*adds* at that element (``np.add.at`` / ``cupyx.scatter_add``), never overwrites.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backend
from ..function import Context, Function
from ..tensor import Tensor
from .operands import normalize_dim


def index_arrays(index: Any, device: str) -> Any:
    """Replace Tensors (and lists) inside an index by arrays on ``device``."""
    xp = backend.array_module(device)

    def convert(part: Any) -> Any:
        if isinstance(part, Tensor):
            if part.device != device:
                raise RuntimeError(f"getitem: index on {part.device} for a tensor on {device}")
            return part.array
        if isinstance(part, list):
            return xp.asarray(part)
        return part

    return tuple(convert(p) for p in index) if isinstance(index, tuple) else convert(index)


def _is_basic(index: Any) -> bool:
    """True for ints, slices, None and Ellipsis only (a view, each element picked once)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, int | slice | np.integer) for p in parts)


class GetItem(Function):
    """z = x[index];  dz/dx = zeros with grad added at the indexed places"""

    @staticmethod
    def forward(ctx: Context, x: Any, index: Any) -> Any:
        ctx.shape, ctx.dtype, ctx.index = x.shape, x.dtype, index
        return x[index]

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        g = ctx.xp.zeros(ctx.shape, dtype=grad.dtype)
        if _is_basic(ctx.index):
            g[ctx.index] = grad
        else:
            backend.scatter_add(g, ctx.index, grad)
        return g


def _along_dim_index(xp: Any, index: Any, dim: int) -> tuple[Any, ...]:
    """The full index tuple that picks ``index`` along ``dim`` and keeps every other dim."""
    grids = list(xp.ogrid[tuple(slice(0, n) for n in index.shape)])
    grids[dim] = index
    return tuple(grids)


class TakeAlongDim(Function):
    """z[..., i, ...] = x[..., index[..., i, ...], ...] along dim;  dz/dx = grad scatter-added back"""

    @staticmethod
    def forward(ctx: Context, x: Any, index: Any, dim: int) -> Any:
        ctx.shape, ctx.dim = x.shape, dim
        ctx.save_for_backward(index)
        return ctx.xp.take_along_axis(x, index, axis=dim)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None]:
        (index,) = ctx.saved_arrays
        g = ctx.xp.zeros(ctx.shape, dtype=grad.dtype)
        backend.scatter_add(g, _along_dim_index(ctx.xp, index, ctx.dim), grad)
        return g, None


def getitem(input: Tensor, index: Any) -> Tensor:  # noqa: A002
    """NumPy indexing: ints, slices with steps, None, Ellipsis, bool masks, integer arrays."""
    arrays = index_arrays(index, input.device)
    try:
        return GetItem.apply(input, index=arrays)
    except IndexError as err:
        raise IndexError(f"getitem: index {index!r} is invalid for shape {input.shape}: {err}") from err


def take_along_dim(input: Tensor, indices: Tensor, dim: int) -> Tensor:  # noqa: A002
    """Values of ``input`` at ``indices`` along ``dim`` (shapes broadcast except on dim)."""
    d = normalize_dim("take_along_dim", dim, input.ndim)
    if indices.ndim != input.ndim:
        raise RuntimeError(
            f"take_along_dim: indices shape {indices.shape} and input shape {input.shape} differ in ndim"
        )
    if indices.dtype.kind not in "iu":
        raise RuntimeError(f"take_along_dim: indices must be integers, got {indices.dtype}")
    return TakeAlongDim.apply(input, indices, dim=d)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:  # noqa: A002
    """out[i][j] = input[index[i][j]][j] for dim 0, and so on (PyTorch's gather)."""
    d = normalize_dim("gather", dim, input.ndim)
    for i, (n, m) in enumerate(zip(index.shape, input.shape, strict=False)):
        if i != d and n > m:
            raise RuntimeError(f"gather: index shape {index.shape} is larger than input shape {input.shape} in dim {i}")
    if index.ndim != input.ndim:
        raise RuntimeError(f"gather: index shape {index.shape} and input shape {input.shape} differ in ndim")
    if index.shape != input.shape:
        crop = tuple(slice(0, n) if i != d else slice(None) for i, n in enumerate(index.shape))
        input = input[crop]
    return take_along_dim(input, index, d)
