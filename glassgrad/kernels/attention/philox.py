"""Philox4x32-10 in NumPy: the counter-based generator of cuda/philox.cuh, word for word.

    (x0, x1, x2, x3) = philox4x32_10((c0, c1, c2, c3), (k0, k1))

ten rounds of (hi0, lo0) = M0·c0, (hi1, lo1) = M1·c2, c ← (hi1 ⊕ c1 ⊕ k0, lo1, hi0 ⊕ c3 ⊕ k1, lo0),
k ← k + (W0, W1). The CUDA attention kernels draw their dropout mask from it: score (n, i, j) of the
flattened (batch·head) n, query i and key j is kept when word j mod 4 of
philox4x32_10((j // 4, i, n, offset), (seed mod 2³², seed // 2³²)) is ≥ round(p·2³²). Being a pure
function of (seed, offset, n, i, j), the backward regenerates the forward's mask, and this module
rebuilds it on the host (``dropout_keep``) for tests.
"""

from __future__ import annotations

import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
_LOW = np.uint64(0xFFFFFFFF)


def philox4x32_10(counter: tuple, key: tuple) -> tuple[np.ndarray, ...]:
    """The four uint32 words for counters (c0, c1, c2, c3) and key (k0, k1), broadcast elementwise."""
    c = [np.asarray(x, dtype=np.uint64) & _LOW for x in counter]
    k0, k1 = (np.asarray(x, dtype=np.uint64) & _LOW for x in key)
    for _ in range(10):
        p0 = np.uint64(M0) * c[0]
        p1 = np.uint64(M1) * c[2]
        hi0, lo0 = p0 >> np.uint64(32), p0 & _LOW
        hi1, lo1 = p1 >> np.uint64(32), p1 & _LOW
        c = [hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0]
        k0 = (k0 + np.uint64(W0)) & _LOW
        k1 = (k1 + np.uint64(W1)) & _LOW
    return tuple(x.astype(np.uint32) for x in c)


def threshold(p: float) -> int:
    """The uint32 below which a word drops its weight: round(p·2³²), for 0 ≤ p < 1."""
    if not 0.0 <= p < 1.0:
        raise ValueError(f"philox.threshold: dropout probability must be in [0, 1), got {p}")
    return min(int(round(p * 2.0**32)), 2**32 - 1)


def dropout_keep(seed: int, offset: int, heads: int, lq: int, lk: int, p: float) -> np.ndarray:
    """The (heads, Lq, Lk) bool mask the kernels keep (True) for dropout probability ``p``."""
    n, i, j = np.meshgrid(np.arange(heads), np.arange(lq), np.arange(lk), indexing="ij")
    words = philox4x32_10((j >> 2, i, n, np.full_like(n, offset)), (seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF))
    lane = (j & 3).astype(np.uint32)
    word = np.select([lane == 0, lane == 1, lane == 2], words[:3], words[3])
    return word >= np.uint32(threshold(p))
