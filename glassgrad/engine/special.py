"""Special functions NumPy lacks: erf, erfc and erfinv (the exact GELU, the error-function ops).

On the cpu they are numba ufuncs (erf and erfc wrap C's; erfinv is computed
below), compiled on first use rather than at import; on cuda
``cupyx.scipy.special`` ships all three.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numba
import numpy as np

from .dtypes import compute_dtype


def _erf_cpu(x: float) -> float:  # pragma: no cover - compiled by numba
    return math.erf(x)


def _erfc_cpu(x: float) -> float:  # pragma: no cover - compiled by numba
    return math.erfc(x)


def _erfinv_cpu(y: float) -> float:  # pragma: no cover - compiled by numba
    """Giles' single-precision rational start ("Approximating the erfinv function", 2010),
    then Newton steps in double precision: on erf(x) = |y| near 0, on ln erfc(x) = ln(1 - |y|)
    beyond |y| = 1/2, where 1 - |y| is exact and erf has no digits left (and the start, made
    for float32, is far off in the tail of float64)."""
    if not -1.0 <= y <= 1.0:  # also nan
        return math.nan
    if y == 1.0 or y == -1.0:
        return math.copysign(math.inf, y)
    if y == 0.0:
        return y  # keeps -0.0
    w = -math.log((1.0 - y) * (1.0 + y))
    if w < 5.0:
        w = w - 2.5
        p = 2.81022636e-08
        p = 3.43273939e-07 + p * w
        p = -3.5233877e-06 + p * w
        p = -4.39150654e-06 + p * w
        p = 0.00021858087 + p * w
        p = -0.00125372503 + p * w
        p = -0.00417768164 + p * w
        p = 0.246640727 + p * w
        p = 1.50140941 + p * w
    else:
        w = math.sqrt(w) - 3.0
        p = -0.000200214257
        p = 0.000100950558 + p * w
        p = 0.00134934322 + p * w
        p = -0.00367342844 + p * w
        p = 0.00573950773 + p * w
        p = -0.0076224613 + p * w
        p = 0.00943887047 + p * w
        p = 1.00167406 + p * w
        p = 2.83297682 + p * w
    a = abs(float(y))
    x = abs(p * float(y))
    if a <= 0.5:  # Newton on f(x) = erf(x) - a, f'(x) = 2/√π e^(-x²)
        for _ in range(2):
            x -= (math.erf(x) - a) / (1.1283791670955126 * math.exp(-x * x))
    else:  # Newton on f(x) = ln erfc(x) - ln(1 - a) (1 - a is exact here), f'(x) = -2/√π e^(-x²) / erfc(x)
        t = math.log(1.0 - a)
        for _ in range(4):
            e = math.erfc(x)
            x += (math.log(e) - t) * e / (1.1283791670955126 * math.exp(-x * x))
    return math.copysign(x, y)


_CPU_KERNELS = {"erf": _erf_cpu, "erfc": _erfc_cpu, "erfinv": _erfinv_cpu}


@functools.cache
def _cpu_ufunc(name: str) -> Any:
    """The numba ufunc of one kernel above, compiled (or read from numba's cache) on first use."""
    return numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)(_CPU_KERNELS[name])


def special(name: str, xp: Any, x: Any) -> Any:
    """Elementwise ``name`` ("erf", "erfc" or "erfinv") of array ``x`` with array module ``xp``."""
    if xp is np:  # bfloat16 and float16 computed in float32, the result rounded back
        return _cpu_ufunc(name)(x.astype(compute_dtype(x.dtype), copy=False)).astype(x.dtype, copy=False)
    import cupyx.scipy.special

    return getattr(cupyx.scipy.special, name)(x)


def erf(xp: Any, x: Any) -> Any:
    """Elementwise error function, erf(x) = 2/√π ∫₀ˣ e^(-t²) dt."""
    return special("erf", xp, x)
