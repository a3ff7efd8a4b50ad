"""The error function family: erf, erfc = 1 - erf, and erfinv, each with its derivative.

erf(x) = 2/√π ∫₀ˣ e^(-t²) dt, so d erf/dx = 2/√π · e^(-x²). NumPy has none of
them: on the cpu numba ufuncs wrap C's ``erf``/``erfc`` and compute erfinv
(below); on cuda ``cupyx.scipy.special`` has all three. Integer and bool
inputs are cast to float32, as in PyTorch.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np

from ..function import Context, Function
from ..special import erf as _erf
from ..tensor import Tensor
from .operands import promote

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
def _erfc_cpu(x: float) -> float:  # pragma: no cover - compiled by numba
    return math.erfc(x)


@numba.vectorize(["float32(float32)", "float64(float64)"], cache=True)
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


def _special(name: str, xp: Any, x: Any) -> Any:
    if xp is np:
        return {"erfc": _erfc_cpu, "erfinv": _erfinv_cpu}[name](x)
    import cupyx.scipy.special

    return getattr(cupyx.scipy.special, name)(x)


class Erf(Function):
    """z = erf x = 2/√π ∫₀ˣ e^(-t²) dt;  dL/dx = g · 2/√π · e^(-x²)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return _erf(ctx.xp, x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return grad * _TWO_OVER_SQRT_PI * ctx.xp.exp(-x * x)


class Erfc(Function):
    """z = erfc x = 1 - erf x (accurate where erf x is near 1);  dL/dx = -g · 2/√π · e^(-x²)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        ctx.save_for_backward(x)
        return _special("erfc", ctx.xp, x)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (x,) = ctx.saved_arrays
        return -grad * _TWO_OVER_SQRT_PI * ctx.xp.exp(-x * x)


class Erfinv(Function):
    """z = erf⁻¹ x (|x| ≤ 1, ±inf at ±1);  dL/dx = g · √π/2 · e^(z²)"""

    @staticmethod
    def forward(ctx: Context, x: Any) -> Any:
        z = _special("erfinv", ctx.xp, x)
        ctx.save_for_backward(z)
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (z,) = ctx.saved_arrays
        with np.errstate(over="ignore"):
            return grad * ctx.xp.exp(z * z) / _TWO_OVER_SQRT_PI


def _float_input(op: str, x: Tensor) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: argument 'input' must be a Tensor, got {type(x).__name__}")
    (x,) = promote(op, x, to_float=True)
    return x


def erf(input: Tensor) -> Tensor:  # noqa: A002
    return Erf.apply(_float_input("erf", input))


def erfc(input: Tensor) -> Tensor:  # noqa: A002
    return Erfc.apply(_float_input("erfc", input))


def erfinv(input: Tensor) -> Tensor:  # noqa: A002
    return Erfinv.apply(_float_input("erfinv", input))
