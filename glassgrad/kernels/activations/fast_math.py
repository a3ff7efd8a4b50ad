"""tanh, erf and exp for numba loops: plain float32 arithmetic that LLVM vectorises, libm for float64.

numba calls the C library's ``tanhf``/``erff``/``expf`` one value at a time
(its vector library, SVML, needs a patched LLVM this environment lacks), which
made a numba GELU slower than NumPy's own SIMD ``tanh``. For float32 these
functions are instead written with +, ×, ÷ and selects only, so a loop over
them compiles to AVX code (with ``error_model="numpy"``: numba's default
checks every division for zero, and that branch stops the vectoriser):

    tanh x ≈ p(x)/q(x) on x clamped to ±7.905 (p odd of degree 13, q even of degree 6)
    erf x  ≈ p(x)/q(x) on x clamped to ±4    (the same shape)
        (the rational fits of Eigen's generic_fast_tanh_float / generic_fast_erf_float;
        max |error| 3.3e-7 and 3.8e-7 on [−12, 12], against float64 libm)
    exp x  = 2^f · 2^e with y = x·log₂e, e = round(y), f = (x − e·ln 2)·log₂e ∈ [−½, ½]
             (e·ln 2 in two parts, so f keeps the bits y's rounding lost),
             2^f ≈ Σₖ (f·ln 2)ᵏ / k! for k ≤ 7, and 2^e a product of the powers 2^(2^k)
             selected by the bits of |e| (inverted for e < 0); 0 below e^(−87.3)
             (max relative error 1e-7 on [−85, 88]; below e^(−85) subnormal results keep fewer bits)

NaN stays NaN (each clamp is written so a NaN passes it). float64 calls keep
libm (``math.tanh`` ...): the 1e-10 agreement asked of float64 needs it.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import types
from numba.extending import overload

from ..numba_exp import EXP2_TAYLOR

_f32 = np.float32
_TANH_CLAMP = _f32(7.90531110763549805)
_TANH_P = tuple(
    _f32(c)
    for c in (
        -2.76076847742355e-16,
        2.00018790482477e-13,
        -8.60467152213735e-11,
        5.12229709037114e-08,
        1.48572235717979e-05,
        6.37261928875436e-04,
        4.89352455891786e-03,
    )
)
_TANH_Q = tuple(
    _f32(c) for c in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03)
)
_ERF_CLAMP = _f32(4.0)
_ERF_P = tuple(
    _f32(c)
    for c in (
        -2.72614225801306e-10,
        2.77068142495902e-08,
        -2.10102402082508e-06,
        -5.69250639462346e-05,
        -7.34990630326855e-04,
        -2.95459980854025e-03,
        -1.60960333262415e-02,
    )
)
_ERF_Q = tuple(
    _f32(c)
    for c in (
        -1.45660718464996e-05,
        -2.13374055278905e-04,
        -1.68282697438203e-03,
        -7.37332916720468e-03,
        -1.42647390514189e-02,
    )
)
_LOG2E = _f32(1.4426950408889634)
_LN2_HI, _LN2_LO = _f32(0.693359375), _f32(-2.12194440e-4)  # ln 2 = hi + lo, hi·e exact for |e| < 2^15
_ONE, _ZERO, _HALF = _f32(1.0), _f32(0.0), _f32(0.5)

_P13, _P11, _P9, _P7, _P5, _P3, _P1 = _TANH_P
_Q6, _Q4, _Q2, _Q0 = _TANH_Q
_E13, _E11, _E9, _E7, _E5, _E3, _E1 = _ERF_P
_F8, _F6, _F4, _F2, _F0 = _ERF_Q
_C7, _C6, _C5, _C4, _C3, _C2, _C1, _C0 = EXP2_TAYLOR


def tanh(x: float) -> float:
    """tanh x (this body runs only outside numba)."""
    return math.tanh(x)


def erf(x: float) -> float:
    """erf x (this body runs only outside numba)."""
    return math.erf(x)


def exp(x: float) -> float:
    """eˣ (this body runs only outside numba)."""
    return math.exp(x)


@numba.njit(cache=True, error_model="numpy", inline="always")
def _tanh_float32(x):  # pragma: no cover - compiled
    x = _TANH_CLAMP if x > _TANH_CLAMP else x
    x = -_TANH_CLAMP if x < -_TANH_CLAMP else x
    x2 = x * x
    p = ((((((_P13 * x2 + _P11) * x2 + _P9) * x2 + _P7) * x2 + _P5) * x2 + _P3) * x2 + _P1) * x
    q = ((_Q6 * x2 + _Q4) * x2 + _Q2) * x2 + _Q0
    return p / q


@numba.njit(cache=True, error_model="numpy", inline="always")
def _erf_float32(x):  # pragma: no cover - compiled
    x = _ERF_CLAMP if x > _ERF_CLAMP else x
    x = -_ERF_CLAMP if x < -_ERF_CLAMP else x
    x2 = x * x
    p = ((((((_E13 * x2 + _E11) * x2 + _E9) * x2 + _E7) * x2 + _E5) * x2 + _E3) * x2 + _E1) * x
    q = (((_F8 * x2 + _F6) * x2 + _F4) * x2 + _F2) * x2 + _F0
    return p / q


@numba.njit(cache=True, error_model="numpy", inline="always")
def _pow2_float32(e):  # pragma: no cover - compiled
    """2^e for an integral float32 e in [−126, 127], exactly: the powers 2^(2^k) picked by |e|'s bits."""
    a = abs(e)
    p = _ONE
    for bit, power in ((64.0, 1.8446744e19), (32.0, 4294967296.0), (16.0, 65536.0), (8.0, 256.0), (4.0, 16.0)):
        take = a >= bit
        p = p * _f32(power) if take else p
        a = a - _f32(bit) if take else a
    p = p * _f32(4.0) if a >= _f32(2.0) else p
    a = a - _f32(2.0) if a >= _f32(2.0) else a
    p = p * _f32(2.0) if a >= _ONE else p
    return _ONE / p if e < _ZERO else p


@numba.njit(cache=True, error_model="numpy", inline="always")
def _exp_float32(x):  # pragma: no cover - compiled
    y = x * _LOG2E
    y = _f32(127.0) if y > _f32(127.0) else y
    e = np.floor(y + _HALF)
    f = ((x - e * _LN2_HI) - e * _LN2_LO) * _LOG2E  # y − e without y's rounding error (Cody and Waite)
    p = ((((((_C7 * f + _C6) * f + _C5) * f + _C4) * f + _C3) * f + _C2) * f + _C1) * f + _C0
    return _ZERO if y < _f32(-126.0) else p * _pow2_float32(e)


def _dispatch(float32_kernel, libm):  # typing-time helper
    def choose(x):  # pragma: no cover - typing-time dispatch
        if x == types.float32:
            return lambda x: float32_kernel(x)
        return lambda x: libm(x)

    return choose


overload(tanh, jit_options={"cache": True}, inline="always")(_dispatch(_tanh_float32, math.tanh))
overload(erf, jit_options={"cache": True}, inline="always")(_dispatch(_erf_float32, math.erf))
overload(exp, jit_options={"cache": True}, inline="always")(_dispatch(_exp_float32, math.exp))
