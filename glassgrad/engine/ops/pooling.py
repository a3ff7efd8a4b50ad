"""Pooling: max pooling (the gradient goes to each window's arg-max), average and
adaptive average pooling, in 2-D and (through a height-1 image) 1-D.

Max pooling is two steps: a kernel finds each window's arg-max (kernel op
``max_pool2d_argmax``), then the output gathers the input there, so with g = dL/dz

    z[n, c, oh, ow] = x[n, c, argmax]       dL/dx[n, c, h, w] = Σ_{windows won by (h, w)} g

Average pooling is linear and separable: each output is a weighted sum over a
band of rows times a band of columns, so with an (H_out, H) matrix A and a
(W_out, W) matrix B holding the window weights

    z = A · x · Bᵀ   (per plane)          dL/dx = Aᵀ · g · B

Plain averaging puts 1/k in each row's window (the divisor factorises over the
two dims, padded or not); adaptive averaging uses windows [⌊iH/H_out⌋, ⌈(i+1)H/H_out⌉).

A recorded backward (``create_graph``) differentiates each op's ``decomposition``: max pooling
as a gather at the same arg-max positions, the separable pools as two matmuls.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ... import kernels
from ...kernels.pooling import geometry
from ..function import Context, Function
from ..tensor import Tensor
from .checks import named
from .indexing import take_along_dim
from .operands import float_operands, int_tuple
from .shape import squeeze, unsqueeze


def _sized(fn: Callable[..., Any], op: str, *args: Any, **kwargs: Any) -> Any:
    """``fn(op, ...)`` of kernels/pooling/geometry.py, its size errors raised as PyTorch's RuntimeError
    (they name ``op``)."""
    try:
        return fn(op, *args, **kwargs)
    except ValueError as err:
        raise RuntimeError(str(err)) from None


def pool2d_output_shape(op: str, *args: Any, **kwargs: Any) -> tuple[int, int, int, int]:
    """The kernels' output shape (``geometry.pool2d_output_shape``)."""
    return _sized(geometry.pool2d_output_shape, op, *args, **kwargs)


def pool_output_size(op: str, *args: Any) -> int:
    """One dim's output size (``geometry.pool_output_size``)."""
    return _sized(geometry.pool_output_size, op, *args)


class MaxPool2d(Function):
    """z = x at each window's arg-max;  dL/dx = g added onto the arg-max (summed where windows share one), 0 elsewhere"""

    @staticmethod
    def forward(ctx: Context, x: Any, indices: Any) -> Any:
        ctx.save_for_backward(indices)
        ctx.input_shape = x.shape
        n, c, h, w = x.shape
        plane_starts = ctx.xp.arange(0, n * c * h * w, h * w).reshape(n, c, 1, 1)
        return ctx.xp.take(ctx.xp.ascontiguousarray(x).reshape(-1), indices + plane_starts)  # 3× take_along_axis

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, None]:
        (indices,) = ctx.saved_arrays
        return kernels.run("max_pool2d_grad", grad, indices, ctx.input_shape), None

    @staticmethod
    def decomposition(x: Tensor, indices: Any) -> Tensor:
        """x gathered at the kernel's arg-max positions (take_along_dim over each flattened plane)."""
        n, c, h, w = x.shape
        where = Tensor(x.xp.asarray(indices).reshape(n, c, -1))
        return take_along_dim(x.reshape(n, c, h * w), where, 2).reshape(indices.shape)


class SeparablePool2d(Function):
    """z = A · x · Bᵀ per (H, W) plane;  dL/dx = Aᵀ · g · B"""

    @staticmethod
    def forward(ctx: Context, x: Any, *, rows: Any, cols: Any) -> Any:
        ctx.rows, ctx.cols = rows, cols
        return (rows @ x @ cols.T).astype(x.dtype, copy=False)  # NumPy's bfloat16 @ gives float32

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        return ctx.rows.T @ grad @ ctx.cols

    @staticmethod
    def decomposition(x: Tensor, *, rows: Any, cols: Any) -> Tensor:
        """A · x · Bᵀ as two matmuls with the constant window weights."""
        return Tensor(rows) @ x @ Tensor(cols).T


def _batched(op: str, input: Tensor, dims: int, pool: Callable[[Tensor], Any]) -> Any:
    """Run ``pool`` on an (N, C, ...) input, adding and removing the batch dim of an unbatched one."""
    (input,) = float_operands(op, input)
    if input.ndim not in (dims + 1, dims + 2):
        raise RuntimeError(f"{op}: expected a {dims + 1}-D (unbatched) or {dims + 2}-D input, got shape {input.shape}")
    if input.ndim == dims + 2:
        return pool(input)
    out = pool(unsqueeze(input, 0))
    return tuple(squeeze(t, 0) for t in out) if isinstance(out, tuple) else squeeze(out, 0)


def max_pool2d(
    input: Tensor,  # PyTorch's name
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    dilation: int | tuple[int, int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """Max over each kernel_size window of an (N, C, H, W) or (C, H, W) input (padding counts as −∞);
    ``return_indices`` also gives each maximum's flat h·W + w position (int64)."""
    op = "max_pool2d"
    kernel = int_tuple(op, "kernel_size", kernel_size, 2, 1)
    options = {
        "kernel_size": kernel,
        "stride": kernel if stride is None else int_tuple(op, "stride", stride, 2, 1),
        "padding": int_tuple(op, "padding", padding, 2, 0),
        "dilation": int_tuple(op, "dilation", dilation, 2, 1),
        "ceil_mode": bool(ceil_mode),
    }

    def pool(x: Tensor) -> Any:
        pool2d_output_shape(op, x.shape, **options)  # errors before any work
        indices = kernels.run("max_pool2d_argmax", x.array, **options)
        y = MaxPool2d.apply(x, indices)
        return (y, Tensor(indices)) if return_indices else y

    return _batched(op, input, 2, pool)


def avg_pool2d(
    input: Tensor,  # PyTorch's name
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] | None = None,
    padding: int | tuple[int, int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each kernel_size window of an (N, C, H, W) or (C, H, W) input; zeros of the
    padding count in the divisor when ``count_include_pad`` (or the divisor is ``divisor_override``)."""
    op = "avg_pool2d"
    kernel = int_tuple(op, "kernel_size", kernel_size, 2, 1)
    step = kernel if stride is None else int_tuple(op, "stride", stride, 2, 1)
    pads = int_tuple(op, "padding", padding, 2, 0)
    if divisor_override is not None and (not isinstance(divisor_override, int) or divisor_override < 1):
        raise RuntimeError(f"{op}: divisor_override must be a positive int, got {divisor_override!r}")

    def pool(x: Tensor) -> Tensor:
        rows, cols = (
            _sized(geometry.average_weights, op, n, k, s, p, ceil_mode, count_include_pad)
            for n, k, s, p in zip(x.shape[2:], kernel, step, pads, strict=True)
        )
        if divisor_override is not None:
            rows, cols = (rows > 0) / divisor_override, (cols > 0) * 1.0
        return SeparablePool2d.apply(x, rows=x.xp.asarray(rows, dtype=x.dtype), cols=x.xp.asarray(cols, dtype=x.dtype))

    return _batched(op, input, 2, pool)


def _adaptive_weights(size: int, out: int) -> np.ndarray:
    """(out, size): row i averages pixels ⌊i·size/out⌋ … ⌈(i+1)·size/out⌉ − 1."""
    weights = np.zeros((out, size))
    for i in range(out):
        start, end = (i * size) // out, math.ceil((i + 1) * size / out)
        weights[i, start:end] = 1 / (end - start)
    return weights


def adaptive_avg_pool2d(input: Tensor, output_size: int | tuple[int | None, int | None]) -> Tensor:
    """Average pooling to a fixed (H_out, W_out) (None keeps that dim), windows chosen as PyTorch does."""
    op = "adaptive_avg_pool2d"
    sizes = (output_size, output_size) if isinstance(output_size, int) or output_size is None else tuple(output_size)
    if len(sizes) != 2 or not all(s is None or (isinstance(s, int) and s >= 1) for s in sizes):
        raise RuntimeError(f"{op}: output_size must be an int ≥ 1 or a pair of ints ≥ 1 / None, got {output_size!r}")

    def pool(x: Tensor) -> Tensor:
        if 0 in x.shape[2:]:
            raise RuntimeError(f"{op}: input of shape {x.shape} has an empty spatial dim")
        rows, cols = (_adaptive_weights(n, n if s is None else s) for n, s in zip(x.shape[2:], sizes, strict=True))
        return SeparablePool2d.apply(x, rows=x.xp.asarray(rows, dtype=x.dtype), cols=x.xp.asarray(cols, dtype=x.dtype))

    return _batched(op, input, 2, pool)


def _check_1d(op: str, input: Any) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (2, 3):
        raise RuntimeError(f"{op}: expected a 2-D (unbatched) or 3-D input, got shape {input.shape}")


def max_pool1d(
    input: Tensor,  # PyTorch's name
    kernel_size: int | tuple[int],
    stride: int | tuple[int] | None = None,
    padding: int | tuple[int] = 0,
    dilation: int | tuple[int] = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor | tuple[Tensor, Tensor]:
    """max_pool2d over an (N, C, L) or (C, L) input seen as a height-1 image."""
    op = "max_pool1d"
    _check_1d(op, input)
    k, p = int_tuple(op, "kernel_size", kernel_size, 1, 1), int_tuple(op, "padding", padding, 1, 0)
    d = int_tuple(op, "dilation", dilation, 1, 1)
    s = None if stride is None else (1, *int_tuple(op, "stride", stride, 1, 1))
    with named(op, "max_pool2d", "avg_pool2d"):
        out = max_pool2d(unsqueeze(input, -2), (1, *k), s, (0, *p), (1, *d), ceil_mode, return_indices)
    return tuple(squeeze(t, -2) for t in out) if return_indices else squeeze(out, -2)


def avg_pool1d(
    input: Tensor,  # PyTorch's name
    kernel_size: int | tuple[int],
    stride: int | tuple[int] | None = None,
    padding: int | tuple[int] = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> Tensor:
    """avg_pool2d over an (N, C, L) or (C, L) input seen as a height-1 image."""
    op = "avg_pool1d"
    _check_1d(op, input)
    k, p = int_tuple(op, "kernel_size", kernel_size, 1, 1), int_tuple(op, "padding", padding, 1, 0)
    s = None if stride is None else (1, *int_tuple(op, "stride", stride, 1, 1))
    with named(op, "max_pool2d", "avg_pool2d"):
        out = avg_pool2d(unsqueeze(input, -2), (1, *k), s, (0, *p), ceil_mode, count_include_pad)
    return squeeze(out, -2)
