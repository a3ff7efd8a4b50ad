"""exp of a tile of scores, minus a shift per row, in a form numba can vectorise.

numba calls the C library's ``expf`` one value at a time (its vector library,
SVML, needs a patched LLVM this environment does not have), and at about 3 ns
a call the exps were half of the flash-attention forward. For float32 the
tile goes through a loop of plain arithmetic instead, which LLVM turns into
AVX-512 code (about 3× faster in an ad-hoc timing, 16.8 M values in 13 ms on 2 cores):

    y = (s − shift)·log₂e, clamped to [−127, 127]
    e = round(y),  f = y − e ∈ [−½, ½]
    2^f ≈ Σₖ (f·ln 2)ᵏ / k!  for k ≤ 7       (relative error < 1e−8 before rounding)
    exp(s − shift) = 2^f · 2^e,  2^e built from its bits: (e + 127) << 23

y ≤ −127 gives exactly 0 (the exponent bits are 0), so −∞ scores vanish; a NaN
stays NaN. float64 tiles, where 1e−10 agreement with the reference is asked
for, keep the library's ``exp``.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import overload

_f32 = np.float32
#: (ln 2)^k / k!, highest power first, for Horner's rule: 2^f = e^(f ln 2) for |f| ≤ ½ (also used by
#: activations/fast_math.py)
EXP2_TAYLOR = tuple(
    _f32(c)
    for c in (
        1.5252733804059838e-05,
        0.00015403530393381606,
        0.0013333558146428441,
        0.009618129107628477,
        0.055504108664821576,
        0.2402265069591007,
        0.6931471805599453,
        1.0,
    )
)
_C7, _C6, _C5, _C4, _C3, _C2, _C1, _C0 = EXP2_TAYLOR


def exp_rows(s: np.ndarray, shifts: np.ndarray) -> None:
    """s[r, c] ← exp(s[r, c] − shifts[r]) in place (this body runs only outside numba)."""
    s[...] = np.exp(s - shifts.reshape(-1, 1))


@numba.njit(cache=True)
def _exp_rows_float32(s, shifts):  # pragma: no cover - compiled
    rows, cols = s.shape
    fraction = np.empty((rows, cols), dtype=np.float32)
    exponent_bits = np.empty((rows, cols), dtype=np.int32)
    for r in range(rows):
        for c in range(cols):
            y = (s[r, c] - shifts[r]) * _f32(1.4426950408889634)
            nan = y != y
            y = min(max(y, _f32(-127.0)), _f32(127.0))
            e = np.floor(y + _f32(0.5))
            f = y - e
            p = ((((((_C7 * f + _C6) * f + _C5) * f + _C4) * f + _C3) * f + _C2) * f + _C1) * f + _C0
            fraction[r, c] = np.nan if nan else p
            exponent_bits[r, c] = (np.int32(e) + np.int32(127)) << 23
    two_to_e = exponent_bits.view(np.float32)
    for r in range(rows):
        for c in range(cols):
            s[r, c] = fraction[r, c] * two_to_e[r, c]


@numba.njit(cache=True)
def _exp_rows_exact(s, shifts):  # pragma: no cover - compiled
    rows, cols = s.shape
    for r in range(rows):
        for c in range(cols):
            s[r, c] = np.exp(s[r, c] - shifts[r])


@overload(exp_rows, jit_options={"cache": True})
def _exp_rows_overload(s, shifts):  # pragma: no cover - typing-time dispatch
    if s.dtype == types.float32:
        return lambda s, shifts: _exp_rows_float32(s, shifts)
    return lambda s, shifts: _exp_rows_exact(s, shifts)
