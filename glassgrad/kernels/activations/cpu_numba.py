"""The activations as parallel numba loops: one pass over memory, the whole formula per element.

(sigmoid: σ from e^(−|x|/2) squared, see ``_sigmoid``; sigmoid_backward g·(1 − z)·z and
tanh_backward g·(1 − z²) from the output z.)

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

sigmoid, sigmoid_backward and tanh_backward (the last two from the saved
output z) are for the engine's Sigmoid and Tanh, whose arrays are often tiny
(the chain benchmark's (16, 16)), so their Python around the loop is kept
short: one scalar ``one`` instead of _constants' tuple (0.77 against 1.4 µs a
call at 256 elements), ``ravel`` for the flat views, the output allocated in
NumPy (numba's own arrays have a MemInfo as ``.base``, which the engine reads
as a view). Below ELEMENTWISE_MIN_SIZE the loop runs on one thread. A numba
``@vectorize`` ufunc was slower at every size (float32 256 elements: 6.0 µs
against the serial loop's 0.7; 6.3M: 188 ms against 15 ms): vectorize takes no
``error_model``, so the divisions keep their zero checks and the loop is not
vectorised. Measured (float32; wall-clock on the loaded 2-core machine, so
roughly): x.sigmoid() forward at (16, 16) 15-25 µs → 7 µs, forward+backward
66-100 → 34-38 µs; at (2048, 3072) forward 89-114 → 12-14 ms, forward+backward
98-123 → 25 ms; x.tanh() forward+backward 29-38 → 32-42 µs at (16, 16) (the
same within noise: tanh_backward is 3 NumPy calls there) and 47-66 → 33 ms at
(2048, 3072). ``bench sigmoid|sigmoid_backward|tanh_backward``: 3.6x, 1.1-1.3x,
1.0x the reference at 16x16 and 13x, 1.8-3.8x, 2.5x at 2048x3072. Callgrind
(benchmarks/instructions_per_step.py): the 200-op chain 14.97-14.98M
instructions per step with NumPy's Sigmoid/Tanh backward, 14.59-14.67M with
these (−2.1 to −2.6%); the MLP (no sigmoid or tanh) 2.64-2.71M either way.
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
    """``a`` as a flat C-ordered array (a copy only when it is not C-contiguous; ``ravel`` takes a
    third of ``ascontiguousarray(a).reshape(-1)``'s time)."""
    return a.ravel()


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


@numba.njit(cache=True, error_model="numpy", inline="always")
def _sigmoid(x, one):  # pragma: no cover - compiled
    """σ(x) without overflow, ``one`` of x's dtype (so float32 stays float32). e^(−|x|) is squared from
    e^(−|x|/2), which is normal wherever e^(−|x|) is subnormal (|x| > 87.3 in float32: fast_math's exp
    gives 0 there, where PyTorch's σ(−88) is 6.05e-39); it costs one ulp more elsewhere."""
    h = exp(-abs(x) * (one / (one + one)))
    e = h * h
    return one / (one + e) if x >= 0 else e / (one + e)  # NaN: e/(1 + e) is NaN


@parallel_njit(min_size=ELEMENTWISE_MIN_SIZE, cache=True, error_model="numpy")
def _sigmoid_map(x, z, one):  # pragma: no cover - compiled
    """z[i] = σ(x[i]) over flat arrays."""
    for i in numba.prange(x.size):
        z[i] = _sigmoid(x[i], one)


@parallel_njit(min_size=ELEMENTWISE_MIN_SIZE, cache=True, error_model="numpy")
def _sigmoid_backward_map(z, g, dx, one):  # pragma: no cover - compiled
    """dx[i] = g[i]·(1 − z[i])·z[i] over flat arrays."""
    if g.size != z.size:  # the engine never passes one; checked here, where it costs nothing
        raise ValueError("sigmoid_backward: grad must have as many elements as z")
    for i in numba.prange(z.size):
        dx[i] = g[i] * (one - z[i]) * z[i]


@parallel_njit(min_size=ELEMENTWISE_MIN_SIZE, cache=True, error_model="numpy")
def _tanh_backward_map(z, g, dx, one):  # pragma: no cover - compiled
    """dx[i] = g[i]·(1 − z[i]²) over flat arrays."""
    if g.size != z.size:  # the engine never passes one; checked here, where it costs nothing
        raise ValueError("tanh_backward: grad must have as many elements as z")
    for i in numba.prange(z.size):
        dx[i] = g[i] * (one - z[i] * z[i])


@functools.cache
def _one(dtype: np.dtype) -> Any:
    """1 as a scalar of ``dtype``: the loops' only constant (one scalar argument dispatches in half the
    time of _constants' tuple, which counts at 256 elements)."""
    return dtype.type(1.0)


@register("sigmoid", "cpu", "numba", "numba loop (one thread below 8192 elements): read x, write z", default=True)
def sigmoid(x: np.ndarray) -> np.ndarray:
    """z = σ(x), one pass."""
    z = np.empty(x.shape, dtype=x.dtype)  # allocated here, not in numba: the engine reads a result's .base
    _sigmoid_map(_flat(x), z.reshape(-1), _one(x.dtype))
    return z


@register(
    "sigmoid_backward",
    "cpu",
    "numba",
    "numba loop (one thread below 8192 elements): read z and g of the same shape",
    default=True,
)
def sigmoid_backward(z: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dL/dx = g·(1 − z)·z, one pass."""
    dx = np.empty(z.shape, dtype=z.dtype)
    _sigmoid_backward_map(_flat(z), _flat(grad), dx.reshape(-1), _one(z.dtype))
    return dx


@register(
    "tanh_backward",
    "cpu",
    "numba",
    "numba loop (one thread below 8192 elements): read z and g of the same shape",
    default=True,
)
def tanh_backward(z: np.ndarray, grad: np.ndarray) -> np.ndarray:
    """dL/dx = g·(1 − z²), one pass."""
    dx = np.empty(z.shape, dtype=z.dtype)
    _tanh_backward_map(_flat(z), _flat(grad), dx.reshape(-1), _one(z.dtype))
    return dx
