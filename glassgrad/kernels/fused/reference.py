"""The composite versions of the fused ops: a few whole-array CuPy (or NumPy) calls each.

These are what the engine would run without the fused kernels, and what the
fused kernels are validated and benchmarked against. Each line is one array
op, so each reads and writes the whole array: softmax alone makes about five
passes over memory where the fused kernel makes two (read x, write y).

All act on the last dim. Written with the array module of their input, so
they run on NumPy too (the CPU tests check them against the engine ops).
"""

from __future__ import annotations

from typing import Any

from ...engine import backend
from ..registry import register


def softmax(x: Any) -> Any:
    """y = e^(x - max) / Σ e^(x - max)"""
    xp = backend.xp_of(x)
    e = xp.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(y: Any, grad: Any) -> Any:
    """dx = y ⊙ (g - Σ g ⊙ y)"""
    return y * (grad - (grad * y).sum(axis=-1, keepdims=True))


def log_softmax(x: Any) -> Any:
    """y = x - max - log Σ e^(x - max)"""
    xp = backend.xp_of(x)
    shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - xp.log(xp.exp(shifted).sum(axis=-1, keepdims=True))


def log_softmax_backward(y: Any, grad: Any) -> Any:
    """dx = g - e^y · Σ g"""
    xp = backend.xp_of(y)
    return grad - xp.exp(y) * grad.sum(axis=-1, keepdims=True)


def layer_norm(x: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> tuple[Any, Any, Any]:
    """(y, μ, rstd): μ = mean x, rstd = 1/√(var x + ε), y = γ (x - μ)·rstd + β, over the last dim.
    μ and rstd have shape x.shape[:-1]."""
    xp = backend.xp_of(x)
    mean = x.mean(axis=-1, keepdims=True)
    rstd = 1 / xp.sqrt(((x - mean) ** 2).mean(axis=-1, keepdims=True) + eps)
    y = (x - mean) * rstd
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype, copy=False), mean[..., 0], rstd[..., 0].astype(x.dtype, copy=False)


def layer_norm_backward(grad: Any, x: Any, mean: Any, rstd: Any, weight: Any = None) -> tuple[Any, Any, Any]:
    """(dx, dγ, dβ): with x̂ = (x - μ)·rstd and ĝ = γ g,
    dx = rstd (ĝ - mean ĝ - x̂ · mean(ĝ x̂)),  dγ = Σ_rows g x̂,  dβ = Σ_rows g."""
    x_hat = (x - mean[..., None]) * rstd[..., None]
    g_hat = grad if weight is None else grad * weight
    dx = rstd[..., None] * (
        g_hat - g_hat.mean(axis=-1, keepdims=True) - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True)
    )
    rows = tuple(range(grad.ndim - 1))
    return dx, (grad * x_hat).sum(axis=rows), grad.sum(axis=rows)


def cross_entropy(logits: Any, target: Any, ignore_index: int = -100) -> tuple[Any, Any]:
    """(loss, lse) per row of logits (N, C) with int64 targets (N,):
    lse = log Σ e^x (stably), loss = lse - x[target], 0 where target == ignore_index."""
    xp = backend.xp_of(logits)
    m = logits.max(axis=-1, keepdims=True)
    lse = (m + xp.log(xp.exp(logits - m).sum(axis=-1, keepdims=True)))[:, 0]
    kept = target != ignore_index
    picked = xp.take_along_axis(logits, xp.where(kept, target, 0)[:, None], axis=-1)[:, 0]
    return xp.where(kept, lse - picked, 0).astype(logits.dtype, copy=False), lse


def cross_entropy_backward(logits: Any, target: Any, lse: Any, grad: Any, ignore_index: int = -100) -> Any:
    """dx = (e^(x - lse) - onehot(target)) · g per row, 0 where target == ignore_index;
    ``grad`` holds one value per row, or one value (shape () or (1,)) for every row."""
    xp = backend.xp_of(logits)
    kept = target != ignore_index
    onehot = target[:, None] == xp.arange(logits.shape[-1])
    g = xp.where(kept, xp.broadcast_to(grad.reshape(-1), kept.shape), 0)[:, None]
    return ((xp.exp(logits - lse[:, None]) - onehot) * g).astype(logits.dtype, copy=False)


# The composite versions are the reference variants on cuda.
for _op, _fn, _what in [
    ("softmax", softmax, "exp(x - max) / sum"),
    ("softmax_backward", softmax_backward, "y * (g - sum(g * y))"),
    ("log_softmax", log_softmax, "x - max - log sum exp"),
    ("log_softmax_backward", log_softmax_backward, "g - exp(y) * sum(g)"),
    ("layer_norm", layer_norm, "mean, var, normalise, scale, shift"),
    ("layer_norm_backward", layer_norm_backward, "x_hat, two row means, two column sums"),
    ("cross_entropy", cross_entropy, "max, logsumexp, gather"),
    ("cross_entropy_backward", cross_entropy_backward, "exp(x - lse) - onehot, times g"),
]:
    register(_op, "cuda", "cupy", f"composite CuPy: {_what} (one kernel per array op)", reference=True)(_fn)
