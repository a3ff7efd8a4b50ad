"""Launchers of the fused softmax / log_softmax kernels (softmax.cu), registered as the cuda defaults.

Each takes a float32 CuPy array of any shape, works on its last dim (``dim``
must name it; the registry gives other dims to the reference), and returns a
new C-contiguous array of the same shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register
from .calls import LAST_DIM, LAST_DIM_SAME_GRAD, last_dim, last_dim_same_grad
from .launch import as_rows, fused_kernel, row_launch

F32 = ("float32",)


def _forward(name: str, x: Any) -> Any:
    import cupy

    rows = as_rows(x)
    y = cupy.empty_like(rows)
    if rows.size:
        grid, block = row_launch(*rows.shape)
        fused_kernel("softmax.cu", name)(grid, block, (rows, y, np.int64(rows.shape[0]), np.int32(rows.shape[1])))
    return y.reshape(x.shape)


def _backward(name: str, y: Any, grad: Any) -> Any:
    import cupy

    if y.shape != grad.shape:
        raise ValueError(f"{name}: y {y.shape} and grad {grad.shape} must have the same shape")
    y_rows, g_rows = as_rows(y), as_rows(grad)
    dx = cupy.empty_like(y_rows)
    if dx.size:
        grid, block = row_launch(*y_rows.shape)
        args = (y_rows, g_rows, dx, np.int64(y_rows.shape[0]), np.int32(y_rows.shape[1]))
        fused_kernel("softmax.cu", name)(grid, block, args)
    return dx.reshape(y.shape)


@register(
    "softmax",
    "cuda",
    "fused",
    "one read, one write: online max/sum per row, warp shuffles",
    F32,
    default=True,
    when=last_dim,
    condition=LAST_DIM,
)
def softmax(x: Any, dim: int = -1) -> Any:
    return _forward("softmax_forward", x)


@register(
    "log_softmax",
    "cuda",
    "fused",
    "one read, one write: online max/sum, x - m - log s",
    F32,
    default=True,
    when=last_dim,
    condition=LAST_DIM,
)
def log_softmax(x: Any, dim: int = -1) -> Any:
    return _forward("log_softmax_forward", x)


@register(
    "softmax_backward",
    "cuda",
    "fused",
    "y * (g - sum(g*y)) with one row reduction",
    F32,
    default=True,
    when=last_dim_same_grad,
    condition=LAST_DIM_SAME_GRAD,
)
def softmax_backward(y: Any, grad: Any, dim: int = -1) -> Any:
    return _backward("softmax_backward", y, grad)


@register(
    "log_softmax_backward",
    "cuda",
    "fused",
    "g - exp(y) * sum(g) with one row reduction",
    F32,
    default=True,
    when=last_dim_same_grad,
    condition=LAST_DIM_SAME_GRAD,
)
def log_softmax_backward(y: Any, grad: Any, dim: int = -1) -> Any:
    return _backward("log_softmax_backward", y, grad)
