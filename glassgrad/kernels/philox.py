"""Philox4x32-10 in whole-array NumPy (or CuPy) arithmetic: cuda/philox.cuh's function, word for word.

Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC 2011), as Random123 and cuRAND
define it: a pure function (x0, x1, x2, x3) = philox4x32_10((c0, c1, c2, c3), (k0, k1)) of ten rounds

    round:  (c0, c1, c2, c3) → (hi(M1·c2) ^ c1 ^ k0, lo(M1·c2), hi(M0·c0) ^ c3 ^ k1, lo(M0·c0))
    key:    (k0, k1) += (W0, W1) between rounds

The 32-bit products are formed in uint64 (exact) and their high and low halves split off. Its users
map their own (seed, offset, indices) to the counter and key: elementwise/philox.py (dropout ops),
attention/philox.py (the flash attention dropout mask).
"""

from __future__ import annotations

from typing import Any

import numpy as np

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
_LOW = 0xFFFFFFFF


def philox4x32_10(counter: tuple[Any, Any, Any, Any], key: tuple[Any, Any], xp: Any = np) -> tuple[Any, ...]:
    """The four output words (uint32 arrays of ``xp``) for counters (c0, c1, c2, c3) and key (k0, k1):
    ints or integer arrays, each taken mod 2³², broadcast elementwise."""
    c0, c1, c2, c3 = (xp.asarray(c, dtype=xp.uint64) & _LOW for c in counter)
    k0, k1 = (xp.asarray(k, dtype=xp.uint64) & _LOW for k in key)
    for round_ in range(10):
        if round_ > 0:
            k0, k1 = (k0 + W0) & _LOW, (k1 + W1) & _LOW
        p0, p1 = c0 * M0, c2 * M1
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & _LOW, (p0 >> 32) ^ c3 ^ k1, p0 & _LOW
    return tuple(c.astype(xp.uint32) for c in (c0, c1, c2, c3))
