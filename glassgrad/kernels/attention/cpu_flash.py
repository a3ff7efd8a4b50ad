"""FlashAttention on the CPU in numba: tiles of keys, an online softmax, no Lq×Lk matrix.

Forward, for a block of BQ query rows, walking the keys in tiles of BK:

    S = Q_blk K_tileᵀ · scale (+ mask)           (BQ × BK scores, in a small buffer)
    m_new = max(m, rowmax S);  c = e^{m - m_new}
    P = e^{S - m_new};  l ← c·l + rowsum P;  O ← c·O + P V_tile;  m ← m_new
    at the end O ← O / l and lse = m + log l  (the only per-row state kept)

A row whose keys are all hidden keeps m = −∞ and l = 0: it gets O = 0 and lse = 0 (PyTorch's
results), so the backward's P = e^{S − lse} is 0 there and so are its gradients.

Backward (FlashAttention-2) recomputes P = e^{S - lse} once per tile and uses
it for all three gradients, walking key tiles outside and query blocks inside:

    dV_tile += Pᵀ dO_blk;   dP = dO_blk V_tileᵀ;   dS = P ∘ (dP − rowsum(dO ∘ O))
    dK_tile += dSᵀ Q_blk · scale;   dQ_blk += dS K_tile · scale

Each thread owns whole heads (``prange`` over batch·heads), so dQ, dK and dV
are written without races, and P is computed once per tile for all three
gradients. The exps go through numba_exp.exp_rows (vectorised for float32). Memory is O((BQ + BK)·D)
per thread: it grows linearly with sequence length.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..numba_exp import exp_rows
from ..registry import register

BQ, BK = 64, 64
"""Tile sizes. 64×64×64 products stay on one thread inside OpenBLAS; with 128-row tiles it split
each product over threads of its own, inside numba's threads, and the step ran 2-3× slower."""


@numba.njit(cache=True, inline="always")
def _tile_scores(q_scaled, k, mask, has_mask, causal, n, i0, i1, j0, j1, mask_n):  # pragma: no cover - compiled
    """S = (Q·scale)[i0:i1] K[j0:j1]ᵀ (+ mask), −∞ above the diagonal when causal (only tiles that reach it)."""
    s = np.dot(q_scaled[n, i0:i1], k[n, j0:j1].T)
    if has_mask:
        s += mask[mask_n, i0:i1, j0:j1]
    if causal and j1 - 1 > i0:
        for r in range(i1 - i0):
            for c in range(max(0, i0 + r + 1 - j0), j1 - j0):
                s[r, c] = -np.inf
    return s


@numba.njit(parallel=True, cache=True)
def _forward(q_scaled, k, v, mask, has_mask, causal, out, lse):  # pragma: no cover - compiled
    n_heads, lq, _ = q_scaled.shape
    lk = k.shape[1]
    blocks = (lq + BQ - 1) // BQ
    for task in numba.prange(n_heads * blocks):
        n, b = task // blocks, task % blocks
        mask_n = n if mask.shape[0] > 1 else 0
        i0 = b * BQ
        i1 = min(i0 + BQ, lq)
        rows = i1 - i0
        m = np.full(rows, -np.inf, dtype=out.dtype)  # the input's precision: float32 exps are the fast ones
        m_new, shift = np.empty_like(m), np.empty_like(m)
        l = np.zeros(rows, dtype=np.float64)
        acc = np.zeros((rows, v.shape[2]), dtype=out.dtype)
        for j0 in range(0, lk, BK):
            if causal and j0 > i1 - 1:
                break  # every key from here on is after every query of the block
            j1 = min(j0 + BK, lk)
            s = _tile_scores(q_scaled, k, mask, has_mask, causal, n, i0, i1, j0, j1, mask_n)
            for r in range(rows):
                m_new[r] = max(m[r], s[r].max())
                shift[r] = m_new[r] if m_new[r] > -np.inf else 0.0  # a row with no key yet: e^-∞ = 0
            exp_rows(s, shift)  # P = e^{S - m_new}
            for r in range(rows):
                if m_new[r] > -np.inf:
                    corr = np.exp(m[r] - m_new[r])
                    l[r] = l[r] * corr + s[r].sum()
                    acc[r] *= corr
                    m[r] = m_new[r]
            acc += np.dot(s, v[n, j0:j1])
        for r in range(rows):
            if l[r] > 0:
                out[n, i0 + r] = acc[r] / l[r]
                lse[n, i0 + r] = m[r] + np.log(l[r])
            else:  # every key hidden: m is still -∞ and nothing was summed, so O = 0 (1/l taken as 0), lse = 0
                out[n, i0 + r] = 0.0
                lse[n, i0 + r] = 0.0


@numba.njit(parallel=True, cache=True)
def _backward(q_scaled, k, v, do, lse, delta, mask, has_mask, causal, scale, dq, dk, dv):  # pragma: no cover - compiled
    n_heads, lq, _ = q_scaled.shape
    lk = k.shape[1]
    for head in numba.prange(n_heads):
        n = head - 0  # a signed int: prange's index is unsigned, and unsigned with 0 unifies to a float
        mask_n = n if mask.shape[0] > 1 else 0
        for j0 in range(0, lk, BK):
            j1 = min(j0 + BK, lk)
            dk_tile = np.zeros((j1 - j0, k.shape[2]), dtype=k.dtype)
            dv_tile = np.zeros((j1 - j0, v.shape[2]), dtype=v.dtype)
            for i0 in range(0, lq, BQ):
                i1 = min(i0 + BQ, lq)
                if causal and j0 > i1 - 1:
                    continue
                p = _tile_scores(q_scaled, k, mask, has_mask, causal, n, i0, i1, j0, j1, mask_n)
                exp_rows(p, lse[n, i0:i1])  # P = e^{S - lse}
                dv_tile += np.dot(p.T, do[n, i0:i1])
                ds = np.dot(do[n, i0:i1], v[n, j0:j1].T)  # dP, then dS in place
                for r in range(i1 - i0):
                    for c in range(j1 - j0):
                        ds[r, c] = p[r, c] * (ds[r, c] - delta[n, i0 + r])
                dk_tile += np.dot(ds.T, q_scaled[n, i0:i1])
                dq[n, i0:i1] += np.dot(ds, k[n, j0:j1])
            dk[n, j0:j1] = dk_tile
            dv[n, j0:j1] = dv_tile
        dq[n] *= scale


def _prepare(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: Any) -> tuple[Any, ...]:
    """Contiguous operands and a 3-D mask (a (1, 1, 1) dummy when there is none)."""
    q, k, v = (np.ascontiguousarray(a) for a in (q, k, v))
    if mask is None:
        return q, k, v, np.zeros((1, 1, 1), dtype=q.dtype), False
    mask = np.asarray(mask, dtype=q.dtype)  # the engine passes (1 or N, Lq or 1, Lk or 1)
    mask = np.ascontiguousarray(np.broadcast_to(mask, (mask.shape[0], q.shape[1], k.shape[1])))
    return q, k, v, mask, True


@register("attention", "cpu", "flash", "numba FlashAttention: key tiles, online softmax, O(L) memory", default=True)
def flash_forward(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: Any = None, is_causal: bool = False, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    q, k, v, mask3, has_mask = _prepare(q, k, v, mask)
    out = np.empty((q.shape[0], q.shape[1], v.shape[2]), dtype=q.dtype)
    lse = np.empty(q.shape[:2], dtype=q.dtype)
    _forward(q * q.dtype.type(scale), k, v, mask3, has_mask, is_causal, out, lse)
    return out, lse


@register(
    "attention_backward",
    "cpu",
    "flash",
    "numba FlashAttention-2 backward: tiles recomputed, no Lq×Lk matrix",
    default=True,
    when=lambda *args, mask_grad=False, **options: not mask_grad,
    condition="no mask gradient (dL/dS needs the full score matrix)",
)
def flash_backward(
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    out: np.ndarray,
    grad_out: np.ndarray,
    lse: np.ndarray,
    mask: Any = None,
    is_causal: bool = False,
    scale: float = 1.0,
    mask_grad: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q, k, v, mask3, has_mask = _prepare(q, k, v, mask)
    do = np.ascontiguousarray(grad_out, dtype=q.dtype)
    lse = np.ascontiguousarray(lse, dtype=q.dtype)
    delta = (do * out).sum(axis=-1)
    dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
    s = q.dtype.type(scale)
    _backward(q * s, k, v, do, lse, delta, mask3, has_mask, is_causal, s, dq, dk, dv)
    return dq, dk, dv
