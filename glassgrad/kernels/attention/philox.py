"""The flash attention dropout mask in NumPy: cuda/dropout_mask.cuh's decisions, on the shared
Philox4x32-10 (kernels/philox.py, kernels/cuda/philox.cuh). Score (n, i, j) of the flattened
(batch·head) n, query i and key j is kept when word j mod 4 of
philox4x32_10((j // 4, i, n, offset), (seed mod 2³², seed // 2³²)) is ≥ round(p·2³²). Being a pure
function of (seed, offset, n, i, j), the backward regenerates the forward's mask, and this module
rebuilds it on the host (``dropout_keep``) for tests.
"""

from __future__ import annotations

import numpy as np

from ..philox import philox4x32_10


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
