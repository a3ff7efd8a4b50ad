"""softmax and log_softmax over the last dim, and their backward, as parallel numba row kernels.

Given g = dL/dy, per row (m = max x, s = Σ e^(x − m)):

    softmax       y = e^(x − m) / s                dL/dx = y ⊙ (g − Σ g ⊙ y)
    log_softmax   y = (x − m) − log s              dL/dx = g − e^y · Σ g

Each block of rows is read once from memory and written once; the second look at a row comes
from cache. The exps of a block go through ``numba_exp.exp_rows`` (a vectorised polynomial for
float32, the library exp for float64). Sums are accumulated in float64.
"""

from __future__ import annotations

import numba
import numpy as np

from ..cpu_parallel import ROWS_MIN_SIZE, parallel_njit
from ..numba_exp import exp_rows
from ..registry import register
from .calls import LAST_DIM, LAST_DIM_SAME_GRAD, last_dim, last_dim_same_grad
from .cpu_rows import as_rows, rows_per_block


@numba.njit(cache=True)
def _row_max(x: np.ndarray, r: int) -> float:  # pragma: no cover - compiled
    """max of row r, nan if the row holds one (as np.max)."""
    m = x[r, 0]
    for c in range(1, x.shape[1]):
        v = x[r, c]
        if v > m or v != v:
            m = v
            if v != v:
                break
    return m


@parallel_njit(min_size=ROWS_MIN_SIZE, cache=True)
def _softmax_rows(x: np.ndarray, y: np.ndarray, per_block: int) -> None:  # pragma: no cover - compiled
    n, cols = x.shape
    for b in numba.prange((n + per_block - 1) // per_block):
        r0, r1 = b * per_block, min(b * per_block + per_block, n)
        shifts = np.empty(r1 - r0, dtype=x.dtype)
        for r in range(r0, r1):
            shifts[r - r0] = _row_max(x, r)
            for c in range(cols):
                y[r, c] = x[r, c]
        exp_rows(y[r0:r1], shifts)
        for r in range(r0, r1):
            s = 0.0
            for c in range(cols):
                s += y[r, c]
            total = y.dtype.type(s)
            for c in range(cols):
                y[r, c] = y[r, c] / total


@parallel_njit(min_size=ROWS_MIN_SIZE, cache=True)
def _log_softmax_rows(x: np.ndarray, y: np.ndarray, per_block: int) -> None:  # pragma: no cover - compiled
    n, cols = x.shape
    for b in numba.prange((n + per_block - 1) // per_block):
        r0, r1 = b * per_block, min(b * per_block + per_block, n)
        shifts = np.empty(r1 - r0, dtype=x.dtype)
        for r in range(r0, r1):
            shifts[r - r0] = _row_max(x, r)
            for c in range(cols):
                y[r, c] = x[r, c]
        exp_rows(y[r0:r1], shifts)  # y holds e^(x − m) until the row's sum is taken
        for r in range(r0, r1):
            s = 0.0
            for c in range(cols):
                s += y[r, c]
            m, log_s = shifts[r - r0], y.dtype.type(np.log(s))
            for c in range(cols):
                y[r, c] = (x[r, c] - m) - log_s


@parallel_njit(min_size=ROWS_MIN_SIZE, cache=True)
def _softmax_backward_rows(y: np.ndarray, g: np.ndarray, dx: np.ndarray) -> None:  # pragma: no cover
    n, cols = y.shape
    for r in numba.prange(n):
        dot = 0.0
        for c in range(cols):
            dot += g[r, c] * y[r, c]
        d = y.dtype.type(dot)
        for c in range(cols):
            dx[r, c] = y[r, c] * (g[r, c] - d)


@parallel_njit(min_size=ROWS_MIN_SIZE, cache=True)
def _log_softmax_backward_rows(
    y: np.ndarray, g: np.ndarray, dx: np.ndarray, per_block: int
) -> None:  # pragma: no cover
    n, cols = y.shape
    for b in numba.prange((n + per_block - 1) // per_block):
        r0, r1 = b * per_block, min(b * per_block + per_block, n)
        for r in range(r0, r1):
            for c in range(cols):
                dx[r, c] = y[r, c]
        exp_rows(dx[r0:r1], np.zeros(r1 - r0, dtype=y.dtype))  # dx holds e^y until it is finished
        for r in range(r0, r1):
            s = 0.0
            for c in range(cols):
                s += g[r, c]
            total = y.dtype.type(s)
            for c in range(cols):
                dx[r, c] = g[r, c] - dx[r, c] * total


def _forward(kernel: object, x: np.ndarray) -> np.ndarray:
    rows = as_rows(x)
    y = np.empty(rows.shape, dtype=x.dtype)
    kernel(rows, y, rows_per_block(rows.shape[1]))
    return y.reshape(x.shape)


@register(
    "softmax",
    "cpu",
    "numba",
    "one read, one write per row: max, exp (vectorised), sum, divide; prange over blocks of rows",
    default=True,
    when=last_dim,
    condition=LAST_DIM,
)
def softmax(x: np.ndarray, dim: int = -1) -> np.ndarray:
    """y = e^(x − m) / Σ e^(x − m) over the last dim, m = max x."""
    return _forward(_softmax_rows, x)


@register(
    "log_softmax",
    "cpu",
    "numba",
    "one read, one write per row: max, exp (vectorised), sum, x - m - log s; prange over blocks of rows",
    default=True,
    when=last_dim,
    condition=LAST_DIM,
)
def log_softmax(x: np.ndarray, dim: int = -1) -> np.ndarray:
    """y = (x − m) − log Σ e^(x − m) over the last dim, m = max x."""
    return _forward(_log_softmax_rows, x)


@register(
    "softmax_backward",
    "cpu",
    "numba",
    "y * (g - sum(g*y)): one row reduction, one write; prange over rows",
    default=True,
    when=last_dim_same_grad,
    condition=LAST_DIM_SAME_GRAD,
)
def softmax_backward(y: np.ndarray, grad: np.ndarray, dim: int = -1) -> np.ndarray:
    """dL/dx = y ⊙ (g − Σ g ⊙ y) over the last dim, given y = softmax x and g = dL/dy."""
    y_rows, g_rows = as_rows(y), as_rows(grad)
    dx = np.empty(y_rows.shape, dtype=y.dtype)
    _softmax_backward_rows(y_rows, g_rows, dx)
    return dx.reshape(y.shape)


@register(
    "log_softmax_backward",
    "cpu",
    "numba",
    "g - exp(y) * sum(g): one row reduction, exp (vectorised), one write; prange over blocks of rows",
    default=True,
    when=last_dim_same_grad,
    condition=LAST_DIM_SAME_GRAD,
)
def log_softmax_backward(y: np.ndarray, grad: np.ndarray, dim: int = -1) -> np.ndarray:
    """dL/dx = g − e^y · Σ g over the last dim, given y = log softmax x and g = dL/dy."""
    y_rows, g_rows = as_rows(y), as_rows(grad)
    dx = np.empty(y_rows.shape, dtype=y.dtype)
    _log_softmax_backward_rows(y_rows, g_rows, dx, rows_per_block(y_rows.shape[1]))
    return dx.reshape(y.shape)
