"""Layer norm and RMS norm over the last dim, and their backward, as parallel numba row kernels.

Per row of D values, given g = dL/dy, with x̂ the normalised row and ĝ = γ ⊙ g:

    layer_norm  μ = mean x, r = 1/√(mean (x − μ)² + ε), x̂ = (x − μ)·r, y = γ ⊙ x̂ + β
                dL/dx = r (ĝ − mean ĝ − x̂ · mean(ĝ ⊙ x̂)),  dL/dγ = Σ_rows g ⊙ x̂,  dL/dβ = Σ_rows g
    rms_norm    r = 1/√(mean x² + ε), x̂ = x·r, y = γ ⊙ x̂
                dL/dx = r (ĝ − x̂ · mean(ĝ ⊙ x̂)),  dL/dγ = Σ_rows g ⊙ x̂

Rows run in parallel (prange); a row is read from memory once for its statistics and its second
look comes from cache; row statistics are accumulated in float64, and the loops that write a row
compute in the row's dtype. dγ and dβ are summed per block
of rows into float64 partial rows, then added (cpu_rows.py). γ or β of None is specialised away.
"""

from __future__ import annotations

import numba
import numpy as np

from ..cpu_parallel import ROWS_MIN_SIZE, parallel_njit
from ..registry import register
from .cpu_rows import as_rows, blocks, rows_per_block


@parallel_njit(min_size=ROWS_MIN_SIZE, cache=True)
def _layer_norm_rows(x, weight, bias, eps, y, mean, rstd):  # pragma: no cover - compiled
    n, cols = x.shape
    for r in numba.prange(n):
        total = 0.0
        for c in range(cols):
            total += x[r, c]
        mu = total / cols
        squares = 0.0
        for c in range(cols):
            d = x[r, c] - mu
            squares += d * d
        mean[r], rstd[r] = mu, 1.0 / np.sqrt(squares / cols + eps)
        mu_r, inv = mean[r], rstd[r]  # in x's dtype, so the writing loop vectorises
        for c in range(cols):
            v = (x[r, c] - mu_r) * inv
            if weight is not None:
                v = v * weight[c]
            if bias is not None:
                v = v + bias[c]
            y[r, c] = v


@parallel_njit(min_size=ROWS_MIN_SIZE, cache=True)
def _layer_norm_backward_rows(g, x, mean, rstd, weight, dx, dweight_parts, dbias_parts, per_block):  # pragma: no cover
    n, cols = x.shape
    for b in numba.prange((n + per_block - 1) // per_block):
        for r in range(b * per_block, min(b * per_block + per_block, n)):
            mu, inv = np.float64(mean[r]), np.float64(rstd[r])
            sum_g, sum_gx = 0.0, 0.0
            for c in range(cols):
                gh = g[r, c] if weight is None else g[r, c] * weight[c]
                sum_g += gh
                sum_gx += gh * ((x[r, c] - mu) * inv)
            mean_g, mean_gx = x.dtype.type(sum_g / cols), x.dtype.type(sum_gx / cols)
            mu_r, inv_r = mean[r], rstd[r]
            for c in range(cols):
                x_hat = (x[r, c] - mu_r) * inv_r
                gh = g[r, c] if weight is None else g[r, c] * weight[c]
                dx[r, c] = inv_r * (gh - mean_g - x_hat * mean_gx)
                dweight_parts[b, c] += g[r, c] * x_hat
                dbias_parts[b, c] += g[r, c]


@parallel_njit(min_size=ROWS_MIN_SIZE, cache=True)
def _rms_norm_rows(x, weight, eps, y, rstd):  # pragma: no cover - compiled
    n, cols = x.shape
    for r in numba.prange(n):
        squares = 0.0
        for c in range(cols):
            squares += np.float64(x[r, c]) * x[r, c]
        rstd[r] = 1.0 / np.sqrt(squares / cols + eps)
        inv = rstd[r]  # in x's dtype, so the writing loop vectorises
        for c in range(cols):
            v = x[r, c] * inv
            y[r, c] = v if weight is None else v * weight[c]


@parallel_njit(min_size=ROWS_MIN_SIZE, cache=True)
def _rms_norm_backward_rows(g, x, rstd, weight, dx, dweight_parts, per_block):  # pragma: no cover - compiled
    n, cols = x.shape
    for b in numba.prange((n + per_block - 1) // per_block):
        for r in range(b * per_block, min(b * per_block + per_block, n)):
            inv = np.float64(rstd[r])
            sum_gx = 0.0
            for c in range(cols):
                gh = g[r, c] if weight is None else g[r, c] * weight[c]
                sum_gx += gh * (x[r, c] * inv)
            mean_gx, inv_r = x.dtype.type(sum_gx / cols), rstd[r]
            for c in range(cols):
                x_hat = x[r, c] * inv_r
                gh = g[r, c] if weight is None else g[r, c] * weight[c]
                dx[r, c] = inv_r * (gh - x_hat * mean_gx)
                if weight is not None:
                    dweight_parts[b, c] += g[r, c] * x_hat


def _partials(rows: int, cols: int) -> np.ndarray:
    """One float64 partial row of a column sum per block of rows."""
    return np.zeros((blocks(rows, cols), cols), dtype=np.float64)


@register(
    "layer_norm",
    "cpu",
    "numba",
    "per row: mean, variance (float64), normalise, scale, shift in one write; prange over rows",
    default=True,
)
def layer_norm(
    x: np.ndarray, weight: np.ndarray | None = None, bias: np.ndarray | None = None, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y, μ, r) over the last dim: y = γ (x − μ)·r + β, r = 1/√(var x + ε); μ, r of shape x.shape[:-1]."""
    rows = as_rows(x)
    y = np.empty(rows.shape, dtype=x.dtype)
    mean, rstd = np.empty(rows.shape[0], dtype=x.dtype), np.empty(rows.shape[0], dtype=x.dtype)
    _layer_norm_rows(rows, weight, bias, float(eps), y, mean, rstd)
    return y.reshape(x.shape), mean.reshape(x.shape[:-1]), rstd.reshape(x.shape[:-1])


@register(
    "layer_norm_backward",
    "cpu",
    "numba",
    "dx per row (two sums, one write); dweight, dbias as float64 partial sums per block of rows",
    default=True,
)
def layer_norm_backward(
    grad: np.ndarray, x: np.ndarray, mean: np.ndarray, rstd: np.ndarray, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(dL/dx, dL/dγ, dL/dβ): dL/dx = r (ĝ − mean ĝ − x̂ · mean(ĝ ⊙ x̂)), dL/dγ = Σ_rows g ⊙ x̂, dL/dβ = Σ_rows g."""
    g_rows, x_rows = as_rows(grad), as_rows(x)
    n, cols = x_rows.shape
    dx = np.empty(x_rows.shape, dtype=x.dtype)
    dweight, dbias = _partials(n, cols), _partials(n, cols)
    _layer_norm_backward_rows(
        g_rows, x_rows, mean.reshape(-1), rstd.reshape(-1), weight, dx, dweight, dbias, rows_per_block(cols)
    )
    return dx.reshape(x.shape), dweight.sum(axis=0).astype(x.dtype), dbias.sum(axis=0).astype(x.dtype)


@register(
    "rms_norm",
    "cpu",
    "numba",
    "per row: mean of squares (float64), rescale, scale in one write; prange over rows",
    default=True,
)
def rms_norm(
    x: np.ndarray, weight: np.ndarray | None = None, eps: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(y, r) over the last dim: y = γ ⊙ x·r, r = 1/√(mean x² + ε) (ε None: x's machine epsilon)."""
    rows = as_rows(x)
    y = np.empty(rows.shape, dtype=x.dtype)
    rstd = np.empty(rows.shape[0], dtype=x.dtype)
    _rms_norm_rows(rows, weight, float(np.finfo(x.dtype).eps if eps is None else eps), y, rstd)
    return y.reshape(x.shape), rstd.reshape(x.shape[:-1])


@register(
    "rms_norm_backward",
    "cpu",
    "numba",
    "dx per row (one sum, one write); dweight as float64 partial sums per block of rows",
    default=True,
)
def rms_norm_backward(
    grad: np.ndarray, x: np.ndarray, rstd: np.ndarray, weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(dL/dx, dL/dγ): dL/dx = r (ĝ − x̂ · mean(ĝ ⊙ x̂)), dL/dγ = Σ_rows g ⊙ x̂ (None without γ)."""
    g_rows, x_rows = as_rows(grad), as_rows(x)
    n, cols = x_rows.shape
    dx = np.empty(x_rows.shape, dtype=x.dtype)
    dweight = _partials(n, cols) if weight is not None else np.zeros((1, 1))
    _rms_norm_backward_rows(g_rows, x_rows, rstd.reshape(-1), weight, dx, dweight, rows_per_block(cols))
    return dx.reshape(x.shape), None if weight is None else dweight.sum(axis=0).astype(weight.dtype)
