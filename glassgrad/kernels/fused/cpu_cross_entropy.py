"""Softmax + cross-entropy over the classes of 2-D logits with class-index targets, as parallel
numba row kernels (class weights and label smoothing included; N-d logits and probability targets
go to the reference).

Per row n with target y, class weights w (1 when None), smoothing ε, C classes, m = max x,
lse = m + log Σ e^(x − m), log p = (x − m) − log Σ e^(x − m), and q as reference.class_weights
(q_c = w_c((1 − ε)[c = y] + ε/C), all 0 when y == ignore_index):

    l = −Σ_c q_c log p_c  (a class with q_c = 0 adds 0, even where log p_c = −∞)
    dL/dx_c = (p_c · Σ_c' q_c' − q_c) · g,   p = e^(x − lse),  g = dL/dl

A block of rows is read once; the exps go through ``numba_exp.exp_rows`` (vectorised for float32).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..cpu_parallel import ROWS_MIN_SIZE, parallel_njit
from ..numba_exp import exp_rows
from ..registry import register
from .cpu_rows import rows_per_block
from .cpu_softmax import _row_max

CONDITION = "2-D logits (N, C), integer targets (N,)"


@numba.njit(cache=True)
def _q(c: int, y: int, weight, smoothing: float, classes: int) -> float:  # pragma: no cover - compiled
    """q_c of a kept row with target y."""
    w = 1.0 if weight is None else np.float64(weight[c])
    return w * ((1.0 - smoothing) * (1.0 if c == y else 0.0) + smoothing / classes)


@parallel_njit(min_size=ROWS_MIN_SIZE, cache=True)
def _forward_rows(x, target, ignore_index, weight, smoothing, loss, lse, per_block):  # pragma: no cover
    n, classes = x.shape
    for b in numba.prange((n + per_block - 1) // per_block):
        r0, r1 = b * per_block, min(b * per_block + per_block, n)
        shifts = np.empty(r1 - r0, dtype=x.dtype)
        e = np.empty((r1 - r0, classes), dtype=x.dtype)
        for r in range(r0, r1):
            shifts[r - r0] = _row_max(x, r)
            for c in range(classes):
                e[r - r0, c] = x[r, c]
        exp_rows(e, shifts)
        for r in range(r0, r1):
            s = 0.0
            for c in range(classes):
                s += e[r - r0, c]
            m, log_s = shifts[r - r0], x.dtype.type(np.log(s))
            lse[r] = m + log_s
            y = target[r]
            acc = 0.0
            if y != ignore_index:
                if smoothing == 0.0:  # only the target's class has q ≠ 0
                    if 0 <= y < classes:
                        q = _q(y, y, weight, 0.0, classes)
                        if q != 0.0:
                            acc = q * ((x[r, y] - m) - log_s)
                else:
                    for c in range(classes):
                        q = _q(c, y, weight, smoothing, classes)
                        if q != 0.0:
                            acc += q * ((x[r, c] - m) - log_s)
            loss[r] = -acc


@parallel_njit(min_size=ROWS_MIN_SIZE, cache=True)
def _backward_rows(x, target, lse, g, ignore_index, weight, smoothing, dx, per_block):  # pragma: no cover
    n, classes = x.shape
    weight_sum = 0.0
    for c in range(classes):
        weight_sum += 1.0 if weight is None else weight[c]
    for b in numba.prange((n + per_block - 1) // per_block):
        r0, r1 = b * per_block, min(b * per_block + per_block, n)
        for r in range(r0, r1):
            for c in range(classes):
                dx[r, c] = x[r, c]
        exp_rows(dx[r0:r1], lse[r0:r1])  # dx holds p = e^(x − lse) until the row is finished
        for r in range(r0, r1):
            y = target[r]
            if y == ignore_index:
                for c in range(classes):
                    dx[r, c] = 0.0
                continue
            kept = 0 <= y < classes
            w_y = 0.0 if not kept else (1.0 if weight is None else np.float64(weight[y]))
            total_q = (1.0 - smoothing) * w_y + smoothing / classes * weight_sum
            for c in range(classes):
                dx[r, c] = (dx[r, c] * total_q - _q(c, y, weight, smoothing, classes)) * g[r]


def _takes(logits: Any, target: Any) -> bool:
    return logits.ndim == 2 and logits.shape[1] > 0 and target.dtype.kind in "iu" and target.shape == logits.shape[:1]


def _takes_forward(
    logits: Any, target: Any, ignore_index: int = -100, weight: Any = None, label_smoothing: float = 0.0
) -> bool:
    return _takes(logits, target)


def _takes_backward(logits: Any, target: Any, lse: Any, grad: Any, *_: Any, **__: Any) -> bool:
    return _takes(logits, target)


def _weight(weight: Any, logits: np.ndarray) -> np.ndarray | None:
    return None if weight is None else np.ascontiguousarray(weight, dtype=logits.dtype)


@register(
    "cross_entropy",
    "cpu",
    "numba",
    "per row: max, exp (vectorised), sum, -sum q log p; one read of the logits; prange over blocks of rows",
    default=True,
    when=_takes_forward,
    condition=CONDITION,
)
def cross_entropy(
    logits: np.ndarray,
    target: np.ndarray,
    ignore_index: int = -100,
    weight: np.ndarray | None = None,
    label_smoothing: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(l, lse) per row: lse = log Σ e^x, l = −Σ_c q_c log p_c (0 where target == ignore_index)."""
    n = logits.shape[0]
    loss, lse = np.empty(n, dtype=logits.dtype), np.empty(n, dtype=logits.dtype)
    _forward_rows(
        logits,
        target,
        int(ignore_index),
        _weight(weight, logits),
        float(label_smoothing),
        loss,
        lse,
        rows_per_block(logits.shape[1]),
    )
    return loss, lse


@register(
    "cross_entropy_backward",
    "cpu",
    "numba",
    "(p * sum q - q) * g per row in one read, one write; prange over blocks of rows",
    default=True,
    when=_takes_backward,
    condition=CONDITION,
)
def cross_entropy_backward(
    logits: np.ndarray,
    target: np.ndarray,
    lse: np.ndarray,
    grad: np.ndarray,
    ignore_index: int = -100,
    weight: np.ndarray | None = None,
    label_smoothing: float = 0.0,
) -> tuple[np.ndarray, None]:
    """(dL/dx, None): dL/dx_c = (p_c · Σ_c' q_c' − q_c) · g per row, given g = dL/dl (one per row, or one
    for all rows)."""
    n = logits.shape[0]
    g = np.ascontiguousarray(np.broadcast_to(grad.reshape(-1) if grad.size == n else grad.reshape(()), (n,)))
    dx = np.empty(logits.shape, dtype=logits.dtype)
    _backward_rows(
        logits,
        target,
        np.ascontiguousarray(lse, dtype=logits.dtype),
        g.astype(logits.dtype, copy=False),
        int(ignore_index),
        _weight(weight, logits),
        float(label_smoothing),
        dx,
        rows_per_block(logits.shape[1]),
    )
    return dx, None
