"""The activations as parallel numba loops: one pass over memory, the whole formula per element.

The reference makes one pass per array op (gelu's erf form: six, each writing
a temporary); here every element is read once, its value computed in
registers and written once, in threads over a flat range (gelu, silu) or over
rows (bias_act). The formulas are reference.py's, with g = dL/dz:

    value(h)     identity h;  relu max(h, 0);  gelu h·Φ(h);  gelu_tanh ½h(1 + tanh u);  silu h·σ(h)
    slope(h, g)  g·act'(h), as in reference.py

bias_act_backward also reduces dL/db = Σ_rows dL/dh: each task owns a block
of ``ROWS_PER_TASK`` rows and sums it into its own row of a float64 table,
which is then summed in NumPy, so there are no races and the result does not
depend on the number of threads.

The constants (½, 1, 1/√2, ...) reach the loops as scalars of the array's
dtype, so float32 arrays are computed in float32, with fast_math.py's tanh,
erf and exp that LLVM vectorises, and float64 in float64 with libm's. The
kernels use numba's ``error_model="numpy"`` (a division by zero gives inf, as
in NumPy, instead of a check per division that would stop the vectoriser).
Each activation gets loops of its own (``loops``), and ``_value``/``_slope`` are
inlined into them, so the loop body is straight-line code for one activation.
Compiled on first call (numba's cache keeps the machine code between runs),
never at import.

Measured with ``python -m glassgrad bench gelu|silu|bias_act --device cpu``
(float32, 2048x3072, median of 5-9, 2 threads, on a shared 2-core machine with
load average 5-10, so only the ratios to the reference in the same run mean
much): gelu 16x the reference (erf form) and 9x (tanh form), gelu_backward
17x and 8x, silu 5-9x, silu_backward 8-16x, bias_act 1.0-1.1x (identity), 2.7x
(relu), 20x (gelu), 9x (silu), bias_act_backward 5-7x (relu), 6-8x (gelu), 3-6x
(silu). For the identity, dL/db is a column sum that NumPy already streams at
memory speed (a numba loop was 0.6-1.0x), so this variant leaves it to the reference. Without the float32 fast math, gelu's tanh
form was 0.3x the reference (NumPy's own tanh is SIMD); with the activation
as an argument instead of a constant, the backward loops were not vectorised
(0.5-0.8x). In float64 (libm) gelu is 1.0-1.3x and gelu_backward 1.8x.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import numba
import numpy as np

from ..cpu_parallel import ELEMENTWISE_MIN_SIZE, parallel_njit
from ..registry import register
from .fast_math import erf, exp, tanh
from .reference import ACTIVATIONS, INV_SQRT_2PI, KAPPA, SQRT1_2, SQRT_2_OVER_PI, gelu_activation

IDENTITY, RELU, GELU, GELU_TANH, SILU = range(len(ACTIVATIONS))
CODES = dict(zip(ACTIVATIONS, range(len(ACTIVATIONS)), strict=True))

ROWS_PER_TASK = 64
"""Rows of one bias_act_backward task: its partial dL/db is one row of the float64 table."""


@functools.cache
def _constants(dtype: np.dtype) -> tuple[Any, ...]:
    """(0, ½, 1, 3, 1/√2, 1/√(2π), √(2/π), κ) as scalars of ``dtype``."""
    return tuple(dtype.type(v) for v in (0.0, 0.5, 1.0, 3.0, SQRT1_2, INV_SQRT_2PI, SQRT_2_OVER_PI, KAPPA))


@numba.njit(cache=True, error_model="numpy", inline="always")
def _value(h, code, c):  # pragma: no cover - compiled
    """act(h) for the activation ``code``."""
    zero, half, one, _, sqrt1_2, _, sqrt_2_over_pi, kappa = c
    if code == IDENTITY:
        return h
    if code == RELU:
        return zero if h <= zero else h  # NaN stays NaN
    if code == GELU:
        return h * (half * (one + erf(h * sqrt1_2)))
    if code == GELU_TANH:
        return half * h * (one + tanh(sqrt_2_over_pi * (h + kappa * h * h * h)))
    e = exp(-abs(h))  # SILU, σ without overflow
    return h * (one / (one + e) if h >= zero else e / (one + e))


@numba.njit(cache=True, error_model="numpy", inline="always")
def _slope(h, g, code, c):  # pragma: no cover - compiled
    """g·act'(h) for the activation ``code``."""
    zero, half, one, three, sqrt1_2, inv_sqrt_2pi, sqrt_2_over_pi, kappa = c
    if code == IDENTITY:
        return g
    if code == RELU:
        return zero if h <= zero else g  # NaN compares False, so g passes
    if code == GELU:
        cdf = half * (one + erf(h * sqrt1_2))
        return g * (cdf + h * (exp(-half * h * h) * inv_sqrt_2pi))
    if code == GELU_TANH:
        t = tanh(sqrt_2_over_pi * (h + kappa * h * h * h))
        return g * (half * (one + t) + half * h * (one - t * t) * (sqrt_2_over_pi * (one + three * kappa * h * h)))
    e = exp(-abs(h))  # SILU
    s = one / (one + e) if h >= zero else e / (one + e)
    return g * s * (one + h * (one - s))


class Loops(NamedTuple):
    """The four parallel loops of one activation."""

    map: Any
    map_backward: Any
    bias_map: Any
    bias_map_backward: Any


@functools.cache
def loops(activation: str) -> Loops:
    """The loops of ``activation``, made on first use. Its code is a constant of each loop (a
    closure variable), so the compiler drops the other activations' branches and vectorises
    what is left; an argument would keep all five in the loop, and it was not vectorised."""
    code = CODES[activation]

    @parallel_njit(min_size=ELEMENTWISE_MIN_SIZE, cache=True, error_model="numpy")
    def map_(x, z, c):  # pragma: no cover - compiled
        """z[i] = act(x[i]) over flat arrays."""
        for i in numba.prange(x.size):
            z[i] = _value(x[i], code, c)

    @parallel_njit(min_size=ELEMENTWISE_MIN_SIZE, cache=True, error_model="numpy")
    def map_backward(x, g, dx, c):  # pragma: no cover - compiled
        """dx[i] = g[i]·act'(x[i]) over flat arrays."""
        for i in numba.prange(x.size):
            dx[i] = _slope(x[i], g[i], code, c)

    @parallel_njit(min_size=ELEMENTWISE_MIN_SIZE, cache=True, error_model="numpy")
    def bias_map(x, b, z, c):  # pragma: no cover - compiled
        """z[r, j] = act(x[r, j] + b[j]), rows in parallel."""
        rows, cols = x.shape
        for r in numba.prange(rows):
            for j in range(cols):
                z[r, j] = _value(x[r, j] + b[j], code, c)

    @parallel_njit(min_size=ELEMENTWISE_MIN_SIZE, cache=True, error_model="numpy")
    def bias_map_backward(x, b, g, dx, partial, c):  # pragma: no cover - compiled
        """dx[r, j] = g[r, j]·act'(x[r, j] + b[j]);  partial[t, j] = Σ dx[r, j] over task t's rows."""
        rows, cols = g.shape
        for t in numba.prange(partial.shape[0]):
            for r in range(t * ROWS_PER_TASK, min((t + 1) * ROWS_PER_TASK, rows)):
                for j in range(cols):
                    dx[r, j] = _slope(x[r, j] + b[j], g[r, j], code, c)
                for j in range(cols):  # a loop of its own, so that both vectorise; the row is still in L1
                    partial[t, j] += dx[r, j]

    return Loops(map_, map_backward, bias_map, bias_map_backward)


def _flat(a: np.ndarray) -> np.ndarray:
    """``a`` as a flat C-ordered array (a copy only when it is not C-contiguous)."""
    return np.ascontiguousarray(a).reshape(-1)


def _rows(a: np.ndarray) -> np.ndarray:
    """``a`` as a C-contiguous (rows, last dim) array."""
    return np.ascontiguousarray(a).reshape(math.prod(a.shape[:-1]), a.shape[-1])


def _partials(rows: int, cols: int) -> np.ndarray:
    """The float64 table of per-task sums over the rows."""
    return np.zeros(((rows + ROWS_PER_TASK - 1) // ROWS_PER_TASK, cols))


def _elementwise(x: np.ndarray, activation: str) -> np.ndarray:
    z = np.empty(x.size, dtype=x.dtype)
    loops(activation).map(_flat(x), z, _constants(x.dtype))
    return z.reshape(x.shape)


def _elementwise_backward(x: np.ndarray, grad: np.ndarray, activation: str) -> np.ndarray:
    dx = np.empty(x.size, dtype=x.dtype)
    loops(activation).map_backward(_flat(x), _flat(grad), dx, _constants(x.dtype))
    return dx.reshape(x.shape)


@register("gelu", "cpu", "numba", "parallel numba loop: read x, write z, erf/tanh in registers", default=True)
def gelu(x: np.ndarray, approximate: str = "none") -> np.ndarray:
    """z = x·Φ(x) or its tanh form, one pass."""
    return _elementwise(x, gelu_activation(approximate))


@register("gelu_backward", "cpu", "numba", "parallel numba loop: read x and g, write dL/dx", default=True)
def gelu_backward(x: np.ndarray, grad: np.ndarray, approximate: str = "none") -> np.ndarray:
    """dL/dx = g·gelu'(x), one pass."""
    return _elementwise_backward(x, grad, gelu_activation(approximate))


@register("silu", "cpu", "numba", "parallel numba loop: read x, write z", default=True)
def silu(x: np.ndarray) -> np.ndarray:
    """z = x·σ(x), one pass."""
    return _elementwise(x, "silu")


@register("silu_backward", "cpu", "numba", "parallel numba loop: read x and g, write dL/dx", default=True)
def silu_backward(x: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dL/dx = g·σ(x)(1 + x(1 − σ(x))), one pass."""
    return _elementwise_backward(x, grad, "silu")


def _bias_fits(x: Any, bias: Any, *args: Any, **kwargs: Any) -> bool:
    return x is not None and bias.ndim == 1 and bias.shape == x.shape[-1:]


def _bias_fits_grad(x: Any, bias: Any, grad: Any, activation: str = "identity") -> bool:
    return activation != "identity" and bias.ndim == 1 and bias.shape == grad.shape[-1:] and x.shape == grad.shape


@register(
    "bias_act",
    "cpu",
    "numba",
    "parallel numba loop over rows: read x, write act(x + b)",
    default=True,
    when=_bias_fits,
    condition="a bias of shape (x.shape[-1],)",
)
def bias_act(x: np.ndarray, bias: np.ndarray, activation: str = "identity") -> np.ndarray:
    """z = act(x + b), one pass."""
    if activation not in CODES:
        raise ValueError(f"bias_act: activation must be one of {ACTIVATIONS}, got {activation!r}")
    x2 = _rows(x)
    z = np.empty(x2.shape, dtype=x.dtype)
    loops(activation).bias_map(x2, np.ascontiguousarray(bias), z, _constants(x.dtype))
    return z.reshape(x.shape)


@register(
    "bias_act_backward",
    "cpu",
    "numba",
    "parallel numba loop over blocks of rows: read x and g, write dL/dx and per-block dL/db",
    default=True,
    when=_bias_fits_grad,
    condition="an activation other than identity (whose dL/db, a column sum, NumPy does as fast), "
    "a bias of shape (grad.shape[-1],)",
)
def bias_act_backward(
    x: np.ndarray, bias: np.ndarray, grad: np.ndarray, activation: str = "identity"
) -> tuple[np.ndarray, np.ndarray]:
    """(dL/dx, dL/db), one pass over x and g."""
    if activation not in CODES:
        raise ValueError(f"bias_act_backward: activation must be one of {ACTIVATIONS}, got {activation!r}")
    g2 = _rows(grad)
    partial = _partials(*g2.shape)
    dx = np.empty(g2.shape, dtype=grad.dtype)
    loops(activation).bias_map_backward(_rows(x), np.ascontiguousarray(bias), g2, dx, partial, _constants(grad.dtype))
    return dx.reshape(grad.shape), partial.sum(axis=0).astype(grad.dtype)
