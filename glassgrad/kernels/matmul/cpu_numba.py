"""CPU matmul kernels in numba: the textbook loop, then a cache-blocked, parallel,
register-tiled one. Both take any strides (the blocked kernel packs its operands
into contiguous copies first), 2-D or batched 3-D, float32 or float64.

The blocked kernel splits C into MB-row strips, one per thread (prange); within
a strip it walks K in KB-deep slabs and N in NB-wide panels so the slab of A
and the panel of B stay in L1/L2, and it updates four rows of C at once, so
every element of B loaded from cache feeds four fused multiply-adds. LLVM
vectorises the innermost j loop (fastmath allows the reassociation).
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..registry import register

MB, KB, NB = 64, 256, 512


@numba.njit(parallel=True, cache=True)
def _naive_2d(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:  # pragma: no cover - compiled
    m, k = a.shape
    n = b.shape[1]
    for i in numba.prange(m):
        for j in range(n):
            acc = 0.0
            for p in range(k):
                acc += a[i, p] * b[p, j]
            c[i, j] = acc


@numba.njit(parallel=True, fastmath=True, cache=True)
def _blocked_2d(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> None:  # pragma: no cover - compiled
    m, k = a.shape
    n = b.shape[1]
    for strip in numba.prange((m + MB - 1) // MB):
        i0 = strip * MB
        i1 = min(i0 + MB, m)
        for k0 in range(0, k, KB):
            k1 = min(k0 + KB, k)
            for j0 in range(0, n, NB):
                j1 = min(j0 + NB, n)
                i = i0
                while i + 4 <= i1:  # 4-row register tile
                    for p in range(k0, k1):
                        a0, a1, a2, a3 = a[i, p], a[i + 1, p], a[i + 2, p], a[i + 3, p]
                        for j in range(j0, j1):
                            bv = b[p, j]
                            c[i, j] += a0 * bv
                            c[i + 1, j] += a1 * bv
                            c[i + 2, j] += a2 * bv
                            c[i + 3, j] += a3 * bv
                    i += 4
                while i < i1:  # leftover rows
                    for p in range(k0, k1):
                        a0 = a[i, p]
                        for j in range(j0, j1):
                            c[i, j] += a0 * b[p, j]
                    i += 1


def _run(kernel: Any, a: np.ndarray, b: np.ndarray, pack: bool) -> np.ndarray:
    """Apply a 2-D kernel to 2-D or batched 3-D operands (a 2-D operand broadcasts over the batch)."""
    if a.dtype != b.dtype or a.dtype not in (np.float32, np.float64):
        raise TypeError(f"matmul(cpu, numba): expects two float32 or two float64 arrays, got {a.dtype} and {b.dtype}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul(cpu, numba): shapes {a.shape} and {b.shape} cannot be multiplied")
    if a.ndim == 2 and b.ndim == 2:
        c = np.zeros((a.shape[0], b.shape[1]), dtype=a.dtype)
        kernel(np.ascontiguousarray(a) if pack else a, np.ascontiguousarray(b) if pack else b, c)
        return c
    batch = max(a.shape[0] if a.ndim == 3 else 1, b.shape[0] if b.ndim == 3 else 1)
    a3 = np.broadcast_to(a, (batch, *a.shape[-2:]))
    b3 = np.broadcast_to(b, (batch, *b.shape[-2:]))
    return np.stack([_run(kernel, a3[i], b3[i], pack) for i in range(batch)])


@register("matmul", "cpu", "naive", "numba triple loop, rows in parallel (prange)")
def naive(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _run(_naive_2d, a, b, pack=False)


@register("matmul", "cpu", "blocked", "numba cache-blocked (64x256x512), parallel strips, 4-row register tile")
def blocked(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _run(_blocked_2d, a, b, pack=True)
