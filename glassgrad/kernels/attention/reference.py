"""Reference attention: form the whole score matrix (memory O(Lq·Lk)).

    S = Q Kᵀ · scale + mask        (mask additive; -inf where a key is hidden)
    P = softmax(S) along keys,     lse = log Σ_j e^{S_ij}
    O = P V

A query row whose keys are all hidden (every S_ij = -inf) gets P = 0, O = 0 and lse = 0, as
PyTorch's scaled_dot_product_attention and its CPU flash kernel: the backward's e^{S - lse} is
then 0 on that row, and so are its gradients.

Backward, with dO the incoming gradient:

    dV = Pᵀ dO
    dP = dO Vᵀ
    dS = P ⊙ (dP - D),  D_i = Σ_j P_ij dP_ij = Σ_d dO_id O_id
    dQ = dS K · scale,  dK = dSᵀ Q · scale

Shapes: q (N, Lq, D), k (N, Lk, D), v (N, Lk, Dv); mask None or additive,
broadcastable to (N, Lq, Lk). Written with the array module of q, so the same
code is the reference on cpu (NumPy) and cuda (CuPy).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine import backend
from ..registry import register


def scores(q: Any, k: Any, mask: Any, is_causal: bool, scale: float) -> Any:
    """S = Q Kᵀ · scale + mask, with -inf above the diagonal when causal (top-left aligned)."""
    xp = backend.xp_of(q)
    s = xp.matmul(q, k.swapaxes(-1, -2)) * scale
    if mask is not None:
        s = s + mask
    if is_causal:
        lq, lk = s.shape[-2:]
        s = xp.where(xp.tril(xp.ones((lq, lk), dtype=bool)), s, -xp.inf)
    return s


@register("attention", "cpu", "reference", "full score matrix: softmax(QKᵀ·scale + mask) V", reference=True)
@register("attention", "cuda", "reference", "full score matrix with CuPy (cuBLAS GEMMs)", reference=True)
def attention_forward(
    q: Any, k: Any, v: Any, mask: Any = None, is_causal: bool = False, scale: float = 1.0
) -> tuple[Any, Any]:
    """(O, lse): the output and each query row's log-sum-exp of scores."""
    xp = backend.xp_of(q)
    s = scores(q, k, mask, is_causal, scale)
    m = s.max(axis=-1, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = xp.exp(s - m)
        total = e.sum(axis=-1, keepdims=True)
        total = xp.where(total > 0, total, 1)  # a row with no key: e = 0, so P = 0 and lse = 0
        p = e / total
        lse = (m + xp.log(total))[..., 0]
    return xp.matmul(p, v), lse


@register("attention_backward", "cpu", "reference", "full score matrix, backward written out", reference=True)
@register(
    "attention_backward", "cuda", "reference", "full score matrix with CuPy, backward written out", reference=True
)
def attention_backward(
    q: Any,
    k: Any,
    v: Any,
    out: Any,
    grad_out: Any,
    lse: Any,
    mask: Any = None,
    is_causal: bool = False,
    scale: float = 1.0,
    mask_grad: bool = False,
) -> tuple[Any, ...]:
    """(dQ, dK, dV) from the saved O and lse (P recomputed as e^{S - lse}); with ``mask_grad``
    also dS, the gradient of the additive mask (N, Lq, Lk): (dQ, dK, dV, dS)."""
    xp = backend.xp_of(q)
    with np.errstate(invalid="ignore"):
        p = xp.exp(scores(q, k, mask, is_causal, scale) - lse[..., None])
    dv = xp.matmul(p.swapaxes(-1, -2), grad_out)
    dp = xp.matmul(grad_out, v.swapaxes(-1, -2))
    d = (grad_out * out).sum(axis=-1, keepdims=True)
    ds = p * (dp - d)
    grads = (xp.matmul(ds, k) * scale, xp.matmul(ds.swapaxes(-1, -2), q) * scale, dv)
    return (*grads, ds) if mask_grad else grads
