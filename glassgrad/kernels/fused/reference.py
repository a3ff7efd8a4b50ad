"""The reference row ops: a few whole-array NumPy (or CuPy) calls each.

These are what every other variant is validated and benchmarked against, and
what runs for any call a faster variant does not take. Each line is one array
op, so each reads and writes the whole array: softmax alone makes about five
passes over memory where a fused kernel makes two (read x, write y).

Written with the array module of their input, so one function is the "numpy"
reference on cpu and the "cupy" reference on cuda. Given g = dL/dz for the
output z:

    softmax       y = e^(x − m) / Σ e^(x − m),  m = max x      dL/dx = y ⊙ (g − Σ g ⊙ y)
    log_softmax   y = x − m − log Σ e^(x − m)                  dL/dx = g − e^y · Σ g
    layer_norm    y = γ (x − μ)·r + β,  r = 1/√(var x + ε)     dL/dx = r (ĝ − mean ĝ − x̂ · mean(ĝ ⊙ x̂))
    rms_norm      y = γ x·r,  r = 1/√(mean x² + ε)             dL/dx = r (ĝ − x̂ · mean(ĝ ⊙ x̂))
    cross_entropy l = −Σ_c q_c log softmax(x)_c                dL/dx = (softmax(x) · Σ_c q_c − q) · g

(x̂ the normalised x, ĝ = γ ⊙ g; sums and means over the reduced dim.)
softmax and log_softmax reduce over ``dim``; the norms over the last dim;
cross-entropy over the class dim 1.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine import backend
from ..registry import register


# ------------------------------------------------------------------ softmax
def softmax(x: Any, dim: int = -1) -> Any:
    """y = e^(x − m) / Σ e^(x − m) over ``dim``, m = max x (so no e^x overflows)."""
    xp = backend.xp_of(x)
    e = xp.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


def softmax_backward(y: Any, grad: Any, dim: int = -1) -> Any:
    """y = softmax x, g = dL/dy:  dL/dx = y ⊙ (g − Σ g ⊙ y)  (the Jacobian diag(y) − y yᵀ applied to g)."""
    return y * (grad - (grad * y).sum(axis=dim, keepdims=True))


def log_softmax_and_lse(x: Any, dim: int = -1) -> tuple[Any, Any]:
    """(log softmax x, log Σ e^x) over ``dim``, the second with ``dim`` kept as size 1:
    with m = max x, log softmax x = (x − m) − log Σ e^(x − m) and log Σ e^x = m + log Σ e^(x − m).
    A row of −∞ gives nan (as PyTorch)."""
    xp = backend.xp_of(x)
    m = x.max(axis=dim, keepdims=True)
    shifted = x - m
    log_sum = xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
    return shifted - log_sum, m + log_sum


def log_softmax(x: Any, dim: int = -1) -> Any:
    """y = x − m − log Σ e^(x − m) over ``dim``, m = max x."""
    return log_softmax_and_lse(x, dim)[0]


def log_softmax_backward(y: Any, grad: Any, dim: int = -1) -> Any:
    """y = log softmax x, g = dL/dy:  dL/dx = g − e^y · Σ g  (since dy_i/dx_j = δ_ij − e^(y_j))."""
    xp = backend.xp_of(y)
    return grad - xp.exp(y) * grad.sum(axis=dim, keepdims=True)


# ------------------------------------------------------------------ layer norm
def layer_norm(x: Any, weight: Any = None, bias: Any = None, eps: float = 1e-5) -> tuple[Any, Any, Any]:
    """(y, μ, r) over the last dim: μ = mean x, r = 1/√(mean (x − μ)² + ε), y = γ (x − μ)·r + β
    (γ = 1 and β = 0 when None). μ and r have shape x.shape[:-1]."""
    xp = backend.xp_of(x)
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    rstd = 1 / xp.sqrt((centred * centred).mean(axis=-1, keepdims=True) + eps)
    y = centred * rstd
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y.astype(x.dtype, copy=False), mean[..., 0], rstd[..., 0].astype(x.dtype, copy=False)


def layer_norm_backward(grad: Any, x: Any, mean: Any, rstd: Any, weight: Any = None) -> tuple[Any, Any, Any]:
    """(dL/dx, dL/dγ, dL/dβ) given g = dL/dy, with x̂ = (x − μ)·r and ĝ = γ ⊙ g:
    dL/dx = r (ĝ − mean ĝ − x̂ · mean(ĝ ⊙ x̂)),  dL/dγ = Σ_rows g ⊙ x̂,  dL/dβ = Σ_rows g  (both shape (D,))."""
    x_hat = (x - mean[..., None]) * rstd[..., None]
    g_hat = grad if weight is None else grad * weight
    dx = rstd[..., None] * (
        g_hat - g_hat.mean(axis=-1, keepdims=True) - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True)
    )
    rows = tuple(range(grad.ndim - 1))
    return dx.astype(x.dtype, copy=False), (grad * x_hat).sum(axis=rows), grad.sum(axis=rows)


# ------------------------------------------------------------------ RMS norm
def _compute_dtype(xp: Any, x: Any) -> Any:
    """float16 computes in float32 (as PyTorch's rms_norm); other dtypes in themselves."""
    return xp.float32 if x.dtype == xp.float16 else x.dtype


def rms_norm(x: Any, weight: Any = None, eps: float | None = None) -> tuple[Any, Any]:
    """(y, r) over the last dim: r = 1/√(mean x² + ε), y = γ ⊙ x·r, in x's dtype; r of shape x.shape[:-1]
    in the compute dtype (float32 for float16 x). ``eps=None`` is that dtype's machine epsilon."""
    xp = backend.xp_of(x)
    wide = x.astype(_compute_dtype(xp, x), copy=False)
    if eps is None:
        eps = float(xp.finfo(wide.dtype).eps)
    rstd = 1 / xp.sqrt((wide * wide).mean(axis=-1, keepdims=True) + eps)
    y = wide * rstd
    if weight is not None:
        y = y * weight
    return y.astype(x.dtype, copy=False), rstd[..., 0].astype(wide.dtype, copy=False)


def rms_norm_backward(grad: Any, x: Any, rstd: Any, weight: Any = None) -> tuple[Any, Any]:
    """(dL/dx, dL/dγ) given g = dL/dy, with x̂ = x·r and ĝ = γ ⊙ g:
    dL/dx = r (ĝ − x̂ · mean(ĝ ⊙ x̂)),  dL/dγ = Σ_rows g ⊙ x̂ (None when γ is None)."""
    xp = backend.xp_of(x)
    compute = _compute_dtype(xp, x)
    r = rstd[..., None].astype(compute, copy=False)
    x_hat = x.astype(compute, copy=False) * r
    g = grad.astype(compute, copy=False)
    g_hat = g if weight is None else g * weight
    dx = r * (g_hat - x_hat * (g_hat * x_hat).mean(axis=-1, keepdims=True))
    if weight is None:
        return dx.astype(x.dtype, copy=False), None
    dweight = (g * x_hat).sum(axis=tuple(range(grad.ndim - 1)))
    return dx.astype(x.dtype, copy=False), dweight.astype(weight.dtype, copy=False)


# ------------------------------------------------------------------ cross-entropy
def _per_class(xp: Any, logits_shape: tuple[int, ...], weight: Any, dtype: Any) -> Any:
    """The class weights w (ones when ``weight`` is None) shaped (1, C, 1, ...) to broadcast over the logits."""
    classes = logits_shape[1]
    w = xp.ones(classes, dtype=dtype) if weight is None else weight
    return w.reshape((1, classes) + (1,) * (len(logits_shape) - 2))


def class_weights(
    xp: Any,
    logits_shape: tuple[int, ...],
    target: Any,
    weight: Any,
    ignore_index: int,
    label_smoothing: float,
    dtype: Any,
) -> Any:
    """q, the weight of each class in each sample's loss l = −Σ_c q_c log p_c, shaped like the logits
    (N, C, d1, ...), in ``dtype``; w_c the class weights (1 when ``weight`` is None), ε the smoothing:

    * class indices y (integer target (N, d1, ...)): q_c = w_c·((1 − ε)[c = y] + ε/C), and 0 for
      every class where y == ignore_index (an out-of-range y has no [c = y] term);
    * probabilities t (floating target shaped like the logits): q_c = w_c·((1 − ε) t_c + ε/C).
    """
    classes = logits_shape[1]
    w = _per_class(xp, logits_shape, weight, dtype)
    if target.dtype.kind == "f":
        q = w * ((1 - label_smoothing) * target + label_smoothing / classes)
    else:
        kept = xp.expand_dims(target != ignore_index, 1)
        one_hot = xp.expand_dims(target, 1) == xp.arange(classes).reshape(w.shape)
        q = w * ((1 - label_smoothing) * one_hot + label_smoothing / classes) * kept
    return q.astype(dtype, copy=False)


def weighted_sum(xp: Any, q: Any, log_p: Any, probabilities: bool) -> Any:
    """Σ_c q_c · log p_c over dim 1. For class indices a class of weight 0 adds 0 even where its
    log p is −∞ (a masked logit: 0 · (−∞) would be nan, and PyTorch takes the target's value);
    probabilities are summed as they are (PyTorch's nan for a 0 probability on a −∞ logit)."""
    with np.errstate(invalid="ignore"):
        if probabilities:
            return (q * log_p).sum(axis=1)
        return xp.where(q != 0, q * log_p, 0).sum(axis=1)


def cross_entropy(
    logits: Any, target: Any, ignore_index: int = -100, weight: Any = None, label_smoothing: float = 0.0
) -> tuple[Any, Any]:
    """(l, lse) per sample for logits (N, C, d1, ...), class dim 1: log p = log softmax(x) over dim 1,
    lse = log Σ_c e^(x_c), l = −Σ_c q_c log p_c (q: ``class_weights``); both of shape (N, d1, ...)."""
    xp = backend.xp_of(logits)
    log_p, lse = log_softmax_and_lse(logits, 1)
    q = class_weights(xp, logits.shape, target, weight, ignore_index, label_smoothing, logits.dtype)
    loss = -weighted_sum(xp, q, log_p, target.dtype.kind == "f")
    return loss.astype(logits.dtype, copy=False), xp.squeeze(lse, 1)


def cross_entropy_backward(
    logits: Any,
    target: Any,
    lse: Any,
    grad: Any,
    ignore_index: int = -100,
    weight: Any = None,
    label_smoothing: float = 0.0,
) -> tuple[Any, Any]:
    """(dL/dx, dL/dt) given g = dL/dl, broadcastable to the per-sample loss (N, d1, ...) (one value
    for a reduced loss), with p = e^(x − lse) = softmax x:
    dL/dx_c = (p_c · Σ_c' q_c' − q_c) · g;  for probability targets dL/dt_c = −(1 − ε) w_c log p_c · g,
    None for class indices."""
    xp = backend.xp_of(logits)
    q = class_weights(xp, logits.shape, target, weight, ignore_index, label_smoothing, logits.dtype)
    log_p = logits - xp.expand_dims(lse, 1)
    loss_shape = (logits.shape[0], *logits.shape[2:])
    g = xp.expand_dims(xp.broadcast_to(grad.reshape(()) if grad.size == 1 else grad, loss_shape), 1)
    dx = ((xp.exp(log_p) * q.sum(axis=1, keepdims=True) - q) * g).astype(logits.dtype, copy=False)
    if target.dtype.kind != "f":
        return dx, None
    w = _per_class(xp, logits.shape, weight, logits.dtype)
    return dx, (-(1 - label_smoothing) * w * log_p * g).astype(target.dtype, copy=False)


# The same functions are the references on both devices: "numpy" on cpu, "cupy" on cuda.
for _op, _fn, _what, _dtypes in [
    ("softmax", softmax, "exp(x - max) / sum, over any dim", None),
    ("softmax_backward", softmax_backward, "y * (g - sum(g * y)), over any dim", None),
    ("log_softmax", log_softmax, "x - max - log sum exp, over any dim", None),
    ("log_softmax_backward", log_softmax_backward, "g - exp(y) * sum(g), over any dim", None),
    ("layer_norm", layer_norm, "mean, var, normalise, scale, shift", None),
    ("layer_norm_backward", layer_norm_backward, "x_hat, two row means, two column sums", None),
    ("rms_norm", rms_norm, "mean of squares, rescale, scale (float16 in float32)", ("float16", "float32", "float64")),
    (
        "rms_norm_backward",
        rms_norm_backward,
        "x_hat, one row mean, one column sum (float16 in float32)",
        ("float16", "float32", "float64"),
    ),
    ("cross_entropy", cross_entropy, "log_softmax, class weights q, -sum q log p", None),
    ("cross_entropy_backward", cross_entropy_backward, "exp(x - lse) * sum q - q, times g", None),
]:
    _kinds = {"dtypes": _dtypes} if _dtypes else {}
    register(_op, "cpu", "numpy", f"NumPy: {_what} (one pass per array op)", reference=True, **_kinds)(_fn)
    _suffix = "; rms_norm has no CUDA kernel, this is its only cuda variant" if _op.startswith("rms_norm") else ""
    register(_op, "cuda", "cupy", f"CuPy: {_what} (one kernel per array op){_suffix}", reference=True, **_kinds)(_fn)
