"""numba.cuda teaching FlashAttention: key tiles in shared memory, an online softmax, no Lq×Lk matrix.

Shapes as the op: q (N, Lq, D), k (N, Lk, D), v (N, Lk, Dv), an additive mask broadcastable as
(1|N, 1|Lq, 1|Lk) (-inf hides a key), S = Q Kᵀ · scale + mask, -inf above the diagonal when causal
(top-left aligned: query i sees keys j ≤ i).

Forward: one block per (query tile of ROWS rows, head n), one thread per query row. The block walks
the keys in tiles of TILE rows: its threads copy K and V of the tile into ``cuda.shared.array``
(each global element read once per block, not once per query), wait at ``cuda.syncthreads()``, and
each thread updates its own row's running max m, sum l and accumulator O (kept in the thread):

    S = q_i · K_tileᵀ · scale (+ mask)
    m' = max(m, rowmax S)
    l' = e^{m − m'} l + Σ_j e^{S_j − m'}
    O' = e^{m − m'} O + Σ_j e^{S_j − m'} V_j
    at the end  O = O' / l  and  lse = m + log l

A row whose keys are all hidden keeps m = −∞ and l = 0: it gets O = 0 and lse = 0 (PyTorch's
results). With ``is_causal`` the walk stops at the first key tile that lies wholly after the block's
last query: those tiles are never loaded (and the dK/dV kernel below starts at the first query tile
that reaches its keys).

Backward (FlashAttention-2's form, given dO, the saved O and lse): P = e^{S − lse} is recomputed
tile by tile, never stored, with D_i = Σ_d dO_id O_id:

    dP_ij = dO_i · V_j,   dS_ij = P_ij (dP_ij − D_i)
    dV_j = Σ_i P_ij dO_i,   dK_j = scale · Σ_i dS_ij Q_i     (kernel ``grad_kv``: a thread per key j,
                                                              query tiles streamed through shared memory)
    dQ_i = scale · Σ_j dS_ij K_j                             (kernel ``grad_q``: a thread per query i,
                                                              key tiles streamed, as the forward)

Each gradient row has one owner thread, so there are no atomics and the sums are deterministic; the
price is P recomputed twice (once per kernel). Each thread accumulates in float32.

The kernels take CuPy arrays of any strides through the CUDA array interface (a broadcast mask is
read in place, by index), and NumPy arrays in numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``),
which is how CI tests them. They are compiled on first use; importing this module needs no GPU.
Registered on cuda as ``numba_flash``, not the default: they are for reading, not for speed.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from numba import float32

from ...engine import backend
from ..numba_cuda_support import numba_cuda
from ..registry import register

ROWS = 64  # threads per block: one query row (forward, dQ) or one key row (dK, dV) each
TILE = 32  # rows of the streamed operand staged in shared memory per step
MAX_D = 128  # the largest head dim (of q/k and of v): the per-thread rows and shared tiles are this wide


@functools.cache
def _kernels() -> tuple[Any, Any, Any]:
    """(forward, grad_kv, grad_q) kernels."""
    global cuda  # a module global, for the simulator (see numba_cuda_support)
    cuda = numba_cuda()

    # no builtin min/max in the kernels: compile_ptx of a kernel calling min(a, b) fails under numba 0.68's
    # CUDA target ("Signature mismatch"), though the simulator runs it

    @cuda.jit(device=True)
    def rows_in(r0, stop):  # pragma: no cover - GPU or simulator
        """How many rows of the tile starting at r0 lie before ``stop``: min(TILE, stop − r0)."""
        return TILE if r0 + TILE <= stop else stop - r0

    @cuda.jit(device=True)
    def load_tile(src, n, r0, tile, stop):  # pragma: no cover - GPU or simulator
        """tile[:rows] = src[n, r0:r0 + rows] (rows = rows_in(r0, stop)), the block's threads
        taking consecutive elements (a warp reads one contiguous stretch of a row)."""
        cols = src.shape[2]
        count = rows_in(r0, stop) * cols
        for e in range(cuda.threadIdx.x, count, cuda.blockDim.x):
            tile[e // cols, e % cols] = src[n, r0 + e // cols, e % cols]

    @cuda.jit(device=True)
    def load_row(src, n, r, row):  # pragma: no cover - GPU or simulator
        for e in range(src.shape[2]):
            row[e] = src[n, r, e]

    @cuda.jit(device=True)
    def dot(row, tile, c, width):  # pragma: no cover - GPU or simulator
        """row · tile[c] over the first ``width`` entries."""
        acc = np.float32(0.0)
        for e in range(width):
            acc += row[e] * tile[c, e]
        return acc

    @cuda.jit(device=True)
    def masked(s, mask, has_mask, causal, n, i, j):  # pragma: no cover - GPU or simulator
        """The score S_ij from s = q_i · k_j · scale: the mask added, −∞ for a key after the query."""
        if causal and j > i:
            return np.float32(-math.inf)
        if has_mask:
            s += mask[n if mask.shape[0] > 1 else 0, i if mask.shape[1] > 1 else 0, j if mask.shape[2] > 1 else 0]
        return s

    @cuda.jit(device=True)
    def key_stop(i0, lq, lk, causal):  # pragma: no cover - GPU or simulator
        """One past the last key any query of the tile starting at i0 may see (causal: its last query)."""
        if not causal:
            return lk
        last = i0 + ROWS if i0 + ROWS < lq else lq  # one past the tile's last query
        return last if last < lk else lk

    @cuda.jit
    def forward(q, k, v, mask, has_mask, causal, scale, out, lse):  # pragma: no cover - GPU or simulator
        k_tile = cuda.shared.array((TILE, MAX_D), float32)
        v_tile = cuda.shared.array((TILE, MAX_D), float32)
        q_row = cuda.local.array(MAX_D, float32)
        acc = cuda.local.array(MAX_D, float32)
        s = cuda.local.array(TILE, float32)
        n, i0 = cuda.blockIdx.x, cuda.blockIdx.y * ROWS
        i = i0 + cuda.threadIdx.x
        lq, lk, d, dv = q.shape[1], k.shape[1], q.shape[2], v.shape[2]
        live = i < lq  # the last tile's spare threads still help load and reach every barrier
        if live:
            load_row(q, n, i, q_row)
        for e in range(dv):
            acc[e] = 0.0
        m, l = np.float32(-math.inf), np.float32(0.0)
        stop = key_stop(i0, lq, lk, causal)
        for j0 in range(0, stop, TILE):
            load_tile(k, n, j0, k_tile, stop)
            load_tile(v, n, j0, v_tile, stop)
            cuda.syncthreads()  # the tiles are complete before anyone reads them
            if live:
                cols = rows_in(j0, stop)
                m_new = m
                for c in range(cols):
                    s[c] = masked(dot(q_row, k_tile, c, d) * scale, mask, has_mask, causal, n, i, j0 + c)
                    if s[c] > m_new:
                        m_new = s[c]
                if m_new > -math.inf:  # else no key of this row is visible yet: nothing to add
                    correction = math.exp(m - m_new)  # e^{m − m'}; 0 while m is still −∞
                    l *= correction
                    for e in range(dv):
                        acc[e] *= correction
                    for c in range(cols):
                        p = math.exp(s[c] - m_new)
                        l += p
                        for e in range(dv):
                            acc[e] += p * v_tile[c, e]
                    m = m_new
            cuda.syncthreads()  # everyone is done reading before the next load overwrites
        if live:
            inv = np.float32(1.0) / l if l > 0 else np.float32(0.0)  # every key hidden: O = 0, lse = 0
            for e in range(dv):
                out[n, i, e] = acc[e] * inv
            lse[n, i] = m + math.log(l) if l > 0 else np.float32(0.0)

    @cuda.jit
    def grad_kv(q, k, v, do, lse, delta, mask, has_mask, causal, scale, dk, dv):  # pragma: no cover
        q_tile = cuda.shared.array((TILE, MAX_D), float32)
        do_tile = cuda.shared.array((TILE, MAX_D), float32)
        lse_tile = cuda.shared.array(TILE, float32)
        delta_tile = cuda.shared.array(TILE, float32)
        k_row = cuda.local.array(MAX_D, float32)
        v_row = cuda.local.array(MAX_D, float32)
        dk_acc = cuda.local.array(MAX_D, float32)
        dv_acc = cuda.local.array(MAX_D, float32)
        n, j0 = cuda.blockIdx.x, cuda.blockIdx.y * ROWS
        j = j0 + cuda.threadIdx.x
        lq, lk, d, d_v = q.shape[1], k.shape[1], q.shape[2], v.shape[2]
        live = j < lk
        if live:
            load_row(k, n, j, k_row)
            load_row(v, n, j, v_row)
        for e in range(d):
            dk_acc[e] = 0.0
        for e in range(d_v):
            dv_acc[e] = 0.0
        first = j0 // TILE * TILE if causal else 0  # earlier query tiles lie wholly before key j0: P = 0
        for i0 in range(first, lq, TILE):
            load_tile(q, n, i0, q_tile, lq)
            load_tile(do, n, i0, do_tile, lq)
            rows = rows_in(i0, lq)
            for r in range(cuda.threadIdx.x, rows, cuda.blockDim.x):
                lse_tile[r] = lse[n, i0 + r]
                delta_tile[r] = delta[n, i0 + r]
            cuda.syncthreads()
            if live:
                for r in range(rows):
                    s = masked(dot(k_row, q_tile, r, d) * scale, mask, has_mask, causal, n, i0 + r, j)
                    p = math.exp(s - lse_tile[r])  # P_ij = e^{S_ij − lse_i}, 0 where S = −∞
                    ds = p * (dot(v_row, do_tile, r, d_v) - delta_tile[r])
                    for e in range(d_v):
                        dv_acc[e] += p * do_tile[r, e]
                    for e in range(d):
                        dk_acc[e] += ds * q_tile[r, e]
            cuda.syncthreads()
        if live:
            for e in range(d):
                dk[n, j, e] = dk_acc[e] * scale
            for e in range(d_v):
                dv[n, j, e] = dv_acc[e]

    @cuda.jit
    def grad_q(q, k, v, do, lse, delta, mask, has_mask, causal, scale, dq):  # pragma: no cover
        k_tile = cuda.shared.array((TILE, MAX_D), float32)
        v_tile = cuda.shared.array((TILE, MAX_D), float32)
        q_row = cuda.local.array(MAX_D, float32)
        do_row = cuda.local.array(MAX_D, float32)
        dq_acc = cuda.local.array(MAX_D, float32)
        n, i0 = cuda.blockIdx.x, cuda.blockIdx.y * ROWS
        i = i0 + cuda.threadIdx.x
        lq, lk, d, dv = q.shape[1], k.shape[1], q.shape[2], v.shape[2]
        live = i < lq
        lse_i, delta_i = np.float32(0.0), np.float32(0.0)
        if live:
            load_row(q, n, i, q_row)
            load_row(do, n, i, do_row)
            lse_i, delta_i = lse[n, i], delta[n, i]
        for e in range(d):
            dq_acc[e] = 0.0
        stop = key_stop(i0, lq, lk, causal)
        for j0 in range(0, stop, TILE):
            load_tile(k, n, j0, k_tile, stop)
            load_tile(v, n, j0, v_tile, stop)
            cuda.syncthreads()
            if live:
                for c in range(rows_in(j0, stop)):
                    s = masked(dot(q_row, k_tile, c, d) * scale, mask, has_mask, causal, n, i, j0 + c)
                    p = math.exp(s - lse_i)
                    ds = p * (dot(do_row, v_tile, c, dv) - delta_i)
                    for e in range(d):
                        dq_acc[e] += ds * k_tile[c, e]
            cuda.syncthreads()
        if live:
            for e in range(d):
                dq[n, i, e] = dq_acc[e] * scale

    return forward, grad_kv, grad_q


def _mask_operand(q: Any, mask: Any) -> tuple[Any, bool]:
    """The mask as a 3-D (1|N, 1|Lq, 1|Lk) array the kernels index, or a (1, 1, 1) dummy and False."""
    xp = backend.xp_of(q)
    if mask is None:
        return xp.zeros((1, 1, 1), dtype=xp.float32), False
    return mask.reshape((1,) * (3 - mask.ndim) + mask.shape), True


def _grid(heads: int, rows: int) -> tuple[tuple[int, int], int]:
    """(grid, block): a block per (head, tile of ROWS rows); heads along x, which has no 65535 limit."""
    return (heads, (rows + ROWS - 1) // ROWS), ROWS


def _takes(q: Any, k: Any, v: Any, *rest: Any, mask: Any = None, mask_grad: bool = False, **options: Any) -> bool:
    """float32 3-D q, k, v (and mask, O, dO, lse), head dims ≤ MAX_D, no mask gradient."""
    arrays = (q, k, v, mask, *rest)
    return (
        not mask_grad
        and all(str(a.dtype) == "float32" for a in arrays if hasattr(a, "dtype"))
        and q.ndim == k.ndim == v.ndim == 3
        and q.shape[2] <= MAX_D
        and v.shape[2] <= MAX_D
        and (mask is None or mask.ndim <= 3)
    )


_TAKES = {
    "dtypes": ("float32",),
    "when": _takes,
    "condition": f"float32 (N, L, D) arrays, D and Dv ≤ {MAX_D}, a mask of ≤ 3 dims, no mask gradient",
}


def _check(op: str, *arrays: Any, mask: Any = None, mask_grad: bool = False) -> None:
    """ValueError naming the call unless ``_takes`` holds (a direct call that ``when`` would refuse)."""
    if not _takes(*arrays, mask=mask, mask_grad=mask_grad):
        shown = ", ".join(f"{a.shape}:{a.dtype}" for a in (*arrays, mask) if a is not None)
        raise ValueError(
            f"{op}(cuda, numba_flash): takes only {_TAKES['condition']}; got {shown}, mask_grad={mask_grad}"
        )


@register(
    "attention", "cuda", "numba_flash", "numba.cuda FlashAttention: shared-memory key tiles, online softmax", **_TAKES
)
def flash_forward(
    q: Any, k: Any, v: Any, mask: Any = None, is_causal: bool = False, scale: float = 1.0
) -> tuple[Any, Any]:
    """(O, lse) as the reference, never forming the Lq×Lk scores (see the module docstring)."""
    _check("attention", q, k, v, mask=mask)
    xp = backend.xp_of(q)
    (n, lq, _), lk = q.shape, k.shape[1]
    out = xp.zeros((n, lq, v.shape[2]), dtype=xp.float32)
    lse = xp.zeros((n, lq), dtype=xp.float32)
    if out.size and lk:
        mask3, has_mask = _mask_operand(q, mask)
        grid, block = _grid(n, lq)
        _kernels()[0][grid, block](q, k, v, mask3, has_mask, bool(is_causal), np.float32(scale), out, lse)
    return out, lse


@register(
    "attention_backward",
    "cuda",
    "numba_flash",
    "numba.cuda FlashAttention-2 backward: P recomputed from lse, dK/dV per key and dQ per query thread",
    **_TAKES,
)
def flash_backward(
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
) -> tuple[Any, Any, Any]:
    """(dQ, dK, dV) from the saved O and lse (see the module docstring); no mask gradient."""
    _check("attention_backward", q, k, v, out, grad_out, lse, mask=mask, mask_grad=mask_grad)
    xp = backend.xp_of(q)
    (n, lq, _), lk = q.shape, k.shape[1]
    dq, dk, dv = (xp.zeros(a.shape, dtype=xp.float32) for a in (q, k, v))
    if n and lq and lk:
        mask3, has_mask = _mask_operand(q, mask)
        delta = (grad_out * out).sum(axis=-1)  # D_i = Σ_d dO_id O_id
        options = (mask3, has_mask, bool(is_causal), np.float32(scale))
        _, grad_kv, grad_q = _kernels()
        grid, block = _grid(n, lk)
        grad_kv[grid, block](q, k, v, grad_out, lse, delta, *options, dk, dv)
        grid, block = _grid(n, lq)
        grad_q[grid, block](q, k, v, grad_out, lse, delta, *options, dq)
    return dq, dk, dv
