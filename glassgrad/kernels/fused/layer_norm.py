"""Launchers of the fused layer norm kernels (layer_norm.cu), registered as the cuda defaults.

Normalises over the last dim. ``weight``/``bias`` of None mean γ = 1, β = 0
(the kernels always read a γ and a β; these small vectors are made here).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..cuda.compile import ceil_div
from ..registry import register
from .launch import PARAM_COLS, PARAM_ROWS, as_rows, fused_kernel, row_launch

F32 = ("float32",)
ROWS_PER_CHUNK = 256  # rows summed by one block of the dγ/dβ kernel (more if the grid's y would pass its limit)
MAX_GRID_Y = 65535


def _vector(value: Any, cols: int, fill: float) -> Any:
    import cupy

    if value is None:
        return cupy.full(cols, fill, dtype=cupy.float32)
    if value.shape != (cols,):
        raise ValueError(f"layer_norm(cuda, fused): weight/bias must have shape ({cols},), got {value.shape}")
    return cupy.ascontiguousarray(value, dtype=cupy.float32)


@register("layer_norm", "cuda", "fused", "one read of x, one write of y (+ mean, rstd per row)", F32, default=True)
def layer_norm(x: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> tuple[Any, Any, Any]:
    import cupy

    rows = as_rows(x)
    n, cols = rows.shape
    y = cupy.empty_like(rows)
    mean = cupy.empty(n, dtype=cupy.float32)
    rstd = cupy.empty(n, dtype=cupy.float32)
    if rows.size:
        w, b = _vector(weight, cols, 1.0), _vector(bias, cols, 0.0)
        grid, block = row_launch(n, cols)
        args = (rows, w, b, y, mean, rstd, np.int64(n), np.int32(cols), np.float32(eps))
        fused_kernel("layer_norm.cu", "layer_norm_forward")(grid, block, args)
    return y.reshape(x.shape), mean.reshape(x.shape[:-1]), rstd.reshape(x.shape[:-1])


@register(
    "layer_norm_backward",
    "cuda",
    "fused",
    "dx by rows (one paired reduction); dγ, dβ by column chunks",
    F32,
    default=True,
)
def layer_norm_backward(grad: Any, x: Any, mean: Any, rstd: Any, weight: Any = None) -> tuple[Any, Any, Any]:
    import cupy

    g_rows, x_rows = as_rows(grad), as_rows(x)
    n, cols = x_rows.shape
    mean_rows = cupy.ascontiguousarray(mean, dtype=cupy.float32).reshape(-1)
    rstd_rows = cupy.ascontiguousarray(rstd, dtype=cupy.float32).reshape(-1)
    dx = cupy.empty_like(x_rows)
    if n == 0 or cols == 0:
        return dx.reshape(x.shape), cupy.zeros(cols, cupy.float32), cupy.zeros(cols, cupy.float32)
    w = _vector(weight, cols, 1.0)
    grid, block = row_launch(n, cols)
    args = (g_rows, x_rows, mean_rows, rstd_rows, w, dx, np.int64(n), np.int32(cols))
    fused_kernel("layer_norm.cu", "layer_norm_backward_input")(grid, block, args)

    rows_per_chunk = max(ROWS_PER_CHUNK, ceil_div(n, MAX_GRID_Y))
    chunks = ceil_div(n, rows_per_chunk)
    dw_partial = cupy.empty((chunks, cols), dtype=cupy.float32)
    db_partial = cupy.empty((chunks, cols), dtype=cupy.float32)
    args = (g_rows, x_rows, mean_rows, rstd_rows, dw_partial, db_partial, np.int64(n), np.int32(cols))
    fused_kernel("layer_norm.cu", "layer_norm_backward_params")(
        (ceil_div(cols, PARAM_COLS), chunks), (PARAM_COLS, PARAM_ROWS), (*args, np.int64(rows_per_chunk))
    )
    return dx.reshape(x.shape), dw_partial.sum(axis=0), db_partial.sum(axis=0)
