"""Philox4x32-10 in whole-array NumPy (or CuPy) arithmetic: philox.cuh's numbers, element for element.

The generator is counter-based: element i of a dropout mask draws from
Philox(counter = (i mod 2³², i div 2³², offset mod 2³², offset div 2³²), key = seed),
so the mask is a pure function of (seed, offset, i), the same here and in the
CUDA kernels, and a backward recomputes it instead of storing it. The 32-bit
products are formed in uint64 (exact), their high and low halves split off:

    round:  (c0, c1, c2, c3) → (hi(M1·c2) ^ c1 ^ k0, lo(M1·c2), hi(M0·c0) ^ c3 ^ k1, lo(M0·c0))
    key:    (k0, k1) += (W0, W1) between rounds, ten rounds
    u:      (first word >> 8) · 2⁻²⁴ ∈ [0, 1), exact in float32
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...engine import backend

SOURCE = Path(__file__).parent / "philox.cuh"
M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
_LOW = 0xFFFFFFFF


def philox4x32_10(xp: Any, counter: tuple[Any, Any, Any, Any], key: tuple[int, int]) -> tuple[Any, ...]:
    """The four output words (uint32 arrays) for counters ``counter`` (four uint32 arrays or ints) and ``key``."""
    c0, c1, c2, c3 = (xp.asarray(c, dtype=xp.uint64) for c in counter)
    k0, k1 = (xp.asarray(k, dtype=xp.uint64) for k in key)
    for round_ in range(10):
        if round_ > 0:
            k0, k1 = (k0 + W0) & _LOW, (k1 + W1) & _LOW
        p0, p1 = c0 * M0, c2 * M1
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & _LOW, (p0 >> 32) ^ c3 ^ k1, p0 & _LOW
    return tuple(c.astype(xp.uint32) for c in (c0, c1, c2, c3))


def uniform(xp: Any, seed: int, offset: int, shape: tuple[int, ...]) -> Any:
    """float32 u ∈ [0, 1) per element of a C-ordered array of ``shape`` (element i: counter (i, offset))."""
    index = xp.arange(int(np.prod(shape, dtype=np.int64)), dtype=xp.uint64)
    seed, offset = int(seed), int(offset)
    counter = (index & _LOW, index >> 32, offset & _LOW, offset >> 32)
    first = philox4x32_10(xp, counter, (seed & _LOW, seed >> 32))[0]
    return ((first >> 8).astype(xp.float32) * xp.float32(2.0**-24)).reshape(shape)


def uniform_like(x: Any, seed: int, offset: int) -> Any:
    """``uniform`` for the shape of ``x``, on ``x``'s device."""
    return uniform(backend.xp_of(x), seed, offset, x.shape)


def preamble() -> str:
    """The CUDA source of philox_uniform, for an ElementwiseKernel's preamble (without ``#pragma once``,
    which a compiler warns about in the main file)."""
    lines = SOURCE.read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if line.strip() != "#pragma once") + "\n"
