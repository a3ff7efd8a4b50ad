"""Special functions NumPy lacks: erf (for the exact GELU).

On the cpu a numba ufunc wraps C's ``erf``; on cuda CuPy ships its own.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np


@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
def _erf_cpu(x: float) -> float:  # pragma: no cover - compiled by numba
    return math.erf(x)


def erf(xp: Any, x: Any) -> Any:
    """Elementwise error function, erf(x) = 2/√π ∫₀ˣ e^(-t²) dt."""
    if xp is np:
        return _erf_cpu(x)
    import cupyx.scipy.special

    return cupyx.scipy.special.erf(x)
