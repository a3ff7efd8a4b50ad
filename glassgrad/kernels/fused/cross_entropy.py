"""Launchers of the fused softmax + cross-entropy kernels (cross_entropy.cu), the cuda defaults.

Logits (N, C) float32, targets (N,) integer class indices, no class weights,
no label smoothing (the registry gives every other call to the reference);
``ignore_index`` rows get loss 0 and gradient 0. Nothing is read back to the
host: the incoming gradient stays a device array (one per row, or one for all
rows).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import register
from .launch import fused_kernel, row_launch

F32 = ("float32",)
PLAIN = "2-D logits, integer targets (N,), no weight, no label smoothing"


def _plain(
    logits: Any, target: Any, ignore_index: int = -100, weight: Any = None, label_smoothing: float = 0.0
) -> bool:
    """The calls the kernels take: (N, C) logits, (N,) integer targets, no class weights, no smoothing."""
    return (
        logits.ndim == 2
        and target.dtype.kind in "iu"
        and target.shape == logits.shape[:1]
        and weight is None
        and not label_smoothing
    )


def _plain_backward(
    logits: Any,
    target: Any,
    lse: Any,
    grad: Any,
    ignore_index: int = -100,
    weight: Any = None,
    label_smoothing: float = 0.0,
) -> bool:
    return _plain(logits, target, ignore_index, weight, label_smoothing)


def _check(logits: Any, target: Any) -> tuple[Any, Any]:
    import cupy

    if logits.ndim != 2 or target.shape != logits.shape[:1]:
        raise ValueError(
            f"cross_entropy(cuda, fused): expected logits (N, C) and target (N,), got {logits.shape} and {target.shape}"
        )
    if logits.dtype != cupy.float32:
        raise TypeError(f"cross_entropy(cuda, fused): expected float32 logits, got {logits.dtype}")
    return cupy.ascontiguousarray(logits), cupy.ascontiguousarray(target, dtype=cupy.int64)


@register(
    "cross_entropy",
    "cuda",
    "fused",
    "loss and lse per row in one read of the logits",
    F32,
    default=True,
    when=_plain,
    condition=PLAIN,
)
def cross_entropy(
    logits: Any, target: Any, ignore_index: int = -100, weight: Any = None, label_smoothing: float = 0.0
) -> tuple[Any, Any]:
    import cupy

    x, t = _check(logits, target)
    n, cols = x.shape
    loss = cupy.zeros(n, dtype=cupy.float32)
    lse = cupy.zeros(n, dtype=cupy.float32)
    if x.size:
        grid, block = row_launch(n, cols)
        args = (x, t, loss, lse, np.int64(n), np.int32(cols), np.int64(ignore_index))
        fused_kernel("cross_entropy.cu", "cross_entropy_forward")(grid, block, args)
    return loss, lse


@register(
    "cross_entropy_backward",
    "cuda",
    "fused",
    "(softmax - onehot) * g in one read, one write",
    F32,
    default=True,
    when=_plain_backward,
    condition=PLAIN,
)
def cross_entropy_backward(
    logits: Any,
    target: Any,
    lse: Any,
    grad: Any,
    ignore_index: int = -100,
    weight: Any = None,
    label_smoothing: float = 0.0,
) -> tuple[Any, None]:
    """(dL/dx, None): dL/dx = (softmax x − onehot(target)) · g per row, 0 where target == ignore_index."""
    import cupy

    x, t = _check(logits, target)
    n, cols = x.shape
    g = cupy.ascontiguousarray(grad, dtype=cupy.float32).reshape(-1)
    if g.size not in (1, n):
        raise ValueError(f"cross_entropy_backward(cuda, fused): grad must have 1 or {n} values, got {g.size}")
    dx = cupy.empty_like(x)
    if x.size:
        grid, block = row_launch(n, cols)
        lse = cupy.ascontiguousarray(lse, dtype=cupy.float32)
        args = (x, t, lse, g, dx, np.int64(n), np.int32(cols), np.int64(ignore_index), np.int32(g.size == n and n > 1))
        fused_kernel("cross_entropy.cu", "cross_entropy_backward")(grid, block, args)
    return dx, None
